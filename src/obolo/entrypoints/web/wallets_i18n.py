"""The wallet's spending messages in Italian: the balance breakdown, purchases in the
history. Merged into the pages' catalogue (`i18n.CATALOGUE`)."""

from __future__ import annotations

#: A history entry's kind (a code) as a person reads it, in English; translated below.
KIND_NAMES = {
    "topup": "Top-up", "payment": "Payment", "withdrawal": "Withdrawal", "fee": "Fee", "paywall": "Reading",
    "settlement": "Settlement", "task": "Task", "reward": "Reward", "bonus": "Bonus", "tap": "Tap",
    "adjustment": "Adjustment", "checkout": "Purchase", "refund": "Purchase refund",
}  # fmt: skip

WALLETS_IT: dict[str, str] = {
    "Top-up": "Ricarica",
    "Payment": "Pagamento",
    "Withdrawal": "Prelievo",
    "Settlement": "Liquidazione",
    "Reward": "Ricompensa",
    "Bonus": "Bonus",
    "Tap": "Tessera",
    "Purchase": "Acquisto",
    "Purchase refund": "Rimborso di un acquisto",
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
    # history descriptions (obolo.wallets.history, rendered from their message and values)
    "Adjustment": "Rettifica",
    "Adjustment: {note}": "Rettifica: {note}",
    "Fee for {what}": "Commissione per {what}",
    "{payment}: {note}": "{payment}: {note}",
    "Top-up by {brand} {last4}": "Ricarica con {brand} {last4}",
    "Top-up by {brand}": "Ricarica con {brand}",
    "Withdrawal to {iban}": "Prelievo verso {iban}",
    "Withdrawal to the bank": "Prelievo verso la banca",
    "Payment to {name} (waiting for them to join)": "Pagamento a {name} (in attesa che si iscriva)",
    "Payment to {name} (not claimed: returned)": "Pagamento a {name} (non riscosso: restituito)",
    "Payment to {name}": "Pagamento a {name}",
    "Payment sent": "Pagamento inviato",
    "Payment from {name}": "Pagamento da {name}",
    "Payment received": "Pagamento ricevuto",
    "Reserved: {what}": "Riservato: {what}",
    "Released: {what}": "Rilasciato: {what}",
    "Hold expired: {hold}": "Riserva scaduta: {hold}",
    # tasks' (obolo.tasks.history)
    "Task paid: {title}": "Lavoro pagato: {title}",
    "Reserved for task: {title}": "Riservato per il lavoro: {title}",
    "Released from task: {title}": "Rilasciato dal lavoro: {title}",
    "Reward: {title}": "Compenso: {title}",
    "Bonus: {title}": "Bonus: {title}",
    "Fee: bonus for {title}": "Commissione: bonus per {title}",
    # the paywall's (obolo.paywall.history)
    "{n} view": "{n} lettura",
    "{n} views": "{n} letture",
    "{views}, {refunded} refunded": "{views}, {refunded} rimborsate",
    "{views}, 1 refunded": "{views}, 1 rimborsata",
    "Fee: {site} — {views}": "Commissione: {site} — {views}",
    "{site} — {views}": "{site} — {views}",
    "Reserved for {site}": "Riservato per {site}",
    "Released: unused at {site}": "Rilasciato: non usato su {site}",
    "Settlement: {views}": "Liquidazione: {views}",
    "Incoming, pending: {views}": "In arrivo, in attesa: {views}",
    "Reservation released": "Riserva rilasciata",
    "{site} — {item}": "{site} — {item}",
}
