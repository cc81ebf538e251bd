"""English and Italian: the language comes from a `lang` cookie (the switch), else from
Accept-Language, else English. The catalogue is keyed by the English text, so a missing
Italian entry shows English rather than a blank."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from obolo.entrypoints.web.account_i18n import ACCOUNT_IT
from obolo.entrypoints.web.history_i18n import HISTORY_IT
from obolo.entrypoints.web.problems_i18n import PROBLEMS_IT
from obolo.entrypoints.web.provider_i18n import PROVIDER_IT
from obolo.entrypoints.web.reader_i18n import READER_IT
from obolo.entrypoints.web.sms_simulator_i18n import SMS_SIMULATOR_IT
from obolo.entrypoints.web.task_i18n import TASKS_IT
from obolo.entrypoints.web.wallets_i18n import WALLETS_IT

LANGUAGES = ("en", "it")
DEFAULT = "en"
LANGUAGE_NAMES = {"en": "English", "it": "Italiano"}


class Translate(Protocol):
    """`t(text, **values)`: the English text in the page's language, values filled in."""

    @property
    def language(self) -> str: ...

    def __call__(self, text: str, /, **values: object) -> str: ...


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


@dataclass(frozen=True, slots=True)
class Translator:
    language: str
    table: dict[str, str]

    def __call__(self, text: str, /, **values: object) -> str:
        message = self.table.get(text, text)
        return message.format(**values) if values else message


def translator(language: str) -> Translate:
    return Translator(language, CATALOGUE.get(language, {}))


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
    "At least 10 characters, hard to guess (a few uncommon words), not your email or name.": (
        "Almeno 10 caratteri, difficile da indovinare (qualche parola poco comune), "
        "non la tua email né il tuo nome."
    ),
    "No account yet?": "Non hai un account?",
    "Already have an account?": "Hai già un account?",
    "Wrong email or password.": "Email o password errata.",
    # signing in with a code texted to one's phone
    "Sign in with your phone": "Accedi con il telefono",
    "Opened your wallet by text message? Sign in with your phone": (
        "Hai aperto il portafoglio via SMS? Accedi con il telefono"
    ),
    "Opened your wallet by text message? We will text you a code to sign in.": (
        "Hai aperto il portafoglio via SMS? Ti mandiamo un codice per accedere."
    ),
    "Phone number": "Numero di telefono",
    "With its country code, e.g. +393331234567.": "Con il prefisso internazionale, es. +393331234567.",
    "Text me a code": "Mandami un codice",
    "Sign in with email and password": "Accedi con email e password",
    "Code from the text message": "Codice ricevuto via SMS",
    "Six digits, sent to {phone}. Never share it.": "Sei cifre, inviate al {phone}. Non darlo a nessuno.",
    "Ask for a new code": "Chiedi un nuovo codice",
    "If this number has an Obolo wallet, we have texted it a code. It expires in 10 minutes.": (
        "Se questo numero ha un portafoglio Obolo, gli abbiamo inviato un codice. Scade tra 10 minuti."
    ),
    "Too many codes asked for; try again in {seconds} s.": (
        "Troppi codici richiesti; riprova tra {seconds} s."
    ),
    "That code is wrong, expired or already used. Ask for a new one.": (
        "Il codice e' errato, scaduto o gia' usato. Chiedine uno nuovo."
    ),
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
    "A password may not be made of your email address or your name.": (
        "La password non può essere fatta della tua email o del tuo nome."
    ),
    "That is one of the most common passwords.": "È una delle password più comuni.",
    "Keyboard rows, repeats and sequences are easy to guess.": (
        "File di tasti, ripetizioni e sequenze sono facili da indovinare."
    ),
    "Dates and years are easy to guess.": "Date e anni sono facili da indovinare.",
    "That password is easy to guess: add a word or two, uncommon ones.": (
        "Questa password è facile da indovinare: aggiungi una o due parole poco comuni."
    ),
    "Tell us what to call you.": "Dicci come chiamarti.",
    "Please correct the fields marked below.": "Correggi i campi indicati qui sotto.",
    "You are signed out.": "Sei uscito.",
    "Your wallet is ready: sign in to open it.": "Il tuo portafoglio è pronto: accedi per aprirlo.",
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
    "Sent {amount}.": "Inviati {amount}.",
    "Money sent to you before you joined": "Denaro inviato a te prima che ti iscrivessi",
    "Someone paid your email address before you had an account? Enter the code from their email.": (
        "Qualcuno ha pagato il tuo indirizzo email prima che avessi un conto? "
        "Inserisci il codice della sua email."
    ),
    "Claim code": "Codice di riscossione",
    "Claim": "Riscuoti",
    "Money waiting for you is in your wallet.": "Il denaro che ti aspettava è nel tuo portafoglio.",
    "That code is wrong, already used, or not for this account's email.": (
        "Il codice è sbagliato, già usato o non è per l'email di questo conto."
    ),
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
    # reading, provider, operator
    "That site can no longer charge you without asking.": (
        "Quel sito non può più addebitarti senza chiedere."
    ),
    "Stop auto-pay on {site}?": "Fermare il pagamento automatico su {site}?",
    "Stop auto-pay": "Ferma il pagamento automatico",
    ("A site counts the payments of an open channel itself; what was used is known when it settles."): (
        "Il sito conta da sé i pagamenti di un canale aperto; quanto è stato usato si sa quando si chiude."
    ),
    "API keys": "Chiavi API",
    "Account": "Conto",
    "Add Obolo to your site": "Aggiungi Obolo al tuo sito",
    "Address": "Indirizzo",
    "Allow": "Consenti",
    "Allow a site": "Consenti a un sito",
    "Attempts": "Tentativi",
    "Auto-pay on sites": "Pagamento automatico sui siti",
    "Balance": "Saldo",
    "Become a provider": "Diventa fornitore",
    "Books check": "Verifica dei conti",
    "Channels": "Canali",
    (
        "Charge readers a few cents per article or per API call, settled in bulk, with a "
        "dashboard of what you earn."
    ): (
        "Fai pagare ai lettori pochi centesimi per articolo o per chiamata API, regolati "
        "in blocco, con un cruscotto di quanto guadagni."
    ),
    "Check the rules: {problem}": "Controlla le regole: {problem}",
    "Checked just now in {ms} ms.": "Verificato ora in {ms} ms.",
    "Choose a site from the list.": "Scegli un sito dall'elenco.",
    "Copied": "Copiato",
    "Copy": "Copia",
    "Copy it now: it is shown this once and never again.": "Copiala ora: è mostrata solo questa volta.",
    "Create a key": "Crea una chiave",
    "Credits": "Avere",
    "Daily cap": "Tetto giornaliero",
    "Debits": "Dare",
    "Earnings over the last 30 days": "Guadagni negli ultimi 30 giorni",
    "Earnings, last 30 days": "Guadagni, ultimi 30 giorni",
    "Email, name, phone, site or id": "Email, nome, telefono, sito o id",
    "Fee revenue": "Ricavi da commissioni",
    "Find people and providers": "Cerca persone e fornitori",
    "Give the site a name.": "Dai un nome al sito.",
    "Key name": "Nome della chiave",
    "Last answer": "Ultima risposta",
    "Monthly cap": "Tetto mensile",
    "Name": "Nome",
    "Net": "Netto",
    "No deliveries.": "Nessun invio.",
    "No earnings yet in the last 30 days.": "Ancora nessun guadagno negli ultimi 30 giorni.",
    "No keys yet.": "Ancora nessuna chiave.",
    "No money has moved yet.": "Non si è ancora mosso denaro.",
    "No paid views in the last 24 hours.": "Nessuna lettura pagata nelle ultime 24 ore.",
    "No paid views yet.": "Ancora nessuna lettura pagata.",
    "No such key.": "Chiave inesistente.",
    "Nobody found.": "Nessuno trovato.",
    "None found.": "Nessuno trovato.",
    "None.": "Nessuno.",
    "Nothing settled yet.": "Ancora nulla di regolato.",
    "Open channels": "Canali aperti",
    "Open tabs": "Conti aperti",
    "Owner": "Titolare",
    "Page": "Pagina",
    "Pages": "Pagine",
    "Paid": "Pagato",
    "Passes": "Abbonamenti",
    "Paste this once in your pages, then mark each priced link or block:": (
        "Incolla questo una volta nelle tue pagine, poi segna ogni link o blocco a pagamento:"
    ),
    "Payment channels": "Canali di pagamento",
    "Pending": "In sospeso",
    "People": "Persone",
    "Per day": "Al giorno",
    "Per item": "Per articolo",
    "Phone": "Telefono",
    "Platform accounts": "Conti della piattaforma",
    "Price": "Prezzo",
    "Price per view (EUR)": "Prezzo per lettura (EUR)",
    "Prices": "Prezzi",
    "Payment requests": "Richieste di pagamento",  # checkout
    "Checkout disputes": "Contestazioni sui pagamenti",  # checkout
    "Prices published.": "Prezzi pubblicati.",
    "Providers": "Fornitori",
    "Publish prices": "Pubblica i prezzi",
    "Recent views": "Letture recenti",
    "Refund": "Rimborsa",
    "Refund {amount} for {page}": "Rimborsa {amount} per {page}",
    "Refunded": "Rimborsate",
    "Refunded. The charge is taken off your tab.": "Rimborsato. L'addebito è tolto dal tuo conto.",
    "Register": "Registra",
    "Register a site": "Registra un sito",
    "Revenue": "Ricavi",
    "Revoke": "Revoca",
    "Revoke this key? Programs using it will stop working.": (
        "Revocare questa chiave? I programmi che la usano smetteranno di funzionare."
    ),
    "Roles": "Ruoli",
    "Save": "Salva",
    "Search": "Cerca",
    "Sell on your site": "Vendi sul tuo sito",
    "Settlements and fees": "Regolamenti e commissioni",
    "Show": "Mostra",
    "Since": "Dal",
    "Site": "Sito",
    "Site registered.": "Sito registrato.",
    (
        "Sites you allow may charge you without asking, up to these limits. Set the "
        "limits per article and per day."
    ): (
        "I siti che consenti possono addebitarti senza chiedere, entro questi limiti. "
        "Imposta i limiti per articolo e al giorno."
    ),
    "Spent in the last 24 h": "Speso nelle ultime 24 ore",
    "The books balance: every invariant holds.": "I conti tornano: ogni invariante è rispettata.",
    "The daily limit must be at least the limit per item.": (
        "Il limite giornaliero deve essere almeno il limite per articolo."
    ),
    "The key is revoked.": "La chiave è revocata.",
    "The site counts the visits left on a pass.": "Il sito conta le visite rimaste di un abbonamento.",
    "The site's address, like https://magazine.example.": (
        "L'indirizzo del sito, come https://magazine.example."
    ),
    "This view can no longer be refunded.": "Questa lettura non è più rimborsabile.",
    "Views": "Letture",
    "Views and revenue per page": "Letture e ricavi per pagina",
    "Visits": "Visite",
    "Webhook deliveries": "Invii dei webhook",
    "Background jobs": "Attività in background",
    "Job": "Attività",
    "Last run": "Ultima esecuzione",
    "Next run": "Prossima esecuzione",
    "Runs": "Esecuzioni",
    "Failures": "Errori",
    "Last error": "Ultimo errore",
    "ok": "ok",
    "running": "in corso",
    "never run": "mai eseguita",
    "No job has run yet: start `obolo worker`, or `obolo serve` runs them.": (
        "Nessuna attività eseguita: avvia `obolo worker`, oppure le esegue `obolo serve`."
    ),
    "You can take back a view within {minutes} minutes.": (
        "Puoi annullare una lettura entro {minutes} minuti."
    ),
    "You have not allowed any site to charge you automatically.": (
        "Non hai consentito a nessun sito di addebitarti automaticamente."
    ),
    "Your auto-pay limits are saved.": "I limiti di pagamento automatico sono salvati.",
    "Your new API key": "La tua nuova chiave API",
    "Your provider id:": "Il tuo id fornitore:",
    "channel": "canale",
    "or hours": "o ore",
    "refunded": "rimborsato",
    "settled: {paid} paid, {back} back": "chiuso: {paid} pagati, {back} restituiti",
    "tab": "conto",
    "wallets hold {amount}": "i portafogli contengono {amount}",
    "{amount} reserved": "{amount} riservati",
    "{count} open, {reserved} reserved by readers": "{count} aperti, {reserved} riservati dai lettori",
    "{count} violations found:": "{count} violazioni trovate:",
    "{reserved} reserved ({count} × {price}), until {until}": (  # noqa: RUF001 (a times sign)
        "{reserved} riservati ({count} × {price}), fino al {until}"  # noqa: RUF001
    ),
    "{used} used of {held} reserved; {left} left": "{used} usati di {held} riservati; restano {left}",
    "delivered": "consegnato",
    "Sell": "Vendi",
    # history: statuses and kinds of ledger entries
    "released": "rilasciato",
    "expired": "scaduto",
    "posted": "registrato",
    "settled": "saldato",
    "fee": "commissione",
    "paywall": "lettura",
    "settlement": "incasso",
    "task": "compito",
    "reward": "compenso",
    "bonus": "bonus",
    "tap": "tessera",
    "adjustment": "rettifica",
}

IT.update(TASKS_IT)  # tasks: the microtask pages keep their messages beside them
IT.update(WALLETS_IT)  # wallets: the spending breakdown and purchases in the history
IT.update(HISTORY_IT)  # the history's taps, shop payments and invitations

# sms: operators' rulings on undo requests made too late
IT.update(
    {
        "SMS undo requests": "Richieste di annullamento SMS",
        "Senders asked to undo these after the undo window, or after the recipient spent, and the "
        "recipient did not return the money.": (
            "Chi ha inviato ha chiesto di annullarli dopo il tempo per annullare, o dopo che il destinatario "
            "aveva speso, e il destinatario non ha restituito il denaro."
        ),
        "Ref {ref}: {amount}": "Rif {ref}: {amount}",
        "From {sender} to {recipient} · sent {sent} · undo asked {asked}": (
            "Da {sender} a {recipient} · inviato {sent} · annullamento chiesto {asked}"
        ),
        "fee {amount}": "commissione {amount}",
        "Note on the send:": "Nota dell'invio:",
        "Reverse: take it back from the recipient": "Storna: riprendili dal destinatario",
        "Decline: the payment stands": "Respingi: il pagamento resta valido",
        "No open undo requests.": "Nessuna richiesta di annullamento aperta.",
        "Reversed: the money is back with the sender, and both were told.": (
            "Stornato: il denaro è tornato a chi l'ha inviato, ed entrambi sono stati avvisati."
        ),
        "Declined: the payment stands; the sender was told.": (
            "Respinta: il pagamento resta valido; chi l'ha inviato è stato avvisato."
        ),
        "The recipient's wallet cannot cover it now; the request stays open.": (
            "Il portafoglio del destinatario ora non basta; la richiesta resta aperta."
        ),
        "That request was already decided.": "Su quella richiesta si è già deciso.",
        "No such request.": "Richiesta inesistente.",
        "That did not work.": "Non è riuscito.",
    }
)

IT.update(READER_IT)  # purchases, daily caps and passes: the popup and the reading page
IT.update(ACCOUNT_IT)  # the account page and the operator's person page
IT.update(PROBLEMS_IT)  # refusals, page errors and the pages' formatted labels
IT.update(SMS_SIMULATOR_IT)  # the demo's phone on a page
IT.update(PROVIDER_IT)  # the provider dashboard's re-access period

CATALOGUE: dict[str, dict[str, str]] = {"en": {}, "it": IT}
