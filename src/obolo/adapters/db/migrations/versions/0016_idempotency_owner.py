"""idempotency_keys.owner: the process running a key's first request, so a retry after
that process died takes the key over at once instead of waiting out the claim

Revision ID: 0016_idempotency_owner
Revises: 0015_payouts
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_idempotency_owner"
down_revision = "0015_payouts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_column("owner")
