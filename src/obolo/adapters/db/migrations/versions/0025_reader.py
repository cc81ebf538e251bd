"""purchases and reader_passes: what a reader bought follows them to any device

Revision ID: 0025_reader
Revises: 0024_user_language
"""

import sqlalchemy as sa
from alembic import op

revision = "0025_reader"
down_revision = "0024_user_language"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "purchases",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("reader_id", sa.String(length=36), nullable=False),
        sa.Column("provider_id", sa.String(length=36), nullable=False),
        sa.Column("resource", sa.String(length=500), nullable=False),
        sa.Column("bought_at", sa.BigInteger(), nullable=False),
        sa.Column("channel_id", sa.String(length=36), nullable=True),
        sa.Column("idx", sa.Integer(), nullable=True),
        sa.Column("pass_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(["reader_id"], ["users.id"], name=op.f("fk_purchases_reader_id_users")),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_purchases_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchases")),
        sa.UniqueConstraint("channel_id", "idx", name="uq_purchases_channel_payment"),
    )
    with op.batch_alter_table("purchases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_purchases_reader", ["reader_id", "provider_id", "resource", "bought_at"], unique=False
        )
    op.create_table(
        "reader_passes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("reader_id", sa.String(length=36), nullable=False),
        sa.Column("provider_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("pattern", sa.String(length=200), nullable=False),
        sa.Column("asset", sa.String(length=12), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=True),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("bought_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "used >= 0 AND (visits IS NULL OR used <= visits)",
            name=op.f("ck_reader_passes_visits_within_pass"),
        ),
        sa.ForeignKeyConstraint(["reader_id"], ["users.id"], name=op.f("fk_reader_passes_reader_id_users")),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_reader_passes_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reader_passes")),
    )
    with op.batch_alter_table("reader_passes", schema=None) as batch_op:
        batch_op.create_index("ix_reader_passes_reader", ["reader_id", "provider_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reader_passes", schema=None) as batch_op:
        batch_op.drop_index("ix_reader_passes_reader")
    op.drop_table("reader_passes")
    with op.batch_alter_table("purchases", schema=None) as batch_op:
        batch_op.drop_index("ix_purchases_reader")
    op.drop_table("purchases")
