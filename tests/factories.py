"""Builders for test data that other layers would normally create."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Engine, insert, update

from obolo.adapters.db.schema import idempotency_keys, users
from obolo.adapters.ids import new_id
from obolo.bootstrap import Platform, build
from obolo.ledger.check import check_ledger


def make_user(
    engine: Engine, email: str, *, display_name: str | None = None, phone: str | None = None
) -> str:
    """A user row with no password (enough for wallet rules); returns the id."""
    user_id = new_id()
    with engine.begin() as connection:
        connection.execute(
            insert(users).values(
                id=user_id,
                email=email,
                password_hash=None,
                display_name=display_name or email.split("@")[0].title(),
                phone=phone,
                created_at=0,
            )
        )
    return user_id


def checked_platform(*args: Any, **kwargs: Any) -> Iterator[Platform]:
    """A platform built with `build(*args, **kwargs)` for one test, with cheap password
    hashing; when the test is done its books must balance."""
    built = build(*args, **kwargs)
    built.identity.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield built
    assert check_ledger(built.engine) == []
    built.close()


def dead_pid() -> int:
    """The pid of a process of this host that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def dead_owner() -> str:
    """An idempotency claim's owner as a process of this host that was killed would leave it."""
    return f"{socket.gethostname()[:40]}:{dead_pid()}:0badcafe"


def unfinished(engine: Engine, key: str, owner: str | None) -> None:
    """Make the key's stored answer look like a first request that never finished: its
    work committed, then its process died before the answer was stored."""
    with engine.begin() as connection:
        connection.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.key == key)
            .values(status_code=None, response_body=None, completed_at=None, owner=owner)
        )


def claimed_by_the_dead(
    engine: Engine, principal: str, key: str, request_hash: str, owner: str, now: int
) -> None:
    """The key as a first request leaves it when its process is killed mid-work: claimed
    by that process, with no answer."""
    with engine.begin() as connection:
        connection.execute(
            insert(idempotency_keys).values(
                principal=principal, key=key, request_hash=request_hash, created_at=now, owner=owner
            )
        )


class Killed(BaseException):
    """The process dies here: nothing after this point runs. Not an `Exception`, so no
    handler on the way out answers for it."""


# Where a payout's process can die between its commits: the withdrawal held (its first
# commit), the bank asked, the withdrawal settled (its second), the statement written.
PAYOUT_KILL_POINTS = ("before the bank", "after the bank", "before the statement")


def kill_payout_once(monkeypatch: Any, platform: Platform, point: str) -> None:
    """The next payout's process dies once at `point` (one of PAYOUT_KILL_POINTS)."""
    if point == "before the statement":  # the withdrawal settled; the statement is worked out next
        statement_of = platform.payouts._statement_of

        def dies(*args: Any) -> Any:
            monkeypatch.setattr(platform.payouts, "_statement_of", statement_of)
            raise Killed

        monkeypatch.setattr(platform.payouts, "_statement_of", dies)
        return
    bank = platform.wallets.bank

    def payout(idempotency_key: str, amount: int, asset: str, iban: str) -> Any:
        monkeypatch.setattr(platform.wallets, "bank", bank)
        if point == "before the bank":
            raise Killed
        bank.payout(idempotency_key, amount, asset, iban)  # paid, or refused: the bank knows
        raise Killed

    dying = SimpleNamespace(payout=payout, settlement_report=bank.settlement_report)
    monkeypatch.setattr(platform.wallets, "bank", dying)
