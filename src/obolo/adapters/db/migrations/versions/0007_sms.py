"""sms tables

Revision ID: 0007_sms
Revises: 0006_price_rules
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0007_sms"
down_revision = "0006_price_rules"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
