"""Builders for test data that other layers would normally create."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
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
