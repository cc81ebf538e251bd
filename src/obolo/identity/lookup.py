"""Find a person by how others know them: user id, email or phone number. Used by other
products (a payment's recipient) inside their own transaction."""

from __future__ import annotations

import uuid

import phonenumbers
from sqlalchemy import Connection, func, select, update

from obolo.adapters.db.schema import users
from obolo.identity.emails import email_key
from obolo.locale import language_of


def find_user_id(connection: Connection, handle: str) -> str | None:
    """The user id for a user id, an email address or an E.164 phone number."""
    handle = handle.strip()
    if not handle or len(handle) > 254:
        return None
    if "@" in handle:
        condition = users.c.email == email_key(handle)
    elif handle.startswith("+"):
        try:
            number = phonenumbers.parse(handle, None)
        except phonenumbers.NumberParseException:
            return None
        condition = users.c.phone == phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    else:
        try:
            condition = users.c.id == str(uuid.UUID(handle))
        except ValueError:
            return None
    found = connection.execute(select(users.c.id).where(condition)).scalar_one_or_none()
    return found


def display_names(connection: Connection, user_ids: set[str]) -> dict[str, str]:
    if not user_ids:
        return {}
    rows = connection.execute(select(users.c.id, users.c.display_name).where(users.c.id.in_(user_ids))).all()
    return {row.id: row.display_name for row in rows}


def count_users(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(users)).scalar_one())


def set_user_language(connection: Connection, user_id: str, language: str) -> str:
    """Keep the language the person reads, taken to the nearest one spoken; returns it."""
    chosen = language_of(language)
    connection.execute(update(users).where(users.c.id == user_id).values(language=chosen))
    return chosen
