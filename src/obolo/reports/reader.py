"""What a reader sees about their paying on sites: spending by provider, consents,
open tabs and channels, passes, recent charges."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from obolo.adapters.clock import NS_PER_SECOND, Clock
from obolo.adapters.db.schema import channels, charges, consents, movements, providers, tabs
from obolo.adapters.db.transactions import run_in_transaction
from obolo.paywall.channel_spending import ChannelSpending

DAY_NS = 86_400 * NS_PER_SECOND


@dataclass(frozen=True, slots=True)
class Spend:
    """Money that went to one provider on one day (a UTC day start, in ns)."""

    day: int
    provider: str
    asset: str
    units: int


@dataclass(frozen=True, slots=True)
class ConsentView:
    provider_id: str
    provider: str
    origin: str
    asset: str
    per_item: int
    per_day: int
    spent_today: int


@dataclass(frozen=True, slots=True)
class TabView:
    provider: str
    asset: str
    held: int
    accrued: int
    opened_at: int


@dataclass(frozen=True, slots=True)
class ChannelView:
    id: str
    provider: str
    asset: str
    price: int
    length: int
    status: str
    claimed: int
    expires_at: int  # unix seconds

    @property
    def reserved(self) -> int:
        return self.price * self.length


@dataclass(frozen=True, slots=True)
class PassView:
    provider: str
    asset: str
    price: int
    terms: str
    bought_at: int


@dataclass(frozen=True, slots=True)
class ChargeView:
    provider_id: str
    provider: str
    charge_id: str
    resource: str
    asset: str
    amount: int
    created_at: int
    refunded_at: int | None
    title: str | None = None  # the provider's name for it, when it gave one

    @property
    def item(self) -> str:
        """What the reader is shown for it: its title, else its path."""
        return self.title or self.resource


def day_of(ns: int) -> int:
    return ns - ns % DAY_NS


def spending(engine: Engine, clock: Clock, reader_id: str, since: int) -> list[Spend]:
    """Per day and provider since `since` (ns): charges not refunded, channels (each view
    when it was paid, as the wallet's breakdown counts it) and passes bought."""

    def work(connection: Connection) -> list[Spend]:
        out: dict[tuple[int, str, str], int] = {}

        def add(day: int, provider: str, asset: str, units: int) -> None:
            key = (day_of(day), provider, asset)
            out[key] = out.get(key, 0) + units

        viewed = connection.execute(
            select(charges.c.created_at, charges.c.amount, providers.c.name, tabs.c.asset)
            .join(providers, providers.c.id == charges.c.provider_id)
            .join(tabs, tabs.c.id == charges.c.tab_id)
            .where(
                charges.c.reader_id == reader_id,
                charges.c.created_at >= since,
                charges.c.refunded_at.is_(None),
            )
        ).all()
        for row in viewed:
            add(row.created_at, row.name, row.asset, row.amount)
        for paid in ChannelSpending(clock).spent(connection, reader_id, since):
            add(paid.timestamp, paid.site, paid.asset, paid.units)
        for sold in _passes(connection, reader_id, since):
            add(sold.created_at, sold.name, sold.asset, sold.amount)
        return [Spend(day, provider, asset, units) for (day, provider, asset), units in sorted(out.items())]

    return run_in_transaction(engine, work, read_only=True)


def _passes(connection: Connection, reader_id: str, since: int) -> list[Any]:
    # A pass is a payment to the provider's owner noted "pass: ..." (PaywallService.buy_pass).
    return list(connection.execute(
        select(movements.c.created_at, movements.c.amount, movements.c.asset, movements.c.note,
               func.min(providers.c.name).label("name"))
        .join(providers, providers.c.user_id == movements.c.to_user_id)
        .where(movements.c.from_user_id == reader_id, movements.c.kind == "payment",
               movements.c.status == "succeeded", movements.c.note.like("pass: %"),
               movements.c.created_at >= since)
        .group_by(movements.c.id, movements.c.created_at, movements.c.amount, movements.c.asset,
                  movements.c.note)
        .order_by(movements.c.created_at.desc())
    ).all())  # fmt: skip


def consents_of(engine: Engine, reader_id: str, now: int) -> list[ConsentView]:
    def work(connection: Connection) -> list[ConsentView]:
        spent = (
            select(charges.c.provider_id, func.sum(charges.c.amount).label("spent"))
            # A refunded view is not spent: "spent" goes down by the refund.
            .where(
                charges.c.reader_id == reader_id,
                charges.c.created_at > now - DAY_NS,
                charges.c.refunded_at.is_(None),
            )
            .group_by(charges.c.provider_id)
            .subquery()
        )
        rows = connection.execute(
            select(consents, providers.c.name, providers.c.origin, spent.c.spent)
            .join(providers, providers.c.id == consents.c.provider_id)
            .outerjoin(spent, spent.c.provider_id == consents.c.provider_id)
            .where(consents.c.reader_id == reader_id)
            .order_by(providers.c.name)
        ).all()
        return [
            ConsentView(
                r.provider_id, r.name, r.origin, r.asset, r.per_item_max, r.per_day_max, int(r.spent or 0)
            )
            for r in rows
        ]

    return run_in_transaction(engine, work, read_only=True)


def open_tabs(engine: Engine, reader_id: str) -> list[TabView]:
    rows = run_in_transaction(
        engine,
        lambda c: c.execute(
            select(tabs, providers.c.name)
            .join(providers, providers.c.id == tabs.c.provider_id)
            .where(tabs.c.reader_id == reader_id, tabs.c.status == "open")
            .order_by(tabs.c.opened_at)
        ).all(),
        read_only=True,
    )
    return [TabView(r.name, r.asset, r.held, r.accrued, r.opened_at) for r in rows]


def channels_of(engine: Engine, reader_id: str, limit: int = 20) -> list[ChannelView]:
    rows = run_in_transaction(
        engine,
        lambda c: c.execute(
            select(channels, providers.c.name)
            .join(providers, providers.c.id == channels.c.provider_id)
            .where(channels.c.payer_id == reader_id)
            .order_by(channels.c.created_at.desc())
            .limit(limit)
        ).all(),
        read_only=True,
    )
    return [
        ChannelView(r.id, r.name, r.asset, r.price, r.length, r.status, r.claimed_index, r.expires_at)
        for r in rows
    ]


def passes_of(engine: Engine, reader_id: str, since: int) -> list[PassView]:
    rows = run_in_transaction(engine, lambda c: _passes(c, reader_id, since), read_only=True)
    return [PassView(r.name, r.asset, r.amount, r.note.removeprefix("pass: "), r.created_at) for r in rows]


def recent_charges(engine: Engine, reader_id: str, since: int, limit: int = 50) -> list[ChargeView]:
    rows = run_in_transaction(
        engine,
        lambda c: c.execute(
            select(charges, providers.c.name, tabs.c.asset)
            .join(providers, providers.c.id == charges.c.provider_id)
            .join(tabs, tabs.c.id == charges.c.tab_id)
            .where(charges.c.reader_id == reader_id, charges.c.created_at >= since)
            .order_by(charges.c.created_at.desc())
            .limit(limit)
        ).all(),
        read_only=True,
    )
    return [
        ChargeView(
            r.provider_id,
            r.name,
            r.charge_id,
            r.resource,
            r.asset,
            r.amount,
            r.created_at,
            r.refunded_at,
            r.title,
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class ProviderChoice:
    id: str
    name: str
    origin: str


def providers_to_allow(engine: Engine, limit: int = 200) -> list[ProviderChoice]:
    """Sites a reader may give consent to, by name."""
    rows = run_in_transaction(
        engine,
        lambda c: c.execute(
            select(providers.c.id, providers.c.name, providers.c.origin)
            .order_by(providers.c.name)
            .limit(limit)
        ).all(),
        read_only=True,
    )
    return [ProviderChoice(r.id, r.name, r.origin) for r in rows]
