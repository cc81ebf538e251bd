"""Tables of the widget product, on the one shared metadata (see `schema`)."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, String, Table

from obolo.adapters.db.metadata import metadata

# A trial tab of a reader without an account, named only by a signed cookie of the
# popup's origin. Charges accrue up to `limit_units`; nothing moves in the ledger until
# a signed-up reader claims the tab, when each charge becomes one of their charges.
anonymous_tabs = Table(
    "anonymous_tabs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("asset", String(12), nullable=False),
    Column("limit_units", BigInteger, nullable=False),
    Column("accrued", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("claimed_by", String(36), ForeignKey("users.id"), nullable=True),
    Column("claimed_at", BigInteger, nullable=True),
    # A keyed hash of the address that opened it (never the address): trials per address
    # and day are limited, so clearing cookies does not open trial after trial.
    Column("address_hash", String(64), nullable=True),
    CheckConstraint("accrued >= 0 AND accrued <= limit_units", name="within_limit"),
    Index("ix_anonymous_tabs_address", "address_hash", "created_at"),
)

anonymous_charges = Table(
    "anonymous_charges",
    metadata,
    Column("provider_id", String(36), ForeignKey("providers.id"), primary_key=True),
    Column("charge_id", String(64), primary_key=True),
    Column("tab_id", String(36), ForeignKey("anonymous_tabs.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("resource", String(500), nullable=False),
    Column("title", String(200), nullable=True),  # carried to the reader's charge
    Column("created_at", BigInteger, nullable=False),
    CheckConstraint("amount > 0", name="positive"),
    Index("ix_anonymous_charges_tab", "tab_id", "provider_id", "created_at"),
)
