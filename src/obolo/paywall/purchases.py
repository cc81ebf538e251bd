"""What a reader bought belongs to the reader, not to a browser: the platform remembers
each purchase (resource, provider, when) and answers "already bought" to any of the
reader's devices with a fresh re-access receipt, which the provider's middleware checks
offline like any charge receipt. A second charge for the same resource within its
re-access period never happens.

Purchases come from three places:
  - widget charges (`charges` rows, not refunded);
  - channel-paid views, which the reader's client reports with the provider's view
    receipt (MACed with the key the provider shares with the platform: the reader cannot
    invent one);
  - visits of passes bought through the wallet (`reader_passes`), handed out one by one
    so the reader sees the visits left.

Each purchase keeps the provider's re-access period in force when it was bought (the
provider sets it, 0 to a year): what the reader was told, `until`, holds even if the
provider changes its period afterwards, as the read-again receipt the site itself gave
does.

A re-access receipt is signed by the platform like a charge receipt, pays nothing
(`amount` 0, `reaccess` until when), names the reader (a hash, as channel certificates
do), lives `REACCESS_RECEIPT_SECONDS` but never past its purchase's `until`, and is good
once (its charge id): a captured one opens one page for a minute, once.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, Engine, and_, cast, func, insert, select, update

from obolo.adapters.clock import NS_PER_SECOND, Clock
from obolo.adapters.db.schema import channel_refunds, channels, charges, providers, purchases, reader_passes
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.ids import new_id
from obolo.adapters.signing import SigningKeys
from obolo.errors import NotFound
from obolo.money import Amount, Asset, parse_units
from obolo.paywall.errors import ChannelNotFound, InvalidTitle, InvalidViewReceipt, PassNotOnSale
from obolo.paywall.model import DEFAULT_REACCESS_SECONDS, MAX_REACCESS_SECONDS, clean_title
from obolo.paywall.refunds import CLOCK_SKEW_SECONDS, ChannelRefunds
from obolo.paywall.service import PaywallService
from obolo.sdk.passes import Pass
from obolo.sdk.payword import b64
from obolo.sdk.views import InvalidViewReceipt as MalformedReceipt
from obolo.sdk.views import ViewReceipt

#: A re-access receipt is asked for right before it is used.
REACCESS_RECEIPT_SECONDS = 120


class NotPurchased(NotFound):
    code = "not_purchased"


@dataclass(frozen=True, slots=True)
class Purchase:
    provider_id: str
    resource: str
    bought_at: int  # ns
    until: int  # ns: the end of its re-access period


@dataclass(frozen=True, slots=True)
class HeldPass:
    """A pass the reader bought through the wallet, with the visits it handed out."""

    id: str
    provider_id: str
    provider: str
    name: str
    pattern: str
    asset: str
    price: int
    visits: int | None
    used: int
    expires_at: int  # unix seconds
    token: str
    bought_at: int  # ns

    @property
    def visits_left(self) -> int | None:
        return None if self.visits is None else self.visits - self.used


def _purchase(provider_id: str, resource: str, bought_at: int, seconds: int | None) -> Purchase:
    """A purchase reopening for the period it was bought under (None: bought before the
    period was the provider's, when it was a day for every provider)."""
    period = DEFAULT_REACCESS_SECONDS if seconds is None else int(seconds)
    return Purchase(provider_id, resource, bought_at, bought_at + period * NS_PER_SECOND)


def _period_ns(column: ColumnElement[Any]) -> ColumnElement[int]:
    """A stored period in nanoseconds, in SQL: 64-bit (an INTEGER times 10^9 overflows
    PostgreSQL's 32), NULL read as the one day every purchase had before 0029."""
    return cast(func.coalesce(column, DEFAULT_REACCESS_SECONDS), BigInteger) * NS_PER_SECOND


def sign_receipt(keys: SigningKeys, fields: dict[str, Any]) -> str:
    """The token format of a charge receipt (tabs.ChargeReceipt): body.signature."""
    message = json.dumps({**fields, "key_id": keys.current_id}, sort_keys=True, separators=(",", ":"))
    return b64(message.encode()) + "." + b64(keys.current.sign(message.encode()))


def reader_tag(reader_id: str, provider_id: str) -> str:
    """The reader as a provider sees them (as channel certificates name the payer): stable
    per provider, and telling the provider nothing else."""
    return hashlib.sha256(f"{reader_id}:{provider_id}".encode()).hexdigest()[:24]


def _title_of(receipt: ViewReceipt) -> str | None:
    """The title a provider's view receipt names, if usable: the view is remembered either
    way (the reader paid for it and cannot mend the provider's title)."""
    try:
        return clean_title(receipt.title)
    except InvalidTitle:
        return None


class PurchaseService:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        paywall: PaywallService,
        refunds: ChannelRefunds,
        keys: SigningKeys,
        assets: dict[str, Asset],
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.paywall = paywall
        self.refunds = refunds
        self.keys = keys
        self.assets = assets

    # -- what was bought ---------------------------------------------------------------------
    def purchase(self, reader_id: str, provider_id: str, resource: str) -> Purchase | None:
        """The reader's purchase of `resource` reopening it longest, among those still
        within their re-access period: a charge not refunded, a channel view not refunded,
        or a pass visit. Each keeps the provider's period in force when it was bought."""
        now = self.clock()
        # No purchase reopens for longer than the longest period a provider may set: the
        # index's range; each row's own period then decides.
        since = now - MAX_REACCESS_SECONDS * NS_PER_SECOND

        def work(connection: Connection) -> list[tuple[int, int | None]]:
            provider = self.paywall.provider(connection, provider_id)
            charged = connection.execute(
                select(charges.c.created_at, charges.c.reaccess_seconds).where(
                    charges.c.reader_id == reader_id,
                    charges.c.provider_id == provider.id,
                    charges.c.resource == resource,
                    charges.c.refunded_at.is_(None),
                    charges.c.created_at > since,
                    charges.c.created_at + _period_ns(charges.c.reaccess_seconds) > now,
                )
            ).all()
            refunded = and_(
                channel_refunds.c.channel_id == purchases.c.channel_id,
                channel_refunds.c.idx == purchases.c.idx,
            )
            recorded = connection.execute(
                select(purchases.c.bought_at, purchases.c.reaccess_seconds)
                .select_from(purchases.outerjoin(channel_refunds, refunded))
                .where(
                    purchases.c.reader_id == reader_id,
                    purchases.c.provider_id == provider.id,
                    purchases.c.resource == resource,
                    purchases.c.bought_at > since,
                    purchases.c.bought_at + _period_ns(purchases.c.reaccess_seconds) > now,
                    channel_refunds.c.idx.is_(None),
                )
            ).all()
            return [(int(at), seconds) for at, seconds in [*charged, *recorded]]

        bought = run_in_transaction(self.engine, work, read_only=True)
        found = [_purchase(provider_id, resource, at, seconds) for at, seconds in bought]
        open_ = [one for one in found if one.until > now]
        return max(open_, key=lambda one: (one.until, one.bought_at)) if open_ else None

    def reaccess_receipt(self, reader_id: str, provider_id: str, resource: str) -> tuple[str, Purchase]:
        """A fresh receipt reopening `resource` for nothing, for any of the reader's
        devices. Raises NotPurchased, ProviderNotFound."""
        found = self.purchase(reader_id, provider_id, resource)
        if found is None:
            raise NotPurchased("you have not bought this within its re-access period")
        return self.signed_reaccess(reader_id, found), found

    def signed_reaccess(self, reader_id: str, found: Purchase) -> str:
        now_seconds = self.clock() // NS_PER_SECOND
        return sign_receipt(
            self.keys,
            {
                "charge_id": new_id(),
                "provider": found.provider_id,
                "resource": found.resource,
                "amount": 0,
                "reaccess": found.until // NS_PER_SECOND,
                "reader": reader_tag(reader_id, found.provider_id),
                "expires_at": min(now_seconds + REACCESS_RECEIPT_SECONDS, found.until // NS_PER_SECOND),
            },
        )

    def record_view(self, reader_id: str, token: str) -> Purchase:
        """Remember a channel-paid view, proved by the provider's view receipt, as the
        reader's purchase. Recording the same view again changes nothing. Raises
        InvalidViewReceipt, ChannelNotFound (not the reader's channel)."""
        try:
            channel_id = ViewReceipt.channel_of(token)
        except MalformedReceipt as error:
            raise InvalidViewReceipt("the view receipt is malformed") from error

        def work(connection: Connection) -> Purchase:
            channel = connection.execute(select(channels).where(channels.c.id == channel_id)).first()
            if channel is None or channel.payer_id != reader_id:
                raise ChannelNotFound("no such channel of yours")
            period = self.paywall.provider(connection, channel.provider_id).reaccess_seconds
            receipt = self.refunds.view_receipt(connection, channel.provider_id, token)
            if receipt.index > channel.length:
                raise InvalidViewReceipt("the view receipt names a payment beyond the channel")
            if receipt.at > self.clock() // NS_PER_SECOND + CLOCK_SKEW_SECONDS:
                raise InvalidViewReceipt("the view receipt is dated in the future")
            bought = receipt.at * NS_PER_SECOND
            known = connection.execute(
                select(purchases.c.reaccess_seconds).where(
                    purchases.c.channel_id == channel.id, purchases.c.idx == receipt.index
                )
            ).first()
            if known is None:
                connection.execute(
                    insert(purchases).values(
                        id=new_id(), reader_id=reader_id, provider_id=channel.provider_id,
                        resource=receipt.path, title=_title_of(receipt), bought_at=bought,
                        channel_id=channel.id, idx=receipt.index, reaccess_seconds=period,
                    )
                )  # fmt: skip
            else:
                period = known.reaccess_seconds
            return _purchase(channel.provider_id, receipt.path, bought, period)

        return run_in_transaction(self.engine, work)

    # -- passes ------------------------------------------------------------------------------
    def passes_on_sale(self, provider_id: str, resource: str) -> list[dict[str, Any]]:
        """The passes the provider publishes that cover `resource`, as published, with
        `units` (the price at its asset's scale) added."""
        offers = []
        for offer in self.paywall.price_rules(provider_id).get("passes", []):
            asset = self.assets.get(offer.get("asset", "EUR"))
            if asset is not None and fnmatch.fnmatchcase(resource, offer["pattern"]):
                offers.append({**offer, "units": parse_units(offer["price"], asset)})
        return offers

    def buy_pass(self, reader_id: str, provider_id: str, name: str, idempotency_key: str | None) -> HeldPass:
        """Buy the provider's published pass called `name` (through the one pass sale,
        `PaywallService.buy_pass`, on exactly its terms) and keep it on the account. The
        same idempotency key again returns the same pass, paid once. Raises
        PassNotOnSale, ProviderNotFound, InsufficientFunds."""
        offers = [o for o in self.paywall.price_rules(provider_id).get("passes", []) if o.get("name") == name]
        if not offers:
            raise PassNotOnSale("this site offers no pass by that name")
        offer = offers[0]
        asset = self.assets.get(offer.get("asset", "EUR"))
        if asset is None:
            raise PassNotOnSale("this site offers no pass by that name")
        price = Amount(parse_units(offer["price"], asset), asset)
        token = self.paywall.buy_pass(
            reader_id, provider_id, offer["pattern"], price,
            visits=offer.get("visits"), hours=offer.get("hours"), idempotency_key=idempotency_key,
        )  # fmt: skip
        value = Pass.decode(token)[0]

        def work(connection: Connection) -> None:
            if connection.execute(
                select(reader_passes.c.id).where(reader_passes.c.id == value.pass_id)
            ).first():
                return
            connection.execute(
                insert(reader_passes).values(
                    id=value.pass_id, reader_id=reader_id, provider_id=value.provider, name=str(name)[:100],
                    pattern=value.pattern, asset=value.asset, price=value.price, visits=value.visits, used=0,
                    expires_at=value.expires_at, token=token, bought_at=self.clock(),
                )
            )  # fmt: skip

        run_in_transaction(self.engine, work)
        held = [p for p in self.passes(reader_id, value.provider) if p.id == value.pass_id]
        return held[0]

    def passes(self, reader_id: str, provider_id: str | None = None) -> list[HeldPass]:
        """The reader's passes not yet expired, newest first (all sites, or one)."""
        now_seconds = self.clock() // NS_PER_SECOND
        query = (
            select(reader_passes, providers.c.name.label("provider"))
            .join(providers, providers.c.id == reader_passes.c.provider_id)
            .where(reader_passes.c.reader_id == reader_id, reader_passes.c.expires_at > now_seconds)
            .order_by(reader_passes.c.bought_at.desc())
        )
        if provider_id is not None:
            query = query.where(reader_passes.c.provider_id == provider_id)
        rows = run_in_transaction(self.engine, lambda c: c.execute(query).all(), read_only=True)
        return [
            HeldPass(
                r.id, r.provider_id, r.provider, r.name, r.pattern, r.asset, r.price, r.visits, r.used,
                r.expires_at, r.token, r.bought_at,
            )
            for r in rows
        ]  # fmt: skip

    def usable_pass(self, reader_id: str, provider_id: str, resource: str) -> HeldPass | None:
        """A pass of the reader's covering `resource` with a visit left (the one expiring first)."""
        usable = [
            held
            for held in self.passes(reader_id, provider_id)
            if fnmatch.fnmatchcase(resource, held.pattern)
            and (held.visits_left is None or held.visits_left > 0)
        ]
        return min(usable, key=lambda held: held.expires_at) if usable else None

    def use_pass(
        self, reader_id: str, provider_id: str, resource: str, title: str | None = None
    ) -> HeldPass | None:
        """Hand out one visit of a usable pass for `resource` (counted, and remembered as a
        purchase, named `title`, so the page reopens on any device without another visit);
        None when the reader holds no usable pass. Raises InvalidTitle."""
        title = clean_title(title)
        held = self.usable_pass(reader_id, provider_id, resource)
        if held is None:
            return None

        def work(connection: Connection) -> bool:
            period = self.paywall.provider(connection, held.provider_id).reaccess_seconds
            counted = connection.execute(
                update(reader_passes)
                .where(
                    reader_passes.c.id == held.id,
                    (reader_passes.c.visits.is_(None)) | (reader_passes.c.used < reader_passes.c.visits),
                )
                .values(used=reader_passes.c.used + 1)
            )
            if not counted.rowcount:
                return False  # a concurrent visit took the last one
            connection.execute(
                insert(purchases).values(
                    id=new_id(), reader_id=reader_id, provider_id=held.provider_id, resource=resource,
                    title=title, bought_at=self.clock(), pass_id=held.id, reaccess_seconds=period,
                )
            )  # fmt: skip
            return True

        if not run_in_transaction(self.engine, work):
            return None
        return replace(held, used=held.used + 1)


__all__ = [
    "HeldPass",
    "NotPurchased",
    "Purchase",
    "PurchaseService",
    "reader_tag",
    "sign_receipt",
]
