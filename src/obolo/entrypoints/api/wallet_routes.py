"""Wallets over HTTP: balances, top-ups, payments, withdrawals, history, statements.

Amounts travel as decimal strings at the asset's scale ("0.10", "0.000100"): a JSON
number would invite floats, so numbers are refused.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from obolo.adapters.cards import Card
from obolo.adapters.clock import NS_PER_SECOND, from_iso, iso
from obolo.bootstrap import Platform
from obolo.entrypoints.api.auth import PlatformDep, require_scope

# The kit lives in common.py; re-exported here for the routers that import it from here.
from obolo.entrypoints.api.common import ERRORS as ERRORS
from obolo.entrypoints.api.common import AmountText as AmountText
from obolo.entrypoints.api.common import AssetCode as AssetCode
from obolo.entrypoints.api.common import Strict as Strict
from obolo.entrypoints.api.common import spreadsheet_safe
from obolo.entrypoints.api.idempotency import IdempotencyKeyHeader
from obolo.entrypoints.api.write_route import WriteRoute
from obolo.errors import InvalidRequest
from obolo.identity.model import Principal
from obolo.money import Amount, format_units
from obolo.wallets.service import Movement

router = APIRouter(route_class=WriteRoute, prefix="/v1", tags=["wallets"])


class WalletOut(BaseModel):
    asset: str
    available: str
    reserved: str


class MovementOut(BaseModel):
    id: str
    kind: Literal["topup", "payment", "withdrawal", "adjustment"]
    status: Literal["pending", "succeeded", "failed"]
    asset: str
    amount: str
    fee: str
    from_user_id: str | None
    to_user_id: str | None
    note: str | None
    details: dict[str, str]
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, movement: Movement, platform: Platform) -> MovementOut:
        asset = platform.wallets.asset(movement.asset)
        return cls(
            id=movement.id,
            kind=movement.kind.value,
            status=movement.status.value,
            asset=movement.asset,
            amount=format_units(movement.amount, asset),
            fee=format_units(movement.fee, asset),
            from_user_id=movement.from_user_id,
            to_user_id=movement.to_user_id,
            note=movement.note,
            details={k: str(v) for k, v in movement.details.items() if k != "charge_id"},
            created_at=iso(movement.created_at),
            updated_at=iso(movement.updated_at),
        )


class CardIn(Strict):
    number: Annotated[str, Field(min_length=12, max_length=23, pattern=r"^[0-9 -]+$")]
    exp_month: Annotated[int, Field(ge=1, le=12)]
    exp_year: Annotated[int, Field(ge=0, le=9999)]
    cvc: Annotated[str, Field(min_length=3, max_length=4, pattern=r"^[0-9]+$")]


class TopUpIn(Strict):
    amount: AmountText
    asset: AssetCode
    card: CardIn


class PaymentIn(Strict):
    to: Annotated[
        str, Field(min_length=1, max_length=254, description="A user id, email or E.164 phone number")
    ]
    amount: AmountText
    asset: AssetCode
    note: Annotated[str, Field(max_length=280)] | None = None


class WithdrawalIn(Strict):
    amount: AmountText
    asset: AssetCode
    iban: Annotated[str, Field(min_length=15, max_length=42)]


EntryStatus = Literal[
    "posted", "reserved", "pending", "settled", "released", "expired", "charged", "refunded"
]


class TransactionOut(BaseModel):
    """One ledger event on one of the caller's wallets. `amount` is the signed change of
    the balance (available + reserved), `reserved` of what is reserved, `available` of
    what can be spent: a hold is amount 0, reserved +x, available -x.

    A purchase on a hold (a view charged on a tab, a transit ride) shows when it happens,
    `charged` (its refund `refunded`): it changes no balance (amount 0) and `spent` says
    what it added to the caller's spending; the settlement that later posts the tab's
    total is not a second spend."""

    id: str = Field(description="the ledger transfer's id (for an expiry: the hold's that expired)")
    movement_id: str | None = Field(description="the top-up, payment or withdrawal it belongs to")
    kind: str = Field(examples=["topup", "payment", "withdrawal", "fee", "paywall", "task", "reward", "tap"])
    status: EntryStatus
    direction: Literal["in", "out"]
    description: str
    counterparty: str | None
    asset: str
    amount: str
    reserved: str
    available: str
    spent: str = Field(description="what the entry added to spending: a view's price, minus it for a refund")
    item: str | None = Field(description="what was bought (the page, the ride), for a purchase")
    message: str | None = Field(
        default=None,
        description='`description` as a message id (its English template, e.g. "Payment to {name}") '
        "to translate, with `values` (in English) to fill it",
    )
    values: dict[str, str] | None = None
    created_at: str


class TransactionPage(BaseModel):
    data: list[TransactionOut]
    next_cursor: str | None


def _amount(platform: Platform, text: str, asset_code: str) -> Amount:
    return Amount.parse(text, platform.wallets.asset(asset_code))


@router.get("/wallets", responses=ERRORS)
def list_wallets(
    platform: PlatformDep, principal: Annotated[Principal, Depends(require_scope("wallets:read"))]
) -> list[WalletOut]:
    """Balances per asset: `available` to spend and `reserved` by pending holds."""
    return [
        WalletOut(
            asset=b.asset,
            available=format_units(b.available, platform.wallets.asset(b.asset)),
            reserved=format_units(b.reserved, platform.wallets.asset(b.asset)),
        )
        for b in platform.wallets.balances(principal.user_id)
    ]


@router.post("/topups", status_code=201, response_model=MovementOut, responses=ERRORS)
def create_topup(
    body: TopUpIn,
    request: Request,
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("wallets:write"))],
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Load the wallet from a card (sandbox test cards: 4242 4242 4242 4242 succeeds,
    4000 0000 0000 0002 is declined, 4000 0000 0000 9995 has insufficient funds)."""

    card = Card(body.card.number, body.card.exp_month, body.card.exp_year, body.card.cvc)
    amount = _amount(platform, body.amount, body.asset)
    movement = platform.wallets.top_up(principal.user_id, amount, card, idempotency_key)
    return MovementOut.of(movement, platform).model_dump(mode="json")


@router.post("/payments", status_code=201, response_model=MovementOut, responses=ERRORS)
def create_payment(
    body: PaymentIn,
    request: Request,
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("payments:write"))],
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Pay another person at once; sub-cent amounts are fine down to the asset's scale."""

    amount = _amount(platform, body.amount, body.asset)
    movement = platform.wallets.pay(principal.user_id, body.to, amount, body.note, idempotency_key)
    return MovementOut.of(movement, platform).model_dump(mode="json")


@router.post("/withdrawals", status_code=201, response_model=MovementOut, responses=ERRORS)
def create_withdrawal(
    body: WithdrawalIn,
    request: Request,
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("wallets:write"))],
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Send money to a bank account (IBAN). Held while the payout is in flight, then
    paid (`succeeded`) or released back to the wallet (`failed`)."""

    amount = _amount(platform, body.amount, body.asset)
    movement = platform.wallets.withdraw(principal.user_id, amount, body.iban, idempotency_key)
    return MovementOut.of(movement, platform).model_dump(mode="json")


@router.get("/transactions", responses=ERRORS)
def list_transactions(
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("wallets:read"))],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    direction: Annotated[Literal["in", "out"] | None, Query()] = None,
    asset: Annotated[str | None, Query(min_length=3, max_length=12)] = None,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
) -> TransactionPage:
    """Every movement of money on the caller's wallets, newest first, read from the
    ledger: top-ups, payments, withdrawals and payouts, fees, holds for channels, tabs,
    tasks and transit days with their settlement and release, rewards, bonuses, taps.
    Optionally one kind, direction, asset, or [from, to); pass `next_cursor` back for
    the next page."""
    if asset is not None:
        platform.wallets.asset(asset)
    entries, next_cursor = platform.wallets.activity(
        principal.user_id, limit, cursor, kind=kind, direction=direction, asset=asset,
        start=None if start is None else _time(start, 0), end=None if end is None else _time(end, 0),
    )  # fmt: skip
    data = []
    for entry in entries:
        code = platform.wallets.asset(entry.asset)
        data.append(
            TransactionOut(
                id=entry.id,
                movement_id=entry.movement_id,
                kind=entry.kind,
                status=_status(entry.status),
                direction="out" if entry.direction == "out" else "in",
                description=entry.description,
                counterparty=entry.counterparty,
                asset=entry.asset,
                amount=format_units(entry.amount, code),
                reserved=format_units(entry.reserved, code),
                available=format_units(entry.available, code),
                spent=format_units(entry.spent, code),
                item=entry.item,
                message=entry.text.message if entry.text else None,
                values={name: str(value) for name, value in entry.text.values} if entry.text else None,
                created_at=iso(entry.timestamp),
            )
        )
    return TransactionPage(data=data, next_cursor=next_cursor)


_STATUSES: dict[str, EntryStatus] = {
    "posted": "posted", "reserved": "reserved", "pending": "pending", "settled": "settled",
    "released": "released", "expired": "expired", "charged": "charged", "refunded": "refunded",
}  # fmt: skip


def _status(text: str) -> EntryStatus:
    return _STATUSES[text]


@router.get("/transactions/{movement_id}", responses=ERRORS)
def get_transaction(
    movement_id: Annotated[str, Path(max_length=36)],
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("wallets:read"))],
) -> MovementOut:
    return MovementOut.of(platform.wallets.movement(principal.user_id, movement_id), platform)


def _time(text: str | None, default: int) -> int:
    if text is None:
        return default
    try:
        return from_iso(text)
    except ValueError as error:
        raise InvalidRequest("dates are ISO 8601, e.g. 2026-11-01 or 2026-11-01T00:00:00Z") from error


@router.get(
    "/statements.csv",
    responses={**ERRORS, 200: {"content": {"text/csv": {}}, "description": "CSV statement"}},
    response_class=Response,
)
def statement_csv(
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("wallets:read"))],
    asset: Annotated[str, Query(min_length=3, max_length=12)] = "EUR",
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
) -> Response:
    """Every posted change of one wallet in [from, to), with the running balance."""
    return statement_file(platform, principal.user_id, asset, start, end)


def statement_file(
    platform: Platform, user_id: str, asset: str, start: str | None, end: str | None
) -> Response:
    """The CSV statement response: every posted change with the balance after it, and
    between them each purchase (a view, a ride) and refund when it happened — `status`
    charged or refunded, `amount` 0 (the hold's settlement posts them), `spent` its price."""
    since, until = _time(start, 0), _time(end, platform.clock() + NS_PER_SECOND)
    lines = platform.wallets.statement(user_id, asset, since, until)
    bought = platform.wallets.purchases(user_id, asset, since, until)
    code = platform.wallets.asset(asset)
    rows: list[tuple[int, list[str]]] = [
        (line.timestamp, [iso(line.timestamp), line.movement_id or "", line.kind, "posted", line.description,
                          "", format_units(line.amount, code), format_units(line.balance, code),
                          format_units(0, code), asset])
        for line in lines
    ]  # fmt: skip
    rows += [
        (p.timestamp, [iso(p.timestamp), "", p.kind, p.status, spreadsheet_safe(f"{p.site} — {p.item}"),
                       spreadsheet_safe(p.item),
                       format_units(0, code), "", format_units(p.spent, code), asset])
        for p in bought
    ]  # fmt: skip
    rows.sort(key=lambda row: row[0])  # stable: within a time, posted changes first
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "date",
            "movement_id",
            "kind",
            "status",
            "description",
            "item",
            "amount",
            "balance",
            "spent",
            "asset",
        ]
    )
    writer.writerows(row for _, row in rows)
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="obolo-{asset}-statement.csv"'},
    )
