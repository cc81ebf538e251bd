"""an account a person manages: two-factor sign-in, recovery codes, codes proving a new
email or phone, the account's standing (frozen, closed), and where sessions were opened

Revision ID: 0026_account
Revises: 0025_reader
"""

import sqlalchemy as sa
from alembic import op

revision = "0026_account"
down_revision = "0025_reader"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("address", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("last_used_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("device", sa.String(length=200), nullable=True))
    op.create_table(
        "two_factor",
        sa.Column("user_id", sa.String(length=36), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("secret_sealed", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("enabled_at", sa.BigInteger(), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("user_id", sa.String(length=36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_recovery_codes_user_id", "recovery_codes", ["user_id"])
    op.create_table(
        "contact_codes",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("user_id", sa.String(length=36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("target", sa.String(length=254), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_contact_codes_user", "contact_codes", ["user_id", "kind"])
    op.create_table(
        "account_standing",
        sa.Column("user_id", sa.String(length=36), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("frozen_at", sa.BigInteger(), nullable=True),
        sa.Column("frozen_by", sa.String(length=36), nullable=True),
        sa.Column("frozen_reason", sa.String(length=500), nullable=True),
        sa.Column("closed_at", sa.BigInteger(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("account_standing")
    op.drop_index("ix_contact_codes_user", table_name="contact_codes")
    op.drop_table("contact_codes")
    op.drop_index("ix_recovery_codes_user_id", table_name="recovery_codes")
    op.drop_table("recovery_codes")
    op.drop_table("two_factor")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("device")
        batch.drop_column("last_used_at")
        batch.drop_column("address")
