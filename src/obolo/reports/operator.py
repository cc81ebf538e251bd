"""What the operator sees: the books check, the platform's accounts per asset, fee
revenue, what wallets hold, people and providers by search, webhook deliveries."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, String, cast, func, or_, select

from obolo.adapters.db.schema import (
    accounts,
    assets,
    providers,
    user_roles,
    users,
    webhook_deliveries,
    webhook_endpoints,
)
from obolo.adapters.db.transactions import run_in_transaction
from obolo.ledger import Ledger
from obolo.ledger.check import check_ledger
from obolo.wallets.model import AccountCode, PlatformAccount


@dataclass(frozen=True, slots=True)
class BooksCheck:
    violations: list[str]
    milliseconds: int

    @property
    def ok(self) -> bool:
        return not self.violations


@dataclass(frozen=True, slots=True)
class AccountTotal:
    asset: str
    purpose: str
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int

    @property
    def balance(self) -> int:
        return self.credits_posted - self.debits_posted


@dataclass(frozen=True, slots=True)
class AssetSummary:
    asset: str
    platform: list[AccountTotal]
    wallets_hold: int  # what every wallet together holds (posted)
    wallets_reserved: int  # of it, held by pending transfers
    fee_revenue: int


@dataclass(frozen=True, slots=True)
class PersonFound:
    id: str
    email: str
    display_name: str
    phone: str | None
    roles: list[str]
    created_at: int


@dataclass(frozen=True, slots=True)
class ProviderFound:
    id: str
    name: str
    origin: str
    owner_email: str
    created_at: int


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: str
    url: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: int
    delivered_at: int | None


def books(engine: Engine) -> BooksCheck:
    started = time.perf_counter_ns()
    violations = [str(v) for v in check_ledger(engine)]
    return BooksCheck(violations, (time.perf_counter_ns() - started) // 1_000_000)


def summaries(engine: Engine, ledger: Ledger) -> list[AssetSummary]:
    def sums(connection: Connection) -> tuple[list[str], dict[str, tuple[int, int]]]:
        codes = [str(c) for c in connection.execute(select(assets.c.code).order_by(assets.c.code)).scalars()]
        rows = connection.execute(
            select(
                accounts.c.asset,
                func.sum(accounts.c.credits_posted - accounts.c.debits_posted),
                func.sum(accounts.c.debits_pending),
            )
            .where(accounts.c.code == int(AccountCode.WALLET))
            .group_by(accounts.c.asset)
        ).all()
        return codes, {str(r[0]): (int(r[1] or 0), int(r[2] or 0)) for r in rows}

    codes, held = run_in_transaction(engine, sums, read_only=True)
    out = []
    for code in codes:
        found = {a.id: a for a in ledger.lookup_accounts([p.account_id(code) for p in PlatformAccount])}
        platform = []
        for purpose in PlatformAccount:
            account = found.get(purpose.account_id(code))
            if account is None:
                continue
            platform.append(
                AccountTotal(code, purpose.value, account.debits_posted, account.credits_posted,
                             account.debits_pending, account.credits_pending)
            )  # fmt: skip
        fees = next((a.balance for a in platform if a.purpose == PlatformAccount.FEE_REVENUE.value), 0)
        hold, reserved = held.get(code, (0, 0))
        if platform or hold:
            out.append(AssetSummary(code, platform, hold, reserved, fees))
    return out


def _like(query: str) -> str:
    escaped = query.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def find_people(engine: Engine, query: str, limit: int = 20) -> list[PersonFound]:
    if not query.strip():
        return []
    pattern = _like(query)

    def work(connection: Connection) -> list[PersonFound]:
        rows = connection.execute(
            select(users)
            .where(
                or_(
                    func.lower(users.c.email).like(pattern, escape="\\"),
                    func.lower(users.c.display_name).like(pattern, escape="\\"),
                    func.coalesce(users.c.phone, "").like(pattern, escape="\\"),
                    cast(users.c.id, String) == query.strip(),
                )
            )
            .order_by(users.c.email)
            .limit(limit)
        ).all()
        roles: dict[str, list[str]] = {}
        if rows:
            for user_id, role in connection.execute(
                select(user_roles.c.user_id, user_roles.c.role).where(
                    user_roles.c.user_id.in_([r.id for r in rows])
                )
            ):
                roles.setdefault(user_id, []).append(role)
        return [
            PersonFound(r.id, r.email, r.display_name, r.phone, sorted(roles.get(r.id, [])), r.created_at)
            for r in rows
        ]

    return run_in_transaction(engine, work, read_only=True)


def find_providers(engine: Engine, query: str, limit: int = 20) -> list[ProviderFound]:
    if not query.strip():
        return []
    pattern = _like(query)
    rows = run_in_transaction(
        engine,
        lambda c: c.execute(
            select(providers, users.c.email)
            .join(users, users.c.id == providers.c.user_id)
            .where(
                or_(
                    func.lower(providers.c.name).like(pattern, escape="\\"),
                    func.lower(providers.c.origin).like(pattern, escape="\\"),
                    providers.c.id == query.strip(),
                )
            )
            .order_by(providers.c.name)
            .limit(limit)
        ).all(),
        read_only=True,
    )
    return [ProviderFound(r.id, r.name, r.origin, r.email, r.created_at) for r in rows]


def deliveries(engine: Engine, status: str | None = None, limit: int = 30) -> list[DeliveryView]:
    query = (
        select(webhook_deliveries, webhook_endpoints.c.url)
        .join(webhook_endpoints, webhook_endpoints.c.id == webhook_deliveries.c.endpoint_id)
        .order_by(webhook_deliveries.c.created_at.desc())
        .limit(limit)
    )
    if status:
        query = query.where(webhook_deliveries.c.status == status)
    rows = run_in_transaction(engine, lambda c: c.execute(query).all(), read_only=True)
    return [
        DeliveryView(r.id, r.url, r.status, r.attempts, r.last_status_code, r.last_error, r.created_at,
                     r.delivered_at)
        for r in rows
    ]  # fmt: skip
