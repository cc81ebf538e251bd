"""Tap to pay over HTTP: merchants and their terminals, cards linked by their owners,
taps from terminals (online, and offline in batches), offline kits, journey history.

Terminals authenticate with their own credential, never a person's: either
`Authorization: Bearer tk_...` (the API key given once at registration) or, for a
terminal that registered an Ed25519 public key, `Obolo-Terminal-Signature` over
`METHOD PATH\\nTIMESTAMP\\n` + body with `Obolo-Timestamp` (unix seconds).
A tap's own id is its idempotency key: a retry answers the same and charges once.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError

from obolo.adapters.clock import NS_PER_SECOND, from_iso, iso
from obolo.bootstrap import Platform
from obolo.entrypoints.api.auth import PlatformDep, require_scope
from obolo.entrypoints.api.wallet_routes import ERRORS, AmountText, AssetCode, Strict
from obolo.entrypoints.api.write_route import WriteRoute
from obolo.errors import OboloError
from obolo.identity.model import Principal
from obolo.money import Amount, format_units
from obolo.tap.errors import BadTerminalCredential, InvalidTap
from obolo.tap.model import Mode, parse_uid
from obolo.tap.service import Card, Credential, Journey, TapIn, TapOutcome

router = APIRouter(route_class=WriteRoute, prefix="/v1", tags=["tap"])
IdempotencyKeyHeader = Header(None, alias="Idempotency-Key", min_length=1, max_length=255)
UidText = Annotated[
    str, Field(min_length=8, max_length=40, description="The card's UID in hex", examples=["04A2"])
]
TimeText = Annotated[str, Field(min_length=10, max_length=40, description="RFC 3339 time of the tap")]
SIGNATURE_SKEW_SECONDS = 300


class MerchantIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    origin: Annotated[str, Field(min_length=8, max_length=300, pattern=r"^https?://[^/\s]+$")]
    kind: Literal["retail", "transit"]
    asset: AssetCode = "EUR"
    offline_limit: AmountText = "0"
    fare: AmountText | None = None
    daily_cap: AmountText | None = None
    weekly_cap: AmountText | None = None


class MerchantOut(BaseModel):
    id: str
    name: str
    kind: str
    asset: str
    offline_limit: str
    fare: str | None
    daily_cap: str | None
    weekly_cap: str | None


class TerminalIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    mode: Literal["retail", "transit"]
    public_key: Annotated[str | None, Field(min_length=43, max_length=44)] = None


class TerminalOut(BaseModel):
    id: str
    merchant_id: str
    name: str
    mode: str
    api_key: str | None = Field(None, description="Shown once: the terminal's credential.")


class CardIn(Strict):
    uid: UidText
    label: Annotated[str, Field(min_length=1, max_length=60)] = "card"
    asset: AssetCode = "EUR"


class CardOut(BaseModel):
    id: str
    label: str
    asset: str
    blocked: bool
    owed: str

    @classmethod
    def of(cls, card: Card, platform: Platform) -> CardOut:
        asset = platform.wallets.asset(card.asset)
        return cls(id=card.id, label=card.label, asset=card.asset, blocked=card.blocked,
                   owed=format_units(card.owed, asset))  # fmt: skip


class TapBody(Strict):
    tap_id: Annotated[str, Field(min_length=32, max_length=36, description="A UUID the terminal chooses")]
    card_uid: UidText
    amount: AmountText | None = Field(None, description="Retail: what to charge. Transit: leave out.")
    asset: AssetCode | None = None
    tapped_at: TimeText | None = Field(None, description="When the card was tapped (required offline)")


class TapRequest(TapBody):
    terminal_id: Annotated[str, Field(min_length=32, max_length=36)]


class TapOut(BaseModel):
    tap_id: str
    status: Literal["approved", "declined"]
    reason: str | None
    asset: str
    amount: str
    charged: str
    capped: bool
    debt: str
    balance_band: str | None
    duplicate_of: str | None
    receipt: str | None = Field(None, description="Signed by the platform; obolo.sdk.tap.verify_receipt")

    @classmethod
    def of(cls, outcome: TapOutcome, platform: Platform) -> TapOut:
        asset = platform.wallets.asset(outcome.asset)
        return cls(
            tap_id=outcome.tap_id, status=outcome.status.value,
            reason=outcome.reason.value if outcome.reason else None, asset=outcome.asset,
            amount=format_units(outcome.amount, asset), charged=format_units(outcome.charged, asset),
            capped=outcome.capped, debt=format_units(outcome.debt, asset), balance_band=outcome.balance_band,
            duplicate_of=outcome.duplicate_of, receipt=outcome.receipt,
        )  # fmt: skip


class OfflineTapsIn(Strict):
    taps: Annotated[list[TapBody], Field(min_length=1, max_length=1000)]


class OfflineTapResult(BaseModel):
    tap_id: str
    result: TapOut | None = None
    error: dict[str, Any] | None = None


class OfflineTapsOut(BaseModel):
    results: list[OfflineTapResult]


class KitOut(BaseModel):
    kit: str = Field(description="Signed by the platform; obolo.sdk.tap.verify_kit")


class JourneyOut(BaseModel):
    tap_id: str
    merchant: str
    terminal_id: str
    mode: str
    status: str
    reason: str | None
    asset: str
    fare: str
    charged: str
    capped: bool
    debt: str
    offline: bool
    tapped_at: str

    @classmethod
    def of(cls, j: Journey, platform: Platform) -> JourneyOut:
        asset = platform.wallets.asset(j.asset)
        return cls(
            tap_id=j.tap_id, merchant=j.merchant, terminal_id=j.terminal_id, mode=j.mode.value,
            status=j.status.value, reason=j.reason.value if j.reason else None, asset=j.asset,
            fare=format_units(j.fare, asset), charged=format_units(j.charged, asset), capped=j.capped,
            debt=format_units(j.debt, asset), offline=j.offline, tapped_at=iso(j.tapped_at),
        )  # fmt: skip


# -- terminal credentials ------------------------------------------------------------------------


async def credential_of(request: Request, terminal_id: str) -> Credential:
    """What the terminal presented; the service decides whether it is that terminal's."""
    headers = request.headers
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() == "bearer" and key.strip().startswith("tk_"):
            return Credential(terminal_id, api_key=key.strip())
    signature, timestamp = headers.get("obolo-terminal-signature"), headers.get("obolo-timestamp")
    if signature and timestamp:
        try:
            stamp = int(timestamp)
        except ValueError as error:
            raise BadTerminalCredential("Obolo-Timestamp is unix seconds") from error
        platform: Platform = request.app.state.platform
        if abs(platform.clock() // NS_PER_SECOND - stamp) > SIGNATURE_SKEW_SECONDS:
            raise BadTerminalCredential("the signature's timestamp is too far from the platform's clock")
        message = f"{request.method} {request.url.path}\n{stamp}\n".encode() + await request.body()
        return Credential(terminal_id, signature=signature, signed_message=message)
    raise BadTerminalCredential("a terminal credential is required (Bearer tk_... or a signature)")


async def terminal_credential(
    request: Request,
    # Declared for the API's schema; read from the request by credential_of.
    authorization: Annotated[str | None, Header()] = None,
    obolo_terminal: Annotated[str | None, Header()] = None,
    obolo_terminal_signature: Annotated[str | None, Header()] = None,
    obolo_timestamp: Annotated[str | None, Header()] = None,
) -> Credential:
    return await credential_of(request, request.path_params.get("terminal_id") or obolo_terminal or "")


CredentialDep = Annotated[Credential, Depends(terminal_credential)]


def _units(platform: Platform, text: str | None, asset: str) -> int | None:
    return None if text is None else Amount.parse(text, platform.wallets.asset(asset)).units


def _tap_in(platform: Platform, body: TapBody) -> TapIn:
    try:
        tapped_at = from_iso(body.tapped_at) if body.tapped_at else None
    except ValueError as error:
        raise InvalidTap("tapped_at is an RFC 3339 time", field="tapped_at") from error
    return TapIn(
        body.tap_id, parse_uid(body.card_uid), _units(platform, body.amount, body.asset or "EUR"),
        tapped_at, body.asset,
    )  # fmt: skip


# -- merchants, terminals, cards ----------------------------------------------------------------


@router.post("/merchants", status_code=201, response_model=MerchantOut, responses=ERRORS)
def register_merchant(
    body: MerchantIn,
    request: Request,
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("provider:*"))],
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Register a shop or a transit operator (a provider of the tap kind; needs the provider role)."""

    asset = platform.wallets.asset(body.asset)
    units = {
        name: _units(platform, getattr(body, name), body.asset)
        for name in ("fare", "daily_cap", "weekly_cap")
    }
    merchant = platform.tap.register_merchant(
        principal.user_id, body.name, body.origin, Mode(body.kind), body.asset,
        offline_limit=_units(platform, body.offline_limit, body.asset) or 0, **units,
        idempotency_key=idempotency_key,
    )  # fmt: skip

    def text(units: int | None) -> str | None:
        return None if units is None else format_units(units, asset)

    out = MerchantOut(
        id=merchant.id, name=merchant.name, kind=merchant.kind.value, asset=merchant.asset,
        offline_limit=format_units(merchant.offline_limit, asset), fare=text(merchant.fare),
        daily_cap=text(merchant.daily_cap), weekly_cap=text(merchant.weekly_cap),
    )  # fmt: skip
    return out.model_dump(mode="json")


@router.post("/merchants/{merchant_id}/terminals", status_code=201, responses=ERRORS)
def register_terminal(
    body: TerminalIn,
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("provider:*"))],
    merchant_id: Annotated[str, Path(max_length=36)],
) -> TerminalOut:
    """Add a terminal: its API key is in this answer only (or it signs with its registered
    key). Not replayed by Idempotency-Key, as API keys are not: a stored answer would keep
    the key in clear."""
    terminal, api_key = platform.tap.register_terminal(
        principal.user_id, merchant_id, body.name, Mode(body.mode), body.public_key
    )
    return TerminalOut(
        id=terminal.id, merchant_id=terminal.merchant_id, name=terminal.name, mode=terminal.mode.value,
        api_key=api_key,
    )  # fmt: skip


@router.post("/cards", status_code=201, response_model=CardOut, responses=ERRORS)
def link_card(
    body: CardIn,
    request: Request,
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("payments:write"))],
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Link a contactless card or tag to your wallet by its UID (kept only as a keyed hash)."""

    card = platform.tap.link_card(
        principal.user_id, parse_uid(body.uid), body.label, body.asset, idempotency_key
    )
    return CardOut.of(card, platform).model_dump(mode="json")


@router.get("/cards", responses=ERRORS)
def list_cards(
    platform: PlatformDep, principal: Annotated[Principal, Depends(require_scope("wallets:read"))]
) -> list[CardOut]:
    """Your linked cards."""
    return [CardOut.of(card, platform) for card in platform.tap.cards(principal.user_id)]


@router.post("/cards/{card_id}/block", responses=ERRORS)
def block_card(
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("payments:write"))],
    card_id: Annotated[str, Path(max_length=36)],
) -> CardOut:
    """Block a card: every tap is declined from now on (offline, once terminals refresh their kit)."""
    return CardOut.of(platform.tap.set_blocked(principal.user_id, card_id, True), platform)


@router.post("/cards/{card_id}/unblock", responses=ERRORS)
def unblock_card(
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("payments:write"))],
    card_id: Annotated[str, Path(max_length=36)],
) -> CardOut:
    """Unblock a card you blocked."""
    return CardOut.of(platform.tap.set_blocked(principal.user_id, card_id, False), platform)


@router.get("/cards/{card_id}/journeys", responses=ERRORS)
def journeys(
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("wallets:read"))],
    card_id: Annotated[str, Path(max_length=36)],
) -> list[JourneyOut]:
    """The card's taps, newest first: where, the fare, what was charged, capped or not."""
    return [JourneyOut.of(j, platform) for j in platform.tap.journeys(principal.user_id, card_id)]


# -- terminals -----------------------------------------------------------------------------------


_TERMINAL_HEADERS = [
    {"name": name, "in": "header", "required": False, "schema": {"type": "string"}, "description": text}
    for name, text in (
        ("Authorization", "Bearer tk_...: the terminal's API key"),
        ("Obolo-Terminal-Signature", "Ed25519 over METHOD PATH\\nTIMESTAMP\\n + body (base64)"),
        ("Obolo-Timestamp", "unix seconds of the signature"),
    )
]
_TAP_SCHEMA = {
    "parameters": _TERMINAL_HEADERS,
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": TapRequest.model_json_schema()}},
    },
}


@router.post("/taps", response_model=TapOut, responses=ERRORS, openapi_extra=_TAP_SCHEMA)
async def tap(request: Request) -> Response:
    """One tap, answered in one round trip: approved (with a signed receipt) or declined with
    a reason. Retrying the same tap id answers the same and charges once."""
    # The body and the credential are read here rather than declared as parameters: FastAPI's
    # dependency solving cost more CPU than the tap itself, and this is the terminals' hot path.
    started = time.perf_counter()
    credential = await credential_of(request, "")  # no credential: 401 before the body is looked at
    try:
        body = TapRequest.model_validate_json(await request.body())
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        ) from None
    platform: Platform = request.app.state.platform
    credential = replace(credential, terminal_id=body.terminal_id)
    # Awaited, not run in a worker thread: the tap itself runs on the group-commit thread.
    outcome = await asyncio.wrap_future(platform.tap.submit_tap(credential, _tap_in(platform, body)))
    # Serialised here: FastAPI would validate the model it was just built from a second time.
    answer = JSONResponse(TapOut.of(outcome, platform).model_dump(mode="json"))
    answer.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.3f}"
    return answer


@router.get("/terminals/{terminal_id}/offline-kit", responses=ERRORS)
def offline_kit(
    platform: PlatformDep, credential: CredentialDep, terminal_id: Annotated[str, Path(max_length=36)]
) -> KitOut:
    """The terminal's signed offline kit: deny list, per-card offline limit, version, expiry,
    and the most the merchant can lose per card offline."""
    return KitOut(kit=platform.tap.offline_kit(credential))


@router.post("/terminals/{terminal_id}/offline-taps", responses=ERRORS)
def offline_taps(
    body: OfflineTapsIn,
    platform: PlatformDep,
    credential: CredentialDep,
    terminal_id: Annotated[str, Path(max_length=36)],
) -> OfflineTapsOut:
    """Upload taps accepted offline; each is charged once whatever order and however many
    times batches arrive. What a wallet cannot pay is recorded as a debt."""
    items: list[TapIn | OboloError] = []
    for tap_body in body.taps:
        try:
            items.append(_tap_in(platform, tap_body))
        except OboloError as error:
            items.append(error)
    valid = [item for item in items if isinstance(item, TapIn)]
    outcomes = iter(platform.tap.upload_offline(credential, valid) if valid else [])
    results = []
    for tap_body, item in zip(body.taps, items, strict=True):
        result = next(outcomes) if isinstance(item, TapIn) else item
        if isinstance(result, TapOutcome):
            results.append(OfflineTapResult(tap_id=tap_body.tap_id, result=TapOut.of(result, platform)))
        elif isinstance(result, OboloError):
            problem = {"code": result.code, "detail": result.detail, **result.data}
            results.append(OfflineTapResult(tap_id=tap_body.tap_id, error=problem))
        else:
            raise result
    return OfflineTapsOut(results=results)
