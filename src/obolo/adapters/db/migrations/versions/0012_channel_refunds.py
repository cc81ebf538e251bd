"""channel refunds: view receipts keyed per provider, refunds netted at settlement

Revision ID: 0012_channel_refunds
Revises: 0011_widget
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_channel_refunds"
down_revision = "0011_widget"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("receipt_key", sa.Text(), nullable=True))
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("settled_paid", sa.BigInteger(), nullable=True))
    op.create_table(
        "channel_refunds",
        sa.Column("channel_id", sa.String(length=36), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("reader_id", sa.String(length=36), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("viewed_at", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("credit_note_id", sa.String(length=36), nullable=True),
        sa.CheckConstraint("amount > 0 AND idx > 0", name=op.f("ck_channel_refunds_positive")),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_channel_refunds_channel_id_channels")
        ),
        sa.ForeignKeyConstraint(["reader_id"], ["users.id"], name=op.f("fk_channel_refunds_reader_id_users")),
        sa.PrimaryKeyConstraint("channel_id", "idx", name=op.f("pk_channel_refunds")),
    )
    with op.batch_alter_table("channel_refunds", schema=None) as batch_op:
        batch_op.create_index("ix_channel_refunds_reader", ["reader_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("channel_refunds", schema=None) as batch_op:
        batch_op.drop_index("ix_channel_refunds_reader")
    op.drop_table("channel_refunds")
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_column("settled_paid")
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.drop_column("receipt_key")
