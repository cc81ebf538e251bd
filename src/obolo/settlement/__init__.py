"""Settlement with the outside world: reconciling the ledger with the card processor's
and the bank's own reports (and, next, paying providers out)."""
