"""expired holds: partial indexes so a wallet's history finds what expired on it

Revision ID: 0017_expired_holds
Revises: 0016_idempotency_owner
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_expired_holds"
down_revision = "0016_idempotency_owner"
branch_labels = None
depends_on = None

EXPIRED = sa.text("status = 4")  # the ledger's PendingStatus.EXPIRED


def upgrade() -> None:
    for side in ("debit", "credit"):
        op.create_index(
            f"ix_ledger_pending_expired_{side}",
            "ledger_pending_transfers",
            [f"{side}_account_id", "resolved_at"],
            sqlite_where=EXPIRED,
            postgresql_where=EXPIRED,
        )


def downgrade() -> None:
    for side in ("debit", "credit"):
        op.drop_index(f"ix_ledger_pending_expired_{side}", table_name="ledger_pending_transfers")
