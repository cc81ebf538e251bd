"""Tap use cases: merchants and terminals, cards linked by UID, taps online and offline,
transit days held and posted once, offline kits, debts, journey history.

A tap is one unit of work in one transaction (`tap_in`), so many of them share a commit
(the process's write path, `adapters/db/write_path.py`): a terminal's answer never waits
for more than one commit.

Retail: one posted transfer per approved tap (the merchant is paid at once; see
docs/decisions/0004-tap-charges.md). Transit: the first tap of a card's day reserves all
that day can still cost under the caps (one pending transfer); later taps only accrue on
it; the day's close posts what accrued and releases the rest — one posted transfer per
card, operator and day. Taps uploaded after their day closed are billed by one correction
per week.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine, insert, select, update

from obolo.adapters.clock import NS_PER_SECOND, Clock
from obolo.adapters.db.schema import providers, user_roles
from obolo.adapters.db.schema_tap import (
    tap_cards,
    tap_corrections,
    tap_days,
    tap_debts,
    tap_merchants,
    tap_taps,
    tap_terminals,
)
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.db.write_path import run_each
from obolo.adapters.ids import derived_id, keyed_id, new_id
from obolo.adapters.signing import SigningKeys
from obolo.errors import OboloError
from obolo.ledger import LedgerSession, Transfer, TransferFlags, TransferResult
from obolo.sdk.tap import canonical, sign_token
from obolo.settings import FeeRule
from obolo.tap.errors import (
    BadTerminalCredential,
    CardNotFound,
    CardTaken,
    InvalidMerchant,
    InvalidTap,
    InvalidTerminal,
    MerchantNotFound,
    NotAMerchant,
    TapIdReused,
    TapReplayed,
)
from obolo.tap.model import (
    Caps,
    Mode,
    Reason,
    Status,
    balance_band,
    capped_fare,
    day_of,
    is_double_tap,
    kit_fields,
    offline_key,
    offline_tag,
    receipt_fields,
    uid_hash,
    week_of,
)
from obolo.wallets.model import PlatformAccount, TransferCode, fee_for
from obolo.wallets.service import WalletService

T = TypeVar("T")
_R = TransferResult
NS_PER_DAY = 86_400 * NS_PER_SECOND
HOLD_TIMEOUT_SECONDS = 7 * 86_400  # a day's hold outlives its close by days: the job posts it first
CLOCK_SKEW_SECONDS = 300


@dataclass(frozen=True, slots=True)
class TapSettings:
    double_tap_seconds: int = 3
    kit_ttl_seconds: int = 86_400
    #: A day closes (its hold is posted) this long after midnight UTC, so taps in flight land first.
    day_close_grace_seconds: int = 3_600
    #: Offline taps older than this are refused (the merchant's loss, bounded by the kit).
    max_offline_age_seconds: int = 7 * 86_400


@dataclass(frozen=True, slots=True)
class Merchant:
    id: str
    user_id: str
    name: str
    kind: Mode
    asset: str
    fare: int | None
    daily_cap: int | None
    weekly_cap: int | None
    offline_limit: int


@dataclass(frozen=True, slots=True)
class Terminal:
    id: str
    merchant_id: str
    name: str
    mode: Mode


@dataclass(frozen=True, slots=True)
class Card:
    id: str
    label: str
    asset: str
    blocked: bool
    owed: int
    created_at: int


@dataclass(frozen=True, slots=True)
class Credential:
    """What a terminal presented: an API key, or an Ed25519 signature over the request."""

    terminal_id: str
    api_key: str | None = None
    signature: str | None = None
    signed_message: bytes = b""


@dataclass(frozen=True, slots=True)
class TapIn:
    tap_id: str
    card_uid: bytes
    amount: int | None = None  # retail only
    tapped_at: int | None = None  # ns; the terminal's clock (required offline)
    asset: str | None = None  # if given, must be the merchant's


@dataclass(frozen=True, slots=True)
class TapOutcome:
    tap_id: str
    status: Status
    reason: Reason | None
    asset: str
    amount: int
    charged: int
    capped: bool
    debt: int
    balance_band: str | None
    duplicate_of: str | None
    receipt: str | None
    offline: bool


@dataclass(frozen=True, slots=True)
class Journey:
    tap_id: str
    merchant: str
    terminal_id: str
    mode: Mode
    status: Status
    reason: Reason | None
    asset: str
    fare: int
    charged: int
    capped: bool
    debt: int
    offline: bool
    tapped_at: int


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error) as error:
        raise InvalidTerminal("not base64url") from error


def _uuid_text(value: str, error: type[Exception], what: str) -> str:
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError) as exc:
        raise error(f"{what} is not a UUID") from exc


def key_hash(api_key: str) -> str:
    """Terminal keys carry 256 random bits, so one SHA-256 is as good as a slow hash here,
    and keeps argon2 off the path every tap takes."""
    return hashlib.sha256(api_key.encode()).hexdigest()


class TapService:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        wallets: WalletService,
        keys: SigningKeys,
        card_key: bytes,
        settings: TapSettings | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.wallets = wallets
        self.ledger = wallets.ledger
        self.keys = keys
        self.card_key = card_key
        self.tag_key = offline_key(card_key)
        self.settings = settings or TapSettings()
        self._key_id = keys.current_id  # derived from the public key: once, not per receipt

    # -- merchants and terminals ---------------------------------------------------------------
    def register_merchant(
        self,
        user_id: str,
        name: str,
        origin: str,
        kind: Mode,
        asset: str,
        *,
        offline_limit: int,
        fare: int | None = None,
        daily_cap: int | None = None,
        weekly_cap: int | None = None,
        idempotency_key: str | None = None,
    ) -> Merchant:
        """A provider of the tap kind: a shop (`retail`) or a transit operator with its fare
        and caps. Needs the provider role. A repeated key returns the merchant it registered.
        Raises NotAMerchant, InvalidMerchant."""
        self.wallets.asset(asset)
        if kind is Mode.TRANSIT:
            if fare is None or daily_cap is None or weekly_cap is None:
                raise InvalidMerchant("a transit operator states its fare, daily cap and weekly cap")
            try:
                Caps(fare, daily_cap, weekly_cap)
            except ValueError as error:
                raise InvalidMerchant(str(error)) from error
        else:
            fare = daily_cap = weekly_cap = None
        if not 0 <= offline_limit <= self.wallets.settings.payment_max:
            raise InvalidMerchant("the offline limit is between 0 and the payment maximum")
        merchant_id = keyed_id(idempotency_key, "merchant", user_id)

        def work(session: LedgerSession) -> Merchant:
            connection = session.connection
            if connection.execute(select(providers.c.id).where(providers.c.id == merchant_id)).first():
                return self._merchant(connection, merchant_id, user_id)
            roles = connection.execute(select(user_roles.c.role).where(user_roles.c.user_id == user_id))
            if "provider" not in set(roles.scalars()):
                raise NotAMerchant("take the provider role first (POST /v1/me/roles)")
            wallet = self.wallets.wallet(session, user_id, asset)
            merchant = Merchant(
                merchant_id, user_id, name.strip(), kind, asset, fare, daily_cap, weekly_cap, offline_limit
            )
            now = self.clock()
            connection.execute(
                insert(providers).values(
                    id=merchant.id, user_id=user_id, name=merchant.name, origin=origin.strip(), created_at=now
                )
            )
            connection.execute(
                insert(tap_merchants).values(
                    provider_id=merchant.id, kind=str(kind), asset=asset,
                    account_id=wallet.account_id.to_bytes(16, "big"), fare=fare, daily_cap=daily_cap,
                    weekly_cap=weekly_cap, offline_limit=offline_limit, created_at=now,
                )
            )  # fmt: skip
            return merchant

        return self.ledger.run(work)

    def _merchant(self, connection: Connection, merchant_id: str, user_id: str | None = None) -> Merchant:
        key = _uuid_text(merchant_id, MerchantNotFound, "the merchant id")
        row = connection.execute(
            select(tap_merchants, providers.c.user_id, providers.c.name)
            .join(providers, providers.c.id == tap_merchants.c.provider_id)
            .where(tap_merchants.c.provider_id == key)
        ).first()
        if row is None or (user_id is not None and row.user_id != user_id):
            raise MerchantNotFound("no such merchant")
        return Merchant(
            row.provider_id, row.user_id, row.name, Mode(row.kind), row.asset, row.fare, row.daily_cap,
            row.weekly_cap, row.offline_limit,
        )  # fmt: skip

    def register_terminal(
        self, user_id: str, merchant_id: str, name: str, mode: Mode, public_key: str | None = None
    ) -> tuple[Terminal, str | None]:
        """A terminal of the user's merchant, and its API key (shown once), unless it
        registers an Ed25519 public key (base64url, 32 bytes) to sign requests with.
        Raises MerchantNotFound, InvalidTerminal."""
        api_key = None
        if public_key is not None:
            try:
                Ed25519PublicKey.from_public_bytes(_b64decode(public_key))
            except ValueError as error:
                raise InvalidTerminal("the public key is base64url of 32 bytes (Ed25519)") from error
        else:
            api_key = "tk_" + secrets.token_urlsafe(32)

        def work(connection: Connection) -> Terminal:
            merchant = self._merchant(connection, merchant_id, user_id)
            if mode is Mode.TRANSIT and merchant.kind is not Mode.TRANSIT:
                raise InvalidTerminal("a transit gate belongs to a transit operator (fares and caps)")
            terminal = Terminal(new_id(), merchant.id, name.strip(), mode)
            connection.execute(
                insert(tap_terminals).values(
                    id=terminal.id, merchant_id=merchant.id, name=terminal.name, mode=str(mode),
                    key_hash=key_hash(api_key) if api_key else None, public_key=public_key,
                    created_at=self.clock(),
                )
            )  # fmt: skip
            return terminal

        return run_in_transaction(self.engine, work), api_key

    def _authenticate(self, session: LedgerSession, credential: Credential) -> Any:
        """The terminal's row joined with its merchant's, if the credential is its own."""
        try:
            key = str(uuid.UUID(credential.terminal_id))
        except (ValueError, AttributeError) as error:
            raise BadTerminalCredential("unknown terminal or wrong credential") from error
        row = _fetch(session, _AUTH_SQL, (key,))
        if row is None or row.disabled_at is not None:
            raise BadTerminalCredential("unknown terminal or wrong credential")
        if row.key_hash is not None:
            given = key_hash(credential.api_key or "")
            if credential.api_key is None or not hmac.compare_digest(given, row.key_hash):
                raise BadTerminalCredential("unknown terminal or wrong credential")
            return row
        try:
            Ed25519PublicKey.from_public_bytes(_b64decode(row.public_key)).verify(
                _b64decode(credential.signature or ""), hashlib.sha256(credential.signed_message).digest()
            )
        except (InvalidSignature, InvalidTerminal, ValueError) as error:
            raise BadTerminalCredential("unknown terminal or wrong credential") from error
        return row

    def authenticate(self, credential: Credential) -> Terminal:
        """The terminal whose credential this is; BadTerminalCredential otherwise."""
        row = self.ledger.run(lambda session: self._authenticate(session, credential), read_only=True)
        return Terminal(row.id, row.provider_id, "", Mode(row.mode))

    # -- cards ---------------------------------------------------------------------------------
    def link_card(
        self, user_id: str, uid: bytes, label: str, asset: str = "EUR", idempotency_key: str | None = None
    ) -> Card:
        """Link a card or tag to the user's wallet in `asset`. The UID is kept only as keyed
        hashes. A repeated key returns the card it linked. Raises CardTaken if it is linked
        already (to anyone)."""
        self.wallets.asset(asset)
        digest = uid_hash(self.card_key, uid)
        card_id = keyed_id(idempotency_key, "tap-card", user_id)

        def work(session: LedgerSession) -> Card:
            connection = session.connection
            row = connection.execute(select(tap_cards).where(tap_cards.c.uid_hash == digest)).first()
            if row is not None and row.id == card_id:  # this key linked it: a retry
                blocked = row.blocked_at is not None
                return Card(row.id, row.label, row.asset, blocked, row.owed, row.created_at)
            if row is not None:
                raise CardTaken("this card is linked already; unlink it first")
            wallet = self.wallets.wallet(session, user_id, asset)
            card = Card(card_id, label.strip() or "card", asset, False, 0, self.clock())
            connection.execute(
                insert(tap_cards).values(
                    id=card.id, user_id=user_id, uid_hash=digest, offline_tag=offline_tag(self.tag_key, uid),
                    asset=asset, account_id=wallet.account_id.to_bytes(16, "big"), label=card.label,
                    owed=0, blocked_at=None, created_at=card.created_at,
                )
            )  # fmt: skip
            return card

        return self.ledger.run(work)

    def set_blocked(self, user_id: str, card_id: str, blocked: bool) -> Card:
        """Block (every later tap is declined at once, and offline once kits refresh) or
        unblock the user's card. Raises CardNotFound."""
        key = _uuid_text(card_id, CardNotFound, "the card id")

        def work(connection: Connection) -> Card:
            row = connection.execute(
                select(tap_cards).where(tap_cards.c.id == key, tap_cards.c.user_id == user_id)
            ).first()
            if row is None:
                raise CardNotFound("no such card of yours")
            blocked_at = (row.blocked_at or self.clock()) if blocked else None
            connection.execute(update(tap_cards).where(tap_cards.c.id == key).values(blocked_at=blocked_at))
            return Card(row.id, row.label, row.asset, blocked, row.owed, row.created_at)

        return run_in_transaction(self.engine, work)

    def cards(self, user_id: str) -> list[Card]:
        def work(connection: Connection) -> list[Card]:
            rows = connection.execute(
                select(tap_cards).where(tap_cards.c.user_id == user_id).order_by(tap_cards.c.created_at)
            ).all()
            return [
                Card(r.id, r.label, r.asset, r.blocked_at is not None, r.owed, r.created_at) for r in rows
            ]

        return run_in_transaction(self.engine, work, read_only=True)

    def journeys(self, user_id: str, card_id: str, limit: int = 100) -> list[Journey]:
        """The card's taps, newest first: where, the fare or amount, what was charged,
        capped or not. Raises CardNotFound."""
        key = _uuid_text(card_id, CardNotFound, "the card id")

        def work(connection: Connection) -> list[Journey]:
            owner = connection.execute(select(tap_cards.c.user_id).where(tap_cards.c.id == key)).scalar()
            if owner != user_id:
                raise CardNotFound("no such card of yours")
            rows = connection.execute(
                select(tap_taps, providers.c.name)
                .join(providers, providers.c.id == tap_taps.c.merchant_id)
                .where(tap_taps.c.card_id == key)
                .order_by(tap_taps.c.tapped_at.desc(), tap_taps.c.id.desc())
                .limit(max(1, min(limit, 500)))
            ).all()
            return [
                Journey(
                    r.id,
                    r.name,
                    r.terminal_id,
                    Mode(r.mode),
                    Status(r.status),
                    Reason(r.reason) if r.reason else None,
                    r.asset,
                    r.amount,
                    r.charged,
                    bool(r.capped),
                    r.debt,
                    bool(r.offline),
                    r.tapped_at,
                )
                for r in rows
            ]

        return run_in_transaction(self.engine, work, read_only=True)

    # -- taps ----------------------------------------------------------------------------------
    def tap(self, credential: Credential, tap: TapIn) -> TapOutcome:
        """Answer one online tap: approved (with a signed receipt) or declined with a reason.
        The same tap id from the same terminal answers the same and charges once. Raises
        BadTerminalCredential, TapReplayed, TapIdReused, InvalidTap."""
        outcome: TapOutcome = self.ledger.run(
            lambda session: self.tap_in(session, credential, tap, offline=False)
        )
        return outcome

    def submit_tap(self, credential: Credential, tap: TapIn) -> Future[TapOutcome]:
        """`tap`, for an event loop: a future of the outcome (or of its error), completed after
        the shared commit. Without a writer the tap runs now and the future is done."""
        return self.ledger.submit(lambda session: self.tap_in(session, credential, tap, offline=False))

    def upload_offline(self, credential: Credential, taps: list[TapIn]) -> list[TapOutcome | Exception]:
        """Collect taps a terminal accepted offline, each once whatever order and however
        often they arrive. What a wallet cannot pay becomes a debt (the card is denied until
        it is paid). One result per tap, in order; a tap's own error does not stop the others."""

        def each(session: LedgerSession) -> list[Any]:
            works = [
                lambda _connection, item=item: self.tap_in(session, credential, item, offline=True)
                for item in taps
            ]
            return run_each(session.connection, works)

        results = self.ledger.run(each)
        for result in results:
            if isinstance(result, BadTerminalCredential):
                raise result
            if isinstance(result, Exception) and not isinstance(result, OboloError):
                raise result
        return results

    def tap_in(
        self, session: LedgerSession, credential: Credential, tap: TapIn, *, offline: bool
    ) -> TapOutcome:
        """One tap inside the caller's transaction (a shared commit when grouped)."""
        terminal = self._authenticate(session, credential)
        tap_id = _uuid_text(tap.tap_id, InvalidTap, "the tap id")
        now = self.clock()
        mode = Mode(terminal.mode)
        if tap.tapped_at is None:
            if offline:
                raise InvalidTap("an offline tap says when it happened", field="tapped_at")
            tapped_at = now
        else:
            tapped_at = tap.tapped_at
            if tapped_at > now + CLOCK_SKEW_SECONDS * NS_PER_SECOND:
                raise InvalidTap("the tap is in the future by the platform's clock", field="tapped_at")
            if not offline and tapped_at < now - CLOCK_SKEW_SECONDS * NS_PER_SECOND:
                raise InvalidTap("an online tap is now; send older ones as offline taps", field="tapped_at")
        if tap.asset is not None and tap.asset != terminal.asset:
            raise InvalidTap(f"this terminal takes {terminal.asset}", field="asset")
        if mode is Mode.RETAIL:
            if tap.amount is None or tap.amount <= 0:
                raise InvalidTap("a retail tap carries a positive amount", field="amount")
            if tap.amount > self.wallets.settings.payment_max:
                raise InvalidTap("the amount is over the payment maximum", field="amount")
            amount = tap.amount
        else:
            if tap.amount is not None:
                raise InvalidTap(
                    "a transit tap carries no amount: the fare is the operator's", field="amount"
                )
            amount = int(terminal.fare)
        digest = uid_hash(self.card_key, tap.card_uid)
        request_hash = hashlib.sha256(
            canonical({"card": digest, "amount": amount, "at": tap.tapped_at, "offline": offline})
        ).hexdigest()
        found = _fetch(session, "SELECT * FROM tap_taps WHERE id = ?", (tap_id,))
        if found is not None:
            if found.terminal_id != terminal.id:
                raise TapReplayed("this tap id was used by another terminal")
            if found.request_hash != request_hash:
                raise TapIdReused("this tap id was used for another tap")
            return self._outcome(found, terminal)
        card: Any = _fetch(session, _CARD_SQL, (digest,))
        record: dict[str, Any] = {
            "id": tap_id, "terminal_id": terminal.id, "merchant_id": terminal.provider_id,
            "request_hash": request_hash, "card_id": card.id if card else None, "mode": str(mode),
            "asset": terminal.asset, "amount": amount, "charged": 0, "capped": 0, "debt": 0,
            "offline": int(offline), "tapped_at": tapped_at, "created_at": now, "reason": None,
            "balance_band": None, "duplicate_of": None, "day_id": None,
        }  # fmt: skip
        reason = self._refusal(card, terminal, tapped_at, now, offline)
        if reason is None:
            window = self.settings.double_tap_seconds * NS_PER_SECOND
            previous = _fetch(
                session, _DOUBLE_TAP_SQL, (card.id, terminal.id, tapped_at + window, tapped_at - window)
            )
            if previous is not None and is_double_tap(
                previous.tapped_at, tapped_at, self.settings.double_tap_seconds
            ):
                record.update(duplicate_of=previous.id, reason=str(Reason.DOUBLE_TAP))
            elif mode is Mode.RETAIL:
                reason = self._charge_retail(session, terminal, card, tap_id, amount, offline, record)
            else:
                reason = self._charge_transit(session, terminal, card, tapped_at, offline, record)
        if reason is not None:
            record.update(status=str(Status.DECLINED), reason=str(reason))
        else:
            record["status"] = str(Status.APPROVED)
            (account,) = session.lookup_accounts([int.from_bytes(card.account_id, "big")])
            record["balance_band"] = balance_band(account.available)
        _execute(session, _INSERT_TAP_SQL, tuple(record[column] for column in _TAP_COLUMNS))
        if record["debt"]:
            self._record_debt(session.connection, card, terminal.provider_id, tap_id, record["debt"], now)
        return self._outcome(record, terminal)

    def _refusal(self, card: Any, terminal: Any, tapped_at: int, now: int, offline: bool) -> Reason | None:
        if card is None:
            return Reason.UNKNOWN_CARD
        if card.blocked_at is not None and (not offline or tapped_at >= card.blocked_at):
            return Reason.CARD_BLOCKED
        if card.asset != terminal.asset:
            return Reason.WRONG_ASSET
        if offline and tapped_at < now - self.settings.max_offline_age_seconds * NS_PER_SECOND:
            return Reason.TOO_OLD
        if not offline and card.owed:
            return Reason.DEBT_OUTSTANDING
        return None

    def _fee_pair(self, base_id: int, merchant_account: int, asset: str, amount: int) -> Transfer | None:
        """The merchant's fee on `amount`, as the transfer linked after the charge (None if free)."""
        fee = min(amount, fee_for(amount, self.wallets.settings.fees.get("tap", FeeRule())))
        if not fee:
            return None
        fee_account = PlatformAccount.FEE_REVENUE.account_id(asset)
        return Transfer(
            derived_id("transfer", str(base_id), "fee"), merchant_account, fee_account, fee, asset,
            code=int(TransferCode.FEE),
        )  # fmt: skip

    def _pay_now(
        self,
        session: LedgerSession,
        card: Any,
        terminal: Any,
        transfer_id: int,
        amount: int,
        *,
        partial: bool,
    ) -> int:
        """One posted transfer of `amount` (or, if `partial`, of what the wallet has) from the
        card's wallet to the merchant, fee linked; returns what moved."""
        payer = int.from_bytes(card.account_id, "big")
        if partial:
            (account,) = session.lookup_accounts([payer])
            amount = min(amount, max(0, account.available))
            if amount == 0:
                return 0
        payee = int.from_bytes(terminal.account_id, "big")
        fee_transfer = self._fee_pair(transfer_id, payee, terminal.asset, amount)
        flags = TransferFlags.LINKED if fee_transfer else TransferFlags.NONE
        transfers = [
            Transfer(
                transfer_id, payer, payee, amount, terminal.asset, code=int(TransferCode.PAYMENT), flags=flags
            )
        ]
        if fee_transfer is not None:
            transfers.append(fee_transfer)
        results = session.create_transfers(transfers)
        if _R.EXCEEDS_CREDITS in results:
            return -1
        if any(r not in (_R.OK, _R.EXISTS) for r in results):
            raise RuntimeError(f"tap transfer {transfer_id:x} refused by the ledger: {results}")
        return amount

    def _charge_retail(
        self, session: LedgerSession, terminal: Any, card: Any, tap_id: str, amount: int, offline: bool,
        record: dict[str, Any],
    ) -> Reason | None:  # fmt: skip
        moved = self._pay_now(
            session, card, terminal, derived_id("transfer", "tap", tap_id), amount, partial=offline
        )
        if moved < 0:
            return Reason.INSUFFICIENT_FUNDS
        record.update(charged=moved, debt=amount - moved)
        return None

    def _charge_transit(
        self, session: LedgerSession, terminal: Any, card: Any, tapped_at: int, offline: bool,
        record: dict[str, Any],
    ) -> Reason | None:  # fmt: skip
        caps = Caps(terminal.fare, terminal.daily_cap, terminal.weekly_cap)
        day = day_of(tapped_at)
        week = week_of(day)
        # PostgreSQL: lock the week's rows so two API processes cannot both accrue on the
        # same hold (SQLite's BEGIN IMMEDIATE already serialises writers).
        lock = "" if session.store.mark == "?" else " FOR UPDATE"
        days = _fetch_all(session, _WEEK_SQL + lock, (card.id, terminal.provider_id, week))
        week_charged = sum(d.accrued + d.late for d in days)
        row = next((d for d in days if d.day == day), None)
        day_charged = 0 if row is None else row.accrued + row.late
        charge, capped = capped_fare(caps.fare, day_charged, week_charged, caps)
        record.update(capped=int(capped))
        if row is None:
            row = _Row(
                id=new_id(), card_id=card.id, merchant_id=terminal.provider_id, user_id=card.user_id,
                asset=terminal.asset, day=day, week=week, hold_id=None, hold_seq=0, held=0, accrued=0,
                late=0, fares=0, taps=0, status="open", closed_at=None,
            )  # fmt: skip
            _execute(session, _INSERT_DAY_SQL, tuple(getattr(row, c) for c in _DAY_COLUMNS))
        record["day_id"] = row.id
        debt = 0
        if row.status == "closed":
            charge, debt = self._charge_late(session, terminal, card, row, week, charge, record["id"])
            late = row.late + charge + debt
            _execute(
                session, _UPDATE_DAY_SQL, (row.accrued, late, row.fares + caps.fare, row.taps + 1, row.id)
            )
        else:
            accrued = row.accrued + charge
            held = row.held
            if accrued > held:
                room = min(caps.daily - day_charged, caps.weekly - week_charged)
                held = self._grow_hold(
                    session, terminal, card, row, want=row.accrued + room, need=accrued, short_ok=offline
                )
                if held < accrued:
                    if not offline:
                        return Reason.INSUFFICIENT_FUNDS
                    debt, charge, accrued = accrued - held, charge - (accrued - held), held
            late = row.late + debt
            _execute(session, _UPDATE_DAY_SQL, (accrued, late, row.fares + caps.fare, row.taps + 1, row.id))
        record.update(charged=charge, debt=debt)
        return None

    def _grow_hold(
        self,
        session: LedgerSession,
        terminal: Any,
        card: Any,
        row: Any,
        *,
        want: int,
        need: int,
        short_ok: bool,
    ) -> int:
        """Reserve `want` for the day, or as much as the wallet allows if that still covers
        `need` (or, if `short_ok`, whatever it has); replaces the day's hold in one linked
        batch. Returns what is held now; nothing changes when the wallet cannot cover `need`
        and not `short_ok`."""
        payer = int.from_bytes(card.account_id, "big")
        (account,) = session.lookup_accounts([payer])
        can = account.available + row.held
        target = want if can >= want else can
        if target <= row.held or (target < need and not short_ok):
            return int(row.held)
        seq = row.hold_seq + 1
        hold_id = derived_id("transfer", "tap-day", row.id, "hold", str(seq))
        transfers = []
        if row.hold_id is not None:
            void_id = derived_id("transfer", "tap-day", row.id, "void", str(seq))
            old = int.from_bytes(row.hold_id, "big")
            transfers.append(
                Transfer(
                    void_id, pending_id=old, flags=TransferFlags.VOID_PENDING_TRANSFER | TransferFlags.LINKED
                )
            )
        transfers.append(
            Transfer(
                hold_id, payer, int.from_bytes(terminal.account_id, "big"), target, terminal.asset,
                code=int(TransferCode.PAYMENT), flags=TransferFlags.PENDING, timeout=HOLD_TIMEOUT_SECONDS,
            )
        )  # fmt: skip
        results = session.create_transfers(transfers)
        if any(r is not _R.OK for r in results):
            raise RuntimeError(f"tap day {row.id} hold refused by the ledger: {results}")
        _execute(session, _UPDATE_HOLD_SQL, (hold_id.to_bytes(16, "big"), seq, target, row.id))
        return target

    def _charge_late(
        self, session: LedgerSession, terminal: Any, card: Any, day: Any, week: int, charge: int, tap_id: str
    ) -> tuple[int, int]:
        """A tap for a day already posted: added to the week's correction, or, if that was
        posted too, paid at once. Returns (charged, debt)."""
        if charge == 0:
            return 0, 0
        connection = session.connection
        key = (
            (tap_corrections.c.card_id == card.id)
            & (tap_corrections.c.merchant_id == terminal.provider_id)
            & (tap_corrections.c.week == week)
        )
        correction = connection.execute(select(tap_corrections).where(key)).first()
        if correction is None:
            connection.execute(
                insert(tap_corrections).values(
                    card_id=card.id, merchant_id=terminal.provider_id, week=week, user_id=card.user_id,
                    asset=terminal.asset, amount=charge, status="open", posted_at=None,
                )
            )  # fmt: skip
            return charge, 0
        if correction.status == "open":
            connection.execute(
                update(tap_corrections).where(key).values(amount=tap_corrections.c.amount + charge)
            )
            return charge, 0
        moved = self._pay_now(
            session, card, terminal, derived_id("transfer", "tap", tap_id), charge, partial=True
        )
        return moved, charge - moved

    def _record_debt(
        self, connection: Connection, card: Any, merchant_id: str, tap_id: str | None, amount: int, now: int
    ) -> None:
        connection.execute(
            insert(tap_debts).values(
                id=new_id(), tap_id=tap_id, card_id=card.id, user_id=card.user_id, merchant_id=merchant_id,
                asset=card.asset, amount=amount, remaining=amount, created_at=now, settled_at=None,
            )
        )  # fmt: skip
        connection.execute(
            update(tap_cards).where(tap_cards.c.id == card.id).values(owed=tap_cards.c.owed + amount)
        )

    def _outcome(self, row: Any, terminal: Any) -> TapOutcome:
        values: dict[str, Any] = row if isinstance(row, dict) else vars(row)
        get = values.__getitem__
        status = Status(get("status"))
        receipt = None
        if status is Status.APPROVED:
            fields = receipt_fields(
                tap_id=get("id"), terminal_id=terminal.id, merchant_id=terminal.provider_id,
                card_id=get("card_id"), asset=get("asset"), amount=get("amount"), charged=get("charged"),
                capped=bool(get("capped")), band=get("balance_band"), tapped_at=get("tapped_at"),
                key_id=self._key_id,
            )  # fmt: skip
            receipt = sign_token(fields, self.keys.current)
        reason = get("reason")
        return TapOutcome(
            get("id"), status, Reason(reason) if reason else None, get("asset"), get("amount"),
            get("charged"), bool(get("capped")), get("debt"), get("balance_band"), get("duplicate_of"),
            receipt, bool(get("offline")),
        )  # fmt: skip

    # -- offline kits --------------------------------------------------------------------------
    def offline_kit(self, credential: Credential) -> str:
        """The terminal's signed offline kit: the deny list (blocked cards, cards with debts,
        and wallets that could not pay the offline limit), the limit, version and expiry."""

        def work(session: LedgerSession) -> dict[str, Any]:
            connection = session.connection
            terminal = self._authenticate(session, credential)
            rows = connection.execute(
                select(
                    tap_cards.c.offline_tag, tap_cards.c.blocked_at, tap_cards.c.owed, tap_cards.c.account_id
                ).where(tap_cards.c.asset == terminal.asset)
            ).all()
            accounts = {
                a.id: a.available
                for a in session.lookup_accounts([int.from_bytes(r.account_id, "big") for r in rows])
            }
            limit = int(terminal.offline_limit)
            deny = [
                r.offline_tag
                for r in rows
                if r.blocked_at is not None
                or r.owed
                or accounts.get(int.from_bytes(r.account_id, "big"), 0) < max(limit, 1)
            ]
            now = self.clock()
            return kit_fields(
                terminal_id=terminal.id, merchant_id=terminal.provider_id, asset=terminal.asset,
                version=now // 1_000_000, issued_at=now // NS_PER_SECOND,
                expires_at=now // NS_PER_SECOND + self.settings.kit_ttl_seconds, offline_limit=limit,
                tag_key=self.tag_key, deny=deny, key_id=self.keys.current_id,
            )  # fmt: skip

        return sign_token(self.ledger.run(work, read_only=True), self.keys.current)

    # -- periodic jobs -------------------------------------------------------------------------
    def close_days(self, limit: int = 500) -> int:
        """Post each transit day whose close time passed: what accrued to the operator (fee
        linked), the rest of the hold released. One posted transfer per card and day."""
        closing_day = day_of(self.clock() - self.settings.day_close_grace_seconds * NS_PER_SECOND)

        def work(session: LedgerSession) -> int:
            connection = session.connection
            rows = connection.execute(
                select(tap_days, tap_merchants.c.account_id.label("merchant_account"))
                .join(tap_merchants, tap_merchants.c.provider_id == tap_days.c.merchant_id)
                .where(tap_days.c.status == "open", tap_days.c.day < closing_day)
                .limit(limit)
                .with_for_update(skip_locked=True, of=tap_days)
            ).all()
            for row in rows:
                self._close_day(session, row)
            return len(rows)

        return self.ledger.run(work)

    def _close_day(self, session: LedgerSession, row: Any) -> None:
        if row.hold_id is not None:
            hold = int.from_bytes(row.hold_id, "big")
            post_id = derived_id("transfer", "tap-day", row.id, "close")
            if row.accrued:
                payee = int.from_bytes(row.merchant_account, "big")
                fee_transfer = self._fee_pair(post_id, payee, row.asset, row.accrued)
                flags = TransferFlags.POST_PENDING_TRANSFER | (
                    TransferFlags.LINKED if fee_transfer else TransferFlags.NONE
                )
                transfers = [Transfer(post_id, pending_id=hold, amount=row.accrued, flags=flags)]
                if fee_transfer is not None:
                    transfers.append(fee_transfer)
            else:
                transfers = [Transfer(post_id, pending_id=hold, flags=TransferFlags.VOID_PENDING_TRANSFER)]
            results = session.create_transfers(transfers)
            if any(r not in (_R.OK, _R.EXISTS) for r in results):
                raise RuntimeError(f"tap day {row.id} could not close: {results}")
        session.connection.execute(
            update(tap_days).where(tap_days.c.id == row.id).values(status="closed", closed_at=self.clock())
        )

    def close_weeks(self, limit: int = 500) -> int:
        """Bill each week's correction (taps uploaded after their day closed) once the week is
        over: one transfer per card, operator and week; what the wallet lacks becomes a debt."""
        closed_before = week_of(day_of(self.clock() - self.settings.day_close_grace_seconds * NS_PER_SECOND))

        def work(session: LedgerSession) -> int:
            connection = session.connection
            rows = connection.execute(
                select(
                    tap_corrections, tap_merchants.c.account_id.label("merchant_account"),
                    tap_cards.c.account_id.label("card_account"),
                )
                .join(tap_merchants, tap_merchants.c.provider_id == tap_corrections.c.merchant_id)
                .join(tap_cards, tap_cards.c.id == tap_corrections.c.card_id)
                .where(tap_corrections.c.status == "open", tap_corrections.c.week < closed_before)
                .limit(limit)
                .with_for_update(skip_locked=True, of=tap_corrections)
            ).all()  # fmt: skip
            for row in rows:
                card = _Row(id=row.card_id, account_id=row.card_account, user_id=row.user_id, asset=row.asset)
                terminal = _Row(account_id=row.merchant_account, asset=row.asset)
                transfer_id = derived_id("transfer", "tap-week", row.card_id, row.merchant_id, str(row.week))
                moved = self._pay_now(session, card, terminal, transfer_id, row.amount, partial=True)
                if moved < row.amount:
                    self._record_debt(
                        connection, card, row.merchant_id, None, row.amount - moved, self.clock()
                    )
                connection.execute(
                    update(tap_corrections)
                    .where(
                        tap_corrections.c.card_id == row.card_id,
                        tap_corrections.c.merchant_id == row.merchant_id,
                        tap_corrections.c.week == row.week,
                    )
                    .values(status="posted", posted_at=self.clock())
                )
            return len(rows)

        return self.ledger.run(work)

    def collect_debts(self, limit: int = 500) -> int:
        """Take open debts from wallets that can now pay them, oldest first; a card whose
        debts are all paid leaves the deny list at the next kit. Returns debts touched."""

        def work(session: LedgerSession) -> int:
            connection = session.connection
            rows = connection.execute(
                select(
                    tap_debts, tap_cards.c.account_id.label("card_account"),
                    tap_merchants.c.account_id.label("merchant_account"),
                )
                .join(tap_cards, tap_cards.c.id == tap_debts.c.card_id)
                .join(tap_merchants, tap_merchants.c.provider_id == tap_debts.c.merchant_id)
                .where(tap_debts.c.remaining > 0)
                .order_by(tap_debts.c.created_at)
                .limit(limit)
                .with_for_update(skip_locked=True, of=tap_debts)
            ).all()  # fmt: skip
            touched = 0
            for row in rows:
                card = _Row(id=row.card_id, account_id=row.card_account, user_id=row.user_id, asset=row.asset)
                terminal = _Row(account_id=row.merchant_account, asset=row.asset)
                paid_before = row.amount - row.remaining
                transfer_id = derived_id("transfer", "tap-debt", row.id, str(paid_before))
                moved = self._pay_now(session, card, terminal, transfer_id, row.remaining, partial=True)
                if moved <= 0:
                    continue
                touched += 1
                remaining = row.remaining - moved
                connection.execute(
                    update(tap_debts)
                    .where(tap_debts.c.id == row.id)
                    .values(remaining=remaining, settled_at=self.clock() if remaining == 0 else None)
                )
                connection.execute(
                    update(tap_cards)
                    .where(tap_cards.c.id == row.card_id)
                    .values(owed=tap_cards.c.owed - moved)
                )
            return touched

        return self.ledger.run(work)


class _Row:
    """A row by column name: what the hot path's plain SQL returns, and what jobs that join
    other tables hand to `_pay_now` and `_record_debt`."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:  # only reached for a column that was not selected
        raise AttributeError(name)


# The tap path runs as plain SQL on the ledger session's driver cursor: building SQLAlchemy
# expressions cost more than running them (see docs/benchmarks.md, "Tap").
_AUTH_SQL = (
    "SELECT t.id, t.mode, t.key_hash, t.public_key, t.disabled_at, m.provider_id, m.kind, m.asset,"
    " m.account_id, m.fare, m.daily_cap, m.weekly_cap, m.offline_limit"
    " FROM tap_terminals t JOIN tap_merchants m ON m.provider_id = t.merchant_id WHERE t.id = ?"
)
_CARD_SQL = "SELECT id, asset, account_id, user_id, blocked_at, owed FROM tap_cards WHERE uid_hash = ?"
# Either side of the tap: an offline batch may bring the later tap of a double tap first.
_DOUBLE_TAP_SQL = (
    "SELECT id, tapped_at FROM tap_taps WHERE card_id = ? AND terminal_id = ? AND tapped_at <= ?"
    " AND tapped_at >= ? AND status = 'approved' AND duplicate_of IS NULL ORDER BY tapped_at LIMIT 1"
)
_TAP_COLUMNS = tuple(column.name for column in tap_taps.columns)
_INSERT_TAP_SQL = (
    f"INSERT INTO tap_taps ({', '.join(_TAP_COLUMNS)}) VALUES ({', '.join('?' * len(_TAP_COLUMNS))})"
)
_DAY_COLUMNS = tuple(column.name for column in tap_days.columns)
_INSERT_DAY_SQL = (
    f"INSERT INTO tap_days ({', '.join(_DAY_COLUMNS)}) VALUES ({', '.join('?' * len(_DAY_COLUMNS))})"
)
_WEEK_SQL = (
    f"SELECT {', '.join(_DAY_COLUMNS)} FROM tap_days WHERE card_id = ? AND merchant_id = ? AND week = ?"
)
_UPDATE_DAY_SQL = "UPDATE tap_days SET accrued = ?, late = ?, fares = ?, taps = ? WHERE id = ?"
_UPDATE_HOLD_SQL = "UPDATE tap_days SET hold_id = ?, hold_seq = ?, held = ? WHERE id = ?"


def _sql(session: LedgerSession, sql: str) -> str:
    mark = session.store.mark
    return sql if mark == "?" else sql.replace("?", mark)


def _execute(session: LedgerSession, sql: str, params: tuple[Any, ...]) -> Any:
    cursor = session.store.cursor
    cursor.execute(_sql(session, sql), params)
    return cursor


def _fetch_all(session: LedgerSession, sql: str, params: tuple[Any, ...]) -> list[_Row]:
    cursor = _execute(session, sql, params)
    names = [d[0] for d in cursor.description]
    return [_Row(**dict(zip(names, row, strict=True))) for row in cursor.fetchall()]


def _fetch(session: LedgerSession, sql: str, params: tuple[Any, ...]) -> _Row | None:
    cursor = _execute(session, sql, params)
    found = cursor.fetchone()
    if found is None:
        return None
    return _Row(**dict(zip([d[0] for d in cursor.description], found, strict=True)))
