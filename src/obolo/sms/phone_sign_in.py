"""Signing in with one's phone: a six-digit code texted to a number bound by SMS, for the
people who opened their wallet by text (JOIN) and have no email and no password.

    request_code(phone, address)        -> CodeMessage | None   (one transaction; sends nothing)
    deliver(message)                                            (the gateway; after the answer)
    sign_in(phone, code, address)       -> (token, expires_at, user); raises InvalidCode, RateLimited

The rules, and why:
- Only a number verified by SMS (in `sms_phones`, proved by texting from it) whose account
  has no password may sign in this way. A number merely typed on a web account proves
  nothing; an account with a password signs in with it, so a swapped SIM does not open it.
- A code is kept only as HMAC-SHA256 under a key derived from the platform's secret key,
  over the code's row id, the number and the code: a million possible codes would be
  reversed at once from a bare hash. Compared in constant time.
- A code lives `phone_code_seconds` (10 min), is used once, and allows `phone_code_attempts`
  (5) tries, the right one included: each try is counted before the code is compared, so
  concurrent guesses cannot get more. A new code replaces the number's earlier ones.
- A number, and an address, may ask for a limited number of codes an hour; wrong codes
  count as failed sign-ins against the number and the address, with the same slow-down and
  lock as wrong passwords (the `login_attempts` throttle).
- Asking for a code answers the same whether or not the number has a wallet, with the same
  work in the database; the text itself goes out after the answer, so its latency says
  nothing either. Every refusal of a code is the one `InvalidCode`.
- The code is never logged and never written to the outbox (whose rows are kept in clear):
  it goes to the gateway directly.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import structlog
from sqlalchemy import Connection, delete, insert, select, update

from obolo.adapters.clock import NS_PER_SECOND
from obolo.adapters.db.schema import login_attempts, phone_sign_in_codes, users
from obolo.adapters.db.schema_sms import sms_phones
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.ids import new_id
from obolo.adapters.sms_gateway import SmsGateway, SmsNotSent
from obolo.audit import service as audit
from obolo.errors import RateLimited
from obolo.identity.errors import InvalidCode, InvalidPhone
from obolo.identity.model import User
from obolo.identity.service import IdentityService
from obolo.identity.standing import check_may_sign_in
from obolo.locale import language_of
from obolo.sms import model as sms_model
from obolo.sms.texts import say

log = structlog.get_logger("obolo.identity")
CODE_DIGITS = 6
_HOUR = 3600


@dataclass(frozen=True, slots=True)
class CodeMessage:
    """A text to send: kept in memory only, never stored or logged (it holds the code)."""

    phone: str
    body: str

    def __repr__(self) -> str:
        return f"CodeMessage(phone={sms_model.mask_phone(self.phone)!r}, body=<hidden>)"


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


class PhoneSignIn:
    def __init__(self, identity: IdentityService, gateway: SmsGateway, key: bytes) -> None:
        self.identity = identity
        self.gateway = gateway
        self._key = key
        self.clock = identity.clock
        self.settings = identity.settings

    def _hash(self, code_id: str, phone: str, code: str) -> str:
        return hmac.new(self._key, f"{code_id}|{phone}|{code}".encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def normalize(phone: str) -> str:
        """E.164, as the SMS product has it. Raises InvalidPhone."""
        normalized = sms_model.normalize_phone(phone)
        if normalized is None:
            raise InvalidPhone("write the number with its country code, e.g. +393331234567")
        return normalized

    @staticmethod
    def _account(connection: Connection, phone: str) -> tuple[str, sms_model.Lang] | None:
        """The account a number signs in to: verified by SMS, and without a password."""
        row = connection.execute(
            select(sms_phones.c.user_id, users.c.language)
            .join(users, users.c.id == sms_phones.c.user_id)
            .where(sms_phones.c.phone == phone, users.c.password_hash.is_(None))
        ).first()
        return None if row is None else (row.user_id, sms_model.Lang(language_of(row.language)))

    # -- asking for a code --------------------------------------------------------------
    def request_code(self, phone: str, address: str) -> CodeMessage | None:
        """Count the request against the number and the address (RateLimited past the hour's
        limit, for any number alike), and, if the number may sign in, make its code and the
        text to send. Raises InvalidPhone for what is not a phone number."""
        phone = self.normalize(phone)
        s = self.settings
        limits = [
            (f"phone_codes:{phone}", s.phone_codes_per_hour),
            (f"phone_codes_ip:{address}"[:300], s.phone_codes_per_address_hour),
        ]
        code = new_code()
        code_id = new_id()

        def work(connection: Connection) -> CodeMessage | None:
            now = self.clock()
            for key, limit in limits:
                _count_request(connection, key, limit, now)
            # Earlier codes die with a new one: at most one code per number is alive.
            connection.execute(delete(phone_sign_in_codes).where(phone_sign_in_codes.c.phone == phone))
            account = self._account(connection, phone)
            code_hash = self._hash(code_id, phone, code)
            if account is None:
                return None
            user_id, language = account
            connection.execute(
                insert(phone_sign_in_codes).values(
                    id=code_id, phone=phone, user_id=user_id, code_hash=code_hash, attempts=0,
                    created_at=now, expires_at=now + s.phone_code_seconds * NS_PER_SECOND, used_at=None,
                )
            )  # fmt: skip
            audit.record(connection, now, "anonymous", "sign_in_code.created", user_id, address=address)
            return CodeMessage(phone, say("sign_in_code", language, code=code))

        return run_in_transaction(self.identity.engine, work)

    def deliver(self, message: CodeMessage) -> None:
        """Send the text. A gateway failure is logged (without the text) and not retried:
        the person asks for a new code."""
        try:
            self.gateway.send(message.phone, message.body)
        except SmsNotSent as error:
            log.warning("sign-in code not sent", phone=sms_model.mask_phone(message.phone), error=str(error))

    # -- signing in with it ---------------------------------------------------------------
    def sign_in(
        self, phone: str, code: str, address: str, device: str | None = None
    ) -> tuple[str, int, User]:
        """(token, expires_at, user) for the number's live code. Raises RateLimited while the
        number or the address is locked by failures, else InvalidCode for any wrong, expired,
        used or worn-out code and for a number without a wallet."""
        phone = sms_model.normalize_phone(phone) or phone.strip()[:32]
        keys = [f"phone:{phone}", f"ip:{address}"[:300]]
        now = self.clock()
        # Counted before the code is compared: see obolo.identity.throttle.
        self.identity.throttle.claim(keys, now)
        attempts = self.settings.phone_code_attempts

        def work(connection: Connection) -> tuple[str, int, str] | None:
            row = connection.execute(
                select(phone_sign_in_codes)
                .where(
                    phone_sign_in_codes.c.phone == phone,
                    phone_sign_in_codes.c.used_at.is_(None),
                    phone_sign_in_codes.c.attempts < attempts,
                    phone_sign_in_codes.c.expires_at > now,
                )
                .with_for_update()
            ).first()
            if row is None:
                self._hash("-", phone, code)  # the same work as a real comparison
                return None
            # The try is counted first, so no code is compared more than `attempts` times.
            counted = connection.execute(
                update(phone_sign_in_codes)
                .where(phone_sign_in_codes.c.id == row.id, phone_sign_in_codes.c.attempts < attempts)
                .values(attempts=phone_sign_in_codes.c.attempts + 1)
            )
            if counted.rowcount != 1:
                return None
            if not hmac.compare_digest(row.code_hash, self._hash(row.id, phone, code)):
                return None
            used = connection.execute(
                update(phone_sign_in_codes)
                .where(phone_sign_in_codes.c.id == row.id, phone_sign_in_codes.c.used_at.is_(None))
                .values(used_at=now)
            )
            account = self._account(connection, phone)
            if used.rowcount != 1 or account is None or account[0] != row.user_id:
                return None  # used meanwhile, or the number no longer speaks for that account
            check_may_sign_in(connection, row.user_id)
            self.identity.throttle.succeeded(connection, keys, now)
            token, expires_at = self.identity.open_session(
                connection, row.user_id, now, address, via="phone", device=device
            )
            return token, expires_at, row.user_id

        opened = run_in_transaction(self.identity.engine, work)
        if opened is None:
            self.identity.throttle.failed(keys, now)
            self.identity.record_failure(now, sms_model.mask_phone(phone), address)
            raise InvalidCode("wrong, expired or used code")
        token, expires_at, user_id = opened
        return token, expires_at, self.identity.get_user(user_id)


def _count_request(connection: Connection, key: str, limit: int, now: int) -> None:
    """Count one request against `key` in `login_attempts` (here `failures` counts requests
    in the hour that began at `last_failure_at`); RateLimited once the hour's `limit` is
    reached, until the hour is over."""
    row = connection.execute(
        select(login_attempts).where(login_attempts.c.key == key).with_for_update()
    ).first()
    if row is not None and row.locked_until > now:
        retry_after = -(-(row.locked_until - now) // NS_PER_SECOND)
        raise RateLimited(f"too many codes asked for; try again in {retry_after} s", retry_after)
    hour = _HOUR * NS_PER_SECOND
    if row is None or now - row.last_failure_at >= hour:
        count, start = 1, now
    else:
        count, start = row.failures + 1, row.last_failure_at
    locked_until = start + hour if count >= limit else 0
    values = {"failures": count, "last_failure_at": start, "locked_until": locked_until}
    if row is None:
        connection.execute(insert(login_attempts).values(key=key, **values))
    else:
        connection.execute(update(login_attempts).where(login_attempts.c.key == key).values(**values))
