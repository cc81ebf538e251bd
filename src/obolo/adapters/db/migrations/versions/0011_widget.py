"""widget tables

Revision ID: 0011_widget
Revises: 0010_web
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_widget"
down_revision = "0010_web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "anonymous_tabs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("asset", sa.String(length=12), nullable=False),
        sa.Column("limit_units", sa.BigInteger(), nullable=False),
        sa.Column("accrued", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("claimed_by", sa.String(length=36), nullable=True),
        sa.Column("claimed_at", sa.BigInteger(), nullable=True),
        sa.Column("address_hash", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "accrued >= 0 AND accrued <= limit_units", name=op.f("ck_anonymous_tabs_within_limit")
        ),
        sa.ForeignKeyConstraint(
            ["claimed_by"], ["users.id"], name=op.f("fk_anonymous_tabs_claimed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anonymous_tabs")),
    )
    with op.batch_alter_table("anonymous_tabs", schema=None) as batch_op:
        batch_op.create_index("ix_anonymous_tabs_address", ["address_hash", "created_at"], unique=False)
    op.create_table(
        "anonymous_charges",
        sa.Column("provider_id", sa.String(length=36), nullable=False),
        sa.Column("charge_id", sa.String(length=64), nullable=False),
        sa.Column("tab_id", sa.String(length=36), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("resource", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_anonymous_charges_positive")),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_anonymous_charges_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["tab_id"], ["anonymous_tabs.id"], name=op.f("fk_anonymous_charges_tab_id_anonymous_tabs")
        ),
        sa.PrimaryKeyConstraint("provider_id", "charge_id", name=op.f("pk_anonymous_charges")),
    )
    with op.batch_alter_table("anonymous_charges", schema=None) as batch_op:
        batch_op.create_index(
            "ix_anonymous_charges_tab", ["tab_id", "provider_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("anonymous_charges", schema=None) as batch_op:
        batch_op.drop_index("ix_anonymous_charges_tab")
    op.drop_table("anonymous_charges")
    with op.batch_alter_table("anonymous_tabs", schema=None) as batch_op:
        batch_op.drop_index("ix_anonymous_tabs_address")
    op.drop_table("anonymous_tabs")
