"""An account's standing: frozen by an operator (no sign-in, no top-up, payment or
withdrawal until unfrozen), or closed by its holder for good. Checked by sign-in and by
the wallet's money-moving use cases inside their own transactions."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import URL, Connection, Engine, insert, select, update

from obolo.adapters.clock import Clock
from obolo.adapters.db.schema_account import account_standing
from obolo.adapters.db.transactions import run_in_transaction
from obolo.audit import service as audit
from obolo.identity.errors import AccountClosed, AccountFrozen, ReasonRequired

REASON_LENGTH = (5, 500)  # as an adjustment's

__all__ = [
    "Standing",
    "changes",
    "check_may_move_money",
    "check_may_sign_in",
    "forget",
    "freeze",
    "remember",
    "standing_of",
    "unfreeze",
]


@dataclass(frozen=True, slots=True)
class Standing:
    frozen_at: int | None = None
    frozen_by: str | None = None
    frozen_reason: str | None = None
    closed_at: int | None = None


def standing_of(connection: Connection, user_id: str) -> Standing:
    row = connection.execute(select(account_standing).where(account_standing.c.user_id == user_id)).first()
    if row is None:
        return Standing()
    return Standing(row.frozen_at, row.frozen_by, row.frozen_reason, row.closed_at)


def check_may_sign_in(connection: Connection, user_id: str) -> None:
    """Raises AccountClosed or AccountFrozen."""
    found = standing_of(connection, user_id)
    if found.closed_at is not None:
        raise AccountClosed("this account is closed")
    if found.frozen_at is not None:
        raise AccountFrozen("this account is frozen; contact support")


@dataclass
class _Seen:
    """The people a process found in good standing lately, on one database."""

    good: dict[str, float] = field(default_factory=dict)  # user id -> when (monotonic)
    changes: int = 0  # bumped by every freeze or closing made in this process


_SEEN_KEPT = 100_000  # people at most, per database
_seen: dict[URL, _Seen] = {}
_seen_lock = threading.Lock()


def check_may_move_money(connection: Connection, user_id: str, *, reuse_for: float = 0.0) -> None:
    """The same two refusals as sign-in: a frozen account neither signs in nor moves money.
    Raises AccountClosed or AccountFrozen.

    With `reuse_for` (seconds), someone this process found in good standing at most that
    long ago is not read again (a statement on a payment's hot path): a freeze or a
    closing made in this process is seen at once (`forget`), one made in another process
    of the deployment within that time, as a sign-out is (`session_cache_seconds`)."""
    if reuse_for <= 0:
        check_may_sign_in(connection, user_id)
        return
    url = connection.engine.url
    with _seen_lock:
        seen = _seen.setdefault(url, _Seen())
        when = seen.good.get(user_id)
        changes = seen.changes
    now = time.monotonic()
    if when is not None and now - when < reuse_for:
        return
    check_may_sign_in(connection, user_id)
    with _seen_lock:
        if seen.changes == changes:  # no freeze since the read: what it saw still holds
            if len(seen.good) >= _SEEN_KEPT:
                seen.good.clear()
            seen.good[user_id] = now


def changes(engine: Engine) -> int:
    """How many standings changed in this process so far, on `engine`'s database: taken
    before a read of someone's standing that is to be `remember`ed."""
    with _seen_lock:
        return _seen.setdefault(engine.url, _Seen()).changes


def remember(engine: Engine, user_id: str, frozen_at: int | None, closed_at: int | None, since: int) -> None:
    """Keep what another read found of someone's standing (sign-in's read of a session
    carries it), as `check_may_move_money` keeps its own: a good standing read after
    `since` (`changes`) with no change made in this process since."""
    if frozen_at is not None or closed_at is not None:
        return
    with _seen_lock:
        seen = _seen.setdefault(engine.url, _Seen())
        if seen.changes == since:
            if len(seen.good) >= _SEEN_KEPT:
                seen.good.clear()
            seen.good[user_id] = time.monotonic()


def forget(engine: Engine, user_id: str) -> None:
    """The person's standing changed (frozen, unfrozen, closed): read it again next time.
    Called once the change has committed; a check that read it before and would keep
    what it read after this call keeps nothing."""
    with _seen_lock:
        seen = _seen.setdefault(engine.url, _Seen())
        seen.changes += 1
        seen.good.pop(user_id, None)


def _save(connection: Connection, user_id: str, **values: object) -> None:
    exists = connection.execute(
        select(account_standing.c.user_id).where(account_standing.c.user_id == user_id).with_for_update()
    ).first()
    if exists is None:
        connection.execute(insert(account_standing).values(user_id=user_id, **values))
    else:
        connection.execute(
            update(account_standing).where(account_standing.c.user_id == user_id).values(**values)
        )


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not REASON_LENGTH[0] <= len(reason) <= REASON_LENGTH[1]:
        raise ReasonRequired(f"say why, in {REASON_LENGTH[0]} to {REASON_LENGTH[1]} characters")
    return reason


def freeze(engine: Engine, clock: Clock, operator_id: str, user_id: str, reason: str) -> Standing:
    """Freeze the account, with a reason, audited under the operator. Freezing a frozen
    account changes nothing. Raises ReasonRequired; the caller checks the operator role
    and that `user_id` names someone."""
    reason = _reason(reason)

    def work(connection: Connection) -> Standing:
        current = standing_of(connection, user_id)
        if current.frozen_at is not None:
            return current
        now = clock()
        _save(connection, user_id, frozen_at=now, frozen_by=operator_id, frozen_reason=reason)
        audit.record(connection, now, operator_id, "account.frozen", user_id, {"reason": reason})
        return standing_of(connection, user_id)

    try:
        return run_in_transaction(engine, work)
    finally:
        forget(engine, user_id)


def unfreeze(engine: Engine, clock: Clock, operator_id: str, user_id: str, reason: str) -> Standing:
    """Lift a freeze, with a reason, audited under the operator. Raises ReasonRequired."""
    reason = _reason(reason)

    def work(connection: Connection) -> Standing:
        current = standing_of(connection, user_id)
        if current.frozen_at is None:
            return current
        now = clock()
        _save(connection, user_id, frozen_at=None, frozen_by=None, frozen_reason=None)
        audit.record(connection, now, operator_id, "account.unfrozen", user_id, {"reason": reason})
        return standing_of(connection, user_id)

    try:
        return run_in_transaction(engine, work)
    finally:
        forget(engine, user_id)
