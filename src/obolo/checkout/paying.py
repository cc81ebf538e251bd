"""The payer's use cases: look at a payment request (by id or SMS code) and pay it,
once. Whatever the channel (hosted page, the browser's Payment Request, the API, SMS),
paying is `pay`: it locks the request, so of twenty confirmations racing one wins and
the others are told it is paid; the transfer ids derive from the request, so even a
lost lock could not move the money twice."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import Connection, select, update

from obolo.adapters.db.schema_checkout import checkout_requests
from obolo.audit.service import record as audit
from obolo.checkout.errors import (
    AmountMismatch,
    OriginNotRegistered,
    PaymentRequestExpired,
    PaymentRequestNotFound,
    PaymentRequestPaid,
)
from obolo.checkout.model import Status, hold_transfer, origin_of, payment_transfers, release_at
from obolo.checkout.store import CheckoutBase, Payment, PaymentRequest, transfer_id, view
from obolo.ledger import LedgerSession, TransferResult, expect_ok
from obolo.money import Amount
from obolo.wallets.errors import CannotPayYourself
from obolo.webhooks.outbox import record_event


class PayingSide(CheckoutBase):
    def payment_request(self, request_id: str) -> PaymentRequest:
        """A request as a payer sees it before paying (the id is the capability: it is
        unguessable and given only to the payer). Raises PaymentRequestNotFound."""
        return self._read(lambda connection: view(self._row(connection, request_id)))

    def by_sms_code(self, code: str) -> PaymentRequest:
        def work(connection: Connection) -> PaymentRequest:
            request_id = connection.execute(
                select(checkout_requests.c.id).where(checkout_requests.c.sms_code == code.strip().upper())
            ).scalar()
            if request_id is None:
                raise PaymentRequestNotFound("no payment request has that code")
            return view(self._row(connection, request_id))

        return self._read(work)

    def payer_requests(self, payer_id: str, limit: int = 50) -> list[PaymentRequest]:
        def work(connection: Connection) -> list[PaymentRequest]:
            ids = connection.execute(
                select(checkout_requests.c.id)
                .where(checkout_requests.c.payer_id == payer_id)
                .order_by(checkout_requests.c.paid_at.desc())
                .limit(limit)
            ).scalars()
            return [view(self._row(connection, request_id)) for request_id in ids]

        return self._read(work)

    def check_origin(self, request: PaymentRequest, origin: str | None) -> None:
        """The browser's Payment Request names the page that asked; it must be the
        merchant's registered origin. Raises OriginNotRegistered."""
        if origin is None or origin_of(origin) != origin_of(request.merchant_origin):
            raise OriginNotRegistered(
                "this page's origin is not registered for this payment request", origin=origin
            )

    def check_amount(self, request: PaymentRequest, shown: Amount) -> None:
        """What the browser showed the payer must be what the request asks. Raises AmountMismatch."""
        if (shown.asset.code, shown.units) != (request.asset, request.amount):
            raise AmountMismatch(
                "the amount shown is not the payment request's",
                amount=self._fmt(request.amount, request.asset), asset=request.asset,
            )  # fmt: skip

    def pay(
        self,
        payer_id: str,
        request_id: str,
        *,
        protection: bool = False,
        expected: Amount | None = None,
        origin: str | None = None,
    ) -> Payment:
        """Pay the request from the payer's wallet: at once, or held under buyer protection
        when the merchant asked for it or the payer chooses it. With `expected` (what the
        browser showed) the amounts must match; with `origin` (the page that asked) it
        must be the merchant's. The same payer again gets the same payment back.
        Raises PaymentRequestNotFound, PaymentRequestPaid, PaymentRequestExpired,
        AmountMismatch, OriginNotRegistered, CannotPayYourself, InsufficientFunds."""

        def work(session: LedgerSession) -> Payment:
            connection = session.connection
            row = self._row(connection, request_id, lock=True)
            if origin is not None:
                self.check_origin(view(row), origin)
            if expected is not None:
                self.check_amount(view(row), expected)
            status = Status(row.status)
            if status != Status.OPEN:
                if row.payer_id == payer_id and status in (Status.PAID, Status.HELD):
                    return Payment(view(row), self._result(row), already_paid=True)
                if status == Status.EXPIRED:
                    raise PaymentRequestExpired("this payment request has expired")
                raise PaymentRequestPaid("this payment request is already paid")
            now = self.clock()
            if now >= row.expires_at:
                raise PaymentRequestExpired("this payment request has expired")
            if row.merchant_id == payer_id:
                raise CannotPayYourself("a merchant cannot pay its own payment request")
            accounts = self._accounts(session, row, payer_id)
            held = bool(row.buyer_protection) or protection
            if held:
                transfers = [hold_transfer(transfer_id(row.id, "hold"), accounts, row.amount)]
            else:
                ids = (transfer_id(row.id, "pay"), transfer_id(row.id, "fee"))
                transfers = payment_transfers(ids, accounts, row.amount, row.fee)
            results = session.create_transfers(transfers)
            if TransferResult.EXCEEDS_CREDITS in results:
                raise self._insufficient(session, accounts.buyer, row.asset, row.amount)
            expect_ok(results, f"payment of {row.id}")
            values: dict[str, Any] = {
                "status": str(Status.HELD if held else Status.PAID), "payer_id": payer_id, "paid_at": now,
                "buyer_protection": held, "result_nonce": secrets.token_urlsafe(18),
            }  # fmt: skip
            if held:
                values["release_at"] = release_at(now, row.protection_days)
            connection.execute(
                update(checkout_requests).where(checkout_requests.c.id == row.id).values(**values)
            )
            paid = self._row(connection, row.id)
            data = {
                "payment_request_id": row.id, "reference": row.reference,
                "amount": self._fmt(row.amount, row.asset), "asset": row.asset,
                "held": held, "release_at": values.get("release_at"),
            }  # fmt: skip
            record_event(connection, row.merchant_id, "payment_request.paid", data, now)
            audit(connection, now, payer_id, "checkout.pay", row.id, {"amount": data["amount"], "held": held})
            return Payment(view(paid), self._result(paid))

        return self.ledger.run(work)

    def result_for(self, payer_id: str, request_id: str) -> str:
        """The signed result again, for the payer who paid (a page reloaded). Raises
        PaymentRequestNotFound for anyone else or an unpaid request."""

        def work(connection: Connection) -> str:
            row = self._row(connection, request_id)
            if row.payer_id != payer_id or row.result_nonce is None:
                raise PaymentRequestNotFound("no payment of yours for this request", request_id=request_id)
            return self._result(row)

        return self._read(work)
