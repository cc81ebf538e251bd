"""providers.reaccess_seconds: how long a purchase reopens its page, the provider's choice
(a news site a day, a course a month, a live score minutes); charges and purchases keep the
period in force when they were bought, so changing it later breaks no promise made

Revision ID: 0029_provider_reaccess_period
Revises: 0028_item_titles
"""

import sqlalchemy as sa
from alembic import op

revision = "0029_provider_reaccess_period"
down_revision = "0028_item_titles"
branch_labels = None
depends_on = None

#: The one period every provider had before it became a setting.
DAY_SECONDS = 24 * 3600
BOUGHT = ("charges", "purchases")


def upgrade() -> None:
    # A server default, so existing providers keep a day without a rewrite of their rows.
    with op.batch_alter_table("providers") as batch:
        batch.add_column(
            sa.Column("reaccess_seconds", sa.Integer(), nullable=False, server_default=str(DAY_SECONDS))
        )
    # Nullable: what was bought before this revision was bought under the one day, which the
    # look-up reads for NULL; no backfill of tables that only grow.
    for table in BOUGHT:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("reaccess_seconds", sa.Integer(), nullable=True))


def downgrade() -> None:
    for table in (*BOUGHT, "providers"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("reaccess_seconds")
