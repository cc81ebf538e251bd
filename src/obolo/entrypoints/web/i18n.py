"""English and Italian: the language comes from a `lang` cookie (the switch), else from
Accept-Language, else English. The catalogue is keyed by the English text, so a missing
Italian entry shows English rather than a blank."""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("en", "it")
DEFAULT = "en"
LANGUAGE_NAMES = {"en": "English", "it": "Italiano"}

Translate = Callable[..., str]


def negotiate(accept_language: str | None, cookie: str | None) -> str:
    """The page language: the reader's explicit choice, else their browser's first
    language we speak (by q-value), else English."""
    if cookie in LANGUAGES:
        return str(cookie)
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            choices.append((-quality, position, primary))
    return min(choices)[2] if choices else DEFAULT


def translator(language: str) -> Translate:
    table = CATALOGUE.get(language, {})

    def translate(text: str, **values: object) -> str:
        message = table.get(text, text)
        return message.format(**values) if values else message

    return translate


IT: dict[str, str] = {
    # layout
    "Skip to content": "Vai al contenuto",
    "Wallet": "Portafoglio",
    "Reading": "Lettura",
    "Provider": "Fornitore",
    "Operator": "Operatore",
    "Sign in": "Accedi",
    "Sign up": "Registrati",
    "Sign out": "Esci",
    "Language": "Lingua",
    "Change": "Cambia",
    "Main menu": "Menu principale",
    "Micropayments on one exact ledger.": "Micropagamenti su un unico registro esatto.",
    "Signed in as {name}": "Connesso come {name}",
    # home
    "Pay a tenth of a cent for what you read.": "Paga un decimo di centesimo per ciò che leggi.",
    "One prepaid wallet for every site: top up once, pay per article with one click, "
    "under caps you set.": "Un portafoglio prepagato per ogni sito: ricarica una volta, paga ogni "
    "articolo con un clic, entro i limiti che scegli tu.",
    "Create a wallet": "Crea un portafoglio",
    "Go to your wallet": "Vai al portafoglio",
    # auth
    "Email": "Email",
    "Password": "Password",
    "Your name": "Il tuo nome",
    "Phone (optional)": "Telefono (facoltativo)",
    "With the country code, e.g. +393331234567.": "Con il prefisso internazionale, es. +393331234567.",
    "At least 10 characters, not only a few different ones, and not your email.": (
        "Almeno 10 caratteri, non solo pochi caratteri diversi, e non la tua email."
    ),
    "No account yet?": "Non hai un account?",
    "Already have an account?": "Hai già un account?",
    "Wrong email or password.": "Email o password errata.",
    "Too many failed sign-ins; try again in {seconds} s.": (
        "Troppi tentativi falliti; riprova tra {seconds} s."
    ),
    "That is not an email address.": "Questo non è un indirizzo email.",
    "An account with that email exists.": "Esiste già un account con questa email.",
    "An account with that phone number exists.": "Esiste già un account con questo numero.",
    "Write the number with its country code, e.g. +393331234567.": (
        "Scrivi il numero con il prefisso internazionale, es. +393331234567."
    ),
    "A password needs at least 10 characters.": "Una password ha almeno 10 caratteri.",
    "A password has at most 256 characters.": "Una password ha al massimo 256 caratteri.",
    "A password needs more than a few different characters.": (
        "Una password ha bisogno di più caratteri diversi."
    ),
    "The password may not be the email address.": "La password non può essere l'indirizzo email.",
    "Tell us what to call you.": "Dicci come chiamarti.",
    "Please correct the fields marked below.": "Correggi i campi indicati qui sotto.",
    "You are signed out.": "Sei uscito.",
    "Please sign in to continue.": "Accedi per continuare.",
    # errors
    "This form expired or did not come from this site. Nothing was changed; please try again.": (
        "Questo modulo è scaduto o non viene da questo sito. Nulla è cambiato; riprova."
    ),
    "Forbidden": "Accesso negato",
    "This page is for operators only.": "Questa pagina è riservata agli operatori.",
    "This page is for providers only.": "Questa pagina è riservata ai fornitori.",
    "Page not found": "Pagina non trovata",
    "Back to the wallet": "Torna al portafoglio",
    # wallet
    "Balances": "Saldi",
    "available": "disponibile",
    "reserved": "riservato",
    "Your wallet is empty. Top it up with a card to start.": (
        "Il portafoglio è vuoto. Ricaricalo con una carta per iniziare."
    ),
    "Top up": "Ricarica",
    "Amount": "Importo",
    "Asset": "Valuta",
    "Card number": "Numero della carta",
    "Expiry month": "Mese di scadenza",
    "Expiry year": "Anno di scadenza",
    "Security code": "Codice di sicurezza",
    "Test cards (sandbox)": "Carte di prova (sandbox)",
    "succeeds": "va a buon fine",
    "is declined": "viene rifiutata",
    "has insufficient funds": "non ha fondi sufficienti",
    "Any future expiry date and any 3-digit code.": "Qualsiasi scadenza futura e codice di 3 cifre.",
    "Send money": "Invia denaro",
    "To (email or phone)": "A (email o telefono)",
    "Note (optional)": "Nota (facoltativa)",
    "Send": "Invia",
    "Withdraw": "Preleva",
    "IBAN": "IBAN",
    "History": "Movimenti",
    "Download CSV": "Scarica CSV",
    "Kind": "Tipo",
    "All": "Tutti",
    "In": "Entrate",
    "Out": "Uscite",
    "Direction": "Direzione",
    "From": "Dal",
    "To": "Al",
    "Filter": "Filtra",
    "Date": "Data",
    "Description": "Descrizione",
    "Status": "Stato",
    "Fee": "Commissione",
    "Next page": "Pagina successiva",
    "No movements yet.": "Ancora nessun movimento.",
    "topup": "ricarica",
    "payment": "pagamento",
    "withdrawal": "prelievo",
    "pending": "in corso",
    "succeeded": "riuscito",
    "failed": "fallito",
    "top-up by card": "ricarica con carta",
    "payment sent": "pagamento inviato",
    "payment received": "pagamento ricevuto",
    "withdrawal to bank": "prelievo su conto",
    "Spending, last 30 days": "Spese, ultimi 30 giorni",
    "Spending by provider over the last 30 days": "Spese per fornitore negli ultimi 30 giorni",
    "No spending on sites in the last 30 days.": "Nessuna spesa sui siti negli ultimi 30 giorni.",
    "Topped up {amount}.": "Ricaricati {amount}.",
    "Sent {amount} to {to}.": "Inviati {amount} a {to}.",
    "Withdrawal of {amount} requested.": "Prelievo di {amount} richiesto.",
    "Withdrawal of {amount} paid.": "Prelievo di {amount} pagato.",
    "The bank refused the withdrawal; the money is back in your wallet.": (
        "La banca ha rifiutato il prelievo; il denaro è tornato nel portafoglio."
    ),
    "Write an amount like 2.50.": "Scrivi un importo come 2,50.",
    "At most {scale} decimals.": "Al massimo {scale} decimali.",
    "The amount must be positive.": "L'importo deve essere positivo.",
    "The amount must be between {minimum} and {maximum}.": (
        "L'importo deve essere tra {minimum} e {maximum}."
    ),
    "Not enough money: {available} available.": "Fondi insufficienti: disponibili {available}.",
    "Nobody with that email or phone number.": "Nessuno con questa email o questo numero.",
    "You cannot send money to yourself.": "Non puoi inviare denaro a te stesso.",
    "The card was declined ({reason}).": "La carta è stata rifiutata ({reason}).",
    "That card number is not valid.": "Questo numero di carta non è valido.",
    "That IBAN is not valid.": "Questo IBAN non è valido.",
    "Unknown asset.": "Valuta sconosciuta.",
    "Enter a date like 2026-11-01.": "Inserisci una data come 2026-11-01.",
}

CATALOGUE: dict[str, dict[str, str]] = {"en": {}, "it": IT}
