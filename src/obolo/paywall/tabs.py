"""Charges and tabs, for readers whose client cannot hold a hash chain (a browser page):
the reader consents once per provider (at most X per item, Y per day); each charge is
accrued on a tab backed by a pending hold and answered with a signed charge receipt the
provider checks offline; the tab settles as one transfer when it is full, or at the end
of the period (`settle_due_tabs`).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from obolo.adapters.clock import NS_PER_SECOND, Clock
from obolo.adapters.db.schema import charges, consents, tabs
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.ids import derived_id, new_id
from obolo.adapters.signing import SigningKeys
from obolo.errors import Forbidden, InvalidRequest, OboloError
from obolo.ledger import Ledger, LedgerSession, Transfer, TransferFlags, TransferResult, expect_ok
from obolo.money import Amount
from obolo.paywall.credit import issue_credit_note, net_credit_notes, refunds_in_last_day
from obolo.paywall.errors import NotRefundable, ProviderNotFound
from obolo.paywall.model import clean_title
from obolo.paywall.service import PaywallService
from obolo.sdk.payword import b64
from obolo.settings import FeeRule, Settings
from obolo.wallets.model import PlatformAccount, TransferCode, fee_for
from obolo.wallets.service import WalletService

TAB_HOLD = 1_000_000  # a tab reserves up to 1.00 (at scale 6), never more than the daily consent
TAB_PERIOD_SECONDS = 24 * 3600
RECEIPT_SECONDS = 600
_R = TransferResult


class NoConsent(Forbidden):
    code = "no_consent"


class OverLimit(OboloError):
    code = "over_consent_limit"


class ChargeIdReused(InvalidRequest):
    code = "charge_id_reused"


@dataclass(frozen=True, slots=True)
class ChargeReceipt:
    charge_id: str
    provider: str
    resource: str
    amount: int
    asset: str
    expires_at: int
    key_id: str

    def message(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()


class TabService:
    def __init__(
        self,
        engine: Engine,
        ledger: Ledger,
        clock: Clock,
        wallets: WalletService,
        paywall: PaywallService,
        keys: SigningKeys,
        settings: Settings,
    ):
        self.engine = engine
        self.ledger = ledger
        self.settings = settings
        self.clock = clock
        self.wallets = wallets
        self.paywall = paywall
        self.keys = keys

    def set_consent(self, reader_id: str, provider_id: str, per_item: Amount, per_day: Amount) -> None:
        """Let this provider charge up to `per_item` a view and `per_day` a day."""
        if per_item.asset != per_day.asset or not 0 < per_item.units <= per_day.units:
            raise InvalidRequest("consent needs 0 < per item <= per day, in one asset")

        def work(connection: Connection) -> None:
            provider = self.paywall.provider(connection, provider_id)
            key = (consents.c.reader_id == reader_id) & (consents.c.provider_id == provider.id)
            values = {
                "asset": per_item.asset.code,
                "per_item_max": per_item.units,
                "per_day_max": per_day.units,
                "updated_at": self.clock(),
            }
            if connection.execute(select(consents.c.reader_id).where(key)).first():
                connection.execute(update(consents).where(key).values(**values))
            else:
                connection.execute(
                    insert(consents).values(reader_id=reader_id, provider_id=provider.id, **values)
                )

        run_in_transaction(self.engine, work)

    def revoke_consent(self, reader_id: str, provider_id: str) -> bool:
        """Stop this provider charging without asking (web: the reading settings' button).
        What an open tab already accrued still settles as agreed. False if there was no
        consent to revoke."""

        def work(connection: Connection) -> bool:
            provider = self.paywall.provider(connection, provider_id)
            result = connection.execute(
                delete(consents).where(
                    consents.c.reader_id == reader_id, consents.c.provider_id == provider.id
                )
            )
            return bool(result.rowcount)

        return run_in_transaction(self.engine, work)

    def charge(
        self,
        reader_id: str,
        provider_id: str,
        resource: str,
        amount: Amount,
        charge_id: str,
        *,
        title: str | None = None,
    ) -> str:
        """Charge one view under the reader's consent; returns the signed receipt to hand
        to the provider. `title` is the provider's name for what was bought (shown in the
        reader's history instead of the path). The same charge id again returns the same
        receipt and charges nothing more (the first title stands). Raises InvalidTitle,
        NoConsent, OverLimit, ChargeIdReused, InsufficientFunds."""
        if amount.units <= 0:
            raise InvalidRequest("a charge is positive")
        title = clean_title(title)

        def work(session: LedgerSession) -> int:
            connection = session.connection
            provider = self.paywall.provider(connection, provider_id)
            found = connection.execute(
                select(charges).where(charges.c.provider_id == provider.id, charges.c.charge_id == charge_id)
            ).first()
            if found is not None:
                if (found.reader_id, found.amount, found.resource) != (reader_id, amount.units, resource):
                    raise ChargeIdReused("this charge id was used for another charge")
                return int(found.created_at)
            consent = connection.execute(
                select(consents).where(
                    consents.c.reader_id == reader_id, consents.c.provider_id == provider.id
                )
            ).first()
            if consent is None or consent.asset != amount.asset.code:
                raise NoConsent("the reader has not allowed this provider to charge")
            if amount.units > consent.per_item_max:
                raise OverLimit("more than the reader allows per item", limit="per_item")
            now = self.clock()
            # "A day" is the UTC day, as sites' daily caps count it (and the consent's
            # limit is the cap): a reader capped yesterday evening is not refused this
            # morning. A refunded view no longer counts.
            today = connection.execute(
                select(func.coalesce(func.sum(charges.c.amount), 0)).where(
                    charges.c.reader_id == reader_id,
                    charges.c.provider_id == provider.id,
                    charges.c.created_at >= now - now % (86_400 * NS_PER_SECOND),
                    charges.c.refunded_at.is_(None),
                )
            ).scalar_one()
            if int(today) + amount.units > consent.per_day_max:
                raise OverLimit("more than the reader allows per day", limit="per_day")
            tab = self._open_tab(
                session, reader_id, provider.id, provider.user_id, amount, consent.per_day_max
            )
            connection.execute(
                insert(charges).values(
                    provider_id=provider.id, charge_id=charge_id, reader_id=reader_id, tab_id=tab,
                    amount=amount.units, resource=resource, title=title, created_at=now,
                    reaccess_seconds=provider.reaccess_seconds,
                )
            )  # fmt: skip
            connection.execute(
                update(tabs).where(tabs.c.id == tab).values(accrued=tabs.c.accrued + amount.units)
            )
            return now

        created = self.ledger.run(work)
        receipt = ChargeReceipt(
            charge_id, provider_id, resource, amount.units, amount.asset.code,
            created // NS_PER_SECOND + RECEIPT_SECONDS, self.keys.current_id,
        )  # fmt: skip
        return b64(receipt.message()) + "." + b64(self.keys.current.sign(receipt.message()))

    def _open_tab(
        self,
        session: LedgerSession,
        reader_id: str,
        provider_id: str,
        owner: str,
        amount: Amount,
        per_day: int,
    ) -> str:
        """The reader's open tab with room for `amount`, settling a full one first."""
        connection = session.connection
        row = connection.execute(
            select(tabs).where(
                tabs.c.reader_id == reader_id, tabs.c.provider_id == provider_id, tabs.c.status == "open"
            )
        ).first()
        if row is not None and row.accrued + amount.units <= row.held:
            return str(row.id)
        if row is not None:
            self._settle(session, row)
        tab_id = new_id()
        held = max(amount.units, min(TAB_HOLD, per_day))
        payer = self.wallets.wallet(session, reader_id, amount.asset.code)
        payee = self.wallets.wallet(session, owner, amount.asset.code)
        hold_id = derived_id("transfer", tab_id, "hold")
        self.wallets.debit(
            session, payer, payee.account_id, hold_id, held, 0, TransferCode.PAYMENT, hold=True,
            timeout=2 * TAB_PERIOD_SECONDS,
        )  # fmt: skip
        connection.execute(
            insert(tabs).values(
                id=tab_id, reader_id=reader_id, provider_id=provider_id, asset=amount.asset.code,
                hold_id=hold_id.to_bytes(16, "big"), held=held, accrued=0, status="open",
                opened_at=self.clock(),
            )
        )  # fmt: skip
        return tab_id

    def carry_charge(
        self,
        session: LedgerSession,
        reader_id: str,
        provider_id: str,
        resource: str,
        amount: Amount,
        charge_id: str,
        created_at: int,
        title: str | None = None,
    ) -> None:
        """Inside the caller's ledger transaction, put a charge the platform already
        promised (an anonymous trial's) on the reader's tab, without a consent check: the
        reader confirmed it when it was made. Raises InsufficientFunds for the hold."""
        connection = session.connection
        provider = self.paywall.provider(connection, provider_id)
        tab = self._open_tab(session, reader_id, provider.id, provider.user_id, amount, TAB_HOLD)
        connection.execute(
            insert(charges).values(
                provider_id=provider.id, charge_id=charge_id, reader_id=reader_id, tab_id=tab,
                amount=amount.units, resource=resource, title=title, created_at=created_at,
                reaccess_seconds=provider.reaccess_seconds,
            )
        )  # fmt: skip
        connection.execute(update(tabs).where(tabs.c.id == tab).values(accrued=tabs.c.accrued + amount.units))

    def refund(self, reader_id: str, provider_id: str, charge_id: str) -> int:
        """Take back one charged view within the refund window (at most refunds_per_day a
        day, both in Settings). No ledger transfer: an open tab simply accrues less; a settled one leaves a
        credit note netted against the provider's next settlement with this reader.
        Returns the units refunded. Raises NotRefundable."""

        def work(connection: Connection) -> int:
            provider = self.paywall.provider(connection, provider_id)
            now = self.clock()
            row = connection.execute(
                select(charges).where(charges.c.provider_id == provider.id, charges.c.charge_id == charge_id)
            ).first()
            if row is None or row.reader_id != reader_id:
                raise NotRefundable("no such charge of yours")
            if row.refunded_at is not None:
                raise NotRefundable("this charge was refunded already")
            window = self.settings.refund_window_seconds
            if now - row.created_at > window * NS_PER_SECOND:
                raise NotRefundable(f"refunds are possible for {window // 60} minutes")
            if refunds_in_last_day(connection, reader_id, now) >= self.settings.refunds_per_day:
                raise NotRefundable(f"at most {self.settings.refunds_per_day} refunds a day")
            connection.execute(
                update(charges)
                .where(charges.c.provider_id == provider.id, charges.c.charge_id == charge_id)
                .values(refunded_at=now)
            )
            tab = connection.execute(select(tabs).where(tabs.c.id == row.tab_id)).first()
            if tab is not None and tab.status == "open":
                connection.execute(
                    update(tabs).where(tabs.c.id == tab.id).values(accrued=tabs.c.accrued - row.amount)
                )
            else:
                asset = tab.asset if tab is not None else "EUR"
                issue_credit_note(connection, reader_id, provider.id, asset, int(row.amount), now)
            return int(row.amount)

        return run_in_transaction(self.engine, work)

    def _settle(self, session: LedgerSession, tab: Any) -> None:
        """Post what the tab (a row of `tabs`) accrued, less open credit notes and the
        fee, and release the rest."""
        tab_id: str = tab.id
        hold_id = int.from_bytes(tab.hold_id, "big")
        accrued = net_credit_notes(
            session.connection, tab.reader_id, tab.provider_id, tab.asset, int(tab.accrued)
        )
        asset: str = tab.asset
        settle_id = derived_id("transfer", tab_id, "settle")
        if accrued:
            rule = self.settings.fees.get("paywall", FeeRule())
            fee = min(accrued, fee_for(accrued, rule))
            post = TransferFlags.POST_PENDING_TRANSFER | (TransferFlags.LINKED if fee else TransferFlags.NONE)
            transfers = [Transfer(settle_id, pending_id=hold_id, amount=accrued, flags=post)]
            if fee:
                provider_row = self.paywall.provider(session.connection, tab.provider_id)
                payee = self.wallets.wallet(session, provider_row.user_id, asset)
                fee_account = PlatformAccount.FEE_REVENUE.account_id(asset)
                fee_id = derived_id("transfer", tab_id, "fee")
                transfers.append(
                    Transfer(fee_id, payee.account_id, fee_account, fee, asset, code=int(TransferCode.FEE))
                )
        else:
            transfers = [Transfer(settle_id, pending_id=hold_id, flags=TransferFlags.VOID_PENDING_TRANSFER)]
        results = session.create_transfers(transfers)
        expect_ok(results, f"settling tab {tab_id}", also={_R.PENDING_EXPIRED})
        session.connection.execute(
            update(tabs).where(tabs.c.id == tab_id).values(status="settled", settled_at=self.clock())
        )

    def settle_due_tabs(self, limit: int = 500) -> int:
        """Settle tabs opened more than a period ago (a job for the workers)."""
        cutoff = self.clock() - TAB_PERIOD_SECONDS * NS_PER_SECOND

        def work(session: LedgerSession) -> int:
            rows = session.connection.execute(
                select(tabs).where(tabs.c.status == "open", tabs.c.opened_at <= cutoff).limit(limit)
            ).all()
            for row in rows:
                self._settle(session, row)
            return len(rows)

        return self.ledger.run(work)

    def tab_of(self, reader_id: str, provider_id: str) -> tuple[int, int] | None:
        """(held, accrued) of the reader's open tab with this provider, if any."""
        key = str(uuid.UUID(provider_id))
        row = run_in_transaction(
            self.engine,
            lambda c: c.execute(
                select(tabs.c.held, tabs.c.accrued).where(
                    tabs.c.reader_id == reader_id, tabs.c.provider_id == key, tabs.c.status == "open"
                )
            ).first(),
            read_only=True,
        )
        return None if row is None else (int(row.held), int(row.accrued))


__all__ = [
    "ChargeIdReused",
    "ChargeReceipt",
    "NoConsent",
    "NotRefundable",
    "OverLimit",
    "ProviderNotFound",
    "TabService",
]
