"""The language a number chose by SMS moves to its account (users.language), where every
channel reads it; sms_phones.language only follows it from now on.

Revision ID: 0027_sms_language_on_account
Revises: 0026_account
"""

from alembic import op

revision = "0027_sms_language_on_account"
down_revision = "0026_account"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE users SET language = "
        "(SELECT sms_phones.language FROM sms_phones WHERE sms_phones.user_id = users.id) "
        "WHERE id IN (SELECT user_id FROM sms_phones)"
    )


def downgrade() -> None:
    pass  # the numbers kept their own column: nothing to give back
