"""charges, purchases and trial charges keep the title of what was bought (the provider's
name for it, e.g. an article's headline): the reader's history names the item, not its path

Revision ID: 0028_item_titles
Revises: 0027_sms_language_on_account
"""

import sqlalchemy as sa
from alembic import op

revision = "0028_item_titles"
down_revision = "0027_sms_language_on_account"
branch_labels = None
depends_on = None

TABLES = ("charges", "purchases", "anonymous_charges")


def upgrade() -> None:
    # Nullable: what was bought before kept no title, and a provider may send none; the
    # history then shows the path, as it did.
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("title", sa.String(length=200), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("title")
