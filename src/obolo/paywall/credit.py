"""Credit notes: money a provider owes a reader back after a refund of a view whose
payment had already settled. No transfer of its own: the provider's next settlement with
that reader (a tab or a channel) posts that much less and releases that much more."""

from __future__ import annotations

from sqlalchemy import Connection, func, insert, select, update

from obolo.adapters.clock import NS_PER_SECOND
from obolo.adapters.db.schema import channel_refunds, charges, credit_notes
from obolo.adapters.ids import new_id


def issue_credit_note(
    connection: Connection, reader_id: str, provider_id: str, asset: str, amount: int, now: int
) -> str:
    note_id = new_id()
    connection.execute(
        insert(credit_notes).values(
            id=note_id, reader_id=reader_id, provider_id=provider_id, asset=asset,
            amount=amount, remaining=amount, created_at=now,
        )
    )  # fmt: skip
    return note_id


def net_credit_notes(connection: Connection, reader_id: str, provider_id: str, asset: str, due: int) -> int:
    """Apply the reader's open credit notes with this provider to `due`, oldest first;
    returns what is left to pay the provider."""
    left, spent = plan_credit_notes(connection, reader_id, provider_id, asset, due)
    apply_credit_notes(connection, spent)
    return left


def plan_credit_notes(
    connection: Connection, reader_id: str, provider_id: str, asset: str, due: int
) -> tuple[int, list[tuple[str, int]]]:
    """What applying the reader's open credit notes to `due` would do, writing nothing (so a
    settlement the ledger then refuses spends no note): what is left to pay, and each note
    touched with what it would have left, for `apply_credit_notes`."""
    spent: list[tuple[str, int]] = []
    notes = connection.execute(
        select(credit_notes)
        .where(
            credit_notes.c.reader_id == reader_id,
            credit_notes.c.provider_id == provider_id,
            credit_notes.c.asset == asset,
            credit_notes.c.remaining > 0,
        )
        .order_by(credit_notes.c.created_at)
    ).all()
    for note in notes:
        if due == 0:
            break
        applied = min(due, note.remaining)
        due -= applied
        spent.append((note.id, note.remaining - applied))
    return due, spent


def apply_credit_notes(connection: Connection, spent: list[tuple[str, int]]) -> None:
    for note_id, remaining in spent:
        connection.execute(
            update(credit_notes).where(credit_notes.c.id == note_id).values(remaining=remaining)
        )


def refunds_in_last_day(connection: Connection, reader_id: str, now: int) -> int:
    """How many views (charged or paid on a channel) the reader took back in the last 24 h:
    one daily limit covers both."""
    since = now - 24 * 3600 * NS_PER_SECOND
    charged = connection.execute(
        select(func.count()).where(charges.c.reader_id == reader_id, charges.c.refunded_at > since)
    ).scalar_one()
    on_channels = connection.execute(
        select(func.count()).where(
            channel_refunds.c.reader_id == reader_id, channel_refunds.c.created_at > since
        )
    ).scalar_one()
    return int(charged) + int(on_channels)
