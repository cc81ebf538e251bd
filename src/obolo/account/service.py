"""An account its holder manages: the password, the email address and the phone number
(each new one proved by a code sent to it), and the sessions open on it.

    change_password(user_id, current, new, keep)        revokes every other session
    request_email_change(user_id, password, email)      mails a code to the new address
    request_phone_change(user_id, phone) -> CodeMessage texts a code to the new number
    confirm_contact(user_id, kind, code)                the new one replaces the old
    sessions(user_id) / revoke_session / revoke_other_sessions

The rules, and why:
- Changing the password or the email asks for the current password again (a session left
  open on a shared computer must not take the account over); wrong tries count in the
  sign-in throttle under `password:<user>`.
- A code is kept only as an HMAC over its row id, the target and the code, lives
  `phone_code_seconds`, is used once and allows `phone_code_attempts` tries, each counted
  before the comparison. A person may ask for a few codes an hour.
- An address or number that is already someone's gets no code, and the answer is the
  same: it would tell who has an account. A code is never logged; a phone code goes to the
  gateway directly, never to an outbox.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Any

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, func, insert, select, update

from obolo.adapters.clock import NS_PER_SECOND
from obolo.adapters.db.schema import sessions, users
from obolo.adapters.db.schema_account import contact_codes
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.email_gateway import mask_address
from obolo.adapters.ids import new_id
from obolo.audit import service as audit
from obolo.errors import NotFound, RateLimited
from obolo.identity.emails import normalize_email
from obolo.identity.errors import EmailTaken, InvalidCode, PhoneTaken, WrongPassword
from obolo.identity.passwords import check_password
from obolo.identity.service import IdentityService
from obolo.mail.outbox import queue_email
from obolo.sms import model as sms_model
from obolo.sms.phone_sign_in import CodeMessage, PhoneSignIn, new_code

__all__ = ["AccountService", "SessionInfo"]

_HOUR = 3600 * NS_PER_SECOND
_MESSAGES = {
    "en": {
        "email_subject": "Confirm your new email address",
        "email_body": "Your Obolo code to confirm this email address: {code}. It expires in 10 minutes. "
        "If you did not ask for it, ignore this message.",
        "sms": "Obolo: your code to confirm this number is {code}. It expires in 10 minutes.",
        "changed_subject": "Your email address was changed",
        "changed_body": "The email address of your Obolo account is now {address}. If you did not do "
        "this, contact support at once.",
    },
    "it": {
        "email_subject": "Conferma il tuo nuovo indirizzo email",
        "email_body": "Il tuo codice Obolo per confermare questo indirizzo email: {code}. Scade tra 10 "
        "minuti. Se non l'hai chiesto, ignora questo messaggio.",
        "sms": "Obolo: il tuo codice per confermare questo numero è {code}. Scade tra 10 minuti.",
        "changed_subject": "Il tuo indirizzo email è cambiato",
        "changed_body": "L'indirizzo email del tuo account Obolo ora è {address}. Se non sei stato tu, "
        "contatta subito l'assistenza.",
    },
}


def _say(language: str, key: str, **values: str) -> str:
    return _MESSAGES.get(language, _MESSAGES["en"])[key].format(**values)


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: str  # half the token's digest, as a UUID: names it, reveals nothing of the token
    created_at: int
    last_used_at: int | None
    expires_at: int
    address: str | None
    current: bool
    device: str | None = None  # the User-Agent it was opened with (named by obolo.account.devices)


class AccountService:
    def __init__(self, identity: IdentityService, sms: PhoneSignIn, key: bytes) -> None:
        self.identity = identity
        self.sms = sms
        self.clock = identity.clock
        self.settings = identity.settings
        self._key = key

    def _hash(self, code_id: str, target: str, code: str) -> str:
        return hmac.new(self._key, f"{code_id}|{target}|{code}".encode(), hashlib.sha256).hexdigest()

    # -- the password ---------------------------------------------------------------------
    def check_current_password(self, user_id: str, password: str) -> None:
        """Raises WrongPassword (counted by the throttle; RateLimited once locked). An
        account that has no password (opened by SMS) passes."""
        keys = [f"password:{user_id}"]
        now = self.clock()
        stored = run_in_transaction(
            self.identity.engine,
            lambda c: c.execute(select(users.c.password_hash).where(users.c.id == user_id)).scalar(),
            read_only=True,
        )
        if stored is None:
            return
        self.identity.throttle.claim(keys, now)
        try:
            valid: bool = self.identity.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            valid = False
        if not valid:
            self.identity.throttle.failed(keys, now)
            raise WrongPassword("the current password is wrong")
        run_in_transaction(self.identity.engine, lambda c: self.identity.throttle.succeeded(c, keys, now))

    def change_password(self, user_id: str, current: str, new: str, keep_session: str | None) -> int:
        """Set a new password and revoke every session but `keep_session` (the one asking).
        Returns how many were revoked. Raises WrongPassword, WeakPassword, RateLimited."""
        user = self.identity.get_user(user_id)
        self.check_current_password(user_id, current)
        check_password(new, [user.email, user.display_name])
        password_hash = self.identity.hasher.hash(new)

        def work(connection: Connection) -> int:
            now = self.clock()
            connection.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))
            revoked = _revoke(connection, user_id, now, keep=keep_session)
            audit.record(connection, now, user_id, "password.changed", user_id, {"sessions_revoked": revoked})
            return revoked

        try:
            return run_in_transaction(self.identity.engine, work)
        finally:
            self.identity.forget_sessions()

    # -- a new email address or phone number ----------------------------------------------
    def request_email_change(self, user_id: str, password: str, email: str) -> None:
        """Mail a code to `email`. Raises InvalidEmail, WrongPassword, RateLimited."""
        email = normalize_email(email)
        self.check_current_password(user_id, password)
        code = new_code()
        language = self.identity.language(user_id)

        def work(connection: Connection) -> None:
            if self._new_code(connection, user_id, "email", email, code, users.c.email == email):
                body = _say(language, "email_body", code=code)
                queue_email(connection, email, _say(language, "email_subject"), body, self.clock())

        run_in_transaction(self.identity.engine, work)

    def request_phone_change(self, user_id: str, phone: str) -> CodeMessage | None:
        """The text to send to `phone` (deliver it after the answer), or None when the
        number is someone else's. Raises InvalidPhone, RateLimited."""
        phone = PhoneSignIn.normalize(phone)
        code = new_code()
        language = self.identity.language(user_id)

        def work(connection: Connection) -> CodeMessage | None:
            if self._new_code(connection, user_id, "phone", phone, code, users.c.phone == phone):
                return CodeMessage(phone, _say(language, "sms", code=code))
            return None

        return run_in_transaction(self.identity.engine, work)

    def deliver(self, message: CodeMessage) -> None:
        self.sms.deliver(message)

    def _new_code(
        self, connection: Connection, user_id: str, kind: str, target: str, code: str, taken: Any
    ) -> bool:
        """Keep a new code for `target` (False, and none kept, if it is someone's)."""
        now = self.clock()
        asked = connection.execute(
            select(func.count())
            .select_from(contact_codes)
            .where(contact_codes.c.user_id == user_id, contact_codes.c.created_at > now - _HOUR)
        ).scalar_one()
        if asked >= self.settings.phone_codes_per_hour:
            raise RateLimited("too many codes asked for; try again in an hour", 3600)
        owner = connection.execute(select(users.c.id).where(taken)).scalar_one_or_none()
        code_id = new_id()
        connection.execute(
            update(contact_codes)
            .where(
                contact_codes.c.user_id == user_id,
                contact_codes.c.kind == kind,
                contact_codes.c.used_at.is_(None),
            )
            .values(used_at=now)
        )  # one live code per kind: a new one replaces the earlier
        connection.execute(
            insert(contact_codes).values(
                id=code_id, user_id=user_id, kind=kind, target=target,
                # someone else's: a row that no code matches, so the count and the answer are alike
                code_hash=self._hash(code_id, target, code) if owner is None else "-" * 64,
                attempts=0, created_at=now, expires_at=now + self.settings.phone_code_seconds * NS_PER_SECOND,
                used_at=None,
            )
        )  # fmt: skip
        return owner is None

    def confirm_contact(self, user_id: str, kind: str, code: str) -> str:
        """The new email or phone (`kind`) whose live code this is replaces the old; returns
        it. Raises InvalidCode (wrong, expired, used, worn out), EmailTaken or PhoneTaken
        (taken meanwhile)."""
        code = "".join(code.split())[:12]
        now = self.clock()
        attempts = self.settings.phone_code_attempts

        def work(connection: Connection) -> str | None:
            row = connection.execute(
                select(contact_codes)
                .where(
                    contact_codes.c.user_id == user_id, contact_codes.c.kind == kind,
                    contact_codes.c.used_at.is_(None), contact_codes.c.attempts < attempts,
                    contact_codes.c.expires_at > now,
                )
                .with_for_update()
            ).first()  # fmt: skip
            if row is None:
                return None
            connection.execute(
                update(contact_codes).where(contact_codes.c.id == row.id).values(attempts=row.attempts + 1)
            )
            if not hmac.compare_digest(row.code_hash, self._hash(row.id, row.target, code)):
                return None
            column = users.c.email if kind == "email" else users.c.phone
            owner = connection.execute(select(users.c.id).where(column == row.target)).scalar_one_or_none()
            if owner is not None and owner != user_id:
                raise (EmailTaken if kind == "email" else PhoneTaken)(f"that {kind} is someone else's now")
            connection.execute(update(contact_codes).where(contact_codes.c.id == row.id).values(used_at=now))
            old = connection.execute(select(column).where(users.c.id == user_id)).scalar()
            connection.execute(update(users).where(users.c.id == user_id).values({column.name: row.target}))
            details: dict[str, str | None]
            if kind == "email":
                language = (
                    connection.execute(select(users.c.language).where(users.c.id == user_id)).scalar() or "en"
                )
                body = _say(language, "changed_body", address=row.target)
                if old:
                    queue_email(connection, old, _say(language, "changed_subject"), body, now)
                details = {"from": mask_address(old or ""), "to": mask_address(row.target)}
            else:
                details = {
                    "from": sms_model.mask_phone(old) if old else None,
                    "to": sms_model.mask_phone(row.target),
                }
            audit.record(connection, now, user_id, f"{kind}.changed", user_id, details)
            return str(row.target)

        changed = run_in_transaction(self.identity.engine, work)
        if changed is None:
            raise InvalidCode("wrong, expired or used code")
        return changed

    # -- sessions ---------------------------------------------------------------------------
    def sessions(self, user_id: str, current: str | None = None) -> list[SessionInfo]:
        """The sessions open now, newest first; `current` (a principal's credential id)
        marks the one asking."""
        now = self.clock()
        rows = run_in_transaction(
            self.identity.engine,
            lambda c: c.execute(
                select(sessions)
                .where(
                    sessions.c.user_id == user_id,
                    sessions.c.revoked_at.is_(None),
                    sessions.c.expires_at > now,
                )
                .order_by(sessions.c.created_at.desc())
            ).all(),
            read_only=True,
        )
        return [
            SessionInfo(
                session_id(r.token_hash),
                r.created_at,
                r.last_used_at,
                r.expires_at,
                r.address,
                r.token_hash[:12] == current,
                r.device,
            )
            for r in rows
        ]

    def revoke_session(self, user_id: str, session_id: str) -> None:
        """Revoke one of the person's sessions; someone else's is NotFound, like a missing one."""
        try:
            wanted = uuid.UUID(session_id).hex
        except ValueError:
            raise NotFound("no such session") from None

        def work(connection: Connection) -> None:
            now = self.clock()
            found = connection.execute(
                select(sessions.c.token_hash).where(
                    sessions.c.user_id == user_id,
                    sessions.c.revoked_at.is_(None),
                    sessions.c.expires_at > now,
                    func.substr(sessions.c.token_hash, 1, 32) == wanted,
                )
            ).first()
            if found is None:
                raise NotFound("no such session")
            connection.execute(
                update(sessions).where(sessions.c.token_hash == found.token_hash).values(revoked_at=now)
            )
            audit.record(connection, now, user_id, "session.revoked", user_id, {"session": session_id})

        try:
            run_in_transaction(self.identity.engine, work)
        finally:
            self.identity.forget_sessions()

    def revoke_other_sessions(self, user_id: str, keep: str | None) -> int:
        def work(connection: Connection) -> int:
            now = self.clock()
            revoked = _revoke(connection, user_id, now, keep=keep)
            audit.record(
                connection, now, user_id, "session.revoked_others", user_id, {"sessions_revoked": revoked}
            )
            return revoked

        try:
            return run_in_transaction(self.identity.engine, work)
        finally:
            self.identity.forget_sessions()


def session_id(token_hash: str) -> str:
    return str(uuid.UUID(hex=token_hash[:32]))


def _revoke(connection: Connection, user_id: str, now: int, keep: str | None) -> int:
    """Revoke the user's open sessions but the one whose id is `keep`; how many."""
    condition = [sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None)]
    if keep:
        condition.append(func.substr(sessions.c.token_hash, 1, 12) != keep)
    return int(connection.execute(update(sessions).where(*condition).values(revoked_at=now)).rowcount)
