"""Italian for what a reader is told about purchases that follow them, daily caps and
passes: the wallet's popup (through the pages' catalogue) and the reading page."""

from __future__ import annotations

READER_IT: dict[str, str] = {
    # the wallet's popup
    "Already yours: it reopens for free until {until}. Nothing more is charged.": (
        "È già tua: si riapre gratis fino al {until}. Non viene addebitato nulla di più."
    ),
    "Opened with your pass {name}, valid until {until}.": (
        "Aperta con il tuo abbonamento {name}, valido fino al {until}."
    ),
    "Opened with your pass {name}: {left} visits left.": (
        "Aperta con il tuo abbonamento {name}: visite rimaste {left}."
    ),
    "Paid {amount} with Obolo.": "Pagato {amount} con Obolo.",
    "Your wallet does not hold enough for this pass: top it up first. Nothing was paid.": (
        "Il portafoglio non basta per questo abbonamento: ricaricalo prima. Non è stato pagato nulla."
    ),
    "This site does not offer that pass now. Nothing was paid.": (
        "Questo sito ora non offre quell'abbonamento. Non è stato pagato nulla."
    ),
    "The pass could not be bought. Nothing was paid.": (
        "Non è stato possibile acquistare l'abbonamento. Non è stato pagato nulla."
    ),
    "{name}: {visits} visits for {amount}, within 30 days.": (
        "{name}: {visits} visite per {amount}, entro 30 giorni."
    ),
    "{name}: {hours} hours of reading for {amount}.": "{name}: {hours} ore di lettura per {amount}.",
    "Confirm once: from now on {site} may charge you up to {item} a page without asking, never more than "
    "{day} a day; past that, reading there is free until the day ends. You can change this in Reading "
    "settings, and take back a view within minutes.": (
        "Conferma una volta: da ora {site} può addebitarti fino a {item} a pagina senza chiedere, mai più di "
        "{day} al giorno; oltre, leggere lì è gratis fino alla fine della giornata. Puoi cambiarlo nelle "
        "impostazioni di lettura e annullare una lettura entro pochi minuti."
    ),
    "Or buy a pass": "Oppure acquista un abbonamento",
    "Buy the pass for {amount}": "Acquista l'abbonamento per {amount}",
    "Sign in to buy it": "Accedi per acquistarlo",
    # the reading page
    "Free for the rest of the day at {site}: you paid {spent} there today, its daily cap is {cap}.": (
        "Gratis per il resto della giornata su {site}: oggi hai pagato {spent}, "
        "il suo tetto giornaliero è {cap}."
    ),
    "Find a site by name or address": "Trova un sito per nome o indirizzo",
    "Search": "Cerca",
    "No site by that name.": "Nessun sito con quel nome.",
    "The sites you used, and those you searched for.": "I siti che hai usato e quelli che hai cercato.",
    "{left} of {visits} visits left, until {until}": "{left} visite rimaste su {visits}, fino al {until}",
    "valid until {until}": "valido fino al {until}",
    "The site counts the visits left on a pass bought outside the wallet.": (
        "Il sito conta le visite rimaste di un abbonamento acquistato fuori dal portafoglio."
    ),
}
