"""Reconcile a period: read the card processor's and the bank's reports, read our books
(movements and the ledger transfers they made), and compare them (`model`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine, or_, select

from obolo.adapters.bank import BankPayouts
from obolo.adapters.cards import CardProcessor
from obolo.adapters.clock import NS_PER_SECOND
from obolo.adapters.db.schema import movements
from obolo.adapters.reports import ExternalRecord
from obolo.ledger import Ledger, TransferFlags
from obolo.settlement.model import BookEntry, BookState, Mismatch, reconcile_charges, reconcile_payouts
from obolo.wallets.model import MovementKind
from obolo.wallets.service import WalletService

# A charge and the top-up it paid for may fall either side of a period's edge.
MARGIN = 3600 * NS_PER_SECOND


@dataclass(frozen=True, slots=True)
class Reconciliation:
    since: int
    until: int
    charges: int
    payouts: int
    mismatches: list[Mismatch] = field(default_factory=list)


class Reconciler:
    def __init__(self, engine: Engine, ledger: Ledger, cards: CardProcessor, bank: BankPayouts) -> None:
        self.engine = engine
        self.ledger = ledger
        self.cards = cards
        self.bank = bank

    def run(self, since: int, until: int) -> Reconciliation:
        """Every disagreement between the outside reports and the books for [since, until)."""
        charges = self.cards.settlement_report(since - MARGIN, until + MARGIN)
        payouts = self.bank.settlement_report(since - MARGIN, until + MARGIN)
        period = (since, until)
        topups = self._books(MovementKind.TOPUP, since, until, charges)
        withdrawals = self._books(MovementKind.WITHDRAWAL, since, until, payouts)
        found = reconcile_charges(charges, topups, period) + reconcile_payouts(payouts, withdrawals, period)
        counted = (sum(since <= r.created_at < until for r in rows) for rows in (charges, payouts))
        return Reconciliation(since, until, next(counted), next(counted), found)

    def _books(
        self, kind: MovementKind, since: int, until: int, report: list[ExternalRecord]
    ) -> dict[str, BookEntry]:
        named = [r.idempotency_key for r in report]
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(movements.c.id, movements.c.amount, movements.c.asset).where(
                    movements.c.kind == kind.value,
                    or_(
                        (movements.c.created_at >= since) & (movements.c.created_at < until),
                        movements.c.id.in_(named),
                    ),
                )
            ).all()
        ids = [(row, WalletService.transfer_id_of(row.id, "principal")) for row in rows]
        settle_ids = {row.id: WalletService.transfer_id_of(row.id, "settle") for row in rows}
        found = {t.id: t for t in self.ledger.lookup_transfers([i for _, i in ids])}
        settled = {t.id: t for t in self.ledger.lookup_transfers(list(settle_ids.values()))}
        books: dict[str, BookEntry] = {}
        for row, principal_id in ids:
            principal = found.get(principal_id)
            if principal is None:
                books[row.id] = BookEntry(row.id, row.amount, row.asset, BookState.ABSENT)
                continue
            amount = principal.amount or 0
            if kind is MovementKind.TOPUP:
                books[row.id] = BookEntry(row.id, amount, row.asset, BookState.CREDITED)
                continue
            settle = settled.get(settle_ids[row.id])
            if settle is None:
                state = BookState.PENDING
            elif settle.flags & TransferFlags.POST_PENDING_TRANSFER:
                state = BookState.POSTED
            else:
                state = BookState.VOIDED
            books[row.id] = BookEntry(row.id, amount, row.asset, state)
        return books
