"""What a provider sees: its sites, earnings per day, views and revenue per resource,
open channels, and settlements with the fee the platform kept (read from the ledger's
own transfers, so the page shows what was actually posted)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, case, func, select

from obolo.adapters.db.schema import channels, charges, movements, providers, tabs, transfers
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.ids import derived_id
from obolo.ledger import TransferFlags
from obolo.paywall.model import Provider
from obolo.reports.reader import day_of


@dataclass(frozen=True, slots=True)
class Earning:
    day: int
    source: str  # "views", "channels", "passes"
    asset: str
    units: int


@dataclass(frozen=True, slots=True)
class ResourceStats:
    resource: str  # the path: what the views are grouped by
    asset: str
    views: int
    refunded: int
    revenue: int  # units, refunded views excluded
    title: str | None = None  # the latest title the provider gave the path, if any


@dataclass(frozen=True, slots=True)
class OpenChannels:
    asset: str
    count: int
    reserved: int


@dataclass(frozen=True, slots=True)
class Settlement:
    kind: str  # "tab" or "channel"
    id: str
    asset: str
    settled_at: int
    gross: int  # posted to the provider
    fee: int  # taken back as the platform's fee

    @property
    def net(self) -> int:
        return self.gross - self.fee


def sites_of(engine: Engine, user_id: str) -> list[Provider]:
    rows = run_in_transaction(
        engine,
        lambda c: c.execute(
            select(providers).where(providers.c.user_id == user_id).order_by(providers.c.created_at)
        ).all(),
        read_only=True,
    )
    return [Provider(r.id, r.user_id, r.name, r.origin, int(r.reaccess_seconds)) for r in rows]


def earnings(engine: Engine, site: Provider, since: int) -> list[Earning]:
    """Per day and source since `since` (ns): views charged (less refunds), channels
    settled (what was claimed), passes sold."""

    def work(connection: Connection) -> list[Earning]:
        out: dict[tuple[int, str, str], int] = {}

        def add(at: int, source: str, asset: str, units: int) -> None:
            key = (day_of(at), source, asset)
            out[key] = out.get(key, 0) + units

        for row in connection.execute(
            select(charges.c.created_at, charges.c.amount, tabs.c.asset)
            .join(tabs, tabs.c.id == charges.c.tab_id)
            .where(charges.c.provider_id == site.id, charges.c.created_at >= since,
                   charges.c.refunded_at.is_(None))
        ):  # fmt: skip
            add(row.created_at, "views", row.asset, row.amount)
        for settled in connection.execute(
            select(channels.c.settled_at, channels.c.claimed_index, channels.c.price, channels.c.asset)
            .where(channels.c.provider_id == site.id, channels.c.status == "settled",
                   channels.c.settled_at >= since, channels.c.claimed_index > 0)
        ):  # fmt: skip
            add(settled.settled_at, "channels", settled.asset, settled.claimed_index * settled.price)
        for sold in connection.execute(
            select(movements.c.created_at, movements.c.amount, movements.c.asset)
            .where(movements.c.to_user_id == site.user_id, movements.c.kind == "payment",
                   movements.c.status == "succeeded", movements.c.note.like("pass: %"),
                   movements.c.created_at >= since)
        ):  # fmt: skip
            add(sold.created_at, "passes", sold.asset, sold.amount)
        return [Earning(day, source, asset, units) for (day, source, asset), units in sorted(out.items())]

    return run_in_transaction(engine, work, read_only=True)


def resources(engine: Engine, site: Provider, since: int, limit: int = 50) -> list[ResourceStats]:
    """Views and revenue per page since `since` (ns), highest revenue first. A page is its
    path: the title a provider sends may change (a typo fixed, a headline rewritten) and
    is shown as the latest one given, not counted apart."""
    refunded = func.count(charges.c.refunded_at)
    revenue = func.sum(case((charges.c.refunded_at.is_(None), charges.c.amount), else_=0))
    mine = (charges.c.provider_id == site.id) & (charges.c.created_at >= since)

    def work(connection: Connection) -> list[ResourceStats]:
        rows = connection.execute(
            select(charges.c.resource, tabs.c.asset, func.count().label("views"),
                   refunded.label("refunded"), revenue.label("revenue"))
            .join(tabs, tabs.c.id == charges.c.tab_id)
            .where(mine)
            .group_by(charges.c.resource, tabs.c.asset)
            .order_by(revenue.desc(), charges.c.resource)
            .limit(limit)
        ).all()  # fmt: skip
        titles = _latest_titles(connection, mine, sorted({r.resource for r in rows}))
        return [
            ResourceStats(
                r.resource, r.asset, int(r.views), int(r.refunded), int(r.revenue), titles.get(r.resource)
            )
            for r in rows
        ]

    return run_in_transaction(engine, work, read_only=True)


def _latest_titles(connection: Connection, mine: Any, paths: list[str]) -> dict[str, str]:
    """Each path's latest non-empty title among the charges `mine` selects (two charged in
    the same nanosecond under different titles: the greater, so the answer is stable)."""
    if not paths:
        return {}
    titled = mine & charges.c.resource.in_(paths) & charges.c.title.is_not(None) & (charges.c.title != "")
    latest = (
        select(charges.c.resource, func.max(charges.c.created_at).label("at"))
        .where(titled)
        .group_by(charges.c.resource)
        .subquery()
    )
    found = connection.execute(
        select(charges.c.resource, func.max(charges.c.title).label("title"))
        .join(latest, (latest.c.resource == charges.c.resource) & (latest.c.at == charges.c.created_at))
        .where(titled)
        .group_by(charges.c.resource)
    )
    return {row.resource: row.title for row in found}


def open_channels(engine: Engine, site: Provider) -> list[OpenChannels]:
    rows = run_in_transaction(
        engine,
        lambda c: c.execute(
            select(channels.c.asset, func.count().label("n"),
                   func.sum(channels.c.price * channels.c.length).label("reserved"))
            .where(channels.c.provider_id == site.id, channels.c.status == "open")
            .group_by(channels.c.asset)
        ).all(),
        read_only=True,
    )  # fmt: skip
    return [OpenChannels(r.asset, int(r.n), int(r.reserved or 0)) for r in rows]


def settlements(engine: Engine, site: Provider, limit: int = 30) -> list[Settlement]:
    """The latest settled tabs and channels, each with the amounts the ledger posted."""

    def work(connection: Connection) -> list[Settlement]:
        done: list[tuple[str, Any]] = [
            ("tab", row)
            for row in connection.execute(
                select(tabs.c.id, tabs.c.asset, tabs.c.settled_at)
                .where(tabs.c.provider_id == site.id, tabs.c.status == "settled")
                .order_by(tabs.c.settled_at.desc())
                .limit(limit)
            )
        ]
        done += [
            ("channel", row)
            for row in connection.execute(
                select(channels.c.id, channels.c.asset, channels.c.settled_at)
                .where(channels.c.provider_id == site.id, channels.c.status == "settled")
                .order_by(channels.c.settled_at.desc())
                .limit(limit)
            )
        ]
        done.sort(key=lambda item: item[1].settled_at, reverse=True)
        done = done[:limit]
        wanted = {}
        for _kind, row in done:
            for part in ("settle", "fee"):
                wanted[derived_id("transfer", row.id, part).to_bytes(16, "big")] = (row.id, part)
        posted: dict[tuple[str, str], int] = {}
        if wanted:
            for found in connection.execute(
                select(transfers.c.id, transfers.c.amount, transfers.c.flags).where(
                    transfers.c.id.in_(list(wanted)), transfers.c.failure.is_(None)
                )
            ):
                # A tab that accrued nothing is voided: its settle transfer released, not paid.
                if not found.flags & TransferFlags.VOID_PENDING_TRANSFER:
                    posted[wanted[bytes(found.id)]] = int(found.amount)
        return [
            Settlement(kind, row.id, row.asset, row.settled_at,
                       posted.get((row.id, "settle"), 0), posted.get((row.id, "fee"), 0))
            for kind, row in done
        ]  # fmt: skip

    return run_in_transaction(engine, work, read_only=True)
