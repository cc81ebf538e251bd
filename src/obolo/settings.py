"""Configuration, read once from the environment (OBOLO_*) with safe defaults for a
local run. Money limits are in units of the asset (scale 6 for EUR and USD)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from obolo.money import EUR, parse_units


@dataclass(frozen=True, slots=True)
class FeeRule:
    """A fee of `basis_points`/10,000 of the amount plus `fixed` units."""

    basis_points: int = 0
    fixed: int = 0


@dataclass(frozen=True, slots=True)
class Settings:
    # A server started for a demo (`obolo serve --demo`, never the environment): only then
    # are the demo's own parts served (the SMS simulator, texts printed to the log).
    demo: bool = False
    database_url: str | None = None
    public_url: str | None = None
    session_ttl_seconds: int = 12 * 3600
    # How long a process reuses what it has read of a person on a payment's hot path (0:
    # read it on every request): a session it has checked, the payer's standing (not
    # frozen, not closed), a person's webhook endpoints. A sign-out, a role granted, a
    # freeze or an endpoint added or disabled in this process is seen at once; in another
    # process of the same deployment, within this time.
    session_cache_seconds: float = 2.0
    # Money limits, in units (EUR/USD at scale 6).
    topup_min: int = parse_units("1.00", EUR)
    topup_max: int = parse_units("500.00", EUR)
    payment_max: int = parse_units("1000.00", EUR)
    withdrawal_min: int = parse_units("0.000001", EUR)
    withdrawal_max: int = parse_units("5000.00", EUR)
    # Fees per kind of movement; P2P payments are free by default.
    fees: dict[str, FeeRule] = field(
        default_factory=lambda: {
            "payment": FeeRule(),
            "topup": FeeRule(),
            "withdrawal": FeeRule(),
        }
    )
    # Login throttling: after `slow_after` failures each try waits 2^(n - slow_after)
    # seconds; after `lock_after` the account (or address) locks for `lock_seconds`.
    login_slow_after: int = 3
    login_lock_after: int = 10
    login_lock_seconds: int = 15 * 60
    # Signing in with a code texted to one's number: how long a code lives, how many tries it
    # allows, and how many codes a number (and an address) may ask for in an hour.
    phone_code_seconds: int = 600
    phone_code_attempts: int = 5
    phone_codes_per_hour: int = 5
    phone_codes_per_address_hour: int = 30
    max_body_bytes: int = 64 * 1024
    # Argon2id cost of hashing passwords and PINs (see obolo.identity.hashing): RFC 9106's
    # second recommendation; lower only on a test bench.
    password_time_cost: int = 3
    password_memory_kib: int = 64 * 1024
    password_parallelism: int = 4
    # Writer threads of the write path on PostgreSQL, each batching on its own connection
    # (SQLite has one write lock: always one).
    write_threads: int = 1
    # Most write units one writer commits together. Several API processes on one database
    # take turns on the accounts a batch holds until its commit: there, 1 (each unit commits
    # alone) lets processes add up (docs/benchmarks.md, "one process or two").
    write_batch: int = 256
    # Reverse proxies (addresses or networks) whose X-Forwarded-For / -Proto are believed;
    # from anyone else the headers are ignored and the peer's address is the client's.
    trusted_proxies: tuple[str, ...] = ()
    # A reader may take back a charged view this long after it, this many times a day.
    refund_window_seconds: int = 600
    refunds_per_day: int = 5
    # Background jobs: a worker silent this long is presumed dead and its job is taken over;
    # jobs that drain a queue do it this many items per transaction.
    job_lease_seconds: int = 120
    job_batch: int = 1_000
    # Audit: where the hourly job appends the chain's head (a file on other storage than
    # the database's; unset: no job, anchor with `obolo audit anchor` from elsewhere).
    audit_anchor_file: str | None = None
    # Withdrawals: one still pending this long after it began (its request died between
    # the hold and the settle) is finished by the `withdrawals_resume` job.
    withdrawal_resume_after_seconds: int = 300
    # Tasks: the employer's fee on top of each reward and the platform's fee taken from
    # it; how long silence waits before approval; how long a rejection can be disputed
    # and, meanwhile, how many rejections from one employer count against a worker;
    # the minimum effective pay per hour (units, 0 = none) and the answers it needs.
    task_fee: FeeRule = FeeRule(1000, 0)
    task_payout_fee: FeeRule = FeeRule()
    task_auto_approve_seconds: int = 72 * 3600
    task_dispute_window_seconds: int = 7 * 24 * 3600
    task_rejections_per_employer: int = 3
    task_min_hourly: int = 0
    task_fair_pay_samples: int = 5
    # tap: two taps of one card at one terminal this close together are one charge; offline
    # kits live this long; a transit day's hold is posted this long after its midnight (UTC).
    tap_double_tap_seconds: int = 3
    tap_kit_ttl_seconds: int = 86_400
    tap_day_close_grace_seconds: int = 3_600
    # -- sms: money by text message ------------------------------------------------------
    sms_asset: str = "EUR"
    sms_auth_token: str | None = None  # the gateway's shared secret; no token, no webhook
    sms_gateway_url: str | None = None  # outbound HTTP gateway; unset: the console gateway
    sms_gateway_user: str | None = None
    sms_gateway_from: str | None = None
    sms_send_max: int = parse_units("200.00", EUR)
    sms_day_max: int = parse_units("500.00", EUR)
    sms_sends_per_hour: int = 10
    # Lower limits while a number is freshly (re)verified: a swapped SIM looks like this.
    sms_new_number_send_max: int = parse_units("50.00", EUR)
    sms_new_number_day_max: int = parse_units("100.00", EUR)
    sms_new_number_seconds: int = 24 * 3600
    sms_confirm_seconds: int = 300
    sms_undo_seconds: int = 600
    sms_cooling_threshold: int = parse_units("50.00", EUR)
    sms_cooling_seconds: int = 900
    sms_claim_days: int = 7
    sms_pin_attempts: int = 3
    sms_lock_seconds: int = 1800
    # Money sent to an email or phone without an account waits this long to be claimed.
    invite_claim_seconds: int = 14 * 86_400
    # Widget (paying on another site): a reader without an account may read this much on
    # an anonymous trial tab before signing up and settling it.
    anonymous_tab_limit: int = parse_units("1.00", EUR)
    anonymous_tabs_per_address: int = 3  # new trial tabs one address may open a day
    # Outbound requests (webhooks, the SMS gateway) never reach internal addresses except
    # these: hosts, host:port, addresses or networks, comma-separated. Empty: none.
    egress_allow: str = ""

    @property
    def serves_sms_simulator(self) -> bool:
        """The simulator lets anyone type as any number, so only a demo serves it, and never
        with a gateway secret set: a secret means real numbers may be on this server."""
        return self.demo and not self.sms_auth_token

    @classmethod
    def from_environment(cls) -> Settings:
        env = os.environ
        defaults = cls()

        def units(name: str, default: int) -> int:
            value = env.get(name)
            return parse_units(value, EUR) if value else default

        fees = dict(defaults.fees)
        # OBOLO_FEES="payment=100:0,withdrawal=0:250000": basis points and fixed units per kind.
        for item in filter(None, (part.strip() for part in env.get("OBOLO_FEES", "").split(","))):
            kind, _, rule = item.partition("=")
            basis_points, _, fixed = rule.partition(":")
            fees[kind.strip()] = FeeRule(int(basis_points or 0), int(fixed or 0))
        return cls(
            database_url=env.get("OBOLO_DATABASE_URL"),
            fees=fees,
            public_url=env.get("OBOLO_PUBLIC_URL"),
            trusted_proxies=tuple(
                filter(None, (part.strip() for part in env.get("OBOLO_TRUSTED_PROXIES", "").split(",")))
            ),
            session_ttl_seconds=int(env.get("OBOLO_SESSION_TTL_SECONDS", defaults.session_ttl_seconds)),
            session_cache_seconds=float(
                env.get("OBOLO_SESSION_CACHE_SECONDS", defaults.session_cache_seconds)
            ),
            topup_min=units("OBOLO_TOPUP_MIN", defaults.topup_min),
            topup_max=units("OBOLO_TOPUP_MAX", defaults.topup_max),
            payment_max=units("OBOLO_PAYMENT_MAX", defaults.payment_max),
            withdrawal_max=units("OBOLO_WITHDRAWAL_MAX", defaults.withdrawal_max),
            refund_window_seconds=int(env.get("OBOLO_REFUND_WINDOW_SECONDS", defaults.refund_window_seconds)),
            refunds_per_day=int(env.get("OBOLO_REFUNDS_PER_DAY", defaults.refunds_per_day)),
            job_lease_seconds=int(env.get("OBOLO_JOB_LEASE_SECONDS", defaults.job_lease_seconds)),
            job_batch=int(env.get("OBOLO_JOB_BATCH", defaults.job_batch)),
            write_threads=int(env.get("OBOLO_WRITE_THREADS", defaults.write_threads)),
            write_batch=max(1, int(env.get("OBOLO_WRITE_BATCH", defaults.write_batch))),
            password_time_cost=int(env.get("OBOLO_PASSWORD_TIME_COST", defaults.password_time_cost)),
            password_memory_kib=int(env.get("OBOLO_PASSWORD_MEMORY_KIB", defaults.password_memory_kib)),
            password_parallelism=int(env.get("OBOLO_PASSWORD_PARALLELISM", defaults.password_parallelism)),
            audit_anchor_file=env.get("OBOLO_AUDIT_ANCHOR_FILE") or None,
            withdrawal_resume_after_seconds=int(
                env.get("OBOLO_WITHDRAWAL_RESUME_AFTER_SECONDS", defaults.withdrawal_resume_after_seconds)
            ),
            # tasks
            task_fee=_fee_rule(env.get("OBOLO_TASK_FEE"), defaults.task_fee),
            task_payout_fee=_fee_rule(env.get("OBOLO_TASK_PAYOUT_FEE"), defaults.task_payout_fee),
            task_auto_approve_seconds=int(
                env.get("OBOLO_TASK_AUTO_APPROVE_SECONDS", defaults.task_auto_approve_seconds)
            ),
            task_dispute_window_seconds=int(
                env.get("OBOLO_TASK_DISPUTE_WINDOW_SECONDS", defaults.task_dispute_window_seconds)
            ),
            task_rejections_per_employer=int(
                env.get("OBOLO_TASK_REJECTIONS_PER_EMPLOYER", defaults.task_rejections_per_employer)
            ),
            task_min_hourly=units("OBOLO_TASK_MIN_HOURLY", defaults.task_min_hourly),
            task_fair_pay_samples=int(env.get("OBOLO_TASK_FAIR_PAY_SAMPLES", defaults.task_fair_pay_samples)),
            # tap
            tap_double_tap_seconds=int(
                env.get("OBOLO_TAP_DOUBLE_TAP_SECONDS", defaults.tap_double_tap_seconds)
            ),
            tap_kit_ttl_seconds=int(env.get("OBOLO_TAP_KIT_TTL_SECONDS", defaults.tap_kit_ttl_seconds)),
            tap_day_close_grace_seconds=int(
                env.get("OBOLO_TAP_DAY_CLOSE_GRACE_SECONDS", defaults.tap_day_close_grace_seconds)
            ),
            # sms
            sms_asset=env.get("OBOLO_SMS_ASSET", defaults.sms_asset),
            sms_auth_token=env.get("OBOLO_SMS_AUTH_TOKEN") or None,
            sms_gateway_url=env.get("OBOLO_SMS_GATEWAY_URL") or None,
            sms_gateway_user=env.get("OBOLO_SMS_GATEWAY_USER") or None,
            sms_gateway_from=env.get("OBOLO_SMS_FROM") or None,
            sms_send_max=units("OBOLO_SMS_SEND_MAX", defaults.sms_send_max),
            sms_day_max=units("OBOLO_SMS_DAY_MAX", defaults.sms_day_max),
            sms_sends_per_hour=int(env.get("OBOLO_SMS_SENDS_PER_HOUR", defaults.sms_sends_per_hour)),
            sms_cooling_threshold=units("OBOLO_SMS_COOLING_THRESHOLD", defaults.sms_cooling_threshold),
            sms_cooling_seconds=int(env.get("OBOLO_SMS_COOLING_SECONDS", defaults.sms_cooling_seconds)),
            sms_claim_days=int(env.get("OBOLO_SMS_CLAIM_DAYS", defaults.sms_claim_days)),
            invite_claim_seconds=int(env.get("OBOLO_INVITE_CLAIM_SECONDS", defaults.invite_claim_seconds)),
            # widget
            anonymous_tab_limit=units("OBOLO_ANONYMOUS_TAB_LIMIT", defaults.anonymous_tab_limit),
            anonymous_tabs_per_address=int(
                env.get("OBOLO_ANONYMOUS_TABS_PER_ADDRESS", defaults.anonymous_tabs_per_address)
            ),
            egress_allow=env.get("OBOLO_EGRESS_ALLOW", defaults.egress_allow),
        )


def _fee_rule(text: str | None, default: FeeRule) -> FeeRule:
    """A fee rule written "basis_points:fixed_units" (tasks' settings)."""
    if not text:
        return default
    basis_points, _, fixed = text.partition(":")
    return FeeRule(int(basis_points or 0), int(fixed or 0))
