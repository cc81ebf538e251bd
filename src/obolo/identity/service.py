"""People and access use cases: each one function, one transaction.

Passwords are hashed with argon2id; session tokens and API key secrets are random and
kept only as SHA-256 digests (they carry 256 bits of entropy, so a fast hash is right
for them; passwords carry far less, so they get a slow one). Nothing here logs a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from obolo.adapters.clock import NS_PER_SECOND, Clock
from obolo.adapters.db.schema import api_keys, sessions, user_roles, users
from obolo.adapters.db.schema_account import account_standing, two_factor
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.ids import new_id
from obolo.audit import service as audit
from obolo.identity import standing
from obolo.identity.emails import email_key, normalize_email
from obolo.identity.errors import ApiKeyNotFound, InvalidCredentials, RoleNotSelfService, TwoFactorRequired
from obolo.identity.hashing import password_hasher
from obolo.identity.model import (
    SELF_SERVICE_ROLES,
    ApiKey,
    Principal,
    Role,
    User,
    check_scopes,
    normalize_phone,
)
from obolo.identity.notices import taken_sign_up
from obolo.identity.passwords import check_password
from obolo.identity.standing import check_may_sign_in
from obolo.identity.throttle import SignInThrottle
from obolo.locale import DEFAULT_LANGUAGE, language_of
from obolo.settings import Settings

T = TypeVar("T")
API_KEY_PREFIX = "obo_"
_LAST_USED_GRANULARITY = 60 * NS_PER_SECOND
# One statement, built once: a session, its person's roles (a row each) and standing,
# which the payment that follows then need not read again (`standing.remember`).
_SESSION = (
    select(
        sessions.c.token_hash, sessions.c.user_id, sessions.c.expires_at, sessions.c.revoked_at,
        sessions.c.last_used_at, user_roles.c.role, account_standing.c.frozen_at,
        account_standing.c.closed_at,
    )
    .select_from(sessions)
    .outerjoin(user_roles, user_roles.c.user_id == sessions.c.user_id)
    .outerjoin(account_standing, account_standing.c.user_id == sessions.c.user_id)
    .where(sessions.c.token_hash == bindparam("token_hash"))
)  # fmt: skip
CHALLENGE_SECONDS = 300  # to type the code after the password


def sign_challenge(key: bytes, user_id: str, expires_at: int) -> str:
    """What a two-factor sign-in carries from the password to the code: who, until when,
    and a MAC, so the password is not sent twice and the challenge cannot be forged."""
    mac = hmac.new(key, f"{user_id}|{expires_at}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{user_id}.{expires_at}.{mac}"


def open_challenge(key: bytes, challenge: str, now: int) -> str | None:
    """The user id a live, genuine challenge names; None for any other."""
    parts = challenge.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    user_id, expires_at = parts[0], int(parts[1])
    if expires_at <= now or not hmac.compare_digest(sign_challenge(key, user_id, expires_at), challenge):
        return None
    return user_id


def two_factor_enabled(connection: Connection, user_id: str) -> bool:
    found = connection.execute(
        select(two_factor.c.user_id).where(
            two_factor.c.user_id == user_id, two_factor.c.enabled_at.is_not(None)
        )
    ).first()
    return found is not None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


_SESSIONS_CACHED = 10_000  # at most, per process


class IdentityService:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        settings: Settings,
        hasher: PasswordHasher | None = None,
        *,
        challenge_key: bytes | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.settings = settings
        self.hasher = hasher or password_hasher(settings)
        self.throttle = SignInThrottle(engine, settings)
        # Signs the challenge a two-factor sign-in finishes with; the platform passes one key
        # derived from its secret, so any worker accepts a challenge any other made.
        self.challenge_key = challenge_key or secrets.token_bytes(32)
        # Verified against when the email is unknown, so both failures take as long; made
        # by the hasher in use on first need (tests and benches swap in a cheaper one).
        self._dummy: tuple[PasswordHasher, str] | None = None
        # Sessions checked lately: token digest -> (principal, expires_at, when checked in
        # monotonic seconds). Saves a transaction on every request of a busy client.
        self._sessions: dict[str, tuple[Principal, int, float]] = {}

    def _dummy_hash(self) -> str:
        if self._dummy is None or self._dummy[0] is not self.hasher:
            self._dummy = (self.hasher, self.hasher.hash(secrets.token_urlsafe(16)))
        return self._dummy[1]

    def _run(self, work: Callable[[Connection], T], *, read_only: bool = False) -> T:
        return run_in_transaction(self.engine, work, read_only=read_only)

    # -- people -----------------------------------------------------------------------
    def sign_up(
        self,
        email: str,
        password: str,
        display_name: str,
        phone: str | None = None,
        language: str = DEFAULT_LANGUAGE,
    ) -> User:
        """Create a person with the consumer role. Raises InvalidEmail, InvalidPhone,
        WeakPassword.

        An email or phone number that is already someone's is not refused: that answer
        would tell anyone who has an account. The caller gets a User just like a new one
        (an id that names nobody), no account is made, and the owner of the address or
        number is told that someone tried; signing in then fails as a wrong password does."""
        email = normalize_email(email)
        phone = normalize_phone(phone) if phone else None
        display_name = display_name.strip()
        check_password(password, [email, display_name])
        password_hash = self.hasher.hash(password)
        user_id = new_id()
        language = language_of(language)

        def work(connection: Connection) -> User:
            now = self.clock()
            owners = [
                connection.execute(select(users.c.id).where(users.c.email == email)).scalar_one_or_none(),
                connection.execute(select(users.c.id).where(users.c.phone == phone)).scalar_one_or_none()
                if phone
                else None,
            ]
            if any(owners):
                taken_sign_up(connection, email, owners[0], owners[1], now, language)
                return User(user_id, email, display_name, phone, frozenset({Role.CONSUMER}), now, language)
            connection.execute(
                insert(users).values(
                    id=user_id,
                    email=email,
                    password_hash=password_hash,
                    display_name=display_name,
                    phone=phone,
                    created_at=now,
                    language=language,
                )
            )
            connection.execute(insert(user_roles).values(user_id=user_id, role=Role.CONSUMER.value))
            return User(user_id, email, display_name, phone, frozenset({Role.CONSUMER}), now, language)

        return self._run(work)

    def get_user(self, user_id: str) -> User:
        def work(connection: Connection) -> User:
            row = connection.execute(select(users).where(users.c.id == user_id)).first()
            if row is None:
                raise ApiKeyNotFound("no such user")
            return User(
                row.id,
                row.email,
                row.display_name,
                row.phone,
                self._roles(connection, user_id),
                row.created_at,
                row.language,
            )

        return self._run(work, read_only=True)

    def set_language(self, user_id: str, language: str) -> str:
        """Keep the language the person reads (pages, SMS replies, emails); any tag is
        taken to the nearest one spoken ("it-IT" → "it"), else English. Returns it."""
        chosen = language_of(language)

        def work(connection: Connection) -> None:
            connection.execute(update(users).where(users.c.id == user_id).values(language=chosen))

        self._run(work)
        return chosen

    def language(self, user_id: str) -> str:
        """The language the person reads; English for an id that names nobody."""

        def work(connection: Connection) -> str | None:
            return connection.execute(select(users.c.language).where(users.c.id == user_id)).scalar()

        return self._run(work, read_only=True) or DEFAULT_LANGUAGE

    @staticmethod
    def _roles(connection: Connection, user_id: str) -> frozenset[Role]:
        rows = connection.execute(select(user_roles.c.role).where(user_roles.c.user_id == user_id)).scalars()
        return frozenset(Role(r) for r in rows)

    def add_role(self, user_id: str, role: Role) -> User:
        """Take on a self-service role (provider, employer, worker, consumer)."""
        if role not in SELF_SERVICE_ROLES:
            raise RoleNotSelfService("only an operator can grant that role")
        self._grant(user_id, role)
        return self.get_user(user_id)

    def grant_role(self, email: str, role: Role) -> User:
        """Any role, operator included: for the operator's CLI."""
        email = normalize_email(email)

        def find(connection: Connection) -> str:
            found = connection.execute(select(users.c.id).where(users.c.email == email)).scalar_one_or_none()
            if found is None:
                raise ApiKeyNotFound("no such user")
            return str(found)

        user_id = self._run(find, read_only=True)
        self._grant(user_id, role, actor="cli")
        return self.get_user(user_id)

    def _grant(self, user_id: str, role: Role, actor: str | None = None) -> None:
        def work(connection: Connection) -> None:
            if role not in self._roles(connection, user_id):
                connection.execute(insert(user_roles).values(user_id=user_id, role=role.value))
                audit.record(
                    connection, self.clock(), actor or user_id, "role.granted", user_id, {"role": role}
                )

        self._run(work)
        self._sessions.clear()  # principals carry their roles

    # -- sessions -----------------------------------------------------------------------
    def sign_in(
        self, email: str, password: str, address: str, device: str | None = None
    ) -> tuple[str, int, User]:
        """(token, expires_at, user). Repeated failures for one email or one address
        slow down, then lock: RateLimited(retry_after) without checking the password.
        A wrong email and a wrong password are the same InvalidCredentials."""
        email = email_key(email)  # what is not an address is just a failed sign-in, said the same way
        keys = [f"email:{email}", f"ip:{address}"[:300]]
        now = self.clock()
        # Counted before the password is checked: see obolo.identity.throttle.
        self.throttle.claim(keys, now)
        row = self._run(
            lambda c: c.execute(
                select(users.c.id, users.c.password_hash).where(users.c.email == email)
            ).first(),
            read_only=True,
        )
        stored = row.password_hash if row is not None and row.password_hash else self._dummy_hash()
        try:
            valid = self.hasher.verify(stored, password) and row is not None and bool(row.password_hash)
        except (VerificationError, InvalidHashError):
            valid = False
        if not valid:
            self.throttle.failed(keys, now)
            self.record_failure(now, email, address)
            raise InvalidCredentials("wrong email or password")
        assert row is not None

        def work(connection: Connection) -> tuple[str, int] | None:
            check_may_sign_in(connection, row.id)
            self.throttle.succeeded(connection, keys, now)
            if two_factor_enabled(connection, row.id):
                return None
            return self.open_session(connection, row.id, now, address, device=device)

        opened = self._run(work)
        if opened is None:
            raise TwoFactorRequired(
                "the password is right; finish with a code from your authenticator app",
                challenge=sign_challenge(self.challenge_key, row.id, now + CHALLENGE_SECONDS * NS_PER_SECOND),
            )
        token, expires_at = opened
        return token, expires_at, self.get_user(row.id)

    def open_session(
        self,
        connection: Connection,
        user_id: str,
        now: int,
        address: str,
        via: str | None = None,
        device: str | None = None,
    ) -> tuple[str, int]:
        """A new session for `user_id` in the caller's transaction: (token, expires_at).
        The token is returned this once; only its digest is stored."""
        token = secrets.token_urlsafe(32)
        expires_at = now + self.settings.session_ttl_seconds * NS_PER_SECOND
        connection.execute(
            insert(sessions).values(
                token_hash=digest(token),
                user_id=user_id,
                created_at=now,
                expires_at=expires_at,
                revoked_at=None,
                address=address[:300],
                last_used_at=now,
                device=device[:200] if device else None,
            )
        )
        details = {"via": via} if via else None
        audit.record(connection, now, user_id, "session.created", user_id, details, address=address)
        return token, expires_at

    def record_failure(self, now: int, subject: str, address: str) -> None:
        """Audit a failed sign-in (the throttle counted it when it was claimed)."""
        self._run(lambda c: audit.record(c, now, "anonymous", "sign_in.failed", subject, address=address))

    def sign_out(self, token: str) -> None:
        now = self.clock()
        self._sessions.pop(digest(token), None)
        self._run(
            lambda c: c.execute(
                update(sessions)
                .where(sessions.c.token_hash == digest(token), sessions.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        )

    def authenticate(self, bearer: str) -> Principal | None:
        """The principal for a session token or an API key; None if neither is valid."""
        if not bearer or len(bearer) > 200:
            return None
        if bearer.startswith(API_KEY_PREFIX):
            return self._authenticate_key(bearer)
        remembered = self.remembered(bearer)
        if remembered is not None:
            return remembered
        now = self.clock()
        token_hash = digest(bearer)
        since = standing.changes(self.engine)

        def work(connection: Connection) -> tuple[Principal, int, bool] | None:
            rows = connection.execute(_SESSION, {"token_hash": token_hash}).all()
            row = rows[0] if rows else None
            if row is None or row.revoked_at is not None or row.expires_at <= now:
                return None
            standing.remember(self.engine, row.user_id, row.frozen_at, row.closed_at, since)
            stale = row.last_used_at is None or now - row.last_used_at > _LAST_USED_GRANULARITY
            roles = frozenset(Role(r.role) for r in rows if r.role is not None)
            principal = Principal(row.user_id, frozenset({"*"}), "session", row.token_hash[:12], roles)
            return principal, row.expires_at, stale

        found = self._run(work, read_only=True)
        if found is None:
            return None
        principal, expires_at, stale = found
        if stale:  # a write at most once a minute per session, not on every request
            self._run(
                lambda c: c.execute(
                    update(sessions).where(sessions.c.token_hash == token_hash).values(last_used_at=now)
                )
            )
        if self.settings.session_cache_seconds > 0:
            if len(self._sessions) >= _SESSIONS_CACHED:
                self._sessions.clear()
            self._sessions[token_hash] = (principal, expires_at, time.monotonic())
        return principal

    def remembered(self, bearer: str) -> Principal | None:
        """The principal of a session token checked within `session_cache_seconds`, with no
        I/O (an event loop may ask); None when it must be read: `authenticate` does."""
        token_hash = digest(bearer)
        cached = self._sessions.get(token_hash)
        if cached is None:
            return None
        principal, expires_at, checked = cached
        if expires_at > self.clock() and time.monotonic() - checked < self.settings.session_cache_seconds:
            return principal
        self._sessions.pop(token_hash, None)
        return None

    def forget_sessions(self) -> None:
        """Drop the sessions checked lately: one was revoked (a password changed, a device
        signed out, an account closed or frozen), so the next request reads it again."""
        self._sessions.clear()

    # -- API keys -----------------------------------------------------------------------
    def create_api_key(self, user_id: str, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
        """A new key and its full secret, which is shown this once and never again."""
        granted = check_scopes(scopes)
        prefix = secrets.token_urlsafe(8).replace("_", "x").replace("-", "y")[:10]
        secret = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        key = ApiKey(new_id(), prefix, name.strip(), granted, self.clock(), None, None)

        def work(connection: Connection) -> None:
            connection.execute(
                insert(api_keys).values(
                    id=key.id,
                    user_id=user_id,
                    prefix=prefix,
                    secret_hash=digest(secret),
                    name=key.name,
                    scopes=",".join(sorted(granted)),
                    created_at=key.created_at,
                )
            )
            details = {"prefix": prefix, "name": key.name, "scopes": sorted(granted)}
            audit.record(connection, key.created_at, user_id, "api_key.created", key.id, details)

        self._run(work)
        return key, secret

    def list_api_keys(self, user_id: str) -> list[ApiKey]:
        rows = self._run(
            lambda c: c.execute(
                select(api_keys).where(api_keys.c.user_id == user_id).order_by(api_keys.c.created_at)
            ).all(),
            read_only=True,
        )
        return [_api_key(row) for row in rows]

    def revoke_api_key(self, user_id: str, key_id: str) -> None:
        """Revoke one of the user's keys; someone else's key is NotFound, like a missing one."""
        now = self.clock()

        def work(connection: Connection) -> None:
            result = connection.execute(
                update(api_keys)
                .where(
                    api_keys.c.id == key_id, api_keys.c.user_id == user_id, api_keys.c.revoked_at.is_(None)
                )
                .values(revoked_at=now)
            )
            if result.rowcount == 0:
                raise ApiKeyNotFound("no such API key")
            audit.record(connection, now, user_id, "api_key.revoked", key_id)

        self._run(work)

    def _authenticate_key(self, secret: str) -> Principal | None:
        parts = secret[len(API_KEY_PREFIX) :].split("_", 1)
        if len(parts) != 2:
            return None
        now = self.clock()

        def work(connection: Connection) -> Principal | None:
            row = connection.execute(select(api_keys).where(api_keys.c.prefix == parts[0])).first()
            if (
                row is None
                or not hmac.compare_digest(row.secret_hash, digest(secret))
                or row.revoked_at is not None
            ):
                return None
            if row.last_used_at is None or now - row.last_used_at > _LAST_USED_GRANULARITY:
                connection.execute(update(api_keys).where(api_keys.c.id == row.id).values(last_used_at=now))
            scopes = frozenset(row.scopes.split(","))
            return Principal(row.user_id, scopes, "api_key", row.id, self._roles(connection, row.user_id))

        return self._run(work)


def _api_key(row: Any) -> ApiKey:
    return ApiKey(
        row.id,
        row.prefix,
        row.name,
        frozenset(row.scopes.split(",")),
        row.created_at,
        row.last_used_at,
        row.revoked_at,
    )
