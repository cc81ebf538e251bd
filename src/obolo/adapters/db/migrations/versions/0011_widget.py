"""widget tables

Revision ID: 0011_widget
Revises: 0010_web
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0011_widget"
down_revision = "0010_web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
