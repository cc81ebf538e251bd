"""Two-factor sign-in: a time-based code (TOTP, RFC 6238, by pyotp) from an authenticator
app after the password, and ten one-time recovery codes for when the app is lost.

    begin(user_id)                       -> Enrolment (secret and otpauth:// URI, shown once)
    confirm(user_id, code)               -> the ten recovery codes (shown once); turns it on
    disable(user_id, code)               turns it off (a TOTP or a recovery code)
    complete_sign_in(challenge, code, address) -> (token, expires_at, user)

The rules, and why:
- The TOTP secret must be read back to check a code, so it is sealed with the platform's
  SecretBox, never stored plain. Recovery codes need only be recognised: an HMAC of each,
  under a key derived from the platform's secret, is kept.
- A TOTP code is accepted once: the time step of the last accepted code is kept and a code
  of that step or an earlier one is refused, so a code seen over a shoulder is worthless.
  One step either side of now is accepted, for clocks a little apart.
- Every check is counted by the sign-in throttle under `2fa:<user>` before the code is
  compared: six digits do not survive guessing without it.
- Nothing here logs a secret or a code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import pyotp
from sqlalchemy import Connection, delete, insert, select, update

from obolo.adapters.clock import NS_PER_SECOND
from obolo.adapters.db.schema_account import recovery_codes, two_factor
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.ids import new_id
from obolo.adapters.secretbox import SecretBox
from obolo.audit import service as audit
from obolo.identity.errors import InvalidTwoFactorCode, TwoFactorAlreadyEnabled, TwoFactorNotEnabled
from obolo.identity.model import User
from obolo.identity.service import IdentityService, open_challenge
from obolo.identity.standing import check_may_sign_in

__all__ = ["RECOVERY_CODES", "Enrolment", "TwoFactor"]

ISSUER = "Obolo"
STEP_SECONDS = 30
RECOVERY_CODES = 10
# No 0/o, 1/l/i: a code is copied from paper.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


@dataclass(frozen=True, slots=True)
class Enrolment:
    secret: str
    uri: str

    def __repr__(self) -> str:
        return "Enrolment(<hidden>)"


def _new_recovery_code() -> str:
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    return f"{chars[:5]}-{chars[5:]}"


def _plain(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


class TwoFactor:
    def __init__(self, identity: IdentityService, box: SecretBox) -> None:
        self.identity = identity
        self.box = box
        self.clock = identity.clock
        self._key = box.derive("recovery-codes")

    def _hash(self, user_id: str, code: str) -> str:
        return hmac.new(self._key, f"{user_id}|{_plain(code)}".encode(), hashlib.sha256).hexdigest()

    def _run(self, work, *, read_only: bool = False):  # type: ignore[no-untyped-def]
        return run_in_transaction(self.identity.engine, work, read_only=read_only)

    # -- reads --------------------------------------------------------------------------
    def enabled(self, user_id: str) -> bool:
        row = self._run(lambda c: _row(c, user_id), read_only=True)
        return row is not None and row.enabled_at is not None

    def recovery_codes_left(self, user_id: str) -> int:
        rows = self._run(
            lambda c: c.execute(
                select(recovery_codes.c.id).where(
                    recovery_codes.c.user_id == user_id, recovery_codes.c.used_at.is_(None)
                )
            ).all(),
            read_only=True,
        )
        return len(rows)

    # -- turning it on and off ----------------------------------------------------------
    def begin(self, user_id: str) -> Enrolment:
        """A new secret for the authenticator app, kept (sealed) until confirmed with a
        code; beginning again replaces an unconfirmed one. Raises TwoFactorAlreadyEnabled."""
        secret = pyotp.random_base32()
        sealed = self.box.seal(secret)
        user = self.identity.get_user(user_id)

        def work(connection: Connection) -> None:
            row = _row(connection, user_id, lock=True)
            if row is not None and row.enabled_at is not None:
                raise TwoFactorAlreadyEnabled("two-factor sign-in is on already")
            connection.execute(delete(two_factor).where(two_factor.c.user_id == user_id))
            connection.execute(
                insert(two_factor).values(
                    user_id=user_id,
                    secret_sealed=sealed,
                    created_at=self.clock(),
                    enabled_at=None,
                    last_step=0,
                )
            )

        self._run(work)
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
        return Enrolment(secret, uri)

    def confirm(self, user_id: str, code: str) -> list[str]:
        """Turn two-factor sign-in on with a code from the app just enrolled; the ten
        recovery codes, shown this once. Raises TwoFactorNotEnabled (nothing begun),
        TwoFactorAlreadyEnabled, InvalidTwoFactorCode, RateLimited."""
        codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]

        def work(connection: Connection) -> bool:
            row = _row(connection, user_id, lock=True)
            if row is None:
                raise TwoFactorNotEnabled("begin the enrolment first")
            if row.enabled_at is not None:
                raise TwoFactorAlreadyEnabled("two-factor sign-in is on already")
            if not self._totp_matches(connection, row, code):
                return False
            now = self.clock()
            connection.execute(
                update(two_factor).where(two_factor.c.user_id == user_id).values(enabled_at=now)
            )
            connection.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
            connection.execute(
                insert(recovery_codes),
                [{"id": new_id(), "user_id": user_id, "code_hash": self._hash(user_id, c), "used_at": None}
                 for c in codes],
            )  # fmt: skip
            audit.record(connection, now, user_id, "two_factor.enabled", user_id)
            return True

        self._checked(user_id, work)
        return codes

    def disable(self, user_id: str, code: str) -> None:
        """Turn it off with a current code or a recovery code. Raises TwoFactorNotEnabled,
        InvalidTwoFactorCode, RateLimited."""

        def work(connection: Connection) -> bool:
            row = _row(connection, user_id, lock=True)
            if row is None or row.enabled_at is None:
                raise TwoFactorNotEnabled("two-factor sign-in is off")
            if not self._code_matches(connection, row, code):
                return False
            connection.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
            connection.execute(delete(two_factor).where(two_factor.c.user_id == user_id))
            audit.record(connection, self.clock(), user_id, "two_factor.disabled", user_id)
            return True

        self._checked(user_id, work)

    def _checked(self, user_id: str, work) -> None:  # type: ignore[no-untyped-def]
        """Run `work` (True: the code was right) under the throttle's count."""
        keys = [f"2fa:{user_id}"]
        now = self.clock()
        self.identity.throttle.claim(keys, now)
        if not self._run(work):
            self.identity.throttle.failed(keys, now)
            raise InvalidTwoFactorCode("wrong or already used code")
        self._run(lambda c: self.identity.throttle.succeeded(c, keys, now))

    # -- signing in -----------------------------------------------------------------------
    def complete_sign_in(
        self, challenge: str, code: str, address: str, device: str | None = None
    ) -> tuple[str, int, User]:
        """The session a right password began (`challenge`, from TwoFactorRequired) and a
        right code finish. Raises InvalidTwoFactorCode (a wrong, used or expired code or
        challenge), RateLimited, AccountFrozen, AccountClosed."""
        now = self.clock()
        user_id = open_challenge(self.identity.challenge_key, challenge[:300], now)
        if user_id is None:
            raise InvalidTwoFactorCode("the sign-in took too long or the challenge is not ours; start again")
        keys = [f"2fa:{user_id}", f"ip:{address}"[:300]]
        self.identity.throttle.claim(keys, now)

        def work(connection: Connection) -> tuple[str, int] | None:
            row = _row(connection, user_id, lock=True)
            if row is None or row.enabled_at is None or not self._code_matches(connection, row, code):
                return None
            check_may_sign_in(connection, user_id)
            self.identity.throttle.succeeded(connection, keys, now)
            return self.identity.open_session(
                connection, user_id, now, address, via="two_factor", device=device
            )

        opened = self._run(work)
        if opened is None:
            self.identity.throttle.failed(keys, now)
            self.identity.record_failure(now, user_id, address)
            raise InvalidTwoFactorCode("wrong or already used code")
        token, expires_at = opened
        return token, expires_at, self.identity.get_user(user_id)

    # -- the codes ------------------------------------------------------------------------
    def _code_matches(self, connection: Connection, row, code: str) -> bool:  # type: ignore[no-untyped-def]
        plain = _plain(code)
        if plain.isdigit() and len(plain) == 6:
            return self._totp_matches(connection, row, plain)
        if len(plain) != 10:
            return False
        used = connection.execute(
            update(recovery_codes)
            .where(
                recovery_codes.c.user_id == row.user_id,
                recovery_codes.c.code_hash == self._hash(row.user_id, plain),
                recovery_codes.c.used_at.is_(None),
            )
            .values(used_at=self.clock())
        )
        if used.rowcount == 1:
            audit.record(connection, self.clock(), row.user_id, "two_factor.recovery_code_used", row.user_id)
        return bool(used.rowcount == 1)

    def _totp_matches(self, connection: Connection, row, code: str) -> bool:  # type: ignore[no-untyped-def]
        plain = _plain(code)
        if not (plain.isdigit() and len(plain) == 6):
            return False
        totp = pyotp.TOTP(self.box.open(row.secret_sealed))
        now_step = self.clock() // NS_PER_SECOND // STEP_SECONDS
        for step in (now_step - 1, now_step, now_step + 1):
            if step > row.last_step and hmac.compare_digest(totp.generate_otp(step), plain):
                connection.execute(
                    update(two_factor).where(two_factor.c.user_id == row.user_id).values(last_step=step)
                )
                return True
        return False


def _row(connection: Connection, user_id: str, *, lock: bool = False):  # type: ignore[no-untyped-def]
    query = select(two_factor).where(two_factor.c.user_id == user_id)
    return connection.execute(query.with_for_update() if lock else query).first()
