"""Sign-in throttling: tries are counted against keys (`email:...`, `phone:...`, `ip:...`)
in `login_attempts`, and a key that failed too often slows down, then locks.

    claim(keys, now)                  before a secret is checked; raises RateLimited
    failed(keys, now)                 after a wrong secret: the slow-down
    succeeded(connection, keys, now)  in the transaction that opens the session

Each try is counted *before* its secret is checked, in one transaction that holds the
keys' rows locked (`FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` lets one writer
in at a time): parallel tries cannot all read "not locked" and then all be checked, so a
burst gets no more checks than the lock allows. A try is a failure until it is proved
right; a right one clears the subject's key (the first) and gives its count back to the
others (the address), so people signing in from one shared address do not lock it.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, delete, insert, select, update

from obolo.adapters.clock import NS_PER_SECOND
from obolo.adapters.db.schema import login_attempts
from obolo.adapters.db.transactions import run_in_transaction
from obolo.errors import RateLimited
from obolo.identity.model import throttle_delay
from obolo.settings import Settings

__all__ = ["SignInThrottle"]


class SignInThrottle:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    def _delay_ns(self, failures: int) -> int:
        s = self.settings
        return throttle_delay(failures, s.login_slow_after, s.login_lock_after, s.login_lock_seconds) * (
            NS_PER_SECOND
        )

    def claim(self, keys: list[str], now: int) -> None:
        """Count one try against every key, or none if any key is locked now: then
        RateLimited(retry_after), and the caller must not check the secret."""

        def work(connection: Connection) -> None:
            # One order for every claim, so two claims never wait on each other's rows.
            rows = {
                key: connection.execute(
                    select(login_attempts).where(login_attempts.c.key == key).with_for_update()
                ).first()
                for key in sorted(set(keys))
            }
            locked_until = max((row.locked_until for row in rows.values() if row is not None), default=0)
            if locked_until > now:
                retry_after = -(-(locked_until - now) // NS_PER_SECOND)
                raise RateLimited(f"too many failed sign-ins; try again in {retry_after} s", retry_after)
            for key, row in rows.items():
                failures = (row.failures if row is not None else 0) + 1
                # Only the lock is set here, which bounds how many secrets a burst gets
                # checked; the slow-down before it waits for a try proved wrong (`failed`),
                # or tries in flight from one shared address would slow each other down.
                kept = row.locked_until if row is not None else 0
                lock = now + self._delay_ns(failures) if failures >= self.settings.login_lock_after else kept
                values = {"failures": failures, "last_failure_at": now, "locked_until": lock}
                if row is None:
                    # A concurrent first try of the same key makes one insert fail on the
                    # unique key; the transaction is run again and finds the row.
                    connection.execute(insert(login_attempts).values(key=key, **values))
                else:
                    connection.execute(
                        update(login_attempts).where(login_attempts.c.key == key).values(**values)
                    )

        run_in_transaction(self.engine, work)

    def failed(self, keys: list[str], now: int) -> None:
        """The claimed try was wrong: each key waits what its failures call for (never less
        than it already must)."""

        def work(connection: Connection) -> None:
            for key in sorted(set(keys)):
                row = connection.execute(
                    select(login_attempts).where(login_attempts.c.key == key).with_for_update()
                ).first()
                if row is None:
                    continue
                locked_until = max(row.locked_until, now + self._delay_ns(row.failures))
                connection.execute(
                    update(login_attempts)
                    .where(login_attempts.c.key == key)
                    .values(locked_until=locked_until)
                )

        run_in_transaction(self.engine, work)

    def succeeded(self, connection: Connection, keys: list[str], now: int) -> None:
        """The claimed try was right: in the caller's transaction, clear the subject's key
        (`keys[0]`) and give the try back to the other keys, easing their wait to what their
        remaining failures call for (never lengthening it)."""
        connection.execute(delete(login_attempts).where(login_attempts.c.key == keys[0]))
        for key in sorted(set(keys[1:]) - {keys[0]}):
            row = connection.execute(
                select(login_attempts).where(login_attempts.c.key == key).with_for_update()
            ).first()
            if row is None or row.failures <= 0:
                continue
            failures = row.failures - 1
            locked_until = min(row.locked_until, now + self._delay_ns(failures))
            connection.execute(
                update(login_attempts)
                .where(login_attempts.c.key == key)
                .values(failures=failures, locked_until=locked_until)
            )
