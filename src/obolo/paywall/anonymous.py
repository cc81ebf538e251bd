"""Try before signing up: an anonymous trial tab, named by a signed cookie of the wallet's
origin, on which a reader without an account reads up to a limit (a setting, 1.00 by
default). Each click is answered with an ordinary platform-signed charge receipt.

Nothing moves in the ledger for an anonymous tab: it is a promise the platform records.
When the reader signs up and claims the tab, each of its charges becomes one of their
charges, on their tab with that provider, backed by a hold on their wallet, in one
transaction: all or nothing. Only then is the provider paid, when that tab settles.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from obolo.adapters.clock import NS_PER_SECOND, Clock
from obolo.adapters.db.schema_widget import anonymous_charges, anonymous_tabs
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.ids import new_id
from obolo.adapters.signing import SigningKeys
from obolo.errors import InvalidRequest, OboloError, RateLimited
from obolo.ledger import Ledger, LedgerSession
from obolo.money import Amount, Asset
from obolo.paywall.tabs import RECEIPT_SECONDS, ChargeIdReused, TabService
from obolo.paywall.widget import DAY_NS, Offer, Payment, WidgetService, sign_receipt, utc_day_start
from obolo.sdk.payword import b64

TRIAL_ASSET = "EUR"  # the limit is a EUR amount; other assets are not offered on trial


class TrialLimitReached(OboloError):
    code = "trial_limit_reached"


class TrialClaimed(InvalidRequest):
    code = "trial_already_claimed"


class TooManyTrials(RateLimited):
    code = "too_many_trials"


class TrialNotFound(InvalidRequest):
    code = "trial_not_found"


@dataclass(frozen=True, slots=True)
class TrialTab:
    id: str
    asset: str
    limit: int
    accrued: int
    claimed_by: str | None


class AnonymousTabs:
    def __init__(
        self,
        engine: Engine,
        ledger: Ledger,
        clock: Clock,
        tabs: TabService,
        widget: WidgetService,
        keys: SigningKeys,
        limit: int,
        per_address: int = 3,
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.clock = clock
        self.tabs = tabs
        self.widget = widget
        self.keys = keys
        self.limit = limit
        self.per_address = per_address
        # A key of its own, derived from the platform's signing key, so the cookie needs
        # no extra secret to configure and cannot be confused with a receipt signature.
        seed = keys.current.private_bytes_raw()
        self._cookie_key = hmac.new(seed, b"obolo anonymous tab cookie", hashlib.sha256).digest()

    # -- the cookie ----------------------------------------------------------------------
    def token(self, tab_id: str) -> str:
        """The cookie value naming the tab: its id and an HMAC of it."""
        mac = hmac.new(self._cookie_key, tab_id.encode(), hashlib.sha256).digest()
        return f"{tab_id}.{b64(mac)}"

    def tab_id_from(self, token: str | None) -> str | None:
        """The tab a cookie names, or None when it is missing or forged."""
        if not token:
            return None
        tab_id, _, _mac = token.rpartition(".")
        return tab_id if tab_id and hmac.compare_digest(self.token(tab_id), token) else None

    # -- use cases -------------------------------------------------------------------------
    def tab(self, tab_id: str | None) -> TrialTab | None:
        if tab_id is None:
            return None
        row = run_in_transaction(
            self.engine,
            lambda c: c.execute(select(anonymous_tabs).where(anonymous_tabs.c.id == tab_id)).first(),
            read_only=True,
        )
        return None if row is None else _trial(row)

    def spent_today(self, tab_id: str | None, provider_id: str) -> int:
        if tab_id is None:
            return 0
        since = utc_day_start(self.clock())
        return int(
            run_in_transaction(
                self.engine,
                lambda c: c.execute(
                    select(func.coalesce(func.sum(anonymous_charges.c.amount), 0)).where(
                        anonymous_charges.c.tab_id == tab_id,
                        anonymous_charges.c.provider_id == provider_id,
                        anonymous_charges.c.created_at >= since,
                    )
                ).scalar_one(),
                read_only=True,
            )
        )

    def address_hash(self, address: str) -> str:
        return hmac.new(self._cookie_key, b"address|" + address.encode(), hashlib.sha256).hexdigest()

    def pay(self, tab_id: str | None, offer: Offer, charge_id: str, address: str = "") -> tuple[str, Payment]:
        """One confirmed click of a reader without an account, on their trial tab (opened
        when `tab_id` is None, at most `per_address` new ones a day from one address).
        Returns the tab id and the receipt; the same charge id again returns the same
        receipt and accrues nothing more. Raises TrialLimitReached (the tab is unchanged),
        TooManyTrials, TrialClaimed, TrialNotFound, InvalidRequest (not EUR)."""
        if offer.price.asset.code != TRIAL_ASSET:
            raise InvalidRequest("a trial tab pays in EUR only", asset=offer.price.asset.code)
        if self.widget.is_capped(self.spent_today(tab_id, offer.provider.id), offer):
            return tab_id or "", self.widget.capped_receipt(offer, charge_id)

        def work(connection: Connection) -> tuple[str, int]:
            now = self.clock()
            tab = tab_id
            found = connection.execute(
                select(anonymous_charges).where(
                    anonymous_charges.c.provider_id == offer.provider.id,
                    anonymous_charges.c.charge_id == charge_id,
                )
            ).first()
            if found is not None:
                if (found.tab_id, found.amount, found.resource) != (tab, offer.price.units, offer.resource):
                    raise ChargeIdReused("this charge id was used for another charge")
                return tab or "", int(found.created_at)
            if tab is None:
                hashed = self.address_hash(address)
                opened = connection.execute(
                    select(func.count()).where(
                        anonymous_tabs.c.address_hash == hashed,
                        anonymous_tabs.c.created_at > now - DAY_NS,
                    )
                ).scalar_one()
                if opened >= self.per_address:
                    raise TooManyTrials(
                        "too many trial tabs from this address today: sign up to read on", 3600
                    )
                tab = new_id()
                connection.execute(
                    insert(anonymous_tabs).values(
                        id=tab, asset=TRIAL_ASSET, limit_units=self.limit, accrued=0, created_at=now,
                        address_hash=hashed,
                    )
                )  # fmt: skip
            # One conditional update is the whole check: two clicks racing cannot both
            # pass the limit, and a tab claimed meanwhile accrues nothing.
            grown = connection.execute(
                update(anonymous_tabs)
                .where(
                    anonymous_tabs.c.id == tab,
                    anonymous_tabs.c.claimed_by.is_(None),
                    anonymous_tabs.c.accrued + offer.price.units <= anonymous_tabs.c.limit_units,
                )
                .values(accrued=anonymous_tabs.c.accrued + offer.price.units)
            ).rowcount
            if grown != 1:
                row = connection.execute(select(anonymous_tabs).where(anonymous_tabs.c.id == tab)).first()
                if row is None:
                    raise TrialNotFound("no such trial tab")
                if row.claimed_by is not None:
                    raise TrialClaimed("this trial tab was already carried over to a wallet")
                raise TrialLimitReached(
                    "the trial tab is full: sign up and settle it to go on",
                    limit=str(row.limit_units),
                    accrued=str(row.accrued),
                )
            connection.execute(
                insert(anonymous_charges).values(
                    provider_id=offer.provider.id, charge_id=charge_id, tab_id=tab,
                    amount=offer.price.units, resource=offer.resource, title=offer.title, created_at=now,
                )
            )  # fmt: skip
            return tab, now

        tab, created = run_in_transaction(self.engine, work)
        receipt = sign_receipt(
            self.keys,
            {
                "charge_id": charge_id,
                "provider": offer.provider.id,
                "resource": offer.resource,
                "amount": offer.price.units,
                "asset": offer.price.asset.code,
                "expires_at": created // NS_PER_SECOND + RECEIPT_SECONDS,
            },
        )
        return tab, Payment(receipt, charge_id, offer.price.units, False)

    def claim(self, tab_id: str, reader_id: str, asset: Asset) -> int:
        """Carry the trial tab over to the reader: every charge on it becomes their charge
        (same charge id, resource, amount and time) on their tab with that provider, held
        on their wallet, all in one transaction. Returns the units carried. Raises
        TrialNotFound, TrialClaimed, InsufficientFunds (then nothing changed)."""

        def work(session: LedgerSession) -> int:
            connection = session.connection
            claimed = connection.execute(
                update(anonymous_tabs)
                .where(anonymous_tabs.c.id == tab_id, anonymous_tabs.c.claimed_by.is_(None))
                .values(claimed_by=reader_id, claimed_at=self.clock())
            ).rowcount
            if claimed != 1:
                exists = connection.execute(
                    select(anonymous_tabs.c.id).where(anonymous_tabs.c.id == tab_id)
                ).first()
                if exists is None:
                    raise TrialNotFound("no such trial tab")
                raise TrialClaimed("this trial tab was already carried over to a wallet")
            rows = connection.execute(
                select(anonymous_charges)
                .where(anonymous_charges.c.tab_id == tab_id)
                .order_by(anonymous_charges.c.created_at, anonymous_charges.c.charge_id)
            ).all()
            for row in rows:
                self.tabs.carry_charge(
                    session, reader_id, row.provider_id, row.resource, Amount(int(row.amount), asset),
                    row.charge_id, int(row.created_at), row.title,
                )  # fmt: skip
            return sum(int(row.amount) for row in rows)

        return self.ledger.run(work)


def _trial(row: Any) -> TrialTab:
    return TrialTab(row.id, row.asset, int(row.limit_units), int(row.accrued), row.claimed_by)


__all__ = ["AnonymousTabs", "TooManyTrials", "TrialClaimed", "TrialLimitReached", "TrialNotFound", "TrialTab"]
