"""Periodic jobs: transit days posted, weekly corrections billed, debts collected."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from obolo.adapters.clock import NS_PER_SECOND
from obolo.adapters.db.schema_tap import tap_cards, tap_corrections, tap_days, tap_debts, tap_merchants
from obolo.adapters.ids import derived_id
from obolo.ledger import LedgerSession, Transfer, TransferFlags, expect_ok
from obolo.tap.model import day_of, week_of
from obolo.tap.sql import Row
from obolo.tap.store import TapStore


class TapJobs(TapStore):
    def close_days(self, limit: int = 500) -> int:
        """Post each transit day whose close time passed: what accrued to the operator (fee
        linked), the rest of the hold released. One posted transfer per card and day."""
        closing_day = day_of(self.clock() - self.settings.tap_day_close_grace_seconds * NS_PER_SECOND)

        def work(session: LedgerSession) -> int:
            connection = session.connection
            rows = connection.execute(
                select(tap_days, tap_merchants.c.account_id.label("merchant_account"))
                .join(tap_merchants, tap_merchants.c.provider_id == tap_days.c.merchant_id)
                .where(tap_days.c.status == "open", tap_days.c.day < closing_day)
                .limit(limit)
                .with_for_update(skip_locked=True, of=tap_days)
            ).all()
            for row in rows:
                self._close_day(session, row)
            return len(rows)

        return self.ledger.run(work)

    def _close_day(self, session: LedgerSession, row: Any) -> None:
        if row.hold_id is not None:
            hold = int.from_bytes(row.hold_id, "big")
            post_id = derived_id("transfer", "tap-day", row.id, "close")
            if row.accrued:
                payee = int.from_bytes(row.merchant_account, "big")
                fee_transfer = self.fee_transfer(post_id, payee, row.asset, row.accrued)
                flags = TransferFlags.POST_PENDING_TRANSFER | (
                    TransferFlags.LINKED if fee_transfer else TransferFlags.NONE
                )
                transfers = [Transfer(post_id, pending_id=hold, amount=row.accrued, flags=flags)]
                if fee_transfer is not None:
                    transfers.append(fee_transfer)
            else:
                transfers = [Transfer(post_id, pending_id=hold, flags=TransferFlags.VOID_PENDING_TRANSFER)]
            results = session.create_transfers(transfers)
            expect_ok(results, f"closing tap day {row.id}")
        session.connection.execute(
            update(tap_days).where(tap_days.c.id == row.id).values(status="closed", closed_at=self.clock())
        )

    def close_weeks(self, limit: int = 500) -> int:
        """Bill each week's correction (taps uploaded after their day closed) once the week is
        over: one transfer per card, operator and week; what the wallet lacks becomes a debt."""
        closed_before = week_of(
            day_of(self.clock() - self.settings.tap_day_close_grace_seconds * NS_PER_SECOND)
        )

        def work(session: LedgerSession) -> int:
            connection = session.connection
            rows = connection.execute(
                select(
                    tap_corrections, tap_merchants.c.account_id.label("merchant_account"),
                    tap_cards.c.account_id.label("card_account"),
                )
                .join(tap_merchants, tap_merchants.c.provider_id == tap_corrections.c.merchant_id)
                .join(tap_cards, tap_cards.c.id == tap_corrections.c.card_id)
                .where(tap_corrections.c.status == "open", tap_corrections.c.week < closed_before)
                .limit(limit)
                .with_for_update(skip_locked=True, of=tap_corrections)
            ).all()  # fmt: skip
            for row in rows:
                card = Row(id=row.card_id, account_id=row.card_account, user_id=row.user_id, asset=row.asset)
                terminal = Row(account_id=row.merchant_account, asset=row.asset)
                transfer_id = derived_id("transfer", "tap-week", row.card_id, row.merchant_id, str(row.week))
                moved = self.pay_now(session, card, terminal, transfer_id, row.amount, partial=True)
                if moved < row.amount:
                    self.record_debt(
                        connection, card, row.merchant_id, None, row.amount - moved, self.clock()
                    )
                connection.execute(
                    update(tap_corrections)
                    .where(
                        tap_corrections.c.card_id == row.card_id,
                        tap_corrections.c.merchant_id == row.merchant_id,
                        tap_corrections.c.week == row.week,
                    )
                    .values(status="posted", posted_at=self.clock())
                )
            return len(rows)

        return self.ledger.run(work)

    def collect_debts(self, limit: int = 500) -> int:
        """Take open debts from wallets that can now pay them, oldest first; a card whose
        debts are all paid leaves the deny list at the next kit. Returns debts touched."""

        def work(session: LedgerSession) -> int:
            connection = session.connection
            rows = connection.execute(
                select(
                    tap_debts, tap_cards.c.account_id.label("card_account"),
                    tap_merchants.c.account_id.label("merchant_account"),
                )
                .join(tap_cards, tap_cards.c.id == tap_debts.c.card_id)
                .join(tap_merchants, tap_merchants.c.provider_id == tap_debts.c.merchant_id)
                .where(tap_debts.c.remaining > 0)
                .order_by(tap_debts.c.created_at)
                .limit(limit)
                .with_for_update(skip_locked=True, of=tap_debts)
            ).all()  # fmt: skip
            touched = 0
            for row in rows:
                card = Row(id=row.card_id, account_id=row.card_account, user_id=row.user_id, asset=row.asset)
                terminal = Row(account_id=row.merchant_account, asset=row.asset)
                paid_before = row.amount - row.remaining
                transfer_id = derived_id("transfer", "tap-debt", row.id, str(paid_before))
                moved = self.pay_now(session, card, terminal, transfer_id, row.remaining, partial=True)
                if moved <= 0:
                    continue
                touched += 1
                remaining = row.remaining - moved
                connection.execute(
                    update(tap_debts)
                    .where(tap_debts.c.id == row.id)
                    .values(remaining=remaining, settled_at=self.clock() if remaining == 0 else None)
                )
                connection.execute(
                    update(tap_cards)
                    .where(tap_cards.c.id == row.card_id)
                    .values(owed=tap_cards.c.owed - moved)
                )
            return touched

        return self.ledger.run(work)


__all__ = ["TapJobs"]
