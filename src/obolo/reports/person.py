"""One person as the operator sees them: who, standing, cards, SMS numbers, API keys (never
their secrets), open sessions and the audit entries about them. Balances and history come
from the wallet service; this reads the rest in one transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, or_, select

from obolo.account.service import session_id
from obolo.adapters.db.schema import api_keys, audit_log, sessions, user_roles, users
from obolo.adapters.db.schema_account import two_factor
from obolo.adapters.db.schema_sms import sms_phones
from obolo.adapters.db.schema_tap import tap_cards
from obolo.adapters.db.transactions import run_in_transaction
from obolo.identity.standing import Standing, standing_of

__all__ = ["PersonFile", "person_file"]


@dataclass(frozen=True, slots=True)
class PersonFile:
    id: str
    email: str
    display_name: str
    phone: str | None
    language: str
    roles: list[str]
    created_at: int
    standing: Standing
    two_factor: bool
    cards: list[dict[str, Any]] = field(default_factory=list)
    sms_numbers: list[dict[str, Any]] = field(default_factory=list)
    api_keys: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)


def person_file(engine: Engine, user_id: str, now: int, audit_limit: int = 50) -> PersonFile | None:
    """None for an id that names nobody."""

    def work(connection: Connection) -> PersonFile | None:
        user = connection.execute(select(users).where(users.c.id == user_id)).first()
        if user is None:
            return None
        roles = sorted(
            connection.execute(select(user_roles.c.role).where(user_roles.c.user_id == user_id)).scalars()
        )
        enabled = connection.execute(
            select(two_factor.c.enabled_at).where(two_factor.c.user_id == user_id)
        ).scalar()
        cards = connection.execute(
            select(
                tap_cards.c.id,
                tap_cards.c.label,
                tap_cards.c.asset,
                tap_cards.c.owed,
                tap_cards.c.blocked_at,
                tap_cards.c.created_at,
            )
            .where(tap_cards.c.user_id == user_id)
            .order_by(tap_cards.c.created_at)
        ).all()
        numbers = connection.execute(
            select(sms_phones.c.phone, sms_phones.c.language, sms_phones.c.verified_at).where(
                sms_phones.c.user_id == user_id
            )
        ).all()
        keys = connection.execute(
            select(
                api_keys.c.id,
                api_keys.c.prefix,
                api_keys.c.name,
                api_keys.c.scopes,
                api_keys.c.created_at,
                api_keys.c.last_used_at,
                api_keys.c.revoked_at,
            )
            .where(api_keys.c.user_id == user_id)
            .order_by(api_keys.c.created_at)
        ).all()
        open_sessions = connection.execute(
            select(
                sessions.c.token_hash,
                sessions.c.created_at,
                sessions.c.last_used_at,
                sessions.c.address,
                sessions.c.device,
            )
            .where(
                sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None), sessions.c.expires_at > now
            )
            .order_by(sessions.c.created_at.desc())
        ).all()
        trail = connection.execute(
            select(audit_log)
            .where(or_(audit_log.c.subject == user_id, audit_log.c.actor == user_id))
            .order_by(audit_log.c.seq.desc())
            .limit(audit_limit)
        ).all()
        return PersonFile(
            user.id,
            user.email,
            user.display_name,
            user.phone,
            user.language,
            roles,
            user.created_at,
            standing_of(connection, user_id),
            enabled is not None,
            [dict(r._mapping) for r in cards],
            [dict(r._mapping) for r in numbers],
            [{**dict(r._mapping), "scopes": r.scopes.split(",")} for r in keys],
            [
                {
                    "id": session_id(r.token_hash),
                    "created_at": r.created_at,
                    "last_used_at": r.last_used_at,
                    "address": r.address,
                    "device": r.device,
                }
                for r in open_sessions
            ],
            [
                {
                    "seq": r.seq,
                    "at": r.at,
                    "actor": r.actor,
                    "action": r.action,
                    "details": json.loads(r.details),
                    "address": r.address,
                }
                for r in trail
            ],
        )

    return run_in_transaction(engine, work, read_only=True)
