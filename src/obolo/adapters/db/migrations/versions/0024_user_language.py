"""users.language: the language a person reads (pages, SMS replies, emails, notices)

Revision ID: 0024_user_language
Revises: 0023_checkout
"""

import sqlalchemy as sa
from alembic import op

revision = "0024_user_language"
down_revision = "0023_checkout"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("language", sa.String(length=5), nullable=False, server_default="en"))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("language")
