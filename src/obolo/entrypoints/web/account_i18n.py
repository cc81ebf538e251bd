"""The account page's and the operator's person page's messages in Italian (merged into
the pages' catalogue)."""

from __future__ import annotations

ACCOUNT_IT: dict[str, str] = {
    # the account page
    "Your account": "Il tuo account",
    "Change password": "Cambia password",
    "Current password": "Password attuale",
    "New password": "Nuova password",
    "Your other sessions are signed out when the password changes.": (
        "Quando la password cambia, le tue altre sessioni vengono chiuse."
    ),
    "New email address": "Nuovo indirizzo email",
    "Send a code": "Invia un codice",
    "Code from the email": "Codice ricevuto per email",
    "Code from the text message": "Codice ricevuto per SMS",
    "Confirm": "Conferma",
    "New phone number": "Nuovo numero di telefono",
    "No phone number yet.": "Ancora nessun numero di telefono.",
    "With its country code, e.g. +393331234567.": "Con il prefisso internazionale, ad es. +393331234567.",
    "Two-factor sign-in": "Accesso in due passaggi",
    "On: signing in asks for a code from your authenticator app.": (
        "Attivo: per accedere serve un codice dalla tua app di autenticazione."
    ),
    "{count} recovery codes left.": "Codici di recupero rimasti: {count}.",
    "Off: signing in asks only for your password.": "Non attivo: per accedere basta la password.",
    "Code from the app, or a recovery code": "Codice dall'app, o un codice di recupero",
    "Turn on": "Attiva",
    "Turn off": "Disattiva",
    "Where you are signed in": "Dove hai eseguito l'accesso",
    "Signed in": "Accesso",
    "Last used": "Ultimo uso",
    "Action": "Azione",
    "This browser": "Questo browser",
    "Device": "Dispositivo",
    "{browser} on {system}": "{browser} su {system}",
    "A browser on {system}": "Un browser su {system}",
    "API client ({name})": "Client API ({name})",
    "Unknown device": "Dispositivo sconosciuto",
    "Sign out everywhere else": "Esci da tutte le altre sessioni",
    "Your data": "I tuoi dati",
    "Everything we keep about you, as a JSON file: profile, wallets, history, sessions, API keys. "
    "No password or key is in it.": (
        "Tutto ciò che conserviamo su di te, in un file JSON: profilo, portafogli, movimenti, sessioni, "
        "chiavi API. Non contiene password né chiavi."
    ),
    "Download my data": "Scarica i miei dati",
    "Close the account": "Chiudi l'account",
    "Closing is for good. Money in your wallet is sent to the IBAN you give first.": (
        "La chiusura è definitiva. Prima, il denaro nel portafoglio viene inviato all'IBAN che indichi."
    ),
    "IBAN for your balance": "IBAN per il tuo saldo",
    "Close my account": "Chiudi il mio account",
    "If this address can be yours, we have mailed it a code. It expires in 10 minutes.": (
        "Se questo indirizzo può essere tuo, gli abbiamo inviato un codice per email. Scade tra 10 minuti."
    ),
    "If this number can be yours, we have texted it a code. It expires in 10 minutes.": (
        "Se questo numero può essere tuo, gli abbiamo inviato un codice per SMS. Scade tra 10 minuti."
    ),
    "The current password is wrong.": "La password attuale è sbagliata.",
    "That code is wrong or was used already.": "Quel codice è sbagliato o è già stato usato.",
    "Two-factor sign-in is on already.": "L'accesso in due passaggi è già attivo.",
    "Two-factor sign-in is off.": "L'accesso in due passaggi non è attivo.",
    "Your wallet still holds money: give an IBAN to receive it first.": (
        "Il tuo portafoglio contiene ancora denaro: indica prima un IBAN su cui riceverlo."
    ),
    "No such session.": "Sessione inesistente.",
    "Your password is changed; your other sessions are signed out.": (
        "La password è cambiata; le tue altre sessioni sono state chiuse."
    ),
    "Your email address is changed.": "Il tuo indirizzo email è cambiato.",
    "Your phone number is changed.": "Il tuo numero di telefono è cambiato.",
    "That session is signed out.": "Quella sessione è stata chiusa.",
    "Your other sessions are signed out.": "Le tue altre sessioni sono state chiuse.",
    "Your account is closed.": "Il tuo account è chiuso.",
    # two-factor enrolment and sign-in
    "QR code to scan": "Codice QR da inquadrare",
    "Scan this code with an authenticator app, or type the key below into it.": (
        "Inquadra questo codice con un'app di autenticazione, o digita la chiave qui sotto."
    ),
    "Key": "Chiave",
    "Six-digit code from the app": "Codice di sei cifre dall'app",
    "Two-factor sign-in is on.": "L'accesso in due passaggi è attivo.",
    "Keep these recovery codes somewhere safe: each signs you in once if you lose your phone. They are shown "
    "only now.": (
        "Conserva questi codici di recupero in un luogo sicuro: ognuno ti fa accedere una volta se perdi il "
        "telefono. Sono mostrati solo ora."
    ),
    "Back to your account": "Torna al tuo account",
    "Type the code your authenticator app shows, or one of your recovery codes.": (
        "Digita il codice mostrato dalla tua app di autenticazione, o uno dei tuoi codici di recupero."
    ),
    "Code": "Codice",
    "This account is frozen. Contact support.": "Questo account è bloccato. Contatta l'assistenza.",
    "This account is closed.": "Questo account è chiuso.",
    # the operator's person page
    "Back to the search": "Torna alla ricerca",
    "Closed on {date}.": "Chiuso il {date}.",
    "Frozen on {date}: {reason}": "Bloccato il {date}: {reason}",
    "Active.": "Attivo.",
    "No wallet yet.": "Ancora nessun portafoglio.",
    "Actions": "Azioni",
    "Freeze": "Blocca",
    "Unfreeze": "Sblocca",
    "Adjustment": "Rettifica",
    "Credit the wallet": "Accredita il portafoglio",
    "Debit the wallet": "Addebita il portafoglio",
    "Adjust": "Rettifica",
    "Cards": "Carte",
    "blocked": "bloccata",
    "SMS numbers": "Numeri SMS",
    "verified {date}": "verificato il {date}",
    "revoked": "revocata",
    "Sessions": "Sessioni",
    "on": "attivo",
    "off": "non attivo",
    "Audit entries": "Registro di controllo",
    "By": "Da",
    "Details": "Dettagli",
    "Nobody with that id.": "Nessuno con quell'id.",
    "Not found": "Non trovato",
    "Say why, in 5 to 500 characters.": "Spiega il motivo, in 5-500 caratteri.",
    "The account is frozen.": "L'account è bloccato.",
    "The account is unfrozen.": "L'account è sbloccato.",
    "The adjustment is made.": "La rettifica è fatta.",
    # movements, statuses and roles, as the person page says them (WORDS)
    "Top-up": "Ricarica",
    "Payment": "Pagamento",
    "Withdrawal": "Prelievo",
    "Done": "Riuscito",
    "Failed": "Fallito",
    "Reader": "Lettore",
    "Employer": "Datore di lavoro",
    # audit actions, as the person page says them (AUDIT_ACTIONS)
    "signed in": "accesso",
    "session signed out": "sessione chiusa",
    "other sessions signed out": "altre sessioni chiuse",
    "failed sign-in": "accesso fallito",
    "sign-in code sent": "codice di accesso inviato",
    "role granted": "ruolo assegnato",
    "API key created": "chiave API creata",
    "API key revoked": "chiave API revocata",
    "adjustment": "rettifica",
    "password changed": "password cambiata",
    "email changed": "email cambiata",
    "phone changed": "telefono cambiato",
    "two-factor sign-in turned on": "accesso in due passaggi attivato",
    "two-factor sign-in turned off": "accesso in due passaggi disattivato",
    "recovery code used": "codice di recupero usato",
    "account frozen": "account bloccato",
    "account unfrozen": "account sbloccato",
    "account closed": "account chiuso",
    "paid a payment request": "richiesta di pagamento pagata",
    "refund given": "rimborso concesso",
    "marked as shipped": "segnato come spedito",
    "dispute opened": "contestazione aperta",
    "held payment released: receipt confirmed": "pagamento trattenuto liberato: ricevuta confermata",
    "held payment released: nobody disputed it": "pagamento trattenuto liberato: nessuna contestazione",
    "dispute decided for the seller": "contestazione decisa a favore del venditore",
    "held payment refunded": "pagamento trattenuto rimborsato",
    "receipt key issued": "chiave delle ricevute emessa",
    "webhook endpoint created": "endpoint webhook creato",
    "late SMS undo: payment reversed": "annullamento SMS tardivo: pagamento stornato",
    "late SMS undo: declined": "annullamento SMS tardivo: respinto",
}

#: Audit actions as the person page says them (translated through the catalogue).
AUDIT_ACTIONS: dict[str, str] = {
    "session.created": "signed in",
    "session.revoked": "session signed out",
    "session.revoked_others": "other sessions signed out",
    "sign_in.failed": "failed sign-in",
    "sign_in_code.created": "sign-in code sent",
    "role.granted": "role granted",
    "api_key.created": "API key created",
    "api_key.revoked": "API key revoked",
    "ledger.adjusted": "adjustment",
    "password.changed": "password changed",
    "email.changed": "email changed",
    "phone.changed": "phone changed",
    "two_factor.enabled": "two-factor sign-in turned on",
    "two_factor.disabled": "two-factor sign-in turned off",
    "two_factor.recovery_code_used": "recovery code used",
    "account.frozen": "account frozen",
    "account.unfrozen": "account unfrozen",
    "account.closed": "account closed",
    "checkout.pay": "paid a payment request",
    "checkout.refund": "refund given",
    "checkout.shipped": "marked as shipped",
    "checkout.dispute": "dispute opened",
    # a held payment settled (obolo.checkout.model.Release)
    "checkout.received": "held payment released: receipt confirmed",
    "checkout.automatic": "held payment released: nobody disputed it",
    "checkout.operator": "dispute decided for the seller",
    "checkout.refunded": "held payment refunded",
    "provider.receipt_key_issued": "receipt key issued",
    "webhook_endpoint.created": "webhook endpoint created",
    "sms.undo_reversed": "late SMS undo: payment reversed",
    "sms.undo_declined": "late SMS undo: declined",
}

#: Codes the person page shows, as words (translated through the catalogue).
WORDS: dict[str, str] = {
    "topup": "Top-up",
    "payment": "Payment",
    "withdrawal": "Withdrawal",
    "adjustment": "Adjustment",
    "pending": "Pending",
    "succeeded": "Done",
    "failed": "Failed",
    "consumer": "Reader",
    "provider": "Provider",
    "employer": "Employer",
    "worker": "Worker",
    "operator": "Operator",
}
