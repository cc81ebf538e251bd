"""What a person spent, seen when it happens rather than when the money settles.

A tab or a transit day reserves money once (a ledger hold) and many views or rides accrue
on it; the ledger posts the total only when the tab or the day settles. The products
record each purchase as it happens (a paywall charge, a tap), so the person's history
shows those as they come, with the site, what was bought, the amount and the time:
they are the detail, and the settlement that later posts them is not an extra spend.

As with describers, products register their sources here (the bootstrap wires them), so
this package never imports a product.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection

from obolo.adapters.clock import NS_PER_SECOND
from obolo.ledger import LedgerSession
from obolo.wallets.accounts import WalletAccounts
from obolo.wallets.activity import PurchaseSource
from obolo.wallets.history import WalletHistory
from obolo.wallets.model import Balance

DAY_NS = 86_400 * NS_PER_SECOND


@dataclass(frozen=True, slots=True)
class Spent:
    """Money that went to a site, net of refunds (a view not refunded, a settled channel,
    a pass, a tap), at the time it was spent."""

    timestamp: int
    site: str
    asset: str
    units: int


#: `spent(connection, user_id, since)` → what the person spent at sites since `since` (ns).
SpentSource = Callable[[Connection, str, int], Sequence[Spent]]
#: `held_spent(connection, user_id)` → per asset, what open holds (tabs, transit days)
#: have already been used for, not yet settled.
HeldSpentSource = Callable[[Connection, str], Mapping[str, int]]


@dataclass(frozen=True, slots=True)
class SiteSpending:
    site: str
    asset: str
    today: int
    month: int


@dataclass(frozen=True, slots=True)
class Breakdown:
    """One wallet's money as a person reads it. `held` is reserved by holds; `held_spent`
    the part of it already used (views on an open tab, rides on an open day), to be posted
    when it settles; `today` and `this_month` what was spent at sites (UTC day and month)."""

    asset: str
    available: int
    held: int
    held_spent: int
    today: int
    this_month: int
    sites: list[SiteSpending] = field(default_factory=list)


def month_start(now: int) -> int:
    """The first instant (ns) of the UTC month of `now`."""
    when = datetime.fromtimestamp(now // NS_PER_SECOND, tz=UTC)
    first = datetime(when.year, when.month, 1, tzinfo=UTC)
    return int(first.timestamp()) * NS_PER_SECOND


class WalletSpending:
    """Purchases and spending, from the sources the products register."""

    def __init__(self, accounts: WalletAccounts, history: WalletHistory) -> None:
        self.accounts = accounts
        self.history = history
        self.spent_sources: list[SpentSource] = []
        self.held_spent_sources: list[HeldSpentSource] = []

    def register(
        self,
        purchases: PurchaseSource | None = None,
        spent: SpentSource | None = None,
        held_spent: HeldSpentSource | None = None,
    ) -> None:
        """Let a product show its purchases and count its spending."""
        if purchases is not None:
            self.history.register_purchases(purchases)
        if spent is not None:
            self.spent_sources.append(spent)
        if held_spent is not None:
            self.held_spent_sources.append(held_spent)

    def breakdown(self, user_id: str) -> list[Breakdown]:
        """One breakdown per wallet the person has (and per asset they spent in), in asset order."""
        now = self.accounts.clock()
        today_start = now - now % DAY_NS
        since = min(month_start(now), today_start)

        def work(session: LedgerSession) -> list[Breakdown]:
            connection = session.connection
            balances = {b.asset: b for b in self.history.balances_in(session, user_id)}
            held_spent: dict[str, int] = {}
            for held_source in self.held_spent_sources:
                for asset, units in held_source(connection, user_id).items():
                    held_spent[asset] = held_spent.get(asset, 0) + units
            by_site: dict[tuple[str, str], list[int]] = {}
            for spent_source in self.spent_sources:
                for spent in spent_source(connection, user_id, since):
                    totals = by_site.setdefault((spent.asset, spent.site), [0, 0])
                    if spent.timestamp >= today_start:
                        totals[0] += spent.units
                    if spent.timestamp >= month_start(now):
                        totals[1] += spent.units
            assets = sorted(set(balances) | set(held_spent) | {asset for asset, _ in by_site})
            out = []
            for asset in assets:
                balance = balances.get(asset, Balance(asset, 0, 0))
                sites = [
                    SiteSpending(site, asset, today, month)
                    for (code, site), (today, month) in sorted(by_site.items())
                    if code == asset and (today or month)
                ]
                out.append(
                    Breakdown(
                        asset, balance.available, balance.reserved, held_spent.get(asset, 0),
                        sum(s.today for s in sites), sum(s.month for s in sites), sites,
                    )
                )  # fmt: skip
            return out

        return self.accounts.ledger.run(work, read_only=True)


__all__ = [
    "Breakdown",
    "HeldSpentSource",
    "SiteSpending",
    "Spent",
    "SpentSource",
    "WalletSpending",
    "month_start",
]
