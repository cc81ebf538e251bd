"""Tables of the tap product, on the one shared metadata (see `schema`).

A merchant is a provider (`providers`) with a tap profile; card UIDs are stored only as
keyed hashes; a transit day is one pending hold per card, operator and day.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
)

from obolo.adapters.db.metadata import metadata

tap_merchants = Table(
    "tap_merchants",
    metadata,
    Column("provider_id", String(36), ForeignKey("providers.id"), primary_key=True),
    Column("kind", String(20), nullable=False),  # retail, transit
    Column("asset", String(12), nullable=False),
    # The provider's wallet account in `asset`, kept here so a tap needs no wallet lookup.
    Column("account_id", LargeBinary(16), nullable=False),
    # Transit operators: the fare of one ride and the caps per card per day and week.
    Column("fare", BigInteger, nullable=True),
    Column("daily_cap", BigInteger, nullable=True),
    Column("weekly_cap", BigInteger, nullable=True),
    # What one card may spend offline at one terminal while a kit is valid.
    Column("offline_limit", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    CheckConstraint(
        "kind = 'retail' OR (fare > 0 AND daily_cap >= fare AND weekly_cap >= daily_cap)", name="caps"
    ),
    CheckConstraint("offline_limit >= 0", name="offline_limit_not_negative"),
)

tap_terminals = Table(
    "tap_terminals",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("merchant_id", String(36), ForeignKey("tap_merchants.provider_id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("mode", String(10), nullable=False),  # retail, transit
    # One of the two: SHA-256 of a high-entropy key, or a raw Ed25519 public key (base64url).
    Column("key_hash", String(64), nullable=True),
    Column("public_key", String(64), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("disabled_at", BigInteger, nullable=True),
    CheckConstraint("(key_hash IS NULL) <> (public_key IS NULL)", name="one_credential"),
)

tap_cards = Table(
    "tap_cards",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    # HMAC-SHA256 of the UID under the server's card key: how a tap finds its card.
    Column("uid_hash", String(64), nullable=False, unique=True),
    # HMAC-SHA256 of the UID under the offline key terminals hold: how a kit names it.
    Column("offline_tag", String(32), nullable=False),
    Column("asset", String(12), nullable=False),
    Column("account_id", LargeBinary(16), nullable=False),  # the owner's wallet account
    Column("label", String(60), nullable=False),
    # Open debts (offline taps the wallet could not pay): while above 0 the card is denied.
    Column("owed", BigInteger, nullable=False),
    Column("blocked_at", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    CheckConstraint("owed >= 0", name="owed_not_negative"),
)

# A transit day: one hold per card, operator and day that taps accrue on; posted once at
# the day's close. `late` is what taps uploaded after the close add, billed by the week's
# correction.
tap_days = Table(
    "tap_days",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("card_id", String(36), ForeignKey("tap_cards.id"), nullable=False),
    Column("merchant_id", String(36), ForeignKey("tap_merchants.provider_id"), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("asset", String(12), nullable=False),
    Column("day", Integer, nullable=False),  # days since 1970-01-01 (UTC)
    Column("week", Integer, nullable=False),  # the day number of that week's Monday
    Column("hold_id", LargeBinary(16), nullable=True),
    Column("hold_seq", Integer, nullable=False),
    Column("held", BigInteger, nullable=False),
    Column("accrued", BigInteger, nullable=False),
    Column("late", BigInteger, nullable=False),
    Column("fares", BigInteger, nullable=False),  # before capping
    Column("taps", Integer, nullable=False),
    Column("status", String(10), nullable=False),  # open, closed
    Column("closed_at", BigInteger, nullable=True),
    UniqueConstraint("card_id", "merchant_id", "day", name="uq_tap_days_card_merchant_day"),
    CheckConstraint("accrued >= 0 AND accrued <= held AND late >= 0", name="within_hold"),
    Index("ix_tap_days_week", "card_id", "merchant_id", "week"),
    Index("ix_tap_days_open", "status", "day"),
)

# What late taps added to a week after its days closed: one transfer at the week's end.
tap_corrections = Table(
    "tap_corrections",
    metadata,
    Column("card_id", String(36), ForeignKey("tap_cards.id"), primary_key=True),
    Column("merchant_id", String(36), ForeignKey("tap_merchants.provider_id"), primary_key=True),
    Column("week", Integer, primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("asset", String(12), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("status", String(10), nullable=False),  # open, posted
    Column("posted_at", BigInteger, nullable=True),
    CheckConstraint("amount >= 0", name="amount_not_negative"),
)

tap_taps = Table(
    "tap_taps",
    metadata,
    # Chosen by the terminal (a UUID): a retry answers the same, another terminal cannot reuse it.
    Column("id", String(36), primary_key=True),
    Column("terminal_id", String(36), ForeignKey("tap_terminals.id"), nullable=False),
    Column("merchant_id", String(36), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("card_id", String(36), nullable=True),
    Column("mode", String(10), nullable=False),
    Column("status", String(10), nullable=False),  # approved, declined
    Column("reason", String(30), nullable=True),
    Column("asset", String(12), nullable=False),
    Column("amount", BigInteger, nullable=False),  # asked (retail) or the fare (transit)
    Column("charged", BigInteger, nullable=False),
    Column("capped", SmallInteger, nullable=False),
    Column("balance_band", String(10), nullable=True),
    Column("duplicate_of", String(36), nullable=True),
    Column("day_id", String(36), nullable=True),
    Column("offline", SmallInteger, nullable=False),
    Column("debt", BigInteger, nullable=False),
    Column("tapped_at", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    CheckConstraint("charged >= 0 AND debt >= 0 AND charged + debt <= amount", name="charged_within_amount"),
    Index("ix_tap_taps_card", "card_id", "tapped_at"),
    Index("ix_tap_taps_card_terminal", "card_id", "terminal_id", "tapped_at"),
)

# An offline tap the wallet could not pay: owed by the card's owner to the merchant; the
# card is on every deny list until it is collected.
tap_debts = Table(
    "tap_debts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tap_id", String(36), ForeignKey("tap_taps.id"), nullable=True),
    Column("card_id", String(36), ForeignKey("tap_cards.id"), nullable=False, index=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("merchant_id", String(36), ForeignKey("tap_merchants.provider_id"), nullable=False),
    Column("asset", String(12), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("remaining", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("settled_at", BigInteger, nullable=True),
    CheckConstraint("remaining >= 0 AND remaining <= amount", name="remaining_within_amount"),
    Index("ix_tap_debts_open", "remaining", "created_at"),
)
