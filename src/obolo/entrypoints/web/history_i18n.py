"""The history's descriptions of taps, shop payments and invitations in Italian (their
English is said in obolo.tap.history, obolo.checkout.history, obolo.wallets.invitations).
Merged into the pages' catalogue (`i18n.CATALOGUE`); the CSV statement renders through it too."""

from __future__ import annotations

HISTORY_IT: dict[str, str] = {
    # taps: transit days (held, then posted at the day's close), retail taps, week corrections
    "{site} fares, {day}": "Corse {site}, {day}",
    "{site} fares, {day} (capped)": "Corse {site}, {day} (tetto giornaliero raggiunto)",
    "Reserved for {site} fares, {day}": "Riservato per le corse {site}, {day}",
    "Released: {site} fares, {day}": "Rilasciato: corse {site}, {day}",
    "{n} ride": "{n} corsa",
    "{n} rides": "{n} corse",
    "Fares, {day}: {rides}": "Tariffe, {day}: {rides}",
    "Incoming fares, {rides}": "Tariffe in arrivo, {rides}",
    "Fee: fares, {day}": "Commissione: tariffe, {day}",
    "{site} fares, week of {day} (correction)": "Corse {site}, settimana del {day} (rettifica)",
    "Tap at {site}": "Pagamento con tessera presso {site}",
    "Card tap": "Pagamento con tessera",
    "Fee: card tap": "Commissione: pagamento con tessera",
    # shops' payment requests
    "Shop purchases": "Acquisti nei negozi",
    "Shop refunds": "Rimborsi dei negozi",
    "Paid {site}: {item}": "Pagato a {site}: {item}",
    "Sale: {site}: {item}": "Vendita: {site}: {item}",
    "Held for {site}: {item} (buyer protection)": "Trattenuto per {site}: {item} (tutela dell'acquirente)",
    "Held for you: {site}: {item}": "Trattenuto per te: {site}: {item}",
    "Refunded: {site}: {item}": "Rimborsato: {site}: {item}",
    "Fee: {site}: {item}": "Commissione: {site}: {item}",
    "Refund from {site}: {item} ({reason})": "Rimborso da {site}: {item} ({reason})",
    "Refund given: {site}: {item} ({reason})": "Rimborso concesso: {site}: {item} ({reason})",
    # money sent to an address without an account, claimed or returned
    "Returned: unclaimed payment to {name}": "Restituito: pagamento non riscosso a {name}",
    "Returned: the fee for an unclaimed payment to {name}": (
        "Restituita: la commissione di un pagamento non riscosso a {name}"
    ),
}
