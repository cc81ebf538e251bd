"""The wallet's spending messages in Italian: the balance breakdown, purchases in the
history. Merged into the pages' catalogue (`i18n.CATALOGUE`)."""

from __future__ import annotations

WALLETS_IT: dict[str, str] = {
    "{held} held, of which {spent} already spent": "{held} trattenuti, di cui {spent} già spesi",
    "Spent today": "Spesi oggi",
    "Spent this month": "Spesi questo mese",
    "Spending by site": "Spesa per sito",
    "Site": "Sito",
    "Today": "Oggi",
    "This month": "Questo mese",
    "charged": "addebitato",
    "refunded": "rimborsato",
    "spent": "speso",
    "Refunded: {site} — {item}": "Rimborsato: {site} — {item}",
    "{site} — {item}": "{site} — {item}",
}
