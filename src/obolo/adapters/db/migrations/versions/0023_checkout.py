"""checkout: payment requests for shops and auctions, and their refunds

Revision ID: 0023_checkout
Revises: 0022_x402_facilitator
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_checkout"
down_revision = "0022_x402_facilitator"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checkout_requests",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("provider_id", sa.String(36), nullable=False),
        sa.Column("merchant_id", sa.String(36), nullable=False),
        sa.Column("asset", sa.String(12), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("return_url", sa.String(2000), nullable=False),
        sa.Column("buyer_protection", sa.Boolean(), nullable=False),
        sa.Column("protection_days", sa.Integer(), nullable=False),
        sa.Column("sms_code", sa.String(12), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("payer_id", sa.String(36), nullable=True),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("paid_at", sa.BigInteger(), nullable=True),
        sa.Column("release_at", sa.BigInteger(), nullable=True),
        sa.Column("shipped_at", sa.BigInteger(), nullable=True),
        sa.Column("released_at", sa.BigInteger(), nullable=True),
        sa.Column("released_how", sa.String(16), nullable=True),
        sa.Column("dispute_reason", sa.String(2000), nullable=True),
        sa.Column("disputed_at", sa.BigInteger(), nullable=True),
        sa.Column("decided_by", sa.String(36), nullable=True),
        sa.Column("result_nonce", sa.String(40), nullable=True),
        sa.CheckConstraint(
            "amount > 0 AND fee >= 0 AND fee <= amount", name=op.f("ck_checkout_requests_amounts")
        ),
        sa.CheckConstraint(
            "refunded >= 0 AND refunded <= amount", name=op.f("ck_checkout_requests_refunded_within_amount")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_checkout_requests_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["users.id"], name=op.f("fk_checkout_requests_merchant_id_users")
        ),
        sa.ForeignKeyConstraint(["payer_id"], ["users.id"], name=op.f("fk_checkout_requests_payer_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkout_requests")),
        sa.UniqueConstraint("sms_code", name=op.f("uq_checkout_requests_sms_code")),
    )
    op.create_index("ix_checkout_requests_provider", "checkout_requests", ["provider_id", "created_at"])
    op.create_index("ix_checkout_requests_payer", "checkout_requests", ["payer_id", "paid_at"])
    op.create_index("ix_checkout_requests_status_expires", "checkout_requests", ["status", "expires_at"])
    op.create_index("ix_checkout_requests_status_release", "checkout_requests", ["status", "release_at"])
    op.create_table(
        "checkout_refunds",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("by", sa.String(36), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_checkout_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["checkout_requests.id"],
            name=op.f("fk_checkout_refunds_request_id_checkout_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkout_refunds")),
    )
    op.create_index("ix_checkout_refunds_request_id", "checkout_refunds", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_checkout_refunds_request_id", table_name=op.f("checkout_refunds"))
    op.drop_table("checkout_refunds")
    for name in ("provider", "payer", "status_expires", "status_release"):
        op.drop_index(f"ix_checkout_requests_{name}", table_name=op.f("checkout_requests"))
    op.drop_table("checkout_requests")
