"""The wallet's spending messages in Italian: the balance breakdown, purchases in the
history. Merged into the pages' catalogue (`i18n.CATALOGUE`)."""

from __future__ import annotations

#: A history entry's kind (a code) as a person reads it, in English; translated below.
KIND_NAMES = {
    "topup": "Top-up", "payment": "Payment", "withdrawal": "Withdrawal", "fee": "Fee", "paywall": "Reading",
    "settlement": "Settlement", "task": "Task", "reward": "Reward", "bonus": "Bonus", "tap": "Tap",
    "adjustment": "Adjustment", "checkout": "Purchase",
}  # fmt: skip

WALLETS_IT: dict[str, str] = {
    "Top-up": "Ricarica",
    "Payment": "Pagamento",
    "Withdrawal": "Prelievo",
    "Settlement": "Liquidazione",
    "Reward": "Ricompensa",
    "Bonus": "Bonus",
    "Tap": "Tessera",
    "Adjustment": "Rettifica",
    "Purchase": "Acquisto",
    "posted": "registrato",
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
    "Spent": "Speso",
    "Refunded: {site} — {item}": "Rimborsato: {site} — {item}",
    "{site} — {item}": "{site} — {item}",
}
