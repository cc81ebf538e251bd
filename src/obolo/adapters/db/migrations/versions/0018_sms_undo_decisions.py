"""sms undo decisions: an operator's ruling on an undo asked after the window

Revision ID: 0018_sms_undo_decisions
Revises: 0017_expired_holds
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_sms_undo_decisions"
down_revision = "0017_expired_holds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sms_sends") as batch:
        batch.add_column(sa.Column("undo_decision", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("undo_decided_by", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("undo_decided_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sms_sends") as batch:
        batch.drop_column("undo_decided_at")
        batch.drop_column("undo_decided_by")
        batch.drop_column("undo_decision")
