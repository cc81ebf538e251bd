"""Payment requests over HTTP, for both sides: merchants (an API key with `provider:*`,
or `provider:read` to read) ask for payments, refund and mark orders shipped; payers (a
session, or a key with `payments:write`) pay, confirm receipt and dispute; operators rule
on disputes. Every POST takes `Idempotency-Key`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import segno
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from obolo.adapters.clock import iso
from obolo.bootstrap import Platform
from obolo.checkout.model import LineItem, Terms
from obolo.checkout.service import Payment, PaymentRequest
from obolo.entrypoints.api.auth import PlatformDep, require_role, require_scope
from obolo.entrypoints.api.common import PositiveAmountText, Strict
from obolo.entrypoints.api.idempotency import IdempotencyKeyHeader
from obolo.entrypoints.api.wallet_routes import ERRORS, AmountText, AssetCode
from obolo.entrypoints.api.write_route import WriteRoute
from obolo.identity.model import Principal, Role
from obolo.money import Amount, format_units

router = APIRouter(route_class=WriteRoute, tags=["checkout"])
Id = Annotated[str, Path(min_length=1, max_length=36)]
Merchant = Annotated[Principal, Depends(require_scope("provider:*"))]
MerchantReader = Annotated[Principal, Depends(require_scope("provider:read"))]
Payer = Annotated[Principal, Depends(require_scope("payments:write"))]
Operator = Annotated[Principal, Depends(require_role(Role.OPERATOR))]


class _Empty(Strict):
    """No body; the idempotency key still fingerprints the call."""


class ItemIn(Strict):
    label: Annotated[str, Field(min_length=1, max_length=200)]
    quantity: Annotated[int, Field(ge=1, le=10_000)] = 1
    amount: AmountText


class PaymentRequestIn(Strict):
    provider_id: Annotated[str, Field(min_length=1, max_length=36, description="The merchant's site")]
    amount: PositiveAmountText
    asset: AssetCode
    description: Annotated[str, Field(min_length=1, max_length=200)]
    reference: Annotated[str, Field(min_length=1, max_length=100, description="The merchant's order id")]
    return_url: Annotated[str, Field(min_length=1, max_length=2000, description="On the site's origin")]
    expires_in_seconds: Annotated[int, Field(ge=60, le=30 * 86_400)] = 3600
    items: Annotated[list[ItemIn], Field(max_length=100)] = []
    buyer_protection: bool = False


class ItemOut(BaseModel):
    label: str
    quantity: int
    amount: str


class PaymentRequestOut(BaseModel):
    id: str
    provider_id: str
    merchant_name: str
    status: Literal["open", "held", "disputed", "paid", "refunded", "expired"]
    amount: str
    fee: str
    asset: str
    description: str
    reference: str
    items: list[ItemOut]
    return_url: str
    buyer_protection: bool
    protection_days: int
    checkout_url: str = Field(description="The hosted checkout page")
    link_url: str = Field(description="The short payment link (what the QR code holds)")
    sms_code: str = Field(description="What a payer texts: PAY <code>")
    payer_id: str | None
    refunded: str
    refundable: str
    created_at: str
    expires_at: str
    paid_at: str | None
    release_at: str | None
    shipped_at: str | None
    released_at: str | None
    released_how: str | None
    dispute_reason: str | None

    @classmethod
    def of(cls, request: PaymentRequest, platform: Platform, base: str) -> PaymentRequestOut:
        asset = platform.wallets.asset(request.asset)

        def when(value: int | None) -> str | None:
            return None if value is None else iso(value)

        return cls(
            id=request.id, provider_id=request.provider_id, merchant_name=request.merchant_name,
            status=request.status.value, amount=format_units(request.amount, asset),
            fee=format_units(request.fee, asset), asset=request.asset, description=request.description,
            reference=request.reference,
            items=[ItemOut(label=i.label, quantity=i.quantity, amount=format_units(i.amount, asset))
                   for i in request.items],
            return_url=request.return_url, buyer_protection=request.buyer_protection,
            protection_days=request.protection_days, checkout_url=f"{base}/pay/{request.id}",
            link_url=f"{base}/p/{request.sms_code}", sms_code=request.sms_code, payer_id=request.payer_id,
            refunded=format_units(request.refunded, asset),
            refundable=format_units(request.refundable, asset), created_at=iso(request.created_at),
            expires_at=iso(request.expires_at), paid_at=when(request.paid_at),
            release_at=when(request.release_at), shipped_at=when(request.shipped_at),
            released_at=when(request.released_at), released_how=request.released_how,
            dispute_reason=request.dispute_reason,
        )  # fmt: skip


class CreatedOut(PaymentRequestOut):
    qr_svg: str = Field(description="The payment link as a QR code, an SVG document")


class PayIn(Strict):
    protection: bool = Field(False, description="Hold the money until you confirm receipt (buyer protection)")
    amount: PositiveAmountText | None = Field(None, description="What you were shown: refused if it differs")
    asset: AssetCode | None = None


class PaymentOut(BaseModel):
    payment_request: PaymentRequestOut
    result: str = Field(description="Signed result for the merchant (obolo.sdk.checkout.verify_result)")


class RefundIn(Strict):
    multiline = frozenset({"reason"})
    amount: PositiveAmountText
    asset: AssetCode
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class DisputeIn(Strict):
    multiline = frozenset({"reason"})
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class DecisionIn(Strict):
    multiline = frozenset({"note"})
    decision: Literal["refund", "release"]
    note: Annotated[str, Field(min_length=1, max_length=2000)]


def base_url(platform: Platform, request: Request) -> str:
    """Where payers find the pages: OBOLO_PUBLIC_URL, else the address this request came to."""
    return (platform.settings.public_url or str(request.base_url)).rstrip("/")


def qr_svg(url: str) -> str:
    return str(segno.make(url, error="m").svg_inline(scale=4, border=2))


def _out(request: PaymentRequest, platform: Platform, http: Request) -> dict[str, Any]:
    return PaymentRequestOut.of(request, platform, base_url(platform, http)).model_dump(mode="json")


def payment_out(payment: Payment, platform: Platform, http: Request) -> dict[str, Any]:
    return {"payment_request": _out(payment.request, platform, http), "result": payment.result}


@router.post("/v1/payment-requests", status_code=201, response_model=CreatedOut, responses=ERRORS)
def create_payment_request(
    body: PaymentRequestIn,
    request: Request,
    platform: PlatformDep,
    principal: Merchant,
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Ask a buyer for a payment: answered with the hosted checkout URL, a payment link
    and its QR code, and the SMS code. The return URL must be on the site's origin."""

    asset = platform.wallets.asset(body.asset)
    terms = Terms(
        amount=Amount.parse(body.amount, asset).units, description=body.description,
        reference=body.reference, return_url=body.return_url, expires_in_seconds=body.expires_in_seconds,
        items=tuple(
            LineItem(i.label, i.quantity, Amount.parse(i.amount, asset).units) for i in body.items
        ),
        buyer_protection=body.buyer_protection,
    )  # fmt: skip
    merchant, site = principal.user_id, body.provider_id
    made = platform.checkout.create(merchant, site, terms, asset.code, idempotency_key)
    out = PaymentRequestOut.of(made, platform, base_url(platform, request))
    return CreatedOut(**out.model_dump(), qr_svg=qr_svg(out.link_url)).model_dump(mode="json")


@router.get("/v1/payment-requests", responses=ERRORS)
def list_payment_requests(
    request: Request,
    platform: PlatformDep,
    principal: MerchantReader,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[PaymentRequestOut]:
    """The merchant's payment requests, newest first."""
    base = base_url(platform, request)
    found = platform.checkout.merchant_requests(principal.user_id, limit)
    return [PaymentRequestOut.of(r, platform, base) for r in found]


@router.get("/v1/payment-requests/{payment_request_id}", responses=ERRORS)
def get_payment_request(
    payment_request_id: Id, request: Request, platform: PlatformDep, principal: MerchantReader
) -> PaymentRequestOut:
    """One of the merchant's payment requests: its status, what was paid and refunded."""
    found = platform.checkout.merchant_request(principal.user_id, payment_request_id)
    return PaymentRequestOut.of(found, platform, base_url(platform, request))


@router.post("/v1/payment-requests/{payment_request_id}/refunds", status_code=201, responses=ERRORS)
def refund_payment_request(
    payment_request_id: Id,
    body: RefundIn,
    request: Request,
    platform: PlatformDep,
    principal: Merchant,
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Refund part or all of a payment, never more than was paid, with a reason."""

    amount = Amount.parse(body.amount, platform.wallets.asset(body.asset))
    merchant, reason = principal.user_id, body.reason
    done = platform.checkout.refund(merchant, payment_request_id, amount, reason, idempotency_key)
    return _out(done, platform, request)


@router.post("/v1/payment-requests/{payment_request_id}/shipped", responses=ERRORS)
def mark_shipped(
    payment_request_id: Id,
    request: Request,
    platform: PlatformDep,
    principal: Merchant,
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """The seller marks a held order shipped; the buyer is told."""

    done = platform.checkout.mark_shipped(principal.user_id, payment_request_id)
    return _out(done, platform, request)


@router.post("/v1/payment-requests/{payment_request_id}/pay", response_model=PaymentOut, responses=ERRORS)
def pay_payment_request(
    payment_request_id: Id,
    body: PayIn,
    request: Request,
    platform: PlatformDep,
    principal: Payer,
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Pay a payment request from your wallet, once: paying it again answers with the same
    payment; someone else's payment is 409 `payment_request_paid`, an expired request 409
    `payment_request_expired`. With `amount`, it must be the request's."""

    expected = None
    if body.amount is not None or body.asset is not None:
        expected = Amount.parse(body.amount or "", platform.wallets.asset(body.asset or ""))
    payer, protection = principal.user_id, body.protection
    paid = platform.checkout.pay(payer, payment_request_id, protection=protection, expected=expected)
    return payment_out(paid, platform, request)


@router.post("/v1/payment-requests/{payment_request_id}/receipt", responses=ERRORS)
def confirm_receipt(
    payment_request_id: Id,
    request: Request,
    platform: PlatformDep,
    principal: Payer,
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """The buyer has the goods: the held money goes to the seller now."""

    done = platform.checkout.confirm_receipt(principal.user_id, payment_request_id)
    return _out(done, platform, request)


@router.post("/v1/payment-requests/{payment_request_id}/disputes", status_code=201, responses=ERRORS)
def open_dispute(
    payment_request_id: Id,
    body: DisputeIn,
    request: Request,
    platform: PlatformDep,
    principal: Payer,
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """The buyer disputes a held payment within its window; an operator decides."""

    done = platform.checkout.open_dispute(principal.user_id, payment_request_id, body.reason)
    return _out(done, platform, request)


@router.get("/v1/admin/payment-requests/disputes", responses=ERRORS)
def list_disputes(request: Request, platform: PlatformDep, principal: Operator) -> list[PaymentRequestOut]:
    """The operator's queue: payment requests whose buyer opened a dispute, oldest first."""
    base = base_url(platform, request)
    return [PaymentRequestOut.of(r, platform, base) for r in platform.checkout.disputes()]


@router.post("/v1/admin/payment-requests/{payment_request_id}/decision", responses=ERRORS)
def decide_dispute(
    payment_request_id: Id,
    body: DecisionIn,
    request: Request,
    platform: PlatformDep,
    principal: Operator,
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """The operator's ruling on a disputed payment: refund the buyer or release to the seller."""

    refund = body.decision == "refund"
    operator, note = principal.user_id, body.note
    done = platform.checkout.decide_dispute(operator, payment_request_id, refund=refund, note=note)
    return _out(done, platform, request)
