"""tap tables

Revision ID: 0008_tap
Revises: 0007_sms
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0008_tap"
down_revision = "0007_sms"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
