"""Payouts over HTTP: where and when to be paid, a payout on demand, the statements."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from obolo.bootstrap import Platform
from obolo.entrypoints.api.auth import PlatformDep, require_scope
from obolo.entrypoints.api.common import Input
from obolo.entrypoints.api.idempotency import IdempotencyKeyHeader
from obolo.entrypoints.api.wallet_routes import ERRORS, AmountText, AssetCode
from obolo.entrypoints.api.write_route import WriteRoute
from obolo.identity.model import Principal
from obolo.money import Amount, format_units
from obolo.settlement.payouts import NoPayoutAccount, NothingToPayOut, PayoutAccount, PayoutStatement

router = APIRouter(route_class=WriteRoute, prefix="/v1", tags=["payouts"])


class PayoutAccountIn(Input):
    iban: Annotated[str, Field(min_length=15, max_length=42)]
    asset: AssetCode = "EUR"
    schedule: Literal["daily", "manual"] = "daily"
    minimum: AmountText = "0"


class PayoutAccountOut(BaseModel):
    asset: str
    iban: str = Field(description="Masked: the full IBAN is stored encrypted and never shown.")
    schedule: str
    minimum: str


class PayoutRequest(Input):
    pass


class StatementOut(BaseModel):
    id: str
    asset: str
    status: Literal["succeeded", "failed"]
    period_start: int = Field(description="Ledger time (ns) the period starts at.")
    period_end: int
    earned: str
    fees: str
    refunds: str = Field(description="Views readers took back in the period (already netted from earnings).")
    topped_up: str
    spent: str
    amount: str = Field(description="Paid to the bank.")
    payout_fee: str


def _account(platform: Platform, account: PayoutAccount) -> PayoutAccountOut:
    asset = platform.wallets.asset(account.asset)
    return PayoutAccountOut(
        asset=account.asset, iban=account.iban_masked, schedule=account.schedule,
        minimum=format_units(account.minimum, asset),
    )  # fmt: skip


def _statement(platform: Platform, record: PayoutStatement) -> StatementOut:
    asset = platform.wallets.asset(record.asset)
    money = {
        name: format_units(getattr(record, name), asset)
        for name in ("earned", "fees", "refunds", "topped_up", "spent", "amount", "payout_fee")
    }
    status: Literal["succeeded", "failed"] = "succeeded" if record.status == "succeeded" else "failed"
    return StatementOut(id=record.id, asset=record.asset, status=status, period_start=record.period_start,
                        period_end=record.period_end, **money)  # fmt: skip


@router.put("/payout-account", responses=ERRORS)
def set_payout_account(
    body: PayoutAccountIn,
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("wallets:write"))],
) -> PayoutAccountOut:
    """Where (IBAN) and when (daily, or only on demand) to be paid out, and the least
    worth a payout (zero: any amount)."""
    minimum = Amount.parse(body.minimum, platform.wallets.asset(body.asset))
    account = platform.payouts.set_account(principal.user_id, body.iban, body.asset, body.schedule, minimum)
    return _account(platform, account)


@router.get("/payout-account", responses=ERRORS)
def get_payout_account(
    platform: PlatformDep, principal: Annotated[Principal, Depends(require_scope("wallets:read"))]
) -> PayoutAccountOut:
    account = platform.payouts.account(principal.user_id)
    if account is None:
        raise NoPayoutAccount("set a payout account first")
    return _account(platform, account)


@router.post("/payouts", status_code=201, response_model=StatementOut, responses=ERRORS)
def pay_out_now(
    body: PayoutRequest,
    request: Request,
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("wallets:write"))],
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Pay out what the wallet holds now, less the payout fee, with the statement of the
    period since the last payout. `nothing_to_pay_out` below the minimum."""

    record = platform.payouts.pay_out(principal.user_id, idempotency_key)
    if record is None:
        raise NothingToPayOut("nothing to pay out: the wallet holds less than the minimum and the fee")
    return _statement(platform, record).model_dump(mode="json")


@router.get("/payouts", responses=ERRORS)
def list_payouts(
    platform: PlatformDep, principal: Annotated[Principal, Depends(require_scope("wallets:read"))]
) -> list[StatementOut]:
    """Every payout's statement, newest first."""
    return [_statement(platform, record) for record in platform.payouts.statements(principal.user_id)]
