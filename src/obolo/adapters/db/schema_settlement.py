"""Payout preferences and statements, on the one shared metadata (see `schema`)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, String, Table, Text

from obolo.adapters.db.metadata import metadata

# Where and when a person (provider, merchant, worker) is paid out. The IBAN is sealed by
# the SecretBox (it must be read back to pay); only its masked form is shown.
payout_accounts = Table(
    "payout_accounts",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id"), primary_key=True),
    Column("asset", String(12), nullable=False),
    Column("iban_sealed", Text, nullable=False),
    Column("iban_masked", String(20), nullable=False),
    Column("schedule", String(10), nullable=False),  # daily, manual
    Column("minimum", BigInteger, nullable=False),
    # Where the last payout's statement ended (the ledger time of its hold), and when the
    # daily job last looked, paid or not (its next payout's key names that look, so a run
    # killed mid-payout is found by the next run, whatever the day).
    Column("last_payout_at", BigInteger, nullable=True),
    Column("last_checked_at", BigInteger, nullable=True),
    Column("updated_at", BigInteger, nullable=False),
    Index("ix_payout_accounts_due", "schedule", "last_checked_at"),
)

# One per payout: what the period earned and cost, and what was paid. Its id is the
# withdrawal movement's, so a retried payout finds its statement.
payout_statements = Table(
    "payout_statements",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("asset", String(12), nullable=False),
    Column("period_start", BigInteger, nullable=False),
    Column("period_end", BigInteger, nullable=False),
    Column("earned", BigInteger, nullable=False),
    Column("fees", BigInteger, nullable=False),
    Column("refunds", BigInteger, nullable=False),
    Column("topped_up", BigInteger, nullable=False),
    Column("spent", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("payout_fee", BigInteger, nullable=False),
    Column("status", String(12), nullable=False),  # succeeded, failed
    Column("created_at", BigInteger, nullable=False),
    Index("ix_payout_statements_user", "user_id", "created_at"),
)
