"""What the reading page shows besides what `reader` reports: the sites a person may allow
(those they used, or found by name: never the whole platform's list), and the sites
whose daily cap they reached today (reading there is free until the UTC day ends)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, func, or_, select, union

from obolo.adapters.clock import NS_PER_SECOND
from obolo.adapters.db.schema import (
    channels,
    charges,
    consents,
    movements,
    providers,
    purchases,
    reader_passes,
)
from obolo.adapters.db.transactions import run_in_transaction
from obolo.money import Asset, parse_units
from obolo.reports.reader import PassView, ProviderChoice

DAY_NS = 86_400 * NS_PER_SECOND
SEARCH_LIMIT = 20


@dataclass(frozen=True, slots=True)
class CapReached:
    provider: str
    origin: str
    asset: str
    spent: int  # units paid to the site this UTC day
    cap: int


def _used(reader_id: str) -> Any:
    return union(
        select(charges.c.provider_id).where(charges.c.reader_id == reader_id),
        select(channels.c.provider_id).where(channels.c.payer_id == reader_id),
        select(consents.c.provider_id).where(consents.c.reader_id == reader_id),
        select(purchases.c.provider_id).where(purchases.c.reader_id == reader_id),
        select(reader_passes.c.provider_id).where(reader_passes.c.reader_id == reader_id),
    ).subquery()


def sites_to_allow(
    engine: Engine, reader_id: str, search: str = "", chosen: str = ""
) -> list[ProviderChoice]:
    """Sites the reader used (paid, opened a channel, bought a pass, allowed), the site
    `chosen` on a form being answered, and with `search` (two characters or more) the
    sites whose name or address holds it."""
    used = _used(reader_id)
    condition: ColumnElement[bool] = providers.c.id.in_(select(used.c.provider_id))
    if chosen:
        condition = or_(condition, providers.c.id == chosen[:36])
    words = search.strip()[:100]
    if len(words) >= 2:
        escaped = words.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{escaped}%"
        found = or_(
            func.lower(providers.c.name).like(like, escape="\\"),
            func.lower(providers.c.origin).like(like, escape="\\"),
        )
        condition = or_(
            condition, providers.c.id.in_(select(providers.c.id).where(found).limit(SEARCH_LIMIT))
        )
    rows = run_in_transaction(
        engine,
        lambda c: c.execute(
            select(providers.c.id, providers.c.name, providers.c.origin)
            .where(condition)
            .order_by(providers.c.name)
            .limit(200)
        ).all(),
        read_only=True,
    )
    return [ProviderChoice(r.id, r.name, r.origin) for r in rows]


def caps_reached(
    engine: Engine,
    reader_id: str,
    now: int,
    price_rules: Callable[[str], dict[str, Any]],
    assets: dict[str, Asset],
) -> list[CapReached]:
    """The sites where the next priced view is free today: what the reader paid them this
    UTC day (charges not refunded) leaves no room for one more under a published daily cap."""
    since = now - now % DAY_NS

    def work(connection: Connection) -> list[Any]:
        return list(
            connection.execute(
                select(charges.c.provider_id, providers.c.name, providers.c.origin,
                       func.sum(charges.c.amount).label("spent"))
                .join(providers, providers.c.id == charges.c.provider_id)
                .where(charges.c.reader_id == reader_id, charges.c.created_at >= since,
                       charges.c.refunded_at.is_(None))
                .group_by(charges.c.provider_id, providers.c.name, providers.c.origin)
                .order_by(providers.c.name)
            ).all()
        )  # fmt: skip

    reached = []
    for row in run_in_transaction(engine, work, read_only=True):
        for rule in price_rules(row.provider_id).get("prices", []):
            asset = assets.get(rule.get("asset", "EUR"))
            if asset is None or rule.get("daily_cap") is None:
                continue
            cap, price = parse_units(rule["daily_cap"], asset), parse_units(rule["price"], asset)
            if int(row.spent) + price > cap:
                reached.append(CapReached(row.name, row.origin, asset.code, int(row.spent), cap))
                break
    return reached


def other_passes(engine: Engine, reader_id: str, since: int) -> list[PassView]:
    """Passes bought since `since` (ns) other than through the wallet (by the API, a
    paying client): the platform sold them but does not count their visits."""
    # A pass is a payment to the provider's owner noted "pass: ..." (PaywallService.buy_pass),
    # and the pass id it signs is that payment's id.
    rows = run_in_transaction(
        engine,
        lambda c: c.execute(
            select(movements.c.created_at, movements.c.amount, movements.c.asset, movements.c.note,
                   func.min(providers.c.name).label("name"))
            .join(providers, providers.c.user_id == movements.c.to_user_id)
            .where(movements.c.from_user_id == reader_id, movements.c.kind == "payment",
                   movements.c.status == "succeeded", movements.c.note.like("pass: %"),
                   movements.c.created_at >= since, movements.c.id.not_in(select(reader_passes.c.id)))
            .group_by(movements.c.id, movements.c.created_at, movements.c.amount, movements.c.asset,
                      movements.c.note)
            .order_by(movements.c.created_at.desc())
        ).all(),
        read_only=True,
    )  # fmt: skip
    return [PassView(r.name, r.asset, r.amount, r.note.removeprefix("pass: "), r.created_at) for r in rows]
