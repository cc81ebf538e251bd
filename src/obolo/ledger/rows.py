"""Conversions between ledger values and database rows (ids as 16 big-endian bytes)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from obolo.ledger.model import (
    Account,
    AccountFlags,
    PendingState,
    PendingStatus,
    StoredTransfer,
)


def id_bytes(value: int) -> bytes:
    return value.to_bytes(16, "big")


def id_int(value: bytes) -> int:
    return int.from_bytes(value, "big")


def metadata_text(metadata: Mapping[str, str] | None) -> str | None:
    if not metadata:
        return None
    return json.dumps(dict(metadata), sort_keys=True, separators=(",", ":"))


def metadata_value(text: str | None) -> dict[str, str] | None:
    return json.loads(text) if text else None


ACCOUNT_COLUMNS = (
    "id, asset, code, flags, owner, debits_posted, credits_posted, debits_pending, "
    "credits_pending, timestamp, last_timestamp"
)


def account_from_row(row: Any) -> tuple[Account, int]:
    """(account, last_timestamp) from a row selected with ACCOUNT_COLUMNS."""
    account = Account(
        id=id_int(row[0]),
        asset=row[1],
        code=row[2],
        flags=AccountFlags(row[3]),
        owner=row[4],
        debits_posted=row[5],
        credits_posted=row[6],
        debits_pending=row[7],
        credits_pending=row[8],
        timestamp=row[9],
    )
    return account, row[10]


TRANSFER_COLUMNS = (
    "id, debit_account_id, credit_account_id, amount, requested_amount, pending_id, asset, "
    "code, flags, timeout, metadata, timestamp, failure"
)
#: The accounts recorded on a failed transfer's row: id 0, which no account can have.
NO_ACCOUNT = bytes(16)


def transfer_row(t: StoredTransfer) -> tuple[Any, ...]:
    return (
        id_bytes(t.id),
        id_bytes(t.debit_account_id),
        id_bytes(t.credit_account_id),
        t.amount,
        t.requested_amount,
        None if t.pending_id is None else id_bytes(t.pending_id),
        t.asset,
        t.code,
        t.flags,
        t.timeout,
        metadata_text(t.metadata),
        t.timestamp,
        None,
    )


def transfer_from_row(row: Any) -> StoredTransfer:
    return StoredTransfer(
        id=id_int(row[0]),
        debit_account_id=id_int(row[1]),
        credit_account_id=id_int(row[2]),
        amount=row[3],
        requested_amount=row[4],
        pending_id=None if row[5] is None else id_int(row[5]),
        asset=row[6],
        code=row[7],
        flags=row[8],
        timeout=row[9],
        metadata=metadata_value(row[10]),
        timestamp=row[11],
    )


PENDING_COLUMNS = "id, debit_account_id, credit_account_id, amount, expires_at, status, resolved_at"


def pending_row(p: PendingState) -> tuple[Any, ...]:
    return (
        id_bytes(p.id),
        id_bytes(p.debit_account_id),
        id_bytes(p.credit_account_id),
        p.amount,
        p.expires_at,
        int(p.status),
        p.resolved_at,
    )


def pending_from_row(row: Any) -> PendingState:
    return PendingState(
        id=id_int(row[0]),
        debit_account_id=id_int(row[1]),
        credit_account_id=id_int(row[2]),
        amount=row[3],
        expires_at=row[4],
        status=PendingStatus(row[5]),
        resolved_at=row[6],
    )
