"""Tables of Obolo as an x402 facilitator, on the one shared metadata (see `schema`)."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Integer, String, Table

from obolo.adapters.db.metadata import metadata

# The highest payment the facilitator settled on each channel, for resource servers that
# point x402's middleware at Obolo: one row per channel, moved forward by a compare-and-set
# on `idx` (never a ledger write per payment); the channel settles later as a claim.
x402_channel_states = Table(
    "x402_channel_states",
    metadata,
    Column("channel_id", String(36), ForeignKey("channels.id"), primary_key=True),
    Column("idx", Integer, nullable=False),
    Column("token", String(64), nullable=False),  # base64url of w_idx
    Column("updated_at", BigInteger, nullable=False),
    CheckConstraint("idx > 0", name="paid"),
)
