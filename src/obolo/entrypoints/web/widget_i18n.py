"""The popup's messages in Italian. Kept beside the widget's routes (the pages' catalogue
is the pages' own); a message not here falls back to the pages' catalogue, then English."""

from __future__ import annotations

from collections.abc import Callable

from obolo.entrypoints.web.context import Visitor
from obolo.entrypoints.web.problems import problem_message
from obolo.errors import OboloError

WIDGET_IT: dict[str, str] = {
    "Confirm once: from now on {site} may charge you up to {item} a page and {day} a day without asking. "
    "You can change this in Reading settings, and take back a view within minutes.": (
        "Conferma una volta: da ora {site} può addebitarti fino a {item} a pagina e {day} al giorno senza "
        "chiedere. Puoi cambiarlo nelle impostazioni di lettura e annullare una lettura entro pochi minuti."
    ),
    "Free: you reached this site's daily cap.": "Gratis: hai raggiunto il tetto giornaliero di questo sito.",
    "Never more than {cap} a day at this site.": "Mai più di {cap} al giorno su questo sito.",
    "New here? Read now and pay later: up to {limit} on a trial tab kept in this browser, settled when you "
    "sign up.": (
        "Sei nuovo? Leggi ora e paga dopo: fino a {limit} su un conto di prova tenuto in questo browser, "
        "saldato quando ti registri."
    ),
    "Page": "Pagina",
    "Paid {amount}.": "Pagato {amount}.",
    "Paid": "Pagato",
    "Pay with Obolo": "Paga con Obolo",
    "Pay {amount}": "Paga {amount}",
    "Pay": "Paga",
    "Paying under your standing consent…": "Pagamento con il tuo consenso permanente…",
    "Payment refused": "Pagamento rifiutato",
    "Read now, pay later": "Leggi ora, paga dopo",
    "Settle my trial tab": "Salda il mio conto di prova",
    "Sign in to pay": "Accedi per pagare",
    "Sign in": "Accedi",
    "Sign up": "Registrati",
    "Sign in first.": "Accedi prima.",
    "This payment was asked by a page that is not the provider's registered site. Nothing was paid and "
    "nothing is sent to it.": (
        "Questo pagamento è stato chiesto da una pagina che non è il sito registrato del fornitore. Non è "
        "stato pagato nulla e non le viene inviato nulla."
    ),
    "Top up your wallet": "Ricarica il portafoglio",
    "Used so far: {amount}.": "Usato finora: {amount}.",
    "You have read {amount} on your trial tab, its limit. Sign up and settle it to go on: nothing you read "
    "is lost.": (
        "Hai letto {amount} sul conto di prova, il suo limite. Registrati e saldalo per continuare: nulla di "
        "ciò che hai letto va perso."
    ),
    "Your trial tab in this browser holds {amount} of reading. Settle it now: it becomes your first "
    "charges, held on your wallet.": (
        "Il conto di prova in questo browser contiene {amount} di letture. Saldalo ora: diventa i tuoi primi "
        "addebiti, riservati sul tuo portafoglio."
    ),
    "Done: back to the page.": "Fatto: torna alla pagina.",
    "Open this from the site you want to pay.": "Apri questa finestra dal sito che vuoi pagare.",
    "the trial tab is full: sign up and settle it to go on": (
        "il conto di prova è pieno: registrati e saldalo per continuare"
    ),
    "there is no trial tab in this browser": "in questo browser non c'è un conto di prova",
    "too many trial tabs from this address today: sign up to read on": (
        "troppi conti di prova da questo indirizzo oggi: registrati per continuare a leggere"
    ),
}
CATALOGUE = {"it": WIDGET_IT}


def widget_translator(page: Visitor) -> Callable[..., str]:
    """`w(text, **values)` for the popup's templates, in the page's language."""
    table = CATALOGUE.get(page.language, {})

    def translate(text: str, **values: object) -> str:
        if text not in table:
            return page.t(text, **values)
        message = table[text]
        return message.format(**values) if values else message

    return translate


def refusal_text(page: Visitor, refused: OboloError) -> str:
    """Why the popup could not pay, in the page's language: the trial tab's own sentences
    (its details are written for people), else the refusal by its code."""
    if refused.detail in WIDGET_IT:
        return widget_translator(page)(refused.detail)
    return problem_message(refused, page.t)
