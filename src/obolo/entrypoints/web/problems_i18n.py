"""Refusals, page errors and labels in Italian: what `problems.py` and `error_pages.py`
say, the history's kinds, the send form's checks. Merged into the pages' catalogue."""

from __future__ import annotations

PROBLEMS_IT: dict[str, str] = {
    # refusals, by code (problems.MESSAGES)
    "Not enough money: {available} available, {needed} needed.": (
        "Fondi insufficienti: disponibili {available}, necessari {needed}."
    ),
    "Too many decimals for this currency.": "Troppi decimali per questa valuta.",
    "That amount is too large.": "Questo importo è troppo grande.",
    "That amount is in another currency.": "Questo importo è in un'altra valuta.",
    "Too many tries; try again in {wait}.": "Troppi tentativi; riprova tra {wait}.",
    "{seconds} s": "{seconds} s",
    "{minutes} min": "{minutes} min",
    "The service is busy just now. Nothing was changed; please try again.": (
        "Il servizio è occupato in questo momento. Nulla è cambiato; riprova."
    ),
    "You are not allowed to do that.": "Non hai il permesso di farlo.",
    "We could not find that.": "Non l'abbiamo trovato.",
    "Some of what was sent is not valid. Nothing was changed.": (
        "Parte di ciò che è stato inviato non è valida. Nulla è cambiato."
    ),
    "This form was already sent with other values. Reload the page.": (
        "Questo modulo è già stato inviato con altri valori. Ricarica la pagina."
    ),
    "This form is being sent already; wait a moment.": "Questo modulo è già in invio; attendi un momento.",
    "No such site.": "Sito inesistente.",
    "You have not allowed this site to charge you without asking.": (
        "Non hai consentito a questo sito di addebitarti senza chiedere."
    ),
    "That would go over the limits you set for this site.": (
        "Si supererebbero i limiti che hai impostato per questo sito."
    ),
    "No such payment channel.": "Canale di pagamento inesistente.",
    "That pass is not on sale.": "Questo abbonamento non è in vendita.",
    "That pass is not valid.": "Questo abbonamento non è valido.",
    "That is not a web address (https://…).": "Questo non è un indirizzo web (https://…).",
    "That address is not allowed.": "Questo indirizzo non è consentito.",
    "Add a bank account for payouts first.": "Aggiungi prima un conto bancario per gli accrediti.",
    "Those payout settings are not valid.": "Queste impostazioni di accredito non sono valide.",
    "There is nothing to pay out.": "Non c'è nulla da accreditare.",
    "Give a reason.": "Indica un motivo.",
    "You cannot take that role yourself.": "Non puoi assumere da solo questo ruolo.",
    "No such payment request.": "Richiesta di pagamento inesistente.",
    "This payment request was already paid.": "Questa richiesta di pagamento è già stata pagata.",
    "This payment request has expired. Nothing was paid.": (
        "Questa richiesta di pagamento è scaduta. Non è stato pagato nulla."
    ),
    "This payment was asked for by a site that is not registered.": (
        "Questo pagamento è stato chiesto da un sito non registrato."
    ),
    "Changes are paused for a moment; nothing was changed. Try again later.": (
        "Le modifiche sono sospese per un momento; nulla è cambiato. Riprova più tardi."
    ),
    "Something went wrong on our side. Nothing was charged twice.": (
        "Qualcosa è andato storto da parte nostra. Nulla è stato addebitato due volte."
    ),
    "What was sent is too large.": "Ciò che è stato inviato è troppo grande.",
    "That could not be done. Nothing was changed.": "Non è stato possibile farlo. Nulla è cambiato.",
    # why a card's bank said no
    "The card was declined by its bank.": "La carta è stata rifiutata dalla sua banca.",
    "The card was declined: not enough funds on it.": "La carta è stata rifiutata: fondi insufficienti.",
    "The card was declined: it has expired.": "La carta è stata rifiutata: è scaduta.",
    "The card was declined: the security code is wrong.": (
        "La carta è stata rifiutata: il codice di sicurezza è errato."
    ),
    # page errors (error_pages)
    "Too many tries": "Troppi tentativi",
    "The service is busy": "Il servizio è occupato",
    "Something went wrong": "Qualcosa è andato storto",
    "That could not be done": "Non è stato possibile",
    "You are not allowed to see this page.": "Non hai il permesso di vedere questa pagina.",
    "There is no page at this address.": "A questo indirizzo non c'è nessuna pagina.",
    "This address does not take that kind of request.": (
        "Questo indirizzo non accetta questo tipo di richiesta."
    ),
    "This payment was asked for by a page that is not the site's registered one.": (
        "Questo pagamento è stato chiesto da una pagina che non è quella registrata dal sito."
    ),
    "The site has set no price for this page.": "Il sito non ha fissato un prezzo per questa pagina.",
    "The trial tab is full: sign up and settle it to go on.": (
        "Il conto di prova è pieno: registrati e saldalo per continuare."
    ),
    "This trial tab was already settled.": "Questo conto di prova è già stato saldato.",
    "Too many trial tabs from this address today: sign up to read on.": (
        "Troppi conti di prova da questo indirizzo oggi: registrati per continuare a leggere."
    ),
    "There is no trial tab in this browser.": "In questo browser non c'è un conto di prova.",
    "This payment was already made with other details.": "Questo pagamento è già stato fatto con altri dati.",
    "That payment channel is not valid.": "Questo canale di pagamento non è valido.",
    "That receipt is not valid.": "Questa ricevuta non è valida.",
    "The site's name for this page is not valid: nothing was charged.": "Il nome che il sito dà a questa "
    "pagina non è valido: non è stato addebitato nulla.",
    "Only the buyer can do that.": "Solo chi compra può farlo.",
    "You cannot decide a dispute you are part of.": "Non puoi decidere una contestazione di cui sei parte.",
    "That payment request is not valid.": "Questa richiesta di pagamento non è valida.",
    "The shop's return address is not valid.": "L'indirizzo di ritorno del negozio non è valido.",
    "The amount shown does not match the payment request.": (
        "L'importo mostrato non corrisponde alla richiesta di pagamento."
    ),
    "That refund is not valid.": "Questo rimborso non è valido.",
    "Someone else just changed this payment; reload the page.": (
        "Qualcun altro ha appena modificato questo pagamento; ricarica la pagina."
    ),
    "This payment is no longer held.": "Questo pagamento non è più trattenuto.",
    "This payment can no longer be disputed.": "Questo pagamento non può più essere contestato.",
    "A held payment cannot be refunded; decide the dispute first.": (
        "Un pagamento trattenuto non può essere rimborsato; decidi prima la contestazione."
    ),
    # the history's filter: each kind's label
    "Top-ups": "Ricariche",
    "Payments": "Pagamenti",
    "Withdrawals": "Prelievi",
    "Fees": "Commissioni",
    "Paid reading": "Letture a pagamento",
    "Site earnings": "Incassi dei siti",
    "Task rewards": "Compensi dei lavoretti",
    "Bonuses": "Bonus",
    "Card taps": "Pagamenti con tessera",
    "Adjustments": "Rettifiche",
    # the send form
    "Write the email or phone number of the person to pay.": (
        "Scrivi l'email o il numero di telefono della persona da pagare."
    ),
    # labels of the platform's codes (labels.py)
    "Card top-ups received": "Ricariche con carta ricevute",
    "Paid out to banks": "Accreditato alle banche",
    "Rounding": "Arrotondamenti",
    "Operator adjustments": "Rettifiche degli operatori",
    "Waiting for recipients": "In attesa dei destinatari",
    "Reader": "Lettore",
    "Employer": "Datore di lavoro",
    "Worker": "Lavoratore",
}
