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
    database_url: str | None = None
    public_url: str | None = None
    session_ttl_seconds: int = 12 * 3600
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
    max_body_bytes: int = 64 * 1024
    # A reader may take back a charged view this long after it, this many times a day.
    refund_window_seconds: int = 600
    refunds_per_day: int = 5
    # Widget (paying on another site): a reader without an account may read this much on
    # an anonymous trial tab before signing up and settling it.
    anonymous_tab_limit: int = parse_units("1.00", EUR)
    anonymous_tabs_per_address: int = 3  # new trial tabs one address may open a day

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
            session_ttl_seconds=int(env.get("OBOLO_SESSION_TTL_SECONDS", defaults.session_ttl_seconds)),
            topup_min=units("OBOLO_TOPUP_MIN", defaults.topup_min),
            topup_max=units("OBOLO_TOPUP_MAX", defaults.topup_max),
            payment_max=units("OBOLO_PAYMENT_MAX", defaults.payment_max),
            withdrawal_max=units("OBOLO_WITHDRAWAL_MAX", defaults.withdrawal_max),
            refund_window_seconds=int(env.get("OBOLO_REFUND_WINDOW_SECONDS", defaults.refund_window_seconds)),
            refunds_per_day=int(env.get("OBOLO_REFUNDS_PER_DAY", defaults.refunds_per_day)),
            # widget
            anonymous_tab_limit=units("OBOLO_ANONYMOUS_TAB_LIMIT", defaults.anonymous_tab_limit),
            anonymous_tabs_per_address=int(
                env.get("OBOLO_ANONYMOUS_TABS_PER_ADDRESS", defaults.anonymous_tabs_per_address)
            ),
        )
