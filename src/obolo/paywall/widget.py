"""Paying on another site through the wallet's popup: the provider's page shows a price,
the popup (Obolo's origin) turns one click into a platform-signed charge receipt and
hands it to the page, whose paywall checks it offline.

Three ways a click is answered, all as a receipt the SDK middleware already accepts:
  - a charge on the signed-in reader's tab (under their standing consent, or after they
    confirm once, which grants that consent);
  - a capped receipt, for nothing, when the reader already paid the provider its daily
    cap today (the middleware accepts it only for the cap it has itself);
  - a charge on an anonymous trial tab (see `anonymous`), for a reader without an account.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, func, select

from obolo.adapters.clock import NS_PER_SECOND, Clock
from obolo.adapters.db.schema import charges, consents
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.signing import SigningKeys
from obolo.errors import Forbidden, InvalidRequest
from obolo.money import Amount, Asset, parse_units
from obolo.paywall.model import Provider, clean_title
from obolo.paywall.purchases import HeldPass, PurchaseService, sign_receipt
from obolo.paywall.service import PaywallService
from obolo.paywall.tabs import RECEIPT_SECONDS, TAB_HOLD, TabService

DAY_NS = 24 * 3600 * NS_PER_SECOND


class WrongOrigin(Forbidden):
    code = "wrong_origin"


class NoPrice(InvalidRequest):
    code = "no_price"


@dataclass(frozen=True, slots=True)
class Offer:
    """What one click buys: checked against what the provider published, when it did."""

    provider: Provider
    resource: str
    price: Amount
    daily_cap: int | None
    title: str | None = None  # the provider's name for it (paywall.model.clean_title)


@dataclass(frozen=True, slots=True)
class Payment:
    receipt: str
    charge_id: str
    paid: int  # units this click costs (0 when capped, already bought, or on a pass)
    capped: bool
    #: charge, capped, reaccess (bought before, on any device) or pass (a visit of a pass)
    kind: str = "charge"
    held: HeldPass | None = None  # the pass a visit was taken from
    until: int | None = None  # ns: when a page already bought stops reopening for nothing

    @property
    def scheme(self) -> str:
        """The Payment header scheme the provider's middleware takes this receipt in."""
        return "obolo-pass" if self.kind == "pass" else "obolo-charge"


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, lower-cased; "" when it has none."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}".lower()


def utc_day_start(now: int) -> int:
    """The start of the UTC day of `now` (ns): caps count per UTC day, as the SDK does."""
    return now - now % DAY_NS


class WidgetService:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        paywall: PaywallService,
        tabs: TabService,
        keys: SigningKeys,
        assets: dict[str, Asset],
        purchases: PurchaseService,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.paywall = paywall
        self.tabs = tabs
        self.keys = keys
        self.assets = assets
        self.purchases = purchases

    def offer(
        self, provider_id: str, resource: str, price: str, asset: str, origin: str, title: str | None = None
    ) -> Offer:
        """The offer behind a pay button, for a page at `origin`, named `title` (what the
        page calls it: the reader's history shows it). The price and daily cap the
        provider published on the platform win over the page's markup; without a
        published rule the markup's price stands, with no cap. Raises ProviderNotFound,
        WrongOrigin (the page is not the provider's registered site: the popup would post
        the proof nowhere else), NoPrice, InvalidTitle."""
        title = clean_title(title)

        def work(connection: Connection) -> Provider:
            return self.paywall.provider(connection, provider_id)

        provider = run_in_transaction(self.engine, work, read_only=True)
        registered = origin_of(provider.origin)
        if not registered or origin_of(origin) != registered:
            raise WrongOrigin(
                "this page is not the provider's registered site", origin=origin, registered=registered
            )
        if not resource.startswith("/") or len(resource) > 500:
            raise NoPrice("the resource is a path on the provider's site")
        for rule in self.paywall.price_rules(provider.id).get("prices", []):
            if fnmatch.fnmatchcase(resource, rule["pattern"]):
                known = self._asset(rule["asset"])
                cap = rule.get("daily_cap")
                return Offer(
                    provider,
                    resource,
                    Amount(parse_units(rule["price"], known), known),
                    None if cap is None else parse_units(cap, known),
                    title,
                )
        known = self._asset(asset)
        try:
            units = parse_units(price, known)
        except (ValueError, TypeError) as error:
            raise NoPrice("the price is a decimal amount", price=price) from error
        if units <= 0:
            raise NoPrice("the price is a positive amount", price=price)
        return Offer(provider, resource, Amount(units, known), None, title)

    def _asset(self, code: str) -> Asset:
        known = self.assets.get(code)
        if known is None:
            raise NoPrice("unknown asset", asset=code)
        return known

    def spent_today(self, reader_id: str, provider_id: str) -> int:
        """Units the reader's charges (not refunded) to this provider came to this UTC day."""
        since = utc_day_start(self.clock())

        def work(connection: Connection) -> int:
            return int(
                connection.execute(
                    select(func.coalesce(func.sum(charges.c.amount), 0)).where(
                        charges.c.reader_id == reader_id,
                        charges.c.provider_id == provider_id,
                        charges.c.created_at >= since,
                        charges.c.refunded_at.is_(None),
                    )
                ).scalar_one()
            )

        return run_in_transaction(self.engine, work, read_only=True)

    def has_consent(self, reader_id: str, offer: Offer) -> bool:
        """Does the reader's standing consent let this click through without a question?
        (The per-day limit is then checked by the charge itself.)"""

        def work(connection: Connection) -> Any:
            return connection.execute(
                select(consents).where(
                    consents.c.reader_id == reader_id, consents.c.provider_id == offer.provider.id
                )
            ).first()

        row = run_in_transaction(self.engine, work, read_only=True)
        return bool(
            row is not None and row.asset == offer.price.asset.code and offer.price.units <= row.per_item_max
        )

    def is_capped(self, spent: int, offer: Offer) -> bool:
        return offer.daily_cap is not None and spent + offer.price.units > offer.daily_cap

    def capped_receipt(self, offer: Offer, charge_id: str) -> Payment:
        """A receipt for nothing: the reader reached the provider's daily cap."""
        assert offer.daily_cap is not None
        receipt = sign_receipt(
            self.keys,
            {
                "charge_id": charge_id,
                "provider": offer.provider.id,
                "resource": offer.resource,
                "amount": 0,
                "asset": offer.price.asset.code,
                "capped": offer.daily_cap,
                "expires_at": self.clock() // NS_PER_SECOND + RECEIPT_SECONDS,
            },
        )
        return Payment(receipt, charge_id, 0, True, kind="capped")

    def consent_per_day(self, offer: Offer) -> int:
        """What confirming once allows a day: the site's daily cap when it has one (past
        it reading is free, so the one limit the reader is told is the cap), else one
        tab's hold."""
        if offer.daily_cap is not None:
            return max(offer.daily_cap, offer.price.units)
        return max(TAB_HOLD, offer.price.units)

    def standing(self, reader_id: str, offer: Offer) -> str | None:
        """What a click would do without a question: "bought" (within its re-access
        period, on any device), "capped", "pass" (a pass of the reader's covers it) or
        "consent"; None when the reader must confirm."""
        if self.purchases.purchase(reader_id, offer.provider.id, offer.resource) is not None:
            return "bought"
        if self.is_capped(self.spent_today(reader_id, offer.provider.id), offer):
            return "capped"
        if self.purchases.usable_pass(reader_id, offer.provider.id, offer.resource) is not None:
            return "pass"
        return "consent" if self.has_consent(reader_id, offer) else None

    def pay(self, reader_id: str, offer: Offer, charge_id: str, *, confirmed: bool) -> Payment | None:
        """One click of a signed-in reader. Bought within its re-access period (on any
        device): a re-access receipt, charging nothing. Capped: a receipt for nothing. A
        pass covering it: a visit of the pass. Under consent, or `confirmed` (which grants
        consent for this price per item and the site's daily cap, or one tab, per day): a
        charge on their tab. Otherwise None: the popup asks. The same `charge_id` again
        charges nothing more. Raises OverLimit, InsufficientFunds, ChargeIdReused."""
        bought = self.purchases.purchase(reader_id, offer.provider.id, offer.resource)
        if bought is not None:
            receipt = self.purchases.signed_reaccess(reader_id, bought)
            return Payment(receipt, charge_id, 0, False, kind="reaccess", until=bought.until)
        if self.is_capped(self.spent_today(reader_id, offer.provider.id), offer):
            return self.capped_receipt(offer, charge_id)
        held = self.purchases.use_pass(reader_id, offer.provider.id, offer.resource, offer.title)
        if held is not None:
            return Payment(held.token, charge_id, 0, False, kind="pass", held=held)
        if not self.has_consent(reader_id, offer):
            if not confirmed:
                return None
            per_day = Amount(self.consent_per_day(offer), offer.price.asset)
            self.tabs.set_consent(reader_id, offer.provider.id, offer.price, per_day)
        receipt = self.tabs.charge(
            reader_id, offer.provider.id, offer.resource, offer.price, charge_id, title=offer.title
        )
        return Payment(receipt, charge_id, offer.price.units, False)


__all__ = [
    "NoPrice",
    "Offer",
    "Payment",
    "WidgetService",
    "WrongOrigin",
    "origin_of",
    "sign_receipt",
    "utc_day_start",
]
