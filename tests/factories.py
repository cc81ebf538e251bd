"""Builders for test data that other layers would normally create."""

from __future__ import annotations

from sqlalchemy import Engine, insert

from obolo.adapters.db.schema import users
from obolo.adapters.ids import new_id


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
