"""The merchant's use cases: make a payment request, look at its requests, refund, mark
an order shipped. Each is one transaction; money moves only as ledger transfers."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from obolo.adapters.db.schema import providers
from obolo.adapters.db.schema_checkout import checkout_refunds, checkout_requests
from obolo.adapters.ids import derived_id, keyed_id
from obolo.audit.service import record as audit
from obolo.checkout.errors import (
    InvalidPaymentRequest,
    InvalidRefund,
    NotHeld,
    PaymentRequestNotFound,
    RefundWhileHeld,
)
from obolo.checkout.model import (
    NS_PER_SECOND,
    Release,
    Status,
    Terms,
    check_refund,
    check_return_url,
    check_terms,
    fee_of,
    refund_transfer,
    void_transfer,
)
from obolo.checkout.store import CheckoutBase, PaymentRequest, new_sms_code, transfer_id, view
from obolo.ledger import LedgerSession, TransferResult, expect_ok
from obolo.money import Amount, AssetMismatch
from obolo.paywall.errors import ProviderNotFound
from obolo.webhooks.outbox import record_event


class MerchantSide(CheckoutBase):
    def create(
        self,
        merchant_id: str,
        provider_id: str,
        terms: Terms,
        asset_code: str,
        idempotency_key: str | None = None,
    ) -> PaymentRequest:
        """Ask for a payment, on behalf of one of the merchant's providers (its site). The
        return URL must be on the provider's registered origin. Raises ProviderNotFound,
        InvalidPaymentRequest, InvalidReturnUrl, UnknownAsset; creates nothing then."""
        asset = self.wallets.asset(asset_code)
        check_terms(terms, self.settings.payment_max)
        request_id = keyed_id(idempotency_key, "checkout-request", merchant_id)
        now = self.clock()

        def work(connection: Connection) -> PaymentRequest:
            provider = connection.execute(select(providers).where(providers.c.id == provider_id)).first()
            if provider is None or provider.user_id != merchant_id:
                raise ProviderNotFound("no such provider", provider_id=provider_id)
            return_url = check_return_url(terms.return_url, {provider.origin})
            existing = connection.execute(
                select(checkout_requests.c.id).where(checkout_requests.c.id == request_id)
            ).first()
            if existing is None:
                connection.execute(
                    insert(checkout_requests).values(
                        id=request_id, provider_id=provider.id, merchant_id=merchant_id, asset=asset.code,
                        amount=terms.amount, fee=fee_of(terms.amount, self.fee_rule),
                        description=terms.description.strip(), reference=terms.reference.strip(),
                        items=json.dumps([
                            {"label": i.label.strip(), "quantity": i.quantity, "amount": i.amount}
                            for i in terms.items
                        ]),
                        return_url=return_url, buyer_protection=terms.buyer_protection,
                        protection_days=self.checkout_settings.protection_days, sms_code=new_sms_code(),
                        status=str(Status.OPEN), refunded=0, created_at=now,
                        expires_at=now + terms.expires_in_seconds * NS_PER_SECOND,
                    )
                )  # fmt: skip
            return view(self._row(connection, request_id))

        for _ in range(5):  # an SMS code taken by another request (1 in 10^9): draw again
            try:
                return self.ledger.run(lambda session: work(session.connection))
            except IntegrityError as error:
                if "sms_code" not in str(error):
                    raise
        raise InvalidPaymentRequest("could not draw an SMS code; retry")

    def _mine(self, connection: Connection, merchant_id: str, request_id: str, *, lock: bool = False) -> Any:
        row = self._row(connection, request_id, lock=lock)
        if row.merchant_id != merchant_id:
            raise PaymentRequestNotFound("no such payment request", request_id=request_id)
        return row

    def merchant_request(self, merchant_id: str, request_id: str) -> PaymentRequest:
        """One of the merchant's requests; someone else's is PaymentRequestNotFound."""
        return self._read(lambda connection: view(self._mine(connection, merchant_id, request_id)))

    def merchant_requests(self, merchant_id: str, limit: int = 50) -> list[PaymentRequest]:
        def work(connection: Connection) -> list[PaymentRequest]:
            ids = connection.execute(
                select(checkout_requests.c.id)
                .where(checkout_requests.c.merchant_id == merchant_id)
                .order_by(checkout_requests.c.created_at.desc())
                .limit(limit)
            ).scalars()
            return [view(self._row(connection, request_id)) for request_id in ids]

        return self._read(work)

    def refund(
        self,
        merchant_id: str,
        request_id: str,
        amount: Amount,
        reason: str,
        idempotency_key: str | None = None,
    ) -> PaymentRequest:
        """Give back part or all of a paid request, never more than was paid. A held
        payment (buyer protection) is refunded in full by voiding its hold. Raises
        PaymentRequestNotFound, InvalidRefund, RefundWhileHeld, AssetMismatch,
        InsufficientFunds (the merchant's wallet no longer holds it)."""
        if not reason.strip() or len(reason) > 500:
            raise InvalidRefund("a refund needs a reason of 1-500 characters", field="reason")
        refund_id = keyed_id(idempotency_key, "checkout-refund", merchant_id, request_id)

        def work(session: LedgerSession) -> PaymentRequest:
            connection = session.connection
            row = self._mine(connection, merchant_id, request_id, lock=True)
            done = connection.execute(
                select(checkout_refunds).where(checkout_refunds.c.id == refund_id)
            ).first()
            if done is not None:
                return view(row)  # this very refund was made: a retry whose answer was lost
            if amount.asset.code != row.asset:
                raise AssetMismatch(f"the payment request is in {row.asset}")
            status = Status(row.status)
            check_refund(status, amount.units, row.amount, row.refunded)
            now = self.clock()
            if status in (Status.HELD, Status.DISPUTED):
                if amount.units != row.amount:
                    raise RefundWhileHeld("a held payment is refunded in full, or released first")
                results = session.create_transfers(
                    [void_transfer(transfer_id(row.id, "void"), transfer_id(row.id, "hold"))]
                )
                changes: dict[str, Any] = {"released_at": now, "released_how": str(Release.REFUNDED)}
            else:
                accounts = self._accounts(session, row, row.payer_id)
                results = session.create_transfers(
                    [refund_transfer(derived_id("checkout-refund", refund_id), accounts, amount.units)]
                )
                if TransferResult.EXCEEDS_CREDITS in results:
                    raise self._insufficient(session, accounts.merchant, row.asset, amount.units)
                changes = {}
            expect_ok(results, f"refund of {row.id}")
            refunded = row.refunded + amount.units
            status_after = Status.REFUNDED if refunded == row.amount else status
            connection.execute(
                update(checkout_requests)
                .where(checkout_requests.c.id == row.id)
                .values(refunded=refunded, status=str(status_after), **changes)
            )
            connection.execute(
                insert(checkout_refunds).values(
                    id=refund_id, request_id=row.id, amount=amount.units, reason=reason.strip(),
                    by=merchant_id, created_at=now,
                )
            )  # fmt: skip
            data = {
                "payment_request_id": row.id, "reference": row.reference, "refund_id": refund_id,
                "amount": amount.format(), "refunded": self._fmt(refunded, row.asset), "asset": row.asset,
                "reason": reason.strip(),
            }  # fmt: skip
            record_event(connection, merchant_id, "payment_request.refunded", data, now)
            record_event(connection, row.payer_id, "payment_request.refunded", data, now)
            audit(
                connection,
                now,
                merchant_id,
                "checkout.refund",
                row.id,
                {"amount": amount.format(), "reason": reason.strip()},
            )
            return view(self._row(connection, row.id))

        return self.ledger.run(work)

    def mark_shipped(self, merchant_id: str, request_id: str) -> PaymentRequest:
        """The seller says the goods are on their way (the buyer is told). Raises NotHeld
        unless the payment is held under buyer protection."""

        def work(connection: Connection) -> PaymentRequest:
            row = self._mine(connection, merchant_id, request_id, lock=True)
            if row.status not in (Status.HELD, Status.DISPUTED):
                raise NotHeld("only a payment held under buyer protection is marked shipped")
            if row.shipped_at is None:
                now = self.clock()
                connection.execute(
                    update(checkout_requests).where(checkout_requests.c.id == row.id).values(shipped_at=now)
                )
                data = {"payment_request_id": row.id, "reference": row.reference}
                record_event(connection, row.payer_id, "payment_request.shipped", data, now)
                audit(connection, now, merchant_id, "checkout.shipped", row.id)
            return view(self._row(connection, row.id))

        return self.ledger.run(lambda session: work(session.connection))
