"""What every SMS use case shares: the adapters, the rows it reads (a verified number, a
send), and the small steps several use cases take (queue a message, mask a name, note a
balance, settle a hold). Public by `__all__`; the use-case modules build on it and never
on each other's private members."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from argon2 import PasswordHasher
from sqlalchemy import Connection, Engine, insert, select, update

from obolo.adapters.clock import NS_PER_SECOND, Clock
from obolo.adapters.db.schema import movements, users
from obolo.adapters.db.schema_sms import sms_optouts, sms_outbox, sms_phones, sms_sends
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.ids import derived_id, new_id
from obolo.adapters.sms_gateway import SmsGateway
from obolo.identity.hashing import password_hasher
from obolo.identity.lookup import display_names, find_user_id, set_user_language
from obolo.ledger import Account, Ledger, LedgerSession, Transfer, TransferFlags, TransferResult, expect_ok
from obolo.locale import language_of
from obolo.money import Asset
from obolo.settings import Settings
from obolo.sms import model, texts
from obolo.sms.model import Lang
from obolo.wallets.model import Wallet
from obolo.wallets.service import WalletService

T = TypeVar("T")

HOLDING_CODE = 30  # ledger account code of the platform's SMS holding account (tasks use the 20s)
GRACE_SECONDS = 86_400  # a hold outlives its due time by a day, so the job, not the ledger, ends it


def holding_account_id(asset: str) -> int:
    return derived_id("platform", "sms_holding", asset)


@dataclass(frozen=True, slots=True)
class Number:
    """A number verified by SMS and the account it speaks for."""

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


def number_of(row: Any) -> Number:
    """A row of `_NUMBERS`: the language is the account's, kept on the person."""
    return Number(
        row.phone, row.user_id, row.pin_hash, row.pin_failures, row.locked_until,
        Lang(language_of(row.account_language)), bool(row.show_balance), row.verified_at,
    )  # fmt: skip


_NUMBERS = select(sms_phones, users.c.language.label("account_language")).join(
    users, users.c.id == sms_phones.c.user_id
)


def send_of(row: Any) -> SendRow:
    return SendRow(
        row.id, row.ref, row.sender_id, row.sender_phone, row.recipient_id, row.recipient_phone, row.asset,
        row.amount, row.fee, row.note, row.status, int.from_bytes(row.principal_id, "big"),
        int.from_bytes(row.fee_id, "big"), row.recipient_debits, row.release_at, row.created_at,
    )  # fmt: skip


def digest(code: str) -> str:
    return hashlib.sha256(code.upper().encode()).hexdigest()


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:2]}***@{domain}"


class SmsContext:
    """The adapters and shared steps of the SMS use cases."""

    def __init__(
        self,
        engine: Engine,
        ledger: Ledger,
        clock: Clock,
        wallets: WalletService,
        gateway: SmsGateway,
        settings: Settings,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.clock = clock
        self.wallets = wallets
        self.gateway = gateway
        self.settings = settings
        self.hasher = hasher or password_hasher(settings)
        self.asset: Asset = wallets.asset(settings.sms_asset)

    # -- transactions -----------------------------------------------------------------------
    def run(self, work: Callable[[LedgerSession], T]) -> T:
        """`work` in one ledger transaction."""
        return self.ledger.run(work)

    def write(self, work: Callable[[Connection], T]) -> T:
        return run_in_transaction(self.engine, work)

    def read(self, work: Callable[[Connection], T]) -> T:
        return run_in_transaction(self.engine, work, read_only=True)

    def seconds(self, seconds: int) -> int:
        return seconds * NS_PER_SECOND

    def show(self, units: int, lang: Lang) -> str:
        """An amount of the SMS asset as the reader writes it."""
        return texts.amount(units, self.asset, lang)

    # -- numbers and people -----------------------------------------------------------------
    def number(self, connection: Connection, phone: str) -> Number | None:
        row = connection.execute(_NUMBERS.where(sms_phones.c.phone == phone)).first()
        return None if row is None else number_of(row)

    def number_of_user(self, connection: Connection, user_id: str) -> Number | None:
        row = connection.execute(_NUMBERS.where(sms_phones.c.user_id == user_id)).first()
        return None if row is None else number_of(row)

    def set_language(self, number: Number, language: Lang) -> None:
        """The account reads `language` from now on: SMS replies and notices, pages, emails."""

        def work(connection: Connection) -> None:
            set_user_language(connection, number.user_id, str(language))
            # The number's own column follows, for what still reads it.
            connection.execute(
                update(sms_phones).where(sms_phones.c.phone == number.phone).values(language=str(language))
            )

        self.write(work)

    def update_number(self, phone: str, **values: Any) -> None:
        self.write(
            lambda c: c.execute(update(sms_phones).where(sms_phones.c.phone == phone).values(**values))
        )

    def masked_name(self, connection: Connection, user_id: str) -> str:
        return model.mask_name(display_names(connection, {user_id}).get(user_id, ""))

    def recipient(self, connection: Connection, handle: str) -> str | None:
        """Who receives money sent to `handle`: the account with that email, or the account
        a number is verified for by SMS. A number only listed on a web account does not
        count: money for it waits until someone proves they hold it."""
        if "@" in handle:
            return find_user_id(connection, handle)
        bound = self.number(connection, handle)
        return bound.user_id if bound else None

    # -- messages out -----------------------------------------------------------------------
    def opted_out(self, connection: Connection, phone: str) -> bool:
        found = connection.execute(select(sms_optouts.c.phone).where(sms_optouts.c.phone == phone)).first()
        return found is not None

    def queue(self, connection: Connection, phone: str, body: str, *, essential: bool = True) -> None:
        """Write a message to the outbox. Non-essential ones (invitations, requests) are not
        sent to a number that said STOP; those about the number's own money always are."""
        if not essential and self.opted_out(connection, phone):
            return
        now = self.clock()
        connection.execute(
            insert(sms_outbox).values(
                id=new_id(), phone=phone, body=body[:480], status="pending", attempts=0,
                next_attempt_at=now, created_at=now, sent_at=None,
            )
        )  # fmt: skip

    def balance_note(self, session: LedgerSession, number: Number | None, wallet: Wallet) -> str:
        """The balance for a receipt (" Bal €12.00."), when the number asked for it there."""
        if number is None or not number.show_balance:
            return ""
        (account,) = session.lookup_accounts([wallet.account_id])
        available = self.show(account.available, number.language)
        return texts.say("balance_note", number.language, available=available)

    # -- money held ---------------------------------------------------------------------------
    def ensure_holding(self, session: LedgerSession, asset: str) -> None:
        results = session.create_accounts(
            [Account(holding_account_id(asset), asset, code=HOLDING_CODE, owner="platform:sms_holding")]
        )
        expect_ok(results, f"sms holding account for {asset}")

    def resolve_hold(self, session: LedgerSession, send: SendRow, *, post: bool) -> bool:
        """Post (or void) a held send and its fee together; False if the ledger had already
        let the hold expire (the money is back with the sender either way)."""
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
        if TransferResult.PENDING_EXPIRED in results:
            return False
        expect_ok(results, f"{name} of sms send {send.id}")
        return True

    def finish(self, connection: Connection, send: SendRow, status: str) -> None:
        """The send ended without paying (cancelled, returned): its movement failed."""
        now = self.clock()
        connection.execute(
            update(sms_sends).where(sms_sends.c.id == send.id).values(status=status, updated_at=now)
        )
        connection.execute(
            update(movements).where(movements.c.id == send.id).values(status="failed", updated_at=now)
        )


__all__ = [
    "GRACE_SECONDS",
    "HOLDING_CODE",
    "Number",
    "SendRow",
    "SmsContext",
    "digest",
    "holding_account_id",
    "mask_email",
    "number_of",
    "send_of",
]
