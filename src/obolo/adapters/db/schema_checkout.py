"""Tables of the checkout product (payment requests), on the one shared metadata.

The money lives in the ledger: a payment is a linked pair of transfers, a buyer
protection hold a pending transfer, a refund a transfer of its own; every id derives
from the request. These rows say where each request stands; amounts are copies.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from obolo.adapters.db.metadata import metadata

checkout_requests = Table(
    "checkout_requests",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("provider_id", String(36), ForeignKey("providers.id"), nullable=False),
    Column("merchant_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("asset", String(12), nullable=False),
    Column("amount", BigInteger, nullable=False),
    # The merchant's fee, fixed when the request is made (settings may change later).
    Column("fee", BigInteger, nullable=False),
    Column("description", String(200), nullable=False),
    Column("reference", String(100), nullable=False),
    Column("items", Text, nullable=False),  # JSON: [{label, quantity, amount}]
    Column("return_url", String(2000), nullable=False),
    Column("buyer_protection", Boolean, nullable=False),
    Column("protection_days", Integer, nullable=False),
    # What a payer texts: PAY <code>.
    Column("sms_code", String(12), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("payer_id", String(36), ForeignKey("users.id"), nullable=True),
    Column("refunded", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("paid_at", BigInteger, nullable=True),
    # Buyer protection: when the hold goes to the merchant by itself, and what happened.
    Column("release_at", BigInteger, nullable=True),
    Column("shipped_at", BigInteger, nullable=True),
    Column("released_at", BigInteger, nullable=True),
    Column("released_how", String(16), nullable=True),
    Column("dispute_reason", String(2000), nullable=True),
    Column("disputed_at", BigInteger, nullable=True),
    Column("decided_by", String(36), nullable=True),
    # The nonce of the signed result handed out for this payment (one per payment).
    Column("result_nonce", String(40), nullable=True),
    CheckConstraint("amount > 0 AND fee >= 0 AND fee <= amount", name="amounts"),
    CheckConstraint("refunded >= 0 AND refunded <= amount", name="refunded_within_amount"),
    Index("ix_checkout_requests_provider", "provider_id", "created_at"),
    Index("ix_checkout_requests_payer", "payer_id", "paid_at"),
    Index("ix_checkout_requests_status_expires", "status", "expires_at"),
    Index("ix_checkout_requests_status_release", "status", "release_at"),
)

checkout_refunds = Table(
    "checkout_refunds",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("request_id", String(36), ForeignKey("checkout_requests.id"), nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("by", String(36), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
)
