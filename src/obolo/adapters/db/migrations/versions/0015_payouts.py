"""payouts: where and when people are paid out, and a statement per payout

Revision ID: 0015_payouts
Revises: 0014_jobs
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_payouts"
down_revision = "0014_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payout_accounts",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("asset", sa.String(length=12), nullable=False),
        sa.Column("iban_sealed", sa.Text(), nullable=False),
        sa.Column("iban_masked", sa.String(length=20), nullable=False),
        sa.Column("schedule", sa.String(length=10), nullable=False),
        sa.Column("minimum", sa.BigInteger(), nullable=False),
        sa.Column("last_payout_at", sa.BigInteger(), nullable=True),
        sa.Column("last_checked_at", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_payout_accounts_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_payout_accounts")),
    )
    with op.batch_alter_table("payout_accounts", schema=None) as batch_op:
        batch_op.create_index("ix_payout_accounts_due", ["schedule", "last_checked_at"], unique=False)
    op.create_table(
        "payout_statements",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("asset", sa.String(length=12), nullable=False),
        sa.Column("period_start", sa.BigInteger(), nullable=False),
        sa.Column("period_end", sa.BigInteger(), nullable=False),
        sa.Column("earned", sa.BigInteger(), nullable=False),
        sa.Column("fees", sa.BigInteger(), nullable=False),
        sa.Column("refunds", sa.BigInteger(), nullable=False),
        sa.Column("topped_up", sa.BigInteger(), nullable=False),
        sa.Column("spent", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("payout_fee", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_payout_statements_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_statements")),
    )
    with op.batch_alter_table("payout_statements", schema=None) as batch_op:
        batch_op.create_index("ix_payout_statements_user", ["user_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("payout_statements", schema=None) as batch_op:
        batch_op.drop_index("ix_payout_statements_user")
    op.drop_table("payout_statements")
    with op.batch_alter_table("payout_accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_payout_accounts_due")
    op.drop_table("payout_accounts")
