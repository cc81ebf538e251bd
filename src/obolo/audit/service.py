"""Recording and checking the audit trail. `record` writes inside the caller's
transaction, so an action and its audit entry commit together or not at all; the chain
head is locked, so concurrent writers line up instead of forking the chain."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from obolo.adapters.db.schema import audit_head, audit_log
from obolo.adapters.db.transactions import run_in_transaction
from obolo.audit.model import Anchor, AuditEntry, ChainBreak, chain_hash, verify_chain

# Keys whose values never enter the trail, whatever a caller passes.
_SECRET_KEYS = {"password", "secret", "token", "pin", "card", "card_number", "uid", "api_key", "key"}


def record(
    connection: Connection,
    at: int,
    actor: str,
    action: str,
    subject: str,
    details: dict[str, Any] | None = None,
    address: str | None = None,
) -> AuditEntry:
    """Append one entry, chained to the last, in the caller's transaction."""
    clean = {k: v for k, v in (details or {}).items() if k.lower() not in _SECRET_KEYS}
    head = connection.execute(
        select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1).with_for_update()
    ).one()
    entry = AuditEntry(head.seq + 1, at, actor, action, subject[:200], clean, address)
    link = chain_hash(head.hash, entry)
    connection.execute(
        audit_log.insert().values(
            seq=entry.seq, at=at, actor=actor, action=action, subject=entry.subject,
            details=json.dumps(clean, sort_keys=True), address=address, prev_hash=head.hash, hash=link,
        )
    )  # fmt: skip
    connection.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=entry.seq, hash=link))
    return entry


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        row.seq, row.at, row.actor, row.action, row.subject, json.loads(row.details), row.address
    )


def current_anchor(engine: Engine, at: int) -> Anchor:
    """The chain's head now, to keep outside the database (see Anchor)."""

    def work(connection: Connection) -> Anchor:
        row = connection.execute(
            select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
        ).one()
        return Anchor(row.seq, row.hash, at)

    return run_in_transaction(engine, work, read_only=True)


def verify(engine: Engine, batch: int = 5_000, anchors: Iterable[Anchor] = ()) -> list[ChainBreak]:
    """Walk the whole trail and report every break (an empty list: intact), checking it
    also meets every anchor kept outside the database."""
    anchored = {anchor.seq: anchor.hash for anchor in anchors if anchor.seq > 0}

    def work(connection: Connection) -> list[ChainBreak]:
        head = connection.execute(
            select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
        ).one()

        def links() -> Any:
            after = 0
            while True:
                rows = connection.execute(
                    select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq).limit(batch)
                ).all()
                if not rows:
                    return
                for row in rows:
                    yield _entry(row), row.prev_hash, row.hash
                after = rows[-1].seq

        return verify_chain(links(), (head.seq, head.hash), anchored)

    return run_in_transaction(engine, work, read_only=True)


def entries(engine: Engine, *, limit: int = 100, action: str | None = None) -> list[AuditEntry]:
    """The newest entries first (for the operator's console)."""

    def work(connection: Connection) -> list[AuditEntry]:
        query = select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
        if action:
            query = query.where(audit_log.c.action == action)
        return [_entry(row) for row in connection.execute(query)]

    return run_in_transaction(engine, work, read_only=True)
