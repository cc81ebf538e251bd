"""withdrawal resume: the bank account of a withdrawal in flight, sealed, so that one
whose request died between its commits can be finished by a job

Revision ID: 0020_withdrawal_resume
Revises: 0019_phone_sign_in_codes
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_withdrawal_resume"
down_revision = "0019_phone_sign_in_codes"
branch_labels = None
depends_on = None

PENDING_WITHDRAWAL = sa.text("status = 'pending' AND kind = 'withdrawal'")


def upgrade() -> None:
    with op.batch_alter_table("movements") as batch:
        batch.add_column(sa.Column("iban_sealed", sa.Text(), nullable=True))
    op.create_index(
        "ix_movements_pending_withdrawals",
        "movements",
        ["created_at"],
        sqlite_where=PENDING_WITHDRAWAL,
        postgresql_where=PENDING_WITHDRAWAL,
    )


def downgrade() -> None:
    op.drop_index("ix_movements_pending_withdrawals", table_name="movements")
    with op.batch_alter_table("movements") as batch:
        batch.drop_column("iban_sealed")
