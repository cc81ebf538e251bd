"""Tables of the sms product, on the one shared metadata (see `schema`).

No table keeps a message body a person sent: those carry PINs. Only what we send back is
stored (replies and the outbox), and we never put a PIN in a message.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, Table

from obolo.adapters.db.metadata import id_column, metadata

# A number bound to a wallet: the only number whose messages may move that wallet's money.
sms_phones = Table(
    "sms_phones",
    metadata,
    Column("phone", String(20), primary_key=True),  # E.164
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, unique=True),
    Column("pin_hash", String(200), nullable=True),  # argon2id; null until the first PIN is set
    Column("pin_failures", Integer, nullable=False),
    Column("locked_until", BigInteger, nullable=False),
    Column("language", String(2), nullable=False),
    Column("show_balance", Boolean, nullable=False),  # the balance goes in receipts only if asked
    Column("verified_at", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

# Numbers that sent STOP: registered or not, they get nothing but answers to their own messages.
sms_optouts = Table(
    "sms_optouts",
    metadata,
    Column("phone", String(20), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
)

# Every inbound message id seen, and what we answered: a redelivery gets the same answer.
sms_inbound = Table(
    "sms_inbound",
    metadata,
    Column("message_sid", String(64), primary_key=True),
    Column("phone", String(20), nullable=False),
    Column("reply", String(480), nullable=True),
    Column("received_at", BigInteger, nullable=False),
)

# A send waiting for its PIN (at most one waiting per number).
sms_confirmations = Table(
    "sms_confirmations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("phone", String(20), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("recipient", String(254), nullable=False),  # E.164 number or email, as resolved
    Column("asset", String(12), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("note", String(60), nullable=True),
    Column("status", String(12), nullable=False),  # waiting, done, cancelled
    Column("expires_at", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_sms_confirmations_phone", "phone", "status"),
)

# A confirmed send and where its money is: paid, held (cooling-off), invited (waiting for an
# unregistered number), or finally claimed, returned, cancelled or undone.
sms_sends = Table(
    "sms_sends",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("ref", String(8), nullable=False, unique=True),
    Column("sender_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("sender_phone", String(20), nullable=False),
    Column("recipient_id", String(36), ForeignKey("users.id"), nullable=True),
    Column("recipient_phone", String(20), nullable=True),
    Column("asset", String(12), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("fee", BigInteger, nullable=False),
    Column("note", String(60), nullable=True),
    Column("status", String(12), nullable=False),
    id_column("principal_id", nullable=False),
    id_column("fee_id", nullable=False),
    # The recipient wallet's debits right after the money arrived: unchanged means unspent.
    Column("recipient_debits", BigInteger, nullable=True),
    Column("release_at", BigInteger, nullable=True),  # when a hold posts, or an invitation returns
    Column("undo_requested_at", BigInteger, nullable=True),
    # An operator's ruling on an undo asked after the window: reversed or declined.
    Column("undo_decision", String(10), nullable=True),
    Column("undo_decided_by", String(36), nullable=True),
    Column("undo_decided_at", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("ix_sms_sends_sender", "sender_phone", "created_at"),
    Index("ix_sms_sends_recipient_phone", "recipient_phone", "status"),
    Index("ix_sms_sends_due", "status", "release_at"),
)

# Messages to send, written in the transaction that decided them, delivered after it.
sms_outbox = Table(
    "sms_outbox",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("phone", String(20), nullable=False),
    Column("body", String(480), nullable=False),
    Column("status", String(10), nullable=False),  # pending, sent, failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("sent_at", BigInteger, nullable=True),
    Index("ix_sms_outbox_due", "status", "next_attempt_at"),
)

# A code an account holder got from the API to link a number: texting JOIN <code> from the
# number proves it is theirs and that they want it on this account. Kept as a SHA-256 digest.
sms_link_codes = Table(
    "sms_link_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    Column("expires_at", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
