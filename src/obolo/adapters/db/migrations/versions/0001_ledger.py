"""The ledger: assets, accounts, transfers (applied and failed ids), pending transfers.

Revision ID: 0001_ledger
Revises:
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001_ledger"
down_revision = None
branch_labels = None
depends_on = None


def _id(name: str, **kwargs: Any) -> "sa.Column[bytes]":
    return sa.Column(name, sa.LargeBinary(16), **kwargs)


def upgrade() -> None:
    op.create_table(
        "ledger_assets",
        sa.Column("code", sa.String(12), primary_key=True),
        sa.Column("scale", sa.SmallInteger, nullable=False),
        sa.CheckConstraint("scale >= 0 AND scale <= 18", name="ck_ledger_assets_scale_range"),
        sa.PrimaryKeyConstraint("code", name="pk_ledger_assets"),
    )
    op.create_table(
        "ledger_accounts",
        _id("id"),
        sa.Column("asset", sa.String(12), nullable=False),
        sa.Column("code", sa.Integer, nullable=False),
        sa.Column("flags", sa.Integer, nullable=False),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("debits_posted", sa.BigInteger, nullable=False),
        sa.Column("credits_posted", sa.BigInteger, nullable=False),
        sa.Column("debits_pending", sa.BigInteger, nullable=False),
        sa.Column("credits_pending", sa.BigInteger, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("last_timestamp", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_accounts"),
        sa.ForeignKeyConstraint(
            ["asset"], ["ledger_assets.code"], name="fk_ledger_accounts_asset_ledger_assets"
        ),
        sa.CheckConstraint(
            "debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 AND credits_pending >= 0",
            name="ck_ledger_accounts_totals_not_negative",
        ),
        sa.CheckConstraint(
            "(flags & 2) = 0 OR debits_posted + debits_pending <= credits_posted",
            name="ck_ledger_accounts_debits_must_not_exceed_credits",
        ),
        sa.CheckConstraint(
            "(flags & 4) = 0 OR credits_posted + credits_pending <= debits_posted",
            name="ck_ledger_accounts_credits_must_not_exceed_debits",
        ),
    )
    op.create_table(
        "ledger_transfers",
        _id("id"),
        _id("debit_account_id", nullable=False),
        _id("credit_account_id", nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("requested_amount", sa.BigInteger, nullable=True),
        _id("pending_id", nullable=True),
        sa.Column("asset", sa.String(12), nullable=False),
        sa.Column("code", sa.Integer, nullable=False),
        sa.Column("flags", sa.Integer, nullable=False),
        sa.Column("timeout", sa.Integer, nullable=False),
        sa.Column("metadata", sa.Text, nullable=True),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("failure", sa.String(40), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_transfers"),
        sa.CheckConstraint("amount >= 0", name="ck_ledger_transfers_amount_not_negative"),
        sa.CheckConstraint(
            "failure IS NOT NULL OR debit_account_id <> credit_account_id",
            name="ck_ledger_transfers_two_accounts",
        ),
        sa.CheckConstraint("failure IS NULL OR amount = 0", name="ck_ledger_transfers_failed_moves_nothing"),
    )
    op.create_index("ix_ledger_transfers_debit", "ledger_transfers", ["debit_account_id", "timestamp"])
    op.create_index("ix_ledger_transfers_credit", "ledger_transfers", ["credit_account_id", "timestamp"])
    op.create_table(
        "ledger_pending_transfers",
        _id("id"),
        _id("debit_account_id", nullable=False),
        _id("credit_account_id", nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("status", sa.SmallInteger, nullable=False),
        sa.Column("resolved_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_pending_transfers"),
        sa.ForeignKeyConstraint(
            ["id"], ["ledger_transfers.id"], name="fk_ledger_pending_transfers_id_ledger_transfers"
        ),
    )
    op.create_index("ix_ledger_pending_due", "ledger_pending_transfers", ["status", "expires_at"])


def downgrade() -> None:
    op.drop_table("ledger_pending_transfers")
    op.drop_table("ledger_transfers")
    op.drop_table("ledger_accounts")
    op.drop_table("ledger_assets")
