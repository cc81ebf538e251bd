"""tasks tables

Revision ID: 0009_tasks
Revises: 0008_tap
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0009_tasks"
down_revision = "0008_tap"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
