"""Every table, as SQLAlchemy Core metadata. Alembic migrations create them; this module
is what queries are written against.

Ids are 128-bit and stored as 16 big-endian bytes, so they sort like the integers they
are (and UUIDv7 ids sort by time) on both SQLite and PostgreSQL. Amounts are signed
64-bit integers of units; the ledger refuses anything that would not fit.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


def _id(name: str, *args: object, **kwargs: object) -> Column[bytes]:
    return Column(name, LargeBinary(16), *args, **kwargs)  # type: ignore[arg-type]


assets = Table(
    "ledger_assets",
    metadata,
    Column("code", String(12), primary_key=True),
    Column("scale", SmallInteger, nullable=False),
    CheckConstraint("scale >= 0 AND scale <= 18", name="scale_range"),
)

accounts = Table(
    "ledger_accounts",
    metadata,
    _id("id", primary_key=True),
    Column("asset", String(12), ForeignKey("ledger_assets.code"), nullable=False),
    Column("code", Integer, nullable=False),
    Column("flags", Integer, nullable=False),
    Column("owner", String(200), nullable=True),
    Column("debits_posted", BigInteger, nullable=False),
    Column("credits_posted", BigInteger, nullable=False),
    Column("debits_pending", BigInteger, nullable=False),
    Column("credits_pending", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    # The newest event on this account: the next one must be later, so an account's
    # history has one order whatever the clocks of concurrent writers say.
    Column("last_timestamp", BigInteger, nullable=False),
    CheckConstraint(
        "debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 AND credits_pending >= 0",
        name="totals_not_negative",
    ),
    # The flags are enforced by the ledger's code and, again, by the database.
    CheckConstraint(
        "(flags & 2) = 0 OR debits_posted + debits_pending <= credits_posted",
        name="debits_must_not_exceed_credits",
    ),
    CheckConstraint(
        "(flags & 4) = 0 OR credits_posted + credits_pending <= debits_posted",
        name="credits_must_not_exceed_debits",
    ),
)

transfers = Table(
    "ledger_transfers",
    metadata,
    _id("id", primary_key=True),
    _id("debit_account_id", ForeignKey("ledger_accounts.id"), nullable=False),
    _id("credit_account_id", ForeignKey("ledger_accounts.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("requested_amount", BigInteger, nullable=True),
    _id("pending_id", nullable=True),
    Column("asset", String(12), nullable=False),
    Column("code", Integer, nullable=False),
    Column("flags", Integer, nullable=False),
    Column("timeout", Integer, nullable=False),
    Column("metadata", Text, nullable=True),
    Column("timestamp", BigInteger, nullable=False),
    CheckConstraint("amount >= 0", name="amount_not_negative"),
    CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
    Index("ix_ledger_transfers_debit", "debit_account_id", "timestamp"),
    Index("ix_ledger_transfers_credit", "credit_account_id", "timestamp"),
)

pending_transfers = Table(
    "ledger_pending_transfers",
    metadata,
    _id("id", ForeignKey("ledger_transfers.id"), primary_key=True),
    _id("debit_account_id", nullable=False),
    _id("credit_account_id", nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),  # 0: never
    Column("status", SmallInteger, nullable=False),
    Column("resolved_at", BigInteger, nullable=False),  # 0: still pending
    Index("ix_ledger_pending_due", "status", "expires_at"),
)

failed_transfers = Table(
    "ledger_failed_transfers",
    metadata,
    _id("id", primary_key=True),
    Column("result", String(40), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
)
