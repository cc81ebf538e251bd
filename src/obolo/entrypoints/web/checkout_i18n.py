"""The checkout pages' messages in Italian, kept beside their routes; a message not here
falls back to the pages' catalogue, then English."""

from __future__ import annotations

from collections.abc import Callable

from obolo.entrypoints.web.context import Visitor

CHECKOUT_IT: dict[str, str] = {
    "Pay {merchant}": "Paga {merchant}",
    "Pay {amount}": "Paga {amount}",
    "Payment request": "Richiesta di pagamento",
    "Payment requests": "Richieste di pagamento",
    "Item": "Articolo",
    "Qty": "Qtà",
    "Amount": "Importo",
    "Total": "Totale",
    "Sold by {merchant} ({origin})": "Venduto da {merchant} ({origin})",
    "Reference": "Riferimento",
    "Your wallet holds {amount}.": "Il tuo portafoglio contiene {amount}.",
    "Top up your wallet": "Ricarica il portafoglio",
    "Sign in to pay": "Accedi per pagare",
    "New to Obolo? Sign up, then open this link again.": (
        "Nuovo su Obolo? Registrati, poi apri di nuovo questo link."
    ),
    "Cancel and go back to the shop": "Annulla e torna al negozio",
    "Back to the shop": "Torna al negozio",
    "Buyer protection: the seller is paid only when you confirm receipt, or after {days} days unless you "
    "open a dispute.": (
        "Protezione acquirente: il venditore è pagato solo quando confermi la ricezione, oppure dopo {days} "
        "giorni se non apri una contestazione."
    ),
    "Hold the money until I receive the goods (buyer protection)": (
        "Trattieni il denaro finché non ricevo la merce (protezione acquirente)"
    ),
    "You paid {amount} on {date}.": "Hai pagato {amount} il {date}.",
    "Held for the seller until {date}.": "Trattenuto per il venditore fino al {date}.",
    "The seller marked it shipped on {date}.": "Il venditore l'ha segnato come spedito il {date}.",
    "I received it: pay the seller": "L'ho ricevuto: paga il venditore",
    "Something is wrong? Tell us why; the money stays held until an operator decides.": (
        "Qualcosa non va? Spiegaci perché; il denaro resta trattenuto finché un operatore decide."
    ),
    "Open a dispute": "Apri una contestazione",
    "Reason": "Motivo",
    "Disputed: an operator will decide.": "Contestato: deciderà un operatore.",
    "Refunded {amount}.": "Rimborsato {amount}.",
    "This payment request has expired. Nothing was paid.": (
        "Questa richiesta di pagamento è scaduta. Non è stato pagato nulla."
    ),
    "This payment request was already paid.": "Questa richiesta di pagamento è già stata pagata.",
    "Expires {date}.": "Scade il {date}.",
    "Paid, thank you. Taking you back to the shop…": "Pagato, grazie. Ti riportiamo al negozio…",
    "Your wallet does not hold enough: top up first.": "Il portafoglio non basta: ricarica prima.",
    "Status": "Stato",
    "Refunded": "Rimborsato",
    "Refund": "Rimborsa",
    "Mark shipped": "Segna come spedito",
    "No payment requests yet: make them with the API (POST /v1/payment-requests).": (
        "Ancora nessuna richiesta di pagamento: creale con l'API (POST /v1/payment-requests)."
    ),
    "Done.": "Fatto.",
    "Checkout disputes": "Contestazioni sui pagamenti",
    "No open disputes.": "Nessuna contestazione aperta.",
    "Paid by {payer} on {date}; disputed on {disputed}.": (
        "Pagato da {payer} il {date}; contestato il {disputed}."
    ),
    "Note": "Nota",
    "Refund the buyer": "Rimborsa l'acquirente",
    "Release to the seller": "Paga il venditore",
    "Pay with Obolo": "Paga con Obolo",
    "Payment refused": "Pagamento rifiutato",
    "Close": "Chiudi",
    "Cancel": "Annulla",
    "This payment was asked by a page that is not the merchant's registered site. Nothing was paid.": (
        "Questo pagamento è stato chiesto da una pagina che non è il sito registrato del venditore. Non è "
        "stato pagato nulla."
    ),
    "The amount the shop's page showed is not the payment request's. Nothing was paid.": (
        "L'importo mostrato dalla pagina del negozio non è quello della richiesta di pagamento. Non è stato "
        "pagato nulla."
    ),
    "open": "aperta",
    "held": "trattenuto",
    "disputed": "contestato",
    "paid": "pagato",
    "refunded": "rimborsato",
    "expired": "scaduta",
}


def checkout_translator(page: Visitor) -> Callable[..., str]:
    """`c(text, **values)` for the checkout templates, in the page's language."""
    table = CHECKOUT_IT if page.language == "it" else {}

    def translate(text: str, **values: object) -> str:
        if text not in table:
            return page.t(text, **values)
        message = table[text]
        return message.format(**values) if values else message

    return translate
