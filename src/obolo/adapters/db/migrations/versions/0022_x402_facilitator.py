"""x402 facilitator: the highest payment settled per channel for resource servers that use
Obolo as their facilitator

Revision ID: 0022_x402_facilitator
Revises: 0021_invitations
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_x402_facilitator"
down_revision = "0021_invitations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "x402_channel_states",
        sa.Column("channel_id", sa.String(36), sa.ForeignKey("channels.id"), primary_key=True),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("idx > 0", name="paid"),
    )


def downgrade() -> None:
    op.drop_table("x402_channel_states")
