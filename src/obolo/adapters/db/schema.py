"""Every table, as SQLAlchemy Core metadata. Alembic migrations create them; this module
is what queries are written against. The platform's own tables are here; each product's
are in its `schema_*` module, on the same `metadata` (from `metadata`), imported below so
that `metadata` here (Alembic's, the drift test's) holds them all.

Ids are 128-bit and stored as 16 big-endian bytes, so they sort like the integers they
are (and UUIDv7 ids sort by time) on both SQLite and PostgreSQL. Amounts are signed
64-bit integers of units; the ledger refuses anything that would not fit.
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
    Text,
    UniqueConstraint,
    text,
)

from obolo.adapters.db import (  # noqa: F401  (each product's tables join `metadata` on import)
    schema_account,
    schema_checkout,
    schema_invitations,
    schema_jobs,
    schema_settlement,
    schema_sms,
    schema_tap,
    schema_tasks,
    schema_web,
    schema_widget,
    schema_x402,
)
from obolo.adapters.db.metadata import id_column
from obolo.adapters.db.metadata import metadata as metadata  # re-exported: every table, for Alembic

#: The ledger's PendingStatus.EXPIRED (the ledger sits above this module and is not imported).
EXPIRED_STATUS = 4


assets = Table(
    "ledger_assets",
    metadata,
    Column("code", String(12), primary_key=True),
    Column("scale", SmallInteger, nullable=False),
    CheckConstraint("scale >= 0 AND scale <= 18", name="scale_range"),
)

accounts = Table(
    "ledger_accounts",
    metadata,
    id_column("id", primary_key=True),
    Column("asset", String(12), ForeignKey("ledger_assets.code"), nullable=False),
    Column("code", Integer, nullable=False),
    Column("flags", Integer, nullable=False),
    Column("owner", String(200), nullable=True),
    Column("debits_posted", BigInteger, nullable=False),
    Column("credits_posted", BigInteger, nullable=False),
    Column("debits_pending", BigInteger, nullable=False),
    Column("credits_pending", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    # The newest event on this account: the next one must be later, so an account's
    # history has one order whatever the clocks of concurrent writers say.
    Column("last_timestamp", BigInteger, nullable=False),
    CheckConstraint(
        "debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 AND credits_pending >= 0",
        name="totals_not_negative",
    ),
    # The flags are enforced by the ledger's code and, again, by the database.
    CheckConstraint(
        "(flags & 2) = 0 OR debits_posted + debits_pending <= credits_posted",
        name="debits_must_not_exceed_credits",
    ),
    CheckConstraint(
        "(flags & 4) = 0 OR credits_posted + credits_pending <= debits_posted",
        name="credits_must_not_exceed_debits",
    ),
)

transfers = Table(
    "ledger_transfers",
    metadata,
    id_column("id", primary_key=True),
    # No foreign keys to accounts: a failed transfer's id is kept here too (accounts
    # zeroed, amount 0, `failure` set), so one primary key decides every id, applied or
    # failed, even between concurrent batches. `obolo ledger check` verifies the rest.
    id_column("debit_account_id", nullable=False),
    id_column("credit_account_id", nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("requested_amount", BigInteger, nullable=True),
    id_column("pending_id", nullable=True),
    Column("asset", String(12), nullable=False),
    Column("code", Integer, nullable=False),
    Column("flags", Integer, nullable=False),
    Column("timeout", Integer, nullable=False),
    Column("metadata", Text, nullable=True),
    Column("timestamp", BigInteger, nullable=False),
    Column("failure", String(40), nullable=True),
    CheckConstraint("amount >= 0", name="amount_not_negative"),
    CheckConstraint("failure IS NOT NULL OR debit_account_id <> credit_account_id", name="two_accounts"),
    CheckConstraint("failure IS NULL OR amount = 0", name="failed_moves_nothing"),
    Index("ix_ledger_transfers_debit", "debit_account_id", "timestamp"),
    Index("ix_ledger_transfers_credit", "credit_account_id", "timestamp"),
)

pending_transfers = Table(
    "ledger_pending_transfers",
    metadata,
    id_column("id", ForeignKey("ledger_transfers.id"), primary_key=True),
    id_column("debit_account_id", nullable=False),
    id_column("credit_account_id", nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),  # 0: never
    Column("status", SmallInteger, nullable=False),
    Column("resolved_at", BigInteger, nullable=False),  # 0: still pending
    Index("ix_ledger_pending_due", "status", "expires_at"),
    # Partial: only expired holds are indexed, so the hot path (holds made and resolved)
    # pays nothing for the history's look-up of what expired on an account.
    *(
        Index(
            f"ix_ledger_pending_expired_{side}",
            f"{side}_account_id",
            "resolved_at",
            sqlite_where=text(f"status = {EXPIRED_STATUS}"),
            postgresql_where=text(f"status = {EXPIRED_STATUS}"),
        )
        for side in ("debit", "credit")
    ),
)


# -- people and access --------------------------------------------------------------------
# Product ids are UUIDs (v7, time-ordered) as text: readable in logs and URLs. Times are
# integer nanoseconds since the epoch, like the ledger's.

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=True),
    Column("display_name", String(100), nullable=False),
    Column("phone", String(20), nullable=True, unique=True),
    Column("created_at", BigInteger, nullable=False),
    # what the person reads: "en" or "it" (obolo.locale.LANGUAGES)
    Column("language", String(5), nullable=False, server_default="en"),
)

user_roles = Table(
    "user_roles",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id"), primary_key=True),
    Column("role", String(20), primary_key=True),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
    Column("address", String(300), nullable=True),  # where it was opened from, as recorded
    Column("last_used_at", BigInteger, nullable=True),  # to the minute
    Column("device", String(200), nullable=True),  # the browser's User-Agent, as sent
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    Column("prefix", String(24), nullable=False, unique=True),
    Column("secret_hash", String(64), nullable=False),
    Column("name", String(100), nullable=False),
    Column("scopes", String(500), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("last_used_at", BigInteger, nullable=True),
    Column("revoked_at", BigInteger, nullable=True),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    # "email:<address>" or "ip:<address>"
    Column("key", String(300), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", BigInteger, nullable=False),
    Column("locked_until", BigInteger, nullable=False),
)

# A one-time code texted to a number bound by SMS, for signing in on the web or the API.
# Only an HMAC of the code is kept (keyed by the platform's secret key): the code has only
# a million values, so a bare hash would be reversed at once by anyone reading this table.
phone_sign_in_codes = Table(
    "phone_sign_in_codes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("phone", String(20), nullable=False, index=True),  # E.164
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("code_hash", String(64), nullable=False),  # HMAC-SHA256(key, id|phone|code), hex
    Column("attempts", Integer, nullable=False),  # tries so far, the right one included
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger, nullable=True),
)

# -- wallets and money movement ---------------------------------------------------------

wallets = Table(
    "wallets",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("asset", String(12), nullable=False),
    Column("account_id", LargeBinary(16), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("user_id", "asset", name="uq_wallets_user_asset"),
)

movements = Table(
    "movements",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(20), nullable=False),  # topup, payment, withdrawal
    Column("status", String(20), nullable=False),  # pending, succeeded, failed
    Column("asset", String(12), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("fee", BigInteger, nullable=False),
    Column("from_user_id", String(36), nullable=True),
    Column("to_user_id", String(36), nullable=True),
    Column("note", String(280), nullable=True),
    Column("transfer_id", LargeBinary(16), nullable=True),
    Column("external_ref", String(64), nullable=True),
    Column("details", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # A withdrawal's bank account, sealed (SecretBox), while its payout is in flight: what
    # the resume job needs to ask the bank again for a request that died. Cleared on settle.
    Column("iban_sealed", Text, nullable=True),
    CheckConstraint("amount > 0 AND fee >= 0", name="amount_positive"),
    Index("ix_movements_from", "from_user_id", "created_at"),
    Index("ix_movements_to", "to_user_id", "created_at"),
    Index(
        "ix_movements_pending_withdrawals",
        "created_at",
        sqlite_where=text("status = 'pending' AND kind = 'withdrawal'"),
        postgresql_where=text("status = 'pending' AND kind = 'withdrawal'"),
    ),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("principal", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=True),  # null while the first request runs
    Column("response_body", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("completed_at", BigInteger, nullable=True),
    # who runs the first request (host:pid:nonce), so a retry can tell a claim left by a
    # process that died from one still running
    Column("owner", String(80), nullable=True),
)

# -- events and webhooks ------------------------------------------------------------------

events = Table(
    "events",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), nullable=False, index=True),
    Column("type", String(60), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    Column("url", String(2000), nullable=False),
    Column("events", String(1000), nullable=False),
    Column("secret_encrypted", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("disabled_at", BigInteger, nullable=True),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("event_id", String(36), ForeignKey("events.id"), nullable=False, index=True),
    Column("endpoint_id", String(36), ForeignKey("webhook_endpoints.id"), nullable=False, index=True),
    Column("status", String(20), nullable=False),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", String(500), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("delivered_at", BigInteger, nullable=True),
    UniqueConstraint("event_id", "endpoint_id", name="uq_webhook_deliveries_event_endpoint"),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("delivery_id", String(36), ForeignKey("webhook_deliveries.id"), nullable=False, index=True),
    Column("at", BigInteger, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", String(500), nullable=True),
    Column("duration_ms", Integer, nullable=False),
)

# -- the sandbox card processor's and bank's own books (what their reports would say) -----

sandbox_card_charges = Table(
    "sandbox_card_charges",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("idempotency_key", String(100), nullable=False, unique=True),
    Column("amount", BigInteger, nullable=False),
    Column("asset", String(12), nullable=False),
    Column("brand", String(20), nullable=False),
    Column("last4", String(4), nullable=False),
    Column("status", String(20), nullable=False),  # succeeded, declined
    Column("decline_code", String(40), nullable=True),
    Column("created_at", BigInteger, nullable=False),
)

sandbox_bank_payouts = Table(
    "sandbox_bank_payouts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("idempotency_key", String(100), nullable=False, unique=True),
    Column("amount", BigInteger, nullable=False),
    Column("asset", String(12), nullable=False),
    Column("iban_last4", String(4), nullable=False),
    Column("status", String(20), nullable=False),  # paid, failed
    Column("failure_code", String(40), nullable=True),
    Column("created_at", BigInteger, nullable=False),
)

# -- paywall: providers and payment channels -------------------------------------------------

providers = Table(
    "providers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("origin", String(300), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # The provider's price rules and passes, as JSON; the SDK can fetch them.
    Column("price_rules", Text, nullable=True),
    # The key the provider MACs view receipts with, sealed by the SecretBox.
    Column("receipt_key", Text, nullable=True),
    # How long a purchase reopens its page on any of the reader's devices (paywall.model).
    Column("reaccess_seconds", Integer, nullable=False, server_default="86400"),
)

channels = Table(
    "channels",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("payer_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    Column("provider_id", String(36), ForeignKey("providers.id"), nullable=False, index=True),
    Column("asset", String(12), nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("length", Integer, nullable=False),
    Column("root", String(64), nullable=False),
    Column("expires_at", BigInteger, nullable=False),  # unix seconds, as in the certificate
    Column("hold_id", LargeBinary(16), nullable=False),
    Column("status", String(20), nullable=False),  # open, settled
    Column("claimed_index", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("settled_at", BigInteger, nullable=True),
    # What the settlement paid the provider before the fee: used x price, less refunds.
    Column("settled_paid", BigInteger, nullable=True),
    CheckConstraint(
        "price > 0 AND length > 0 AND claimed_index >= 0 AND claimed_index <= length", name="sane"
    ),
)

# A channel payment the reader took back: the channel's settlement pays the provider that
# much less (or, once settled, a credit note carries it to the next settlement).
channel_refunds = Table(
    "channel_refunds",
    metadata,
    Column("channel_id", String(36), ForeignKey("channels.id"), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("reader_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("viewed_at", BigInteger, nullable=False),  # unix seconds, from the provider's receipt
    Column("created_at", BigInteger, nullable=False),
    Column("credit_note_id", String(36), nullable=True),  # set when the channel had settled already
    CheckConstraint("amount > 0 AND idx > 0", name="positive"),
    Index("ix_channel_refunds_reader", "reader_id", "created_at"),
)

# -- paywall: consents, tabs and charges (for clients that cannot hold a chain) ------------

consents = Table(
    "consents",
    metadata,
    Column("reader_id", String(36), ForeignKey("users.id"), primary_key=True),
    Column("provider_id", String(36), ForeignKey("providers.id"), primary_key=True),
    Column("asset", String(12), nullable=False),
    Column("per_item_max", BigInteger, nullable=False),
    Column("per_day_max", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

tabs = Table(
    "tabs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("reader_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("provider_id", String(36), ForeignKey("providers.id"), nullable=False),
    Column("asset", String(12), nullable=False),
    Column("hold_id", LargeBinary(16), nullable=False),
    Column("held", BigInteger, nullable=False),
    Column("accrued", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),  # open, settled
    Column("opened_at", BigInteger, nullable=False),
    Column("settled_at", BigInteger, nullable=True),
    CheckConstraint("accrued >= 0 AND accrued <= held", name="within_hold"),
    Index("ix_tabs_open", "reader_id", "provider_id", "status"),
)

charges = Table(
    "charges",
    metadata,
    Column("provider_id", String(36), ForeignKey("providers.id"), primary_key=True),
    Column("charge_id", String(64), primary_key=True),
    Column("reader_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("tab_id", String(36), ForeignKey("tabs.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("resource", String(500), nullable=False),
    Column("title", String(200), nullable=True),  # the provider's name for it (paywall.model.TITLE_MAX)
    Column("created_at", BigInteger, nullable=False),
    Column("refunded_at", BigInteger, nullable=True),
    # The provider's re-access period when it was bought (NULL: bought before it was one, a day).
    Column("reaccess_seconds", Integer, nullable=True),
    Index("ix_charges_reader_day", "reader_id", "provider_id", "created_at"),
)

# What a reader bought, so it follows the person to any device: a channel-paid view the
# reader showed the provider's view receipt for, or a visit of a pass the wallet handed
# out. (Widget charges are purchases by themselves: the `charges` row.)
purchases = Table(
    "purchases",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("reader_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("provider_id", String(36), ForeignKey("providers.id"), nullable=False),
    Column("resource", String(500), nullable=False),
    Column("title", String(200), nullable=True),  # the provider's name for it, when it gave one
    Column("bought_at", BigInteger, nullable=False),
    Column("channel_id", String(36), nullable=True),
    Column("idx", Integer, nullable=True),
    Column("pass_id", String(36), nullable=True),
    # The provider's re-access period when it was bought (NULL: bought before it was one, a day).
    Column("reaccess_seconds", Integer, nullable=True),
    UniqueConstraint("channel_id", "idx", name="uq_purchases_channel_payment"),
    Index("ix_purchases_reader", "reader_id", "provider_id", "resource", "bought_at"),
)

# Passes bought through the wallet (its popup): the token to hand out again on any of the
# reader's devices and the visits it handed out, so the reader sees what is left.
reader_passes = Table(
    "reader_passes",
    metadata,
    Column("id", String(36), primary_key=True),  # the pass id the token carries
    Column("reader_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("provider_id", String(36), ForeignKey("providers.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("pattern", String(200), nullable=False),
    Column("asset", String(12), nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("visits", Integer, nullable=True),  # None: a pass for a number of hours
    Column("used", Integer, nullable=False),
    Column("expires_at", BigInteger, nullable=False),  # unix seconds
    Column("token", Text, nullable=False),
    Column("bought_at", BigInteger, nullable=False),
    CheckConstraint("used >= 0 AND (visits IS NULL OR used <= visits)", name="visits_within_pass"),
    Index("ix_reader_passes_reader", "reader_id", "provider_id"),
)

# A refund of a charge whose tab was already settled: netted against the provider's next
# settlement with that reader (the provider is paid less, the reader's hold releases more).
credit_notes = Table(
    "credit_notes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("reader_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("provider_id", String(36), ForeignKey("providers.id"), nullable=False),
    Column("asset", String(12), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("remaining", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    CheckConstraint("remaining >= 0 AND remaining <= amount", name="remaining_within_amount"),
    Index("ix_credit_notes_open", "reader_id", "provider_id", "remaining"),
)

# -- audit trail: append-only, each entry chained to the one before by SHA-256 --------------

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", BigInteger, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False, index=True),
    Column("subject", String(200), nullable=False),
    Column("details", Text, nullable=False),
    Column("address", String(100), nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# One row: the last entry's sequence number and hash. Writers lock it, so the chain never
# forks; removing entries from the end leaves it pointing past them.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)
