"""phone sign-in codes: one-time codes texted to a number bound by SMS, kept only as an HMAC

Revision ID: 0019_phone_sign_in_codes
Revises: 0018_sms_undo_decisions
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_phone_sign_in_codes"
down_revision = "0018_sms_undo_decisions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "phone_sign_in_codes",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.String(length=36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_phone_sign_in_codes_phone", "phone_sign_in_codes", ["phone"])


def downgrade() -> None:
    op.drop_index("ix_phone_sign_in_codes_phone", table_name="phone_sign_in_codes")
    op.drop_table("phone_sign_in_codes")
