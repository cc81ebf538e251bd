"""Tables of invitations (money held for an email or phone without an account) and of the
email outbox, on the one shared metadata (see `schema`)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from obolo.adapters.db.metadata import metadata

# A payment to an email or phone nobody has yet: its money is on the platform's invitation
# holding account (a posted transfer) until the invitee claims it or it returns to the sender.
invitations = Table(
    "invitations",
    metadata,
    Column("id", String(36), primary_key=True),  # the payment's movement id
    Column("sender_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("email", String(254), nullable=True),  # normalized; exactly one of email and phone
    Column("phone", String(20), nullable=True),  # E.164
    # SHA-256 of the claim code mailed to the address (email invitations only): the code
    # proves the mailbox, which signing up with the address alone does not.
    Column("code_hash", String(64), nullable=True, unique=True),
    Column("asset", String(12), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("fee", BigInteger, nullable=False),
    Column("status", String(10), nullable=False),  # waiting, claimed, returned
    Column("claimed_by", String(36), ForeignKey("users.id"), nullable=True),
    Column("expires_at", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("ix_invitations_email", "email", "status"),
    Index("ix_invitations_phone", "phone", "status"),
    Index("ix_invitations_due", "status", "expires_at"),
)

# Mail to send, written in the transaction that decided it and delivered after it commits.
# A body may carry a claim code: it is blanked once the message is sent.
email_outbox = Table(
    "email_outbox",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("address", String(254), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(10), nullable=False),  # pending, sent, failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("sent_at", BigInteger, nullable=True),
    Index("ix_email_outbox_due", "status", "next_attempt_at"),
)
