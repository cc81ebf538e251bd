"""SMS use cases: one inbound message in, one reply out, money moved only through the
ledger (via the wallets service) and only after the sender's PIN.

A send's money is, by its status:
  paid      posted from the sender's wallet to the recipient's
  held      a pending transfer to the recipient's wallet (first large payment to someone
            new): posted when the cooling-off ends, voided if the sender cancels
  invited   a pending transfer to the platform's SMS holding account (the number has no
            wallet yet): on JOIN from that number it is posted and paid on to the new
            wallet; unclaimed, the periodic job voids it back to the sender
Ledger transfer ids derive from the send id, so a retried step never moves money twice.

Messages we send (receipts, invitations, notices) go to an outbox in the same transaction
as the money and are delivered after it commits; the reply to the sender is returned.
What a person sends is never stored or logged: it may carry their PIN.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from obolo.adapters.clock import NS_PER_SECOND, Clock
from obolo.adapters.db.schema import movements, user_roles, users
from obolo.adapters.db.schema_sms import (
    sms_confirmations,
    sms_inbound,
    sms_link_codes,
    sms_optouts,
    sms_outbox,
    sms_phones,
    sms_sends,
)
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.ids import derived_id, new_id
from obolo.adapters.sms_gateway import SmsGateway, SmsNotSent
from obolo.errors import OboloError
from obolo.identity.lookup import display_names, find_user_id
from obolo.ledger import Account, AccountResult, LedgerSession, Transfer, TransferFlags, TransferResult
from obolo.money import Amount, Asset, parse_units
from obolo.settings import FeeRule, Settings
from obolo.sms import model
from obolo.sms.errors import (
    AlreadyRegistered,
    CannotUndo,
    ConfirmationExpired,
    InvalidLinkCode,
    InvalidRecipient,
    MessageIdRequired,
    NothingToConfirm,
    NotRegistered,
    OverSmsLimit,
    PinAlreadySet,
    PinNotSet,
    SendingLocked,
    UnknownReference,
    WrongPin,
)
from obolo.sms.model import Lang, say, show
from obolo.wallets.errors import CannotPayYourself, RecipientNotFound
from obolo.wallets.model import PlatformAccount, TransferCode, Wallet, fee_for
from obolo.wallets.service import WalletService

T = TypeVar("T")
_R = TransferResult
log = structlog.get_logger("obolo.sms")

HOLDING_CODE = 30  # ledger account code of the platform's SMS holding account (tasks use the 20s)
SMS_EMAIL_DOMAIN = "sms.obolo.invalid"  # people who joined by SMS have no email; .invalid never routes
OUTBOX_ATTEMPTS = 10
LINK_CODE_SECONDS = 600
MESSAGE_ID_MAX = 64  # sms_inbound.message_sid: a longer id is refused, never cut (two would merge)
_GRACE_SECONDS = 86_400  # a hold outlives its due time by a day, so the job, not the ledger, ends it


def holding_account_id(asset: str) -> int:
    return derived_id("platform", "sms_holding", asset)


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message as the gateway delivered it."""

    sid: str
    sender: str
    to: str
    body: str


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    code: str = "ok"  # "ok", "malformed", "duplicate", or the refusal's error code


@dataclass(frozen=True, slots=True)
class Number:
    phone: str
    user_id: str
    pin_hash: str | None
    pin_failures: int
    locked_until: int
    language: Lang
    show_balance: bool
    verified_at: int


@dataclass(frozen=True, slots=True)
class SendRow:
    id: str
    ref: str
    sender_id: str
    sender_phone: str
    recipient_id: str | None
    recipient_phone: str | None
    asset: str
    amount: int
    fee: int
    note: str | None
    status: str
    principal_id: int
    fee_id: int
    recipient_debits: int | None
    release_at: int | None
    created_at: int


def _number(row: Any) -> Number:
    return Number(
        row.phone, row.user_id, row.pin_hash, row.pin_failures, row.locked_until, Lang(row.language),
        bool(row.show_balance), row.verified_at,
    )  # fmt: skip


def _send(row: Any) -> SendRow:
    return SendRow(
        row.id, row.ref, row.sender_id, row.sender_phone, row.recipient_id, row.recipient_phone, row.asset,
        row.amount, row.fee, row.note, row.status, int.from_bytes(row.principal_id, "big"),
        int.from_bytes(row.fee_id, "big"), row.recipient_debits, row.release_at, row.created_at,
    )  # fmt: skip


def _digest(code: str) -> str:
    return hashlib.sha256(code.upper().encode()).hexdigest()


def _mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:2]}***@{domain}"


class SmsService:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        wallets: WalletService,
        gateway: SmsGateway,
        settings: Settings,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.wallets = wallets
        self.ledger = wallets.ledger
        self.gateway = gateway
        self.settings = settings
        self.hasher = hasher or PasswordHasher()
        self.asset: Asset = wallets.asset(settings.sms_asset)
        self._dummy_hash: str | None = None
        # Money other products hold for a number until it is verified (payments from the API
        # to a number without an account): each claims it for the account, in the same
        # transaction as the JOIN, and says how many units it paid on.
        self.claimers: list[Callable[[LedgerSession, str, str], int]] = []

    # -- plumbing ---------------------------------------------------------------------------
    def _run(self, work: Callable[[LedgerSession], T]) -> T:
        return self.ledger.run(work)

    def _read(self, work: Callable[[Connection], T]) -> T:
        return run_in_transaction(self.engine, work, read_only=True)

    def _seconds(self, seconds: int) -> int:
        return seconds * NS_PER_SECOND

    def _show(self, units: int) -> str:
        return show(units, self.asset)

    def _number(self, connection: Connection, phone: str) -> Number | None:
        row = connection.execute(select(sms_phones).where(sms_phones.c.phone == phone)).first()
        return None if row is None else _number(row)

    def _phone_of(self, connection: Connection, user_id: str) -> Number | None:
        row = connection.execute(select(sms_phones).where(sms_phones.c.user_id == user_id)).first()
        return None if row is None else _number(row)

    def _name(self, connection: Connection, user_id: str) -> str:
        return model.mask_name(display_names(connection, {user_id}).get(user_id, ""))

    def _recipient(self, connection: Connection, handle: str) -> str | None:
        """Who receives money sent to `handle`: the account with that email, or the account
        a number is verified for by SMS. A number only listed on a web account does not
        count: money for it waits until someone proves they hold it."""
        if "@" in handle:
            return find_user_id(connection, handle)
        bound = self._number(connection, handle)
        return bound.user_id if bound else None

    def _opted_out(self, connection: Connection, phone: str) -> bool:
        found = connection.execute(select(sms_optouts.c.phone).where(sms_optouts.c.phone == phone)).first()
        return found is not None

    def _queue(self, connection: Connection, phone: str, body: str, *, essential: bool = True) -> None:
        """Write a message to the outbox. Non-essential ones (invitations, requests) are not
        sent to a number that said STOP; those about the number's own money always are."""
        if not essential and self._opted_out(connection, phone):
            return
        now = self.clock()
        connection.execute(
            insert(sms_outbox).values(
                id=new_id(), phone=phone, body=body[:480], status="pending", attempts=0,
                next_attempt_at=now, created_at=now, sent_at=None,
            )
        )  # fmt: skip

    def _balance_note(self, session: LedgerSession, number: Number | None, wallet: Wallet) -> str:
        if number is None or not number.show_balance:
            return ""
        (account,) = session.lookup_accounts([wallet.account_id])
        label = "Saldo" if number.language is Lang.IT else "Bal"
        return f" {label} {self._show(account.available)}."

    def _ensure_holding(self, session: LedgerSession, asset: str) -> None:
        (result,) = session.create_accounts(
            [Account(holding_account_id(asset), asset, code=HOLDING_CODE, owner="platform:sms_holding")]
        )
        if result not in (AccountResult.OK, AccountResult.EXISTS):
            raise RuntimeError(f"sms holding account for {asset}: {result}")

    def _check_hash(self, stored: str | None, pin: str) -> bool:
        if stored is None:
            # Same work either way, so timing does not say whether a PIN is set.
            if self._dummy_hash is None:
                self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(8))
            stored = self._dummy_hash
            pin = ""
        try:
            return bool(self.hasher.verify(stored, pin)) and bool(pin)
        except (VerificationError, InvalidHashError):
            return False

    # -- the one entry point ----------------------------------------------------------------
    def receive(self, message: Inbound) -> Reply:
        """Handle one inbound message and answer it. Never raises for what a person writes:
        every refusal is a reply with its code. A message id seen before gets the first
        answer again and changes nothing. Raises MessageIdRequired, before anything else,
        for a message without an id (blank, or longer than the ids we keep): a signed
        request replayed would be the same message again, and only its id tells them apart."""
        sid = message.sid.strip()
        if not sid or len(sid) > MESSAGE_ID_MAX:
            raise MessageIdRequired(
                f"a message needs its gateway id (MessageSid), 1-{MESSAGE_ID_MAX} characters"
            )
        phone = model.normalize_phone(message.sender)
        if phone is None:
            return Reply(say("help", Lang.EN), "sms_unknown_number")
        first, stored = self._claim_sid(sid, phone)
        if not first:
            return Reply(stored or "", "duplicate")
        command = model.parse(message.body)
        try:
            reply = self._dispatch(phone, command)
        except OboloError as error:
            reply = Reply(self._refusal(error, self._language(phone, command)), error.code)
        except Exception:
            # Not an answer but a failure (the database went away): forget the id so the
            # gateway's retry is handled afresh. Each step is its own transaction and keyed,
            # so a retry cannot repeat what already happened.
            run_in_transaction(
                self.engine,
                lambda c: c.execute(delete(sms_inbound).where(sms_inbound.c.message_sid == sid)),
            )
            raise
        run_in_transaction(
            self.engine,
            lambda c: c.execute(
                update(sms_inbound).where(sms_inbound.c.message_sid == sid).values(reply=reply.text[:480])
            ),
        )
        self.deliver_outbox()
        return reply

    def _claim_sid(self, sid: str, phone: str) -> tuple[bool, str | None]:
        def work(connection: Connection) -> tuple[bool, str | None]:
            row = connection.execute(
                select(sms_inbound.c.reply).where(sms_inbound.c.message_sid == sid)
            ).first()
            if row is not None:
                return False, row.reply
            # A concurrent redelivery inserts the same id: one transaction fails on the key
            # and reruns, finding this row.
            connection.execute(
                insert(sms_inbound).values(message_sid=sid, phone=phone, reply=None, received_at=self.clock())
            )
            return True, None

        return run_in_transaction(self.engine, work)

    def _language(self, phone: str, command: model.Command) -> Lang:
        if command.lang is not None:
            return command.lang
        number = self._read(lambda c: self._number(c, phone))
        return number.language if number else model.language_for(phone)

    def _dispatch(self, phone: str, command: model.Command) -> Reply:
        lang = self._language(phone, command)
        if isinstance(command, model.Malformed):
            topic = {"send": "help_send", "pin": "help_pin", "undo": "help_undo"}.get(command.topic, "help")
            return Reply(say(topic, lang), "malformed")
        if isinstance(command, model.Help):
            return Reply(say("help", lang))
        if isinstance(command, model.Join):
            return Reply(self.join(phone, lang, command.name, command.code))
        if isinstance(command, model.Stop):
            return Reply(self.stop(phone, lang))
        if isinstance(command, model.Start):
            return Reply(self.start(phone, lang))
        number = self._read(lambda c: self._number(c, phone))
        if number is None:
            raise NotRegistered("no wallet for this number")
        if command.lang is not None and command.lang is not number.language:
            self._set(phone, language=str(command.lang))
            number = Number(**{**_asdict(number), "language": command.lang})
        handlers: dict[type, Callable[[Any, Number, Lang], str]] = {
            model.Balance: self._balance,
            model.History: self._history,
            model.SetPin: self._set_pin,
            model.Send: self._request_send,
            model.Confirm: self._confirm,
            model.Cancel: self._cancel,
            model.Undo: self._undo,
            model.Return: self._return,
        }
        return Reply(handlers[type(command)](command, number, lang))

    def _set(self, phone: str, **values: Any) -> None:
        run_in_transaction(
            self.engine,
            lambda c: c.execute(update(sms_phones).where(sms_phones.c.phone == phone).values(**values)),
        )

    def _refusal(self, error: OboloError, lang: Lang) -> str:
        data = error.data
        asset = self.asset.code
        match error.code:
            case "sms_not_registered":
                return say("not_registered", lang)
            case "sms_nothing_to_confirm":
                return say("nothing_to_confirm", lang)
            case "sms_confirmation_expired":
                return say("expired", lang)
            case "sms_unknown_reference":
                return say("unknown_ref", lang, ref=data.get("ref", "")[:12])
            case "sms_invalid_amount":
                return say("invalid_amount", lang)
            case "sms_invalid_recipient":
                return say("invalid_recipient", lang)
            case "recipient_not_found":
                return say("recipient_not_found", lang)
            case "cannot_pay_yourself":
                return say("pay_yourself", lang)
            case "sms_pin_not_set":
                return say("pin_not_set", lang)
            case "sms_pin_already_set":
                return say("help_pin", lang)
            case "sms_weak_pin":
                return say("weak_pin", lang)
            case "sms_wrong_pin":
                return say("wrong_pin", lang, left=data["left"])
            case "sms_locked":
                return say("locked", lang, until=model.clock_time(data["until"]))
            case "sms_limit":
                new = say("limit_new", lang) if data.get("new_number") else ""
                limit = data["limit"]
                shown = data["max"] if limit == model.Limit.PER_HOUR else self._show(data["max"])
                return say(f"limit_{limit}", lang, max=shown, asset=asset, new=new)
            case "sms_invalid_link_code":
                return say("invalid_link_code", lang)
            case "sms_already_registered":
                return say("already_registered", lang)
            case "sms_cannot_undo":
                return say("cannot_undo", lang, ref=data["ref"], status=model.word(data["status"], lang))
            case "insufficient_funds":
                available = self._show(parse_units(str(data.get("available", "0")), self.asset))
                return say("insufficient", lang, available=available, asset=asset)
        log.warning("sms refusal without a reply", code=error.code)
        return say("error", lang)

    # -- registration and preferences -------------------------------------------------------
    def join(self, phone: str, lang: Lang, name: str | None = None, code: str | None = None) -> str:
        """Bind `phone` to a wallet. With a link code from the account's API, to that
        account; otherwise to a new account of its own, even if some web account lists
        this number (nobody verified that: whoever typed it may not hold it). The message
        came from the number, which verifies it; money waiting for it is claimed in the
        same transaction. Raises AlreadyRegistered, InvalidLinkCode."""

        def work(session: LedgerSession) -> tuple[int, bool]:
            connection = session.connection
            now = self.clock()
            bound = self._number(connection, phone)
            if code is not None:
                found = connection.execute(
                    select(sms_link_codes).where(
                        sms_link_codes.c.code_hash == _digest(code), sms_link_codes.c.expires_at > now
                    )
                ).first()
                if found is None:
                    raise InvalidLinkCode("no such link code")
                if bound is not None and bound.user_id != found.user_id:
                    raise AlreadyRegistered("this number already has a wallet")
                user_id = found.user_id
                connection.execute(delete(sms_link_codes).where(sms_link_codes.c.user_id == user_id))
                # The account moves to this number; its old number stops speaking for it.
                connection.execute(delete(sms_phones).where(sms_phones.c.user_id == user_id))
            else:
                if bound is not None:
                    raise AlreadyRegistered("this number already has a wallet")
                user_id = new_id()
                listed = connection.execute(select(users.c.id).where(users.c.phone == phone)).first()
                connection.execute(
                    insert(users).values(
                        id=user_id, email=f"{phone.lstrip('+')}@{SMS_EMAIL_DOMAIN}", password_hash=None,
                        display_name=(name or model.mask_phone(phone))[:100],
                        phone=None if listed else phone, created_at=now,
                    )
                )  # fmt: skip
                connection.execute(insert(user_roles).values(user_id=user_id, role="consumer"))
            connection.execute(delete(sms_optouts).where(sms_optouts.c.phone == phone))
            connection.execute(
                insert(sms_phones).values(
                    phone=phone, user_id=user_id, pin_hash=None, pin_failures=0, locked_until=0,
                    language=str(lang), show_balance=False, verified_at=now, created_at=now,
                )
            )  # fmt: skip
            self.wallets.wallet(session, user_id, self.asset.code)
            return self._claim_all(session, phone, user_id), code is not None

        claimed, linked = self._run(work)
        note = say("claimed_note", lang, amount=self._show(claimed), asset=self.asset.code) if claimed else ""
        return say("linked" if linked else "welcome", lang, claimed=note)

    def link_code(self, user_id: str) -> tuple[str, int]:
        """A code (and its expiry, ns) for the account holder to text as JOIN <code> from the
        number to link; a new code replaces the old. Only its digest is kept."""
        while True:
            code = "".join(secrets.choice(model.REF_ALPHABET) for _ in range(model.LINK_CODE_LENGTH))
            if model.is_link_code(code):
                break
        now = self.clock()
        expires_at = now + self._seconds(LINK_CODE_SECONDS)

        def work(connection: Connection) -> None:
            connection.execute(delete(sms_link_codes).where(sms_link_codes.c.user_id == user_id))
            connection.execute(
                insert(sms_link_codes).values(
                    code_hash=_digest(code), user_id=user_id, expires_at=expires_at, created_at=now
                )
            )

        run_in_transaction(self.engine, work)
        return code, expires_at

    def register_number(self, user_id: str, phone: str, pin: str, lang: Lang = Lang.EN) -> None:
        """Bind a verified number and a PIN to an existing account (operator tooling, demo
        data). Raises WeakPin, AlreadyRegistered."""
        model.check_pin(pin)
        normalized = model.normalize_phone(phone)
        if normalized is None:
            raise InvalidRecipient("not a phone number")
        pin_hash = self.hasher.hash(pin)

        def work(session: LedgerSession) -> None:
            connection = session.connection
            if self._number(connection, normalized) is not None:
                raise AlreadyRegistered("this number already has a wallet")
            now = self.clock()
            connection.execute(delete(sms_phones).where(sms_phones.c.user_id == user_id))
            connection.execute(
                insert(sms_phones).values(
                    phone=normalized, user_id=user_id, pin_hash=pin_hash, pin_failures=0, locked_until=0,
                    language=str(lang), show_balance=False, verified_at=now, created_at=now,
                )
            )  # fmt: skip
            self.wallets.wallet(session, user_id, self.asset.code)
            self._claim_all(session, normalized, user_id)

        self._run(work)

    def stop(self, phone: str, lang: Lang) -> str:
        def work(connection: Connection) -> None:
            if not self._opted_out(connection, phone):
                connection.execute(insert(sms_optouts).values(phone=phone, created_at=self.clock()))

        run_in_transaction(self.engine, work)
        return say("stopped", lang)

    def start(self, phone: str, lang: Lang) -> str:
        run_in_transaction(
            self.engine, lambda c: c.execute(delete(sms_optouts).where(sms_optouts.c.phone == phone))
        )
        return say("started", lang)

    # -- reads --------------------------------------------------------------------------------
    def _balance(self, command: model.Balance, number: Number, lang: Lang) -> str:
        if command.receipts is not None:
            self._set(number.phone, show_balance=command.receipts)
            return say("balance_on" if command.receipts else "balance_off", lang)
        found = {b.asset: b for b in self.wallets.balances(number.user_id)}.get(self.asset.code)
        available = found.available if found else 0
        reserved = found.reserved if found else 0
        held = say("balance_held", lang, reserved=self._show(reserved)) if reserved else ""
        return say("balance", lang, available=self._show(available), asset=self.asset.code, held=held)

    def _history(self, _command: model.History, number: Number, lang: Lang) -> str:
        """The three newest entries of the ledger on the wallet that changed what can be
        spent: payments, top-ups, fees, holds (shown as held), whatever product made them."""
        entries, _ = self.wallets.activity(number.user_id, 12, asset=self.asset.code)
        lines = []
        for entry in entries:
            if entry.status == "reserved":
                amount = "-" + say("balance_held", lang, reserved=self._show(entry.reserved)).strip(" ()")
            elif entry.amount:
                amount = ("-" if entry.amount < 0 else "+") + self._show(abs(entry.amount))
            else:
                continue  # a release or an expiry: shown by the balance, not worth a line here
            who = model.mask_name(entry.counterparty) if entry.counterparty else entry.kind
            lines.append(f"{model.day_month(entry.timestamp)} {amount} {who}")
            if len(lines) == 3:
                break
        if not lines:
            return say("history_empty", lang)
        return say("history", lang, lines="; ".join(lines))

    # -- PINs ---------------------------------------------------------------------------------
    def _refuse_if_locked(self, number: Number) -> None:
        if number.locked_until > self.clock():
            raise SendingLocked("sending is locked", until=number.locked_until)

    def _verify_pin(self, number: Number, pin: str) -> None:
        """Check the PIN; a wrong one counts, and the last allowed wrong one locks sending
        (and drops any send waiting for a PIN). Raises PinNotSet, SendingLocked, WrongPin."""
        if number.pin_hash is None:
            raise PinNotSet("no PIN yet")
        self._refuse_if_locked(number)
        if self._check_hash(number.pin_hash, pin):
            if number.pin_failures:
                self._set(number.phone, pin_failures=0)
            return
        attempts = self.settings.sms_pin_attempts

        def work(connection: Connection) -> tuple[int, int]:
            # Counted in the database, so concurrent wrong guesses all count.
            connection.execute(
                update(sms_phones)
                .where(sms_phones.c.phone == number.phone)
                .values(pin_failures=sms_phones.c.pin_failures + 1)
            )
            failures = connection.execute(
                select(sms_phones.c.pin_failures).where(sms_phones.c.phone == number.phone)
            ).scalar_one()
            now = self.clock()
            if failures < attempts:
                return failures, 0
            until = now + self._seconds(self.settings.sms_lock_seconds)
            connection.execute(
                update(sms_phones)
                .where(sms_phones.c.phone == number.phone)
                .values(pin_failures=0, locked_until=until)
            )
            connection.execute(
                update(sms_confirmations)
                .where(sms_confirmations.c.phone == number.phone, sms_confirmations.c.status == "waiting")
                .values(status="cancelled")
            )
            return failures, until

        failures, until = run_in_transaction(self.engine, work)
        log.info("sms wrong pin", phone=model.mask_phone(number.phone), locked=bool(until))
        if until:
            raise SendingLocked("too many wrong PINs", until=until)
        raise WrongPin("wrong PIN", left=attempts - failures)

    def _set_pin(self, command: model.SetPin, number: Number, lang: Lang) -> str:
        if command.old is None:
            if number.pin_hash is not None:
                raise PinAlreadySet("change it with PIN <old> <new>")
            model.check_pin(command.new)
            self._set(number.phone, pin_hash=self.hasher.hash(command.new))
            return say("pin_set", lang)
        self._verify_pin(number, command.old)
        model.check_pin(command.new)
        self._set(number.phone, pin_hash=self.hasher.hash(command.new), pin_failures=0)
        return say("pin_changed", lang)

    # -- sending ------------------------------------------------------------------------------
    def _limits(self, connection: Connection, number: Number, amount: int) -> None:
        now = self.clock()
        s = self.settings
        day_ago = now - self._seconds(86_400)
        hour_ago = now - self._seconds(3_600)
        mine = (sms_sends.c.sender_phone == number.phone) & (sms_sends.c.status != "cancelled")
        sent_today = connection.execute(
            select(func.coalesce(func.sum(sms_sends.c.amount), 0)).where(
                mine, sms_sends.c.created_at > day_ago
            )
        ).scalar_one()
        this_hour = connection.execute(
            select(func.count()).select_from(sms_sends).where(mine, sms_sends.c.created_at > hour_ago)
        ).scalar_one()
        fresh = now - number.verified_at < self._seconds(s.sms_new_number_seconds)
        send_max = min(s.sms_send_max, s.sms_new_number_send_max) if fresh else s.sms_send_max
        day_max = min(s.sms_day_max, s.sms_new_number_day_max) if fresh else s.sms_day_max
        broken = model.broken_limit(
            amount, int(sent_today), int(this_hour), send_max=send_max, day_max=day_max,
            per_hour=s.sms_sends_per_hour,
        )  # fmt: skip
        if broken is not None:
            limit, value = broken
            raise OverSmsLimit(f"over the {limit} limit", limit=str(limit), max=value, new_number=fresh)

    def _fee(self, amount: int) -> int:
        return fee_for(amount, self.settings.fees.get("sms", FeeRule()))

    def _request_send(self, command: model.Send, number: Number, lang: Lang) -> str:
        if number.pin_hash is None:
            raise PinNotSet("no PIN yet")
        self._refuse_if_locked(number)
        amount = model.parse_amount(command.amount, self.asset)
        recipient = model.normalize_recipient(command.to, number.phone)
        return self._ask_confirmation(number, lang, recipient, amount, command.note)

    def _ask_confirmation(
        self, number: Number, lang: Lang, recipient: str, amount: Amount, note: str | None
    ) -> str:
        fee = self._fee(amount.units)
        days = self.settings.sms_claim_days

        def work(connection: Connection) -> str:
            recipient_id = self._recipient(connection, recipient)
            if recipient_id is None and "@" in recipient:
                raise RecipientNotFound("nobody with that email")
            if recipient_id == number.user_id or recipient == number.phone:
                raise CannotPayYourself("a payment needs someone else to receive it")
            self._limits(connection, number, amount.units)
            now = self.clock()
            connection.execute(
                update(sms_confirmations)
                .where(sms_confirmations.c.phone == number.phone, sms_confirmations.c.status == "waiting")
                .values(status="cancelled")
            )
            connection.execute(
                insert(sms_confirmations).values(
                    id=new_id(), phone=number.phone, user_id=number.user_id, recipient=recipient,
                    asset=amount.asset.code, amount=amount.units, note=note, status="waiting",
                    expires_at=now + self._seconds(self.settings.sms_confirm_seconds), created_at=now,
                )
            )  # fmt: skip
            shown = _mask_email(recipient) if "@" in recipient else model.mask_phone(recipient)
            values = {"amount": self._show(amount.units), "asset": amount.asset.code, "fee": self._show(fee)}
            if recipient_id is None:
                return say("confirm_invite", lang, phone=shown, days=days, **values)
            return say("confirm", lang, name=self._name(connection, recipient_id), phone=shown, **values)

        return run_in_transaction(self.engine, work)

    def _waiting(self, connection: Connection, phone: str) -> Any:
        return connection.execute(
            select(sms_confirmations)
            .where(sms_confirmations.c.phone == phone, sms_confirmations.c.status == "waiting")
            .order_by(sms_confirmations.c.created_at.desc())
        ).first()

    def _cancel(self, _command: model.Cancel, number: Number, lang: Lang) -> str:
        def work(connection: Connection) -> None:
            waiting = self._waiting(connection, number.phone)
            if waiting is None:
                raise NothingToConfirm("nothing waiting")
            connection.execute(
                update(sms_confirmations)
                .where(sms_confirmations.c.id == waiting.id)
                .values(status="cancelled")
            )

        run_in_transaction(self.engine, work)
        return say("cancelled", lang)

    def _confirm(self, command: model.Confirm, number: Number, lang: Lang) -> str:
        """The PIN for the waiting send: checked first, then the send runs in one
        transaction that re-checks the limits and moves the money."""
        self._refuse_if_locked(number)
        waiting = self._read(lambda c: self._waiting(c, number.phone))
        if waiting is None:
            raise NothingToConfirm("nothing waiting")
        if waiting.expires_at <= self.clock():
            run_in_transaction(
                self.engine,
                lambda c: c.execute(
                    update(sms_confirmations)
                    .where(sms_confirmations.c.id == waiting.id)
                    .values(status="cancelled")
                ),
            )
            raise ConfirmationExpired("the request expired")
        self._verify_pin(number, command.pin)
        return self._run(lambda session: self._execute(session, number, lang, waiting.id))

    def _execute(self, session: LedgerSession, number: Number, lang: Lang, confirmation_id: str) -> str:
        connection = session.connection
        # Taking the number's row first serialises this number's sends, so the limits
        # counted below cannot be raced past.
        connection.execute(
            update(sms_phones).where(sms_phones.c.phone == number.phone).values(pin_failures=0)
        )
        claimed = connection.execute(
            update(sms_confirmations)
            .where(sms_confirmations.c.id == confirmation_id, sms_confirmations.c.status == "waiting")
            .values(status="done")
        )
        if claimed.rowcount != 1:
            raise NothingToConfirm("already done")
        row = connection.execute(
            select(sms_confirmations).where(sms_confirmations.c.id == confirmation_id)
        ).one()
        self._limits(connection, number, row.amount)
        asset = self.wallets.asset(row.asset)
        now = self.clock()
        send_id = row.id
        principal_id = derived_id("transfer", send_id, "principal")
        fee_id = derived_id("transfer", send_id, "fee")
        fee = self._fee(row.amount)
        ref = "".join(secrets.choice(model.REF_ALPHABET) for _ in range(model.REF_LENGTH))
        payer = self.wallets.wallet(session, number.user_id, asset.code)
        recipient_id = self._recipient(connection, row.recipient)
        if recipient_id == number.user_id:
            raise CannotPayYourself("a payment needs someone else to receive it")
        recipient_phone = row.recipient if "@" not in row.recipient else None
        amount = self._show(row.amount)
        values: dict[str, Any] = {
            "id": send_id, "ref": ref, "sender_id": number.user_id, "sender_phone": number.phone,
            "recipient_id": recipient_id, "recipient_phone": recipient_phone, "asset": asset.code,
            "amount": row.amount, "fee": fee, "note": row.note,
            "principal_id": principal_id.to_bytes(16, "big"), "fee_id": fee_id.to_bytes(16, "big"),
            "recipient_debits": None, "release_at": None, "undo_requested_at": None,
            "created_at": now, "updated_at": now,
        }  # fmt: skip
        movement_status = "succeeded"
        if recipient_id is None:
            assert recipient_phone is not None
            days = self.settings.sms_claim_days
            self._ensure_holding(session, asset.code)
            self.wallets.debit(
                session, payer, holding_account_id(asset.code), principal_id, row.amount, fee,
                TransferCode.PAYMENT, fee_transfer_id=fee_id, hold=True,
                timeout=days * 86_400 + _GRACE_SECONDS,
            )  # fmt: skip
            values.update(status="invited", release_at=now + self._seconds(days * 86_400))
            movement_status = "pending"
            sender_name = self._name(connection, number.user_id)
            invitation_lang = model.language_for(recipient_phone)
            self._queue(
                connection, recipient_phone,
                say("invitation", invitation_lang, name=sender_name, amount=amount, asset=asset.code,
                    days=days, ref=ref),
                essential=False,
            )  # fmt: skip
            reply = say(
                "invite_sent", lang, amount=amount, asset=asset.code, phone=model.mask_phone(recipient_phone),
                days=days, ref=ref,
            )  # fmt: skip
        else:
            payee = self.wallets.wallet(session, recipient_id, asset.code)
            name = self._name(connection, recipient_id)
            if row.amount >= self.settings.sms_cooling_threshold and self._first_payment(
                connection, number.user_id, recipient_id
            ):
                cooling = self.settings.sms_cooling_seconds
                self.wallets.debit(
                    session, payer, payee.account_id, principal_id, row.amount, fee, TransferCode.PAYMENT,
                    fee_transfer_id=fee_id, hold=True, timeout=cooling + _GRACE_SECONDS,
                )  # fmt: skip
                release_at = now + self._seconds(cooling)
                values.update(status="held", release_at=release_at)
                movement_status = "pending"
                reply = say(
                    "held", lang, name=name, amount=amount, asset=asset.code,
                    until=model.clock_time(release_at), ref=ref,
                )  # fmt: skip
            else:
                self.wallets.debit(
                    session, payer, payee.account_id, principal_id, row.amount, fee, TransferCode.PAYMENT,
                    fee_transfer_id=fee_id,
                )  # fmt: skip
                (account,) = session.lookup_accounts([payee.account_id])
                values.update(status="paid", recipient_debits=account.debits_posted + account.debits_pending)
                self._receipt_to_recipient(session, number.user_id, recipient_id, payee, row.amount, ref)
                balance = self._balance_note(session, number, payer)
                reply = say(
                    "sent", lang, amount=amount, asset=asset.code, name=name, fee=self._show(fee), ref=ref,
                    balance=balance,
                )  # fmt: skip
        connection.execute(insert(sms_sends).values(**values))
        connection.execute(
            insert(movements).values(
                id=send_id, kind="payment", status=movement_status, asset=asset.code, amount=row.amount,
                fee=fee, from_user_id=number.user_id, to_user_id=recipient_id, note=row.note,
                transfer_id=principal_id.to_bytes(16, "big"), external_ref=f"sms:{ref}", details=None,
                created_at=now, updated_at=now,
            )
        )  # fmt: skip
        return reply

    def _first_payment(self, connection: Connection, sender_id: str, recipient_id: str) -> bool:
        earlier = connection.execute(
            select(movements.c.id)
            .where(
                movements.c.from_user_id == sender_id,
                movements.c.to_user_id == recipient_id,
                movements.c.status == "succeeded",
            )
            .limit(1)
        ).first()
        return earlier is None

    def _receipt_to_recipient(
        self, session: LedgerSession, sender_id: str, recipient_id: str, payee: Wallet, units: int, ref: str
    ) -> None:
        connection = session.connection
        their = self._phone_of(connection, recipient_id)
        if their is None:
            return  # no number on that account: the receipt is in their history
        balance = self._balance_note(session, their, payee)
        self._queue(
            connection, their.phone,
            say("received", their.language, amount=self._show(units), asset=payee.asset,
                name=self._name(connection, sender_id), fee=self._show(0), ref=ref, balance=balance),
        )  # fmt: skip

    def _claim_all(self, session: LedgerSession, phone: str, user_id: str) -> int:
        """Everything waiting for a number just verified: SMS sends and other products' holds."""
        return self._claim_waiting(session, phone, user_id) + sum(
            claim(session, phone, user_id) for claim in self.claimers
        )

    def _claim_waiting(self, session: LedgerSession, phone: str, user_id: str) -> int:
        """Pay every invitation held for `phone` on to the user's wallet; the total claimed."""
        connection = session.connection
        rows = connection.execute(
            select(sms_sends).where(sms_sends.c.recipient_phone == phone, sms_sends.c.status == "invited")
        ).all()
        total = 0
        for send in map(_send, rows):
            if send.sender_id == user_id:
                continue  # one's own unclaimed send stays one's own; it returns as usual
            wallet = self.wallets.wallet(session, user_id, send.asset)
            post = TransferFlags.POST_PENDING_TRANSFER | TransferFlags.LINKED
            transfers = [
                Transfer(derived_id("transfer", send.id, "post"), pending_id=send.principal_id, flags=post)
            ]
            if send.fee:
                transfers.append(
                    Transfer(derived_id("transfer", send.id, "post-fee"), pending_id=send.fee_id, flags=post)
                )
            transfers.append(
                Transfer(derived_id("transfer", send.id, "claim"), holding_account_id(send.asset),
                         wallet.account_id, send.amount, send.asset, code=int(TransferCode.PAYMENT))
            )  # fmt: skip
            results = session.create_transfers(transfers)
            if _R.PENDING_EXPIRED in results:
                self._finish(connection, send, "returned")
                continue
            if any(r not in (_R.OK, _R.EXISTS) for r in results):
                raise RuntimeError(f"sms send {send.id} could not be claimed: {results}")
            (account,) = session.lookup_accounts([wallet.account_id])
            connection.execute(
                update(sms_sends)
                .where(sms_sends.c.id == send.id)
                .values(status="claimed", recipient_id=user_id, updated_at=self.clock(),
                        recipient_debits=account.debits_posted + account.debits_pending)
            )  # fmt: skip
            connection.execute(
                update(movements)
                .where(movements.c.id == send.id)
                .values(status="succeeded", to_user_id=user_id, updated_at=self.clock())
            )
            sender = self._phone_of(connection, send.sender_id)
            if sender is not None:
                self._queue(
                    connection, sender.phone,
                    say("claimed", sender.language, phone=model.mask_phone(phone),
                        amount=self._show(send.amount), asset=send.asset, ref=send.ref),
                )  # fmt: skip
            total += send.amount
        return total

    def _finish(self, connection: Connection, send: SendRow, status: str) -> None:
        now = self.clock()
        connection.execute(
            update(sms_sends).where(sms_sends.c.id == send.id).values(status=status, updated_at=now)
        )
        connection.execute(
            update(movements).where(movements.c.id == send.id).values(status="failed", updated_at=now)
        )

    # -- mistakes -----------------------------------------------------------------------------
    def _void(self, session: LedgerSession, send: SendRow) -> bool:
        """Release a held send back to the sender; False if the ledger had already let
        it expire (the money is back either way)."""
        return self._resolve_hold(session, send, post=False)

    def _resolve_hold(self, session: LedgerSession, send: SendRow, *, post: bool) -> bool:
        """Post (or void) a held send and its fee together; False if the ledger had already
        let the hold expire."""
        flag, name = (
            (TransferFlags.POST_PENDING_TRANSFER, "post")
            if post
            else (TransferFlags.VOID_PENDING_TRANSFER, "void")
        )
        transfers = [
            Transfer(derived_id("transfer", send.id, name), pending_id=send.principal_id,
                     flags=flag | (TransferFlags.LINKED if send.fee else TransferFlags.NONE))
        ]  # fmt: skip
        if send.fee:
            transfers.append(
                Transfer(derived_id("transfer", send.id, f"{name}-fee"), pending_id=send.fee_id, flags=flag)
            )
        results = session.create_transfers(transfers)
        if _R.PENDING_EXPIRED in results:
            return False
        if any(r not in (_R.OK, _R.EXISTS) for r in results):
            raise RuntimeError(f"sms send {send.id} could not be {name}ed: {results}")
        return True

    def _undo(self, command: model.Undo, number: Number, lang: Lang) -> str:
        """Within the undo window and while the recipient has not spent since, reverse a
        paid send; cancel a held or unclaimed one at any time; otherwise record the
        request and ask the recipient to RETURN it."""
        window = self._seconds(self.settings.sms_undo_seconds)

        def work(session: LedgerSession) -> str:
            connection = session.connection
            found = connection.execute(
                select(sms_sends).where(
                    sms_sends.c.ref == command.ref, sms_sends.c.sender_id == number.user_id
                )
            ).first()
            if found is None:
                raise UnknownReference("no such send", ref=command.ref)
            send = _send(found)
            amount = self._show(send.amount)
            payer = self.wallets.wallet(session, number.user_id, send.asset)
            if send.status in ("held", "invited"):
                self._void(session, send)
                self._finish(connection, send, "cancelled")
                balance = self._balance_note(session, number, payer)
                return say("undone", lang, ref=send.ref, amount=amount, asset=send.asset, balance=balance)
            if send.status not in ("paid", "claimed"):
                raise CannotUndo("already settled", ref=send.ref, status=send.status)
            assert send.recipient_id is not None
            payee = self.wallets.wallet(session, send.recipient_id, send.asset)
            (account,) = session.lookup_accounts([payee.account_id])
            unspent = send.recipient_debits == account.debits_posted + account.debits_pending
            if send.status == "paid" and self.clock() - send.created_at <= window and unspent:
                transfers = [
                    Transfer(derived_id("transfer", send.id, "undo"), payee.account_id, payer.account_id,
                             send.amount, send.asset, code=int(TransferCode.PAYMENT),
                             flags=TransferFlags.LINKED if send.fee else TransferFlags.NONE)
                ]  # fmt: skip
                if send.fee:
                    transfers.append(
                        Transfer(derived_id("transfer", send.id, "undo-fee"),
                                 PlatformAccount.FEE_REVENUE.account_id(send.asset), payer.account_id,
                                 send.fee, send.asset, code=int(TransferCode.FEE))
                    )  # fmt: skip
                results = session.create_transfers(transfers)
                if any(r not in (_R.OK, _R.EXISTS) for r in results):
                    raise RuntimeError(f"sms send {send.id} could not be undone: {results}")
                now = self.clock()
                connection.execute(
                    update(sms_sends).where(sms_sends.c.id == send.id).values(status="undone", updated_at=now)
                )
                connection.execute(
                    update(movements).where(movements.c.id == send.id).values(status="failed", updated_at=now)
                )
                their = self._phone_of(connection, send.recipient_id)
                if their is not None:
                    self._queue(
                        connection, their.phone,
                        say("undone_recipient", their.language, amount=amount, asset=send.asset,
                            name=self._name(connection, number.user_id), ref=send.ref),
                    )  # fmt: skip
                balance = self._balance_note(session, number, payer)
                return say("undone", lang, ref=send.ref, amount=amount, asset=send.asset, balance=balance)
            if found.undo_requested_at is None:
                connection.execute(
                    update(sms_sends).where(sms_sends.c.id == send.id).values(undo_requested_at=self.clock())
                )
                their = self._phone_of(connection, send.recipient_id)
                if their is not None:
                    self._queue(
                        connection, their.phone,
                        say("return_asked", their.language, name=self._name(connection, number.user_id),
                            amount=amount, asset=send.asset, ref=send.ref),
                        essential=False,
                    )  # fmt: skip
            return say("undo_requested", lang, ref=send.ref)

        return self._run(work)

    def _return(self, command: model.Return, number: Number, lang: Lang) -> str:
        """The recipient of a send gives it back: a send to its sender, confirmed by PIN."""
        if number.pin_hash is None:
            raise PinNotSet("no PIN yet")
        self._refuse_if_locked(number)
        found = self._read(
            lambda c: c.execute(
                select(sms_sends).where(
                    sms_sends.c.ref == command.ref,
                    sms_sends.c.recipient_id == number.user_id,
                    sms_sends.c.status.in_(("paid", "claimed")),
                )
            ).first()
        )
        if found is None:
            raise UnknownReference("no such send", ref=command.ref)
        note = f"return {found.ref}"
        return self._ask_confirmation(
            number, lang, found.sender_phone, Amount(found.amount, self.wallets.asset(found.asset)), note
        )

    # -- periodic work ------------------------------------------------------------------------
    def release_due(self, limit: int = 100) -> int:
        """Post held sends whose cooling-off has ended; return unclaimed invitations past
        their time to the sender, telling them. Safe to run from several workers."""
        now = self.clock()
        rows = self._read(
            lambda c: (
                c.execute(
                    select(sms_sends.c.id)
                    .where(sms_sends.c.status.in_(("held", "invited")), sms_sends.c.release_at <= now)
                    .order_by(sms_sends.c.release_at)
                    .limit(limit)
                )
                .scalars()
                .all()
            )
        )
        done = 0
        for send_id in rows:

            def release(session: LedgerSession, send_id: str = send_id) -> int:
                return self._release(session, send_id)

            done += self._run(release)
        if done:
            self.deliver_outbox()
        return done

    def _release(self, session: LedgerSession, send_id: str) -> int:
        connection = session.connection
        found = connection.execute(select(sms_sends).where(sms_sends.c.id == send_id)).first()
        if found is None or found.status not in ("held", "invited"):
            return 0  # another worker got here first
        send = _send(found)
        now = self.clock()
        guard = update(sms_sends).where(sms_sends.c.id == send.id, sms_sends.c.status == send.status)
        # Taking the row first: a second worker waits here, then finds it done and stops,
        # so the sender is told once.
        if connection.execute(guard.values(updated_at=now)).rowcount != 1:
            return 0
        sender = self._phone_of(connection, send.sender_id)
        payer = self.wallets.wallet(session, send.sender_id, send.asset)
        if send.status == "invited":
            self._void(session, send)
            connection.execute(guard.values(status="returned", updated_at=now))
            connection.execute(
                update(movements).where(movements.c.id == send.id).values(status="failed", updated_at=now)
            )
            if sender is not None:
                self._queue(
                    connection, sender.phone,
                    say("returned", sender.language, phone=model.mask_phone(send.recipient_phone or ""),
                        amount=self._show(send.amount), asset=send.asset, days=self.settings.sms_claim_days,
                        ref=send.ref, balance=self._balance_note(session, sender, payer)),
                )  # fmt: skip
            return 1
        assert send.recipient_id is not None
        if not self._resolve_hold(session, send, post=True):
            self._finish(connection, send, "returned")
            return 1
        payee = self.wallets.wallet(session, send.recipient_id, send.asset)
        (account,) = session.lookup_accounts([payee.account_id])
        connection.execute(
            guard.values(
                status="paid", updated_at=now, recipient_debits=account.debits_posted + account.debits_pending
            )
        )
        connection.execute(
            update(movements).where(movements.c.id == send.id).values(status="succeeded", updated_at=now)
        )
        self._receipt_to_recipient(session, send.sender_id, send.recipient_id, payee, send.amount, send.ref)
        return 1

    def deliver_outbox(self, limit: int = 100) -> int:
        """Send what is due in the outbox; a gateway failure is retried later with backoff,
        up to OUTBOX_ATTEMPTS. Each message is claimed before it is sent, so two workers
        do not both send it."""
        now = self.clock()
        due = self._read(
            lambda c: c.execute(
                select(sms_outbox.c.id, sms_outbox.c.phone, sms_outbox.c.body, sms_outbox.c.attempts,
                       sms_outbox.c.next_attempt_at)
                .where(sms_outbox.c.status == "pending", sms_outbox.c.next_attempt_at <= now)
                .order_by(sms_outbox.c.next_attempt_at)
                .limit(limit)
            ).all()
        )  # fmt: skip
        sent = 0
        for item in due:
            backoff = self._seconds(min(3600, 30 * 2**item.attempts))

            def claim(connection: Connection, item: Any = item, backoff: int = backoff) -> bool:
                result = connection.execute(
                    update(sms_outbox)
                    .where(sms_outbox.c.id == item.id, sms_outbox.c.next_attempt_at == item.next_attempt_at,
                           sms_outbox.c.status == "pending")
                    .values(attempts=item.attempts + 1, next_attempt_at=now + backoff)
                )  # fmt: skip
                return bool(result.rowcount == 1)

            if not run_in_transaction(self.engine, claim):
                continue
            try:
                self.gateway.send(item.phone, item.body)
            except SmsNotSent as error:
                log.warning("sms not sent", phone=model.mask_phone(item.phone), error=str(error))
                if item.attempts + 1 >= OUTBOX_ATTEMPTS:
                    self._mark(item.id, "failed")
                continue
            self._mark(item.id, "sent")
            sent += 1
        return sent

    def _mark(self, outbox_id: str, status: str) -> None:
        now = self.clock()
        run_in_transaction(
            self.engine,
            lambda c: c.execute(
                update(sms_outbox)
                .where(sms_outbox.c.id == outbox_id)
                .values(status=status, sent_at=now if status == "sent" else None)
            ),
        )


def _asdict(number: Number) -> dict[str, Any]:
    return {field: getattr(number, field) for field in Number.__slots__}


__all__ = ["Inbound", "Reply", "SmsService", "holding_account_id"]
