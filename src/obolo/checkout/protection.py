"""Buyer protection: the money of a held payment is a pending transfer to the seller.
The buyer confirms receipt (posted now) or opens a dispute within the window; silence
posts it when the window closes (`sweeps`); an operator decides a dispute: paid to the
seller, or voided back to the buyer. Every step is audited and both sides are told."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from obolo.adapters.db.schema_checkout import checkout_requests
from obolo.audit.service import record as audit
from obolo.checkout.errors import (
    DisputeNotAllowed,
    InvalidPaymentRequest,
    NotHeld,
    NotTheBuyer,
    PartyToDispute,
)
from obolo.checkout.model import Release, Status, may_dispute, release_transfers, void_transfer
from obolo.checkout.store import CheckoutBase, PaymentRequest, transfer_id, view
from obolo.ledger import LedgerSession, expect_ok
from obolo.webhooks.outbox import record_event


class Protection(CheckoutBase):
    def _settle(self, session: LedgerSession, row: Any, how: Release, actor: str, now: int) -> None:
        """Post the hold to the seller (less the fee) or void it back to the buyer; the
        request's row was read under lock by the caller."""
        connection = session.connection
        if how == Release.REFUNDED:
            transfers = [void_transfer(transfer_id(row.id, "void"), transfer_id(row.id, "hold"))]
            values: dict[str, Any] = {"status": str(Status.REFUNDED), "refunded": row.amount}
            event = "payment_request.refunded"
        else:
            accounts = self._accounts(session, row, row.payer_id)
            ids = (transfer_id(row.id, "release"), transfer_id(row.id, "fee"))
            transfers = release_transfers(ids, transfer_id(row.id, "hold"), accounts, row.fee)
            values = {"status": str(Status.PAID)}
            event = "payment_request.released"
        results = session.create_transfers(transfers)
        expect_ok(results, f"settling the hold of {row.id}")
        connection.execute(
            update(checkout_requests)
            .where(checkout_requests.c.id == row.id)
            .values(released_at=now, released_how=str(how), **values)
        )
        data = {
            "payment_request_id": row.id, "reference": row.reference, "how": str(how),
            "amount": self._fmt(row.amount, row.asset), "asset": row.asset,
        }  # fmt: skip
        record_event(connection, row.merchant_id, event, data, now)
        record_event(connection, row.payer_id, event, data, now)
        audit(connection, now, actor, f"checkout.{how}", row.id, {"amount": data["amount"]})

    def _buyers(self, session: LedgerSession, payer_id: str, request_id: str) -> Any:
        row = self._row(session.connection, request_id, lock=True)
        if row.payer_id != payer_id:
            raise NotTheBuyer("only the buyer who paid may do this", request_id=request_id)
        return row

    def confirm_receipt(self, payer_id: str, request_id: str) -> PaymentRequest:
        """The buyer has the goods: the hold goes to the seller now. Again answers as done.
        Raises NotTheBuyer, NotHeld."""

        def work(session: LedgerSession) -> PaymentRequest:
            row = self._buyers(session, payer_id, request_id)
            if row.status == Status.PAID and row.released_how == Release.RECEIVED:
                return view(row)
            if row.status != Status.HELD:
                raise NotHeld("there is no held payment to release", request_status=row.status)
            self._settle(session, row, Release.RECEIVED, payer_id, self.clock())
            return view(self._row(session.connection, row.id))

        return self.ledger.run(work)

    def open_dispute(self, payer_id: str, request_id: str, reason: str) -> PaymentRequest:
        """The buyer says something is wrong, within the window: the money stays held
        until an operator decides. Raises NotTheBuyer, DisputeNotAllowed."""
        if not reason.strip() or len(reason) > 2_000:
            raise InvalidPaymentRequest("a dispute needs a reason of 1-2,000 characters", field="reason")

        def work(session: LedgerSession) -> PaymentRequest:
            row = self._buyers(session, payer_id, request_id)
            now = self.clock()
            if row.status == Status.DISPUTED and row.dispute_reason == reason.strip():
                return view(row)  # this very dispute: a retry whose answer was lost
            if not may_dispute(Status(row.status), now, row.release_at):
                raise DisputeNotAllowed(
                    "a dispute is opened on a held payment, within its window", request_status=row.status
                )
            session.connection.execute(
                update(checkout_requests)
                .where(checkout_requests.c.id == row.id)
                .values(status=str(Status.DISPUTED), dispute_reason=reason.strip(), disputed_at=now)
            )
            data = {"payment_request_id": row.id, "reference": row.reference, "reason": reason.strip()}
            record_event(session.connection, row.merchant_id, "payment_request.disputed", data, now)
            audit(session.connection, now, payer_id, "checkout.dispute", row.id, {"reason": reason.strip()})
            return view(self._row(session.connection, row.id))

        return self.ledger.run(work)

    def disputes(self, limit: int = 100) -> list[PaymentRequest]:
        """Open disputes, oldest first: the operator's queue."""

        def work(connection: Connection) -> list[PaymentRequest]:
            ids = connection.execute(
                select(checkout_requests.c.id)
                .where(checkout_requests.c.status == str(Status.DISPUTED))
                .order_by(checkout_requests.c.disputed_at)
                .limit(limit)
            ).scalars()
            return [view(self._row(connection, request_id)) for request_id in ids]

        return self._read(work)

    def decide_dispute(self, operator_id: str, request_id: str, *, refund: bool, note: str) -> PaymentRequest:
        """An operator's ruling: the held money back to the buyer (`refund`) or to the
        seller. Raises PaymentRequestNotFound, NotHeld (no open dispute)."""
        if not note.strip():
            raise InvalidPaymentRequest("a ruling needs a note", field="note")

        def work(session: LedgerSession) -> PaymentRequest:
            row = self._row(session.connection, request_id, lock=True)
            how = Release.REFUNDED if refund else Release.OPERATOR
            if row.decided_by == operator_id and row.released_how == how:
                return view(row)  # this very ruling: a retry whose answer was lost
            if operator_id in (row.payer_id, row.merchant_id):
                raise PartyToDispute("an operator does not rule on their own purchase or sale")
            if row.status != Status.DISPUTED:
                raise NotHeld("there is no open dispute on this payment request", request_status=row.status)
            self._settle(session, row, how, operator_id, self.clock())
            session.connection.execute(
                update(checkout_requests)
                .where(checkout_requests.c.id == row.id)
                .values(decided_by=operator_id)
            )
            return view(self._row(session.connection, row.id))

        return self.ledger.run(work)
