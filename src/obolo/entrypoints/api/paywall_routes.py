"""Providers and channels over HTTP, and the platform's public keys."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field, StrictInt

from obolo.bootstrap import Platform
from obolo.entrypoints.api.auth import PlatformDep, require_scope
from obolo.entrypoints.api.common import Input
from obolo.entrypoints.api.idempotency import IdempotencyKeyHeader
from obolo.entrypoints.api.wallet_routes import ERRORS, AmountText, AssetCode
from obolo.entrypoints.api.write_route import WriteRoute, revealed_by
from obolo.identity.model import Principal
from obolo.money import Amount, format_units
from obolo.paywall.model import MAX_CHAIN, MAX_REACCESS_SECONDS, TITLE_MAX, Claim
from obolo.sdk.payword import PaymentRefused, b64, unb64
from obolo.wallets.errors import InvalidAmount

router = APIRouter(route_class=WriteRoute, tags=["paywall"])


class Strict(Input):
    pass


class ProviderIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    origin: Annotated[str, Field(min_length=8, max_length=300, pattern=r"^https?://[^/\s]+$")]


class ProviderOut(BaseModel):
    id: str
    name: str
    origin: str


class ChannelIn(Strict):
    provider_id: Annotated[str, Field(min_length=1, max_length=36)]
    asset: AssetCode
    price: AmountText
    length: Annotated[int, Field(ge=1, le=MAX_CHAIN)]
    root: Annotated[str, Field(min_length=43, max_length=44, description="base64url of w_0, 32 bytes")]
    ttl_seconds: Annotated[int, Field(ge=60, le=30 * 86400)] = 3600
    reader_key: Annotated[
        str | None,
        Field(
            min_length=43,
            max_length=44,
            description="base64url of your Ed25519 public key (32 bytes), named in the certificate: "
            "past a provider's daily cap, views are free but need your signature with it.",
        ),
    ] = None


class ChannelOut(BaseModel):
    channel_id: str
    certificate: str = Field(description="Signed certificate; send it to the provider with each payment.")
    reserved: str
    asset: str


class ClaimIn(Strict):
    channel_id: Annotated[str, Field(min_length=1, max_length=36)]
    index: Annotated[int, Field(ge=0, le=MAX_CHAIN)]
    token: Annotated[str, Field(min_length=43, max_length=44)]


class ClaimsIn(Strict):
    claims: Annotated[list[ClaimIn], Field(min_length=1, max_length=1000)]


class ClaimOut(BaseModel):
    channel_id: str
    status: Literal["settled", "already_settled", "not_found", "bad_preimage", "beyond_channel", "expired"]
    payments: int
    paid: str
    fee: str
    released: str
    refunded: str = Field(description="Used payments the reader took back, netted from what was paid.")


class PublicKey(BaseModel):
    kid: str
    alg: str
    public_key: str


class Keys(BaseModel):
    keys: list[PublicKey]


@router.get("/.well-known/obolo-keys")
def public_keys(platform: PlatformDep) -> Keys:
    """The platform's Ed25519 public keys, by key id, to verify channel certificates offline."""
    return Keys(keys=[PublicKey(**k) for k in platform.keys.published()])


class NoBody(Strict):
    """The body of a POST that takes none: its idempotency fingerprint is the path alone."""


@router.post("/v1/providers", status_code=201, response_model=ProviderOut, responses=ERRORS)
def register_provider(
    body: ProviderIn,
    request: Request,
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("provider:*"))],
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Register a site or API that accepts payments (needs the provider role). A retry
    with the same `Idempotency-Key` answers the same provider."""

    provider = platform.paywall.register_provider(principal.user_id, body.name, body.origin, idempotency_key)
    return ProviderOut(id=provider.id, name=provider.name, origin=provider.origin).model_dump()


@router.post("/v1/channels", status_code=201, response_model=ChannelOut, responses=ERRORS)
def open_channel(
    body: ChannelIn,
    request: Request,
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("payments:write"))],
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Reserve length x price for one provider and get the signed certificate. A retry
    with the same `Idempotency-Key` answers the same channel and reserves nothing more."""

    price = Amount.parse(body.price, platform.wallets.asset(body.asset))
    channel_id, certificate = platform.paywall.open_channel(
        principal.user_id, body.provider_id, price, body.length, body.root, body.ttl_seconds,
        idempotency_key, reader_key=body.reader_key or "",
    )  # fmt: skip
    out = ChannelOut(
        channel_id=channel_id,
        certificate=certificate,
        reserved=format_units(price.units * body.length, price.asset),
        asset=body.asset,
    )
    return out.model_dump(mode="json")


@router.post("/v1/channels/claims", response_model=list[ClaimOut], responses=ERRORS)
def settle_claims(
    body: ClaimsIn,
    request: Request,
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("provider:*"))],
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Settle channels from the highest payment received on each: the provider is paid
    index x price less the fee, the rest goes back to the payer. Sending a claim twice
    pays once; with the same `Idempotency-Key` the first answer is replayed."""

    return [claim.model_dump() for claim in _settle(platform, principal, body)]


def _settle(platform: Platform, principal: Principal, body: ClaimsIn) -> list[ClaimOut]:
    claims = []
    for item in body.claims:
        try:
            token = unb64(item.token)
        except PaymentRefused:
            token = b""
        claims.append(Claim(item.channel_id, item.index, token))
    results = platform.paywall.settle_claims(principal.user_id, claims)
    out = []
    for r in results:
        asset = platform.wallets.asset(r.asset or "EUR")
        out.append(
            ClaimOut(
                channel_id=r.channel_id,
                status=r.status.value,
                payments=r.payments,
                paid=format_units(r.paid, asset),
                fee=format_units(r.fee, asset),
                released=format_units(r.released, asset),
                refunded=format_units(r.refunded, asset),
            )
        )
    return out


class PassIn(Strict):
    provider_id: Annotated[str, Field(min_length=1, max_length=36)]
    pattern: Annotated[str, Field(min_length=1, max_length=200)]
    asset: AssetCode
    price: AmountText
    visits: Annotated[int, Field(ge=1, le=100_000)] | None = None
    hours: Annotated[int, Field(ge=1, le=24 * 366)] | None = None


class PassOut(BaseModel):
    token: str = Field(description="Send as Payment: b64url({scheme: obolo-pass, pass: token}).")


@router.post("/v1/passes", status_code=201, response_model=PassOut, responses=ERRORS)
def buy_pass(
    body: PassIn,
    request: Request,
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("payments:write"))],
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Buy a pass the provider publishes (`/v1/providers/{id}/prices`; its 402 lists them),
    on exactly its terms: pay once, visit offline. Other terms are 422 pass_not_on_sale and
    cost nothing. A retry with the same `Idempotency-Key` answers the same pass, paid once."""

    price = Amount.parse(body.price, platform.wallets.asset(body.asset))
    token = platform.paywall.buy_pass(
        principal.user_id, body.provider_id, body.pattern, price,
        visits=body.visits, hours=body.hours, idempotency_key=idempotency_key,
    )  # fmt: skip
    return PassOut(token=token).model_dump(mode="json")


class ConsentIn(Strict):
    asset: AssetCode
    per_item: AmountText
    per_day: AmountText


class ChargeIn(Strict):
    provider_id: Annotated[str, Field(min_length=1, max_length=36)]
    resource: Annotated[str, Field(min_length=1, max_length=500)]
    asset: AssetCode
    amount: AmountText
    charge_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]
    title: Annotated[
        str | None,
        Field(
            max_length=TITLE_MAX,
            description="What the provider calls what is bought (an article's title): your history "
            "shows it instead of the path. One line.",
        ),
    ] = None


class ChargeOut(BaseModel):
    receipt: str = Field(description="Send as Payment: b64url({scheme: obolo-charge, receipt}).")


@router.put("/v1/consents/{provider_id}", status_code=204, responses=ERRORS)
def set_consent(
    provider_id: Annotated[str, Path(max_length=36)],
    body: ConsentIn,
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("payments:write"))],
) -> Response:
    """Allow a provider to charge you up to `per_item` a view and `per_day` a day."""
    asset = platform.wallets.asset(body.asset)
    platform.tabs.set_consent(
        principal.user_id, provider_id, Amount.parse(body.per_item, asset), Amount.parse(body.per_day, asset)
    )
    return Response(status_code=204)


@router.post("/v1/charges", status_code=201, response_model=ChargeOut, responses=ERRORS)
def create_charge(
    body: ChargeIn,
    request: Request,
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("payments:write"))],
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Pay one view under your consent: accrued on your tab with the provider, answered
    with a signed receipt the provider's site accepts offline. The same charge_id again
    returns the same receipt and charges nothing more; so does the same `Idempotency-Key`."""

    amount = Amount.parse(body.amount, platform.wallets.asset(body.asset))
    receipt = platform.tabs.charge(
        principal.user_id, body.provider_id, body.resource, amount, body.charge_id, title=body.title
    )
    return ChargeOut(receipt=receipt).model_dump()


class RefundIn(Strict):
    provider_id: Annotated[str, Field(min_length=1, max_length=36)]
    charge_id: Annotated[str, Field(min_length=1, max_length=64)]


class RefundOut(BaseModel):
    refunded_units: int


@router.post("/v1/refunds", status_code=201, response_model=RefundOut, responses=ERRORS)
def refund_charge(
    body: RefundIn,
    request: Request,
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("payments:write"))],
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Take back a charged view within 10 minutes (5 a day): netted against the provider's
    settlement, never a transfer of its own. A retry with the same `Idempotency-Key`
    replays the first answer."""

    units = platform.tabs.refund(principal.user_id, body.provider_id, body.charge_id)
    return RefundOut(refunded_units=units).model_dump()


class PriceRule(Strict):
    pattern: Annotated[str, Field(min_length=1, max_length=200)]
    price: AmountText
    asset: AssetCode = "EUR"
    daily_cap: AmountText | None = None
    monthly_cap: AmountText | None = None


class PassRule(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    pattern: Annotated[str, Field(min_length=1, max_length=200)]
    price: AmountText
    asset: AssetCode = "EUR"
    visits: Annotated[int, Field(ge=1, le=100_000)] | None = None
    hours: Annotated[int, Field(ge=1, le=24 * 366)] | None = None


class PriceRules(Strict):
    prices: Annotated[list[PriceRule], Field(max_length=100)] = []
    passes: Annotated[list[PassRule], Field(max_length=20)] = []


@router.put("/v1/providers/{provider_id}/prices", status_code=204, responses=ERRORS)
def set_prices(
    provider_id: Annotated[str, Path(max_length=36)],
    body: PriceRules,
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("provider:*"))],
) -> Response:
    """Publish what this provider charges: per-view prices (with caps) and passes. Its
    SDK fetches them (`obolo.sdk.paywall.fetch_price_rules`)."""
    # Refuse a bad asset or amount before anything is stored.
    amounts = [(r.asset, r.price) for r in body.prices] + [(p.asset, p.price) for p in body.passes]
    amounts += [
        (r.asset, cap) for r in body.prices for cap in (r.daily_cap, r.monthly_cap) if cap is not None
    ]
    for asset_code, text in amounts:
        if Amount.parse(text, platform.wallets.asset(asset_code)).units <= 0:
            raise InvalidAmount("prices and caps are positive", amount=text)
    platform.paywall.set_price_rules(principal.user_id, provider_id, body.model_dump(mode="json"))
    return Response(status_code=204)


@router.get("/v1/providers/{provider_id}/prices", responses=ERRORS)
def get_prices(provider_id: Annotated[str, Path(max_length=36)], platform: PlatformDep) -> PriceRules:
    """A provider's published prices and passes (public: readers may look before paying)."""
    return PriceRules.model_validate(platform.paywall.price_rules(provider_id))


class ReaccessPeriod(Strict):
    seconds: Annotated[
        StrictInt,
        Field(
            ge=0,
            le=MAX_REACCESS_SECONDS,
            description="How long a purchase reopens its page on any of the reader's devices, in "
            "whole seconds: 0 (every view is paid) to a year. A purchase keeps the period in force "
            "when it was bought. Give the same to your middleware (PaywallMiddleware(reaccess_seconds=...)).",
        ),
    ]


@router.put("/v1/providers/{provider_id}/reaccess-period", response_model=ReaccessPeriod, responses=ERRORS)
def set_reaccess_period(
    provider_id: Annotated[str, Path(max_length=36)],
    body: ReaccessPeriod,
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("provider:*"))],
) -> Any:
    """Set how long what a reader buys here reopens for free on all their devices (a day
    unless set). Purchases made from now on follow it; earlier ones keep theirs."""
    seconds = platform.paywall.set_reaccess_period(principal.user_id, provider_id, body.seconds)
    return ReaccessPeriod(seconds=seconds).model_dump()


@router.get("/v1/providers/{provider_id}/reaccess-period", responses=ERRORS)
def get_reaccess_period(
    provider_id: Annotated[str, Path(max_length=36)], platform: PlatformDep
) -> ReaccessPeriod:
    """A provider's re-access period (public: a reader may know it before paying)."""
    return ReaccessPeriod(seconds=platform.paywall.reaccess_period(provider_id))


class ReceiptKeyOut(BaseModel):
    receipt_key: str = Field(
        description="base64url of 32 bytes, shown once: give it to the paywall middleware "
        "(receipt_key=...) so each paid view carries a receipt the reader can refund."
    )


@router.post(
    "/v1/providers/{provider_id}/receipt-key", status_code=201, response_model=ReceiptKeyOut, responses=ERRORS
)
@revealed_by(lambda platform, sealed: ReceiptKeyOut(receipt_key=platform.secrets.open(sealed["sealed"])))
def issue_receipt_key(
    provider_id: Annotated[str, Path(max_length=36)],
    request: Request,
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("provider:*"))],
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """A new key for view receipts (replacing the previous one): the middleware MACs each
    paid channel view with it, and the platform checks refunds against it. A retry with
    the same `Idempotency-Key` answers the key its first request issued."""

    key = platform.channel_refunds.issue_receipt_key(principal.user_id, provider_id)
    # The stored answer holds the key sealed, as the provider's row does: never in clear.
    return {"sealed": platform.secrets.seal(b64(key))}


class ViewRefundIn(Strict):
    view: Annotated[
        str, Field(min_length=10, max_length=2000, description="The `view` of a Payment-Response.")
    ]


class ViewRefundOut(BaseModel):
    channel_id: str
    index: int
    refunded: str
    asset: str
    netted: Literal["settlement", "credit_note"] = Field(
        description="settlement: the open channel will pay the provider less; credit_note: the "
        "channel had settled, so the provider's next settlement with you pays that much less."
    )


@router.post(
    "/v1/channels/{channel_id}/refunds", status_code=201, response_model=ViewRefundOut, responses=ERRORS
)
def refund_view(
    channel_id: Annotated[str, Path(max_length=36)],
    body: ViewRefundIn,
    request: Request,
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("payments:write"))],
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Take back a view paid on a channel, within the refund window and the daily limit,
    with the view receipt the provider returned. No transfer: netted at settlement. A
    retry with the same `Idempotency-Key` replays the first answer."""

    refund = platform.channel_refunds.refund_view(principal.user_id, channel_id, body.view)
    out = ViewRefundOut(
        channel_id=refund.channel_id,
        index=refund.index,
        refunded=format_units(refund.amount, platform.wallets.asset(refund.asset)),
        asset=refund.asset,
        netted=refund.netted,
    )
    return out.model_dump()
