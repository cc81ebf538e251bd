"""What a reader pays through PayWord channels, seen when each view happens rather than
when the channel settles (see obolo.wallets.spending).

A channel reserves length x price once, and the ledger posts what the provider claims
only when it settles. The platform learns of each paid view before that: the reader's
own client reports it with the provider's view receipt (`POST /v1/purchases`, checked
with the provider's key when recorded: a row of `purchases` with the channel and the
view's index), and the x402 facilitator records the highest payment it settled for a
provider (`x402_channel_states`). Those views are the channel's detail, as a tab's
charges are a tab's: the settlement that later posts them is not a new spend.

Once a channel settles, only what its settlement took counts: the views up to the
claimed index, less those refunded. A channel nobody claimed before its hold expired
took nothing, so its views stop counting (and stop showing as charged) then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from obolo.adapters.clock import NS_PER_SECOND, Clock
from obolo.adapters.db.schema import channel_refunds, channels, providers, purchases
from obolo.adapters.db.schema_x402 import x402_channel_states
from obolo.paywall.model import GRACE_SECONDS
from obolo.paywall.spending import bought_and_refunded, happened_within
from obolo.wallets.activity import Purchase
from obolo.wallets.spending import Spent


@dataclass(frozen=True, slots=True)
class _Channel:
    id: str
    site: str
    asset: str
    price: int
    settled: bool
    claimed_index: int
    settled_at: int | None
    views: dict[int, int]  # reported views: index -> when (ns)
    refunded: frozenset[int]
    facilitated: tuple[int, int] | None  # (highest index, when) the x402 facilitator settled

    def spent(self) -> list[Spent]:
        """What the channel has cost, each reported view at its time.

        Settled: the payments up to the claimed index not refunded, which is what its
        settlement posted (plus a credit note it netted: that refund came off spending
        when it was made, as a tab's does; less a view refunded after it, which comes off
        now, as a refunded tab charge does). The views the client never reported count
        at the settlement, as they always did.

        Open: the union, by index, of the views the reader's client reported and the
        payments the x402 facilitator settled, not the larger of the two nor their sum:
        both prove payments of one chain, and one index is one payment however often it is
        proved. A report is the reader's own client saying it paid for that view (its
        receipt MACed by the provider, checked when recorded); a facilitated index is a
        verified preimage the provider holds and may claim at any moment. A provider's own
        claim (`/v1/channels/claims`) settles the channel in the same transaction, so an
        open channel has none to count; the claimed index then decides, and views reported
        beyond it were never taken (their money came back with the release)."""
        facilitated_index, facilitated_at = self.facilitated or (0, 0)
        # Up to `proved`, every payment counts (claimed, or facilitated); past it, the reported views.
        proved = self.claimed_index if self.settled else facilitated_index
        later = self.settled_at if self.settled and self.settled_at is not None else facilitated_at
        reported = {
            index: at for index, at in self.views.items()
            if index not in self.refunded and (not self.settled or index <= proved)
        }  # fmt: skip
        out = [
            # A receipt is dated by the provider's clock: never after the settlement that paid it.
            Spent(min(at, later) if self.settled else at, self.site, self.asset, self.price)
            for at in reported.values()
        ]
        # The payments proved but not reported: one line at the settlement (or the facilitation).
        refunded = sum(1 for index in self.refunded if index <= proved)
        unreported = proved - refunded - sum(1 for index in reported if index <= proved)
        if unreported > 0:
            out.append(Spent(later, self.site, self.asset, unreported * self.price))
        return out


class ChannelSpending:
    """The reader's channel views as purchases, and what channels have cost; `clock`
    tells which unclaimed channels have lapsed."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def _live(self) -> ColumnElement[bool]:
        """A channel that is settled, or still open to a claim (its hold not expired)."""
        now_seconds = self.clock() // NS_PER_SECOND
        return or_(channels.c.status == "settled", channels.c.expires_at + GRACE_SECONDS > now_seconds)

    def purchases(
        self, connection: Connection, user_id: str, start: int | None, before: int | None, limit: int
    ) -> list[Purchase]:
        """The reader's reported channel views and their refunds with times in [start,
        before), newest first: each named by its title (the path when the provider gave
        none), at the channel's price. Views of a lapsed channel, or beyond a settled
        channel's claim, cost nothing and are left out."""

        def within(column: ColumnElement[Any]) -> ColumnElement[bool]:
            return happened_within(column, start, before)

        refunded = and_(
            channel_refunds.c.channel_id == purchases.c.channel_id, channel_refunds.c.idx == purchases.c.idx
        )
        rows = connection.execute(
            select(purchases.c.channel_id, purchases.c.idx, purchases.c.resource, purchases.c.title,
                   purchases.c.bought_at, channel_refunds.c.created_at.label("refunded_at"), channels.c.asset,
                   channels.c.price, channels.c.status, providers.c.name)
            .select_from(purchases.outerjoin(channel_refunds, refunded))
            .join(channels, channels.c.id == purchases.c.channel_id)
            .join(providers, providers.c.id == channels.c.provider_id)
            .where(purchases.c.reader_id == user_id, channels.c.payer_id == user_id, self._live(),
                   or_(channels.c.status != "settled", purchases.c.idx <= channels.c.claimed_index),
                   or_(within(purchases.c.bought_at), within(channel_refunds.c.created_at)))
            .order_by(func.coalesce(channel_refunds.c.created_at, purchases.c.bought_at).desc())
            .limit(2 * limit)
        ).all()  # fmt: skip
        out: list[Purchase] = []
        for row in rows:
            out += bought_and_refunded(
                f"view:{row.channel_id}:{row.idx}", row.bought_at, row.refunded_at, int(row.price),
                row, row.status == "settled", start, before,
            )  # fmt: skip
        out.sort(key=lambda p: (-p.timestamp, p.id))
        return out[:limit]

    def spent(self, connection: Connection, user_id: str, since: int) -> Sequence[Spent]:
        """Since `since`: what open channels' views and settled channels have cost."""
        found = self._channels(connection, user_id, since)
        return [spent for channel in found for spent in channel.spent() if spent.timestamp >= since]

    def held_spent(self, connection: Connection, user_id: str) -> dict[str, int]:
        """Per asset, what the reader's open channels have paid, not yet settled."""
        out: dict[str, int] = {}
        for channel in self._channels(connection, user_id, None):
            if not channel.settled:
                out[channel.asset] = out.get(channel.asset, 0) + sum(s.units for s in channel.spent())
        return out

    def _channels(self, connection: Connection, user_id: str, since: int | None) -> list[_Channel]:
        """The reader's channels still open to a claim, and (with `since`) those settled
        since then, each with its reported views, refunds and facilitated payments: four
        queries, whatever the number of channels."""
        chosen = and_(channels.c.status == "open", self._live())
        if since is not None:
            chosen = or_(chosen, and_(channels.c.status == "settled", channels.c.settled_at >= since))
        rows = connection.execute(
            select(channels.c.id, channels.c.asset, channels.c.price, channels.c.status,
                   channels.c.claimed_index, channels.c.settled_at, providers.c.name)
            .join(providers, providers.c.id == channels.c.provider_id)
            .where(channels.c.payer_id == user_id, chosen)
        ).all()  # fmt: skip
        if not rows:
            return []
        ids = [row.id for row in rows]
        views: dict[str, dict[int, int]] = {}
        for view in connection.execute(
            select(purchases.c.channel_id, purchases.c.idx, purchases.c.bought_at).where(
                purchases.c.channel_id.in_(ids), purchases.c.reader_id == user_id
            )
        ).all():
            views.setdefault(view.channel_id, {})[int(view.idx)] = int(view.bought_at)
        refunds: dict[str, set[int]] = {}
        for refund in connection.execute(
            select(channel_refunds.c.channel_id, channel_refunds.c.idx).where(
                channel_refunds.c.channel_id.in_(ids)
            )
        ).all():
            refunds.setdefault(refund.channel_id, set()).add(int(refund.idx))
        facilitated = {
            state.channel_id: (int(state.idx), int(state.updated_at))
            for state in connection.execute(
                select(x402_channel_states.c.channel_id, x402_channel_states.c.idx,
                       x402_channel_states.c.updated_at)
                .where(x402_channel_states.c.channel_id.in_(ids))
            ).all()
        }  # fmt: skip
        return [
            _Channel(
                row.id, row.name, row.asset, int(row.price), row.status == "settled", int(row.claimed_index),
                None if row.settled_at is None else int(row.settled_at), views.get(row.id, {}),
                frozenset(refunds.get(row.id, ())), facilitated.get(row.id),
            )
            for row in rows
        ]  # fmt: skip


__all__ = ["ChannelSpending"]
