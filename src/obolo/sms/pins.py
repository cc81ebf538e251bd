"""PINs: set, changed, checked. Every wrong PIN counts in the database; the last allowed wrong
one locks sending for a while and drops any send waiting for a PIN. Only PIN hashes are kept."""

from __future__ import annotations

import secrets

import structlog
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, select, update

from obolo.adapters.db.schema_sms import sms_confirmations, sms_phones
from obolo.sms import model
from obolo.sms.context import Number, SmsContext
from obolo.sms.errors import PinAlreadySet, PinNotSet, SendingLocked, WrongPin
from obolo.sms.model import Lang
from obolo.sms.texts import say

log = structlog.get_logger("obolo.sms")


class Pins:
    def __init__(self, context: SmsContext) -> None:
        self.context = context
        self._dummy_hash: str | None = None

    def _matches(self, stored: str | None, pin: str) -> bool:
        if stored is None:
            # Same work either way, so timing does not say whether a PIN is set.
            if self._dummy_hash is None:
                self._dummy_hash = self.context.hasher.hash(secrets.token_urlsafe(8))
            stored = self._dummy_hash
            pin = ""
        try:
            return bool(self.context.hasher.verify(stored, pin)) and bool(pin)
        except (VerificationError, InvalidHashError):
            return False

    def refuse_if_locked(self, number: Number) -> None:
        """Raises SendingLocked while wrong PINs keep the number from sending."""
        if number.locked_until > self.context.clock():
            raise SendingLocked("sending is locked", until=number.locked_until)

    def verify(self, number: Number, pin: str) -> None:
        """Check the PIN; a wrong one counts, and the last allowed wrong one locks sending
        (and drops any send waiting for a PIN). Raises PinNotSet, SendingLocked, WrongPin."""
        ctx = self.context
        if number.pin_hash is None:
            raise PinNotSet("no PIN yet")
        self.refuse_if_locked(number)
        if self._matches(number.pin_hash, pin):
            if number.pin_failures:
                ctx.update_number(number.phone, pin_failures=0)
            return
        attempts = ctx.settings.sms_pin_attempts

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
            now = ctx.clock()
            if failures < attempts:
                return failures, 0
            until = now + ctx.seconds(ctx.settings.sms_lock_seconds)
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

        failures, until = ctx.write(work)
        log.info("sms wrong pin", phone=model.mask_phone(number.phone), locked=bool(until))
        if until:
            raise SendingLocked("too many wrong PINs", until=until)
        raise WrongPin("wrong PIN", left=attempts - failures)

    def set_pin(self, command: model.SetPin, number: Number, lang: Lang) -> str:
        """PIN <new> the first time, PIN <old> <new> after. Raises PinAlreadySet, WeakPin and
        what `verify` raises."""
        ctx = self.context
        if command.old is None:
            if number.pin_hash is not None:
                raise PinAlreadySet("change it with PIN <old> <new>")
            model.check_pin(command.new)
            ctx.update_number(number.phone, pin_hash=ctx.hasher.hash(command.new))
            return say("pin_set", lang)
        self.verify(number, command.old)
        model.check_pin(command.new)
        ctx.update_number(number.phone, pin_hash=ctx.hasher.hash(command.new), pin_failures=0)
        return say("pin_changed", lang)


__all__ = ["Pins"]
