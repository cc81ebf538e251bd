"""Tables of an account a person manages (two-factor sign-in, recovery codes, codes that
prove a new email or phone) and of its standing (frozen, closed), on the one shared
metadata (see `schema`)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table

from obolo.adapters.db.metadata import metadata

# TOTP (RFC 6238) for signing in: the shared secret is sealed with the platform's SecretBox
# (it must be read back to check a code), never stored plain.
two_factor = Table(
    "two_factor",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id"), primary_key=True),
    Column("secret_sealed", String(500), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("enabled_at", BigInteger, nullable=True),  # null: enrolment not yet confirmed with a code
    # The last time step whose code was accepted: a code is good once, not for its 30 s.
    Column("last_step", BigInteger, nullable=False),
)

# One-time codes for when the authenticator is lost; only an HMAC of each is kept.
recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    Column("code_hash", String(64), nullable=False),
    Column("used_at", BigInteger, nullable=True),
)

# A code sent to a new email address or phone number, proving it before it replaces the old.
contact_codes = Table(
    "contact_codes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("kind", String(10), nullable=False),  # email, phone
    Column("target", String(254), nullable=False),  # the new address or number, normalized
    Column("code_hash", String(64), nullable=False),  # HMAC-SHA256(key, id|target|code)
    Column("attempts", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger, nullable=True),
    Index("ix_contact_codes_user", "user_id", "kind"),
)

# What an operator or the person decided about the account: frozen (no money moves, no
# sign-in) until unfrozen; closed for good.
account_standing = Table(
    "account_standing",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id"), primary_key=True),
    Column("frozen_at", BigInteger, nullable=True),
    Column("frozen_by", String(36), nullable=True),
    Column("frozen_reason", String(500), nullable=True),
    Column("closed_at", BigInteger, nullable=True),
)
