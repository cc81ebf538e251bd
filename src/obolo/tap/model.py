"""Tap rules: pure functions, values in and out, no I/O.

Fare capping, the double-tap window, card hashing, the remaining-balance band, and the
exact contents of receipts and offline kits (signed by the service, checked by
`obolo.sdk.tap`).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

from obolo.tap.errors import InvalidCardUid

NS_PER_DAY = 86_400 * 1_000_000_000
# Kits say so: a card that could spend less than the offline limit is denied offline.
BALANCE_BANDS = (1_000_000, 5_000_000, 20_000_000)  # units at scale 6: 1, 5, 20


class Mode(enum.StrEnum):
    RETAIL = "retail"
    TRANSIT = "transit"


class Status(enum.StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"


class Reason(enum.StrEnum):
    """Why a tap was declined (or, for approvals, what made it special)."""

    UNKNOWN_CARD = "unknown_card"
    CARD_BLOCKED = "card_blocked"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    WRONG_ASSET = "wrong_asset"
    DOUBLE_TAP = "double_tap"  # approved, charged nothing: the first tap was charged
    DEBT_OUTSTANDING = "debt_outstanding"
    TOO_OLD = "too_old"


# -- cards -------------------------------------------------------------------------------------


def parse_uid(text: str) -> bytes:
    """A card UID from hex (4, 7 or 10 bytes as ISO 14443 has them; colons and spaces allowed)."""
    digits = re.sub(r"[\s:-]", "", text)
    if not re.fullmatch(r"[0-9A-Fa-f]{8,20}", digits) or len(digits) % 2:
        raise InvalidCardUid("a card UID is 4 to 10 bytes in hex", field="card_uid")
    return bytes.fromhex(digits)


def uid_hash(card_key: bytes, uid: bytes) -> str:
    """How the server finds a card: HMAC-SHA256 under the server's card key."""
    return hmac.new(card_key, b"card:" + uid, hashlib.sha256).hexdigest()


def offline_key(card_key: bytes) -> bytes:
    """The key terminals hold to name cards in a kit; never the server's card key itself."""
    return hmac.new(card_key, b"offline-tags:v1", hashlib.sha256).digest()


def offline_tag(key: bytes, uid: bytes) -> str:
    """A card's name in an offline kit (128 bits; `obolo.sdk.tap.card_tag` computes the same)."""
    return hmac.new(key, uid, hashlib.sha256).hexdigest()[:32]


# -- time --------------------------------------------------------------------------------------


def day_of(ns: int) -> int:
    """The UTC day number (days since 1970-01-01) of a time in nanoseconds."""
    return ns // NS_PER_DAY


def week_of(day: int) -> int:
    """The day number of the Monday starting the week of `day` (1970-01-01 was a Thursday)."""
    return day - (day + 3) % 7


def is_double_tap(other_ns: int | None, now_ns: int, window_seconds: int) -> bool:
    """Is a tap at `now_ns` the same tap as a charged one at `other_ns` (same card and
    terminal)? Either may be the earlier: offline taps arrive in any order."""
    return other_ns is not None and abs(now_ns - other_ns) <= window_seconds * 1_000_000_000


# -- fare capping ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Caps:
    fare: int
    daily: int
    weekly: int

    def __post_init__(self) -> None:
        if not 0 < self.fare <= self.daily <= self.weekly:
            raise ValueError("caps need 0 < fare <= daily cap <= weekly cap")


def capped_fare(fare: int, day_charged: int, week_charged: int, caps: Caps) -> tuple[int, bool]:
    """What one ride costs given what was charged already that day and that week: the fare,
    or less once a cap is reached. Returns (charge, capped)."""
    room = max(0, min(caps.daily - day_charged, caps.weekly - week_charged))
    charge = min(fare, room)
    return charge, charge < fare


def expected_week_total(fares_by_day: dict[int, int], caps: Caps) -> int:
    """What a week of rides costs in all: each day capped, then the week capped."""
    return min(sum(min(f, caps.daily) for f in fares_by_day.values()), caps.weekly)


def hold_for_day(caps: Caps, week_charged: int) -> int:
    """What a transit day reserves at its first tap: all the day can still cost."""
    return max(0, min(caps.daily, caps.weekly - week_charged))


# -- receipts and kits -------------------------------------------------------------------------


def balance_band(available: int) -> str:
    """A coarse remaining balance for a receipt: enough to warn, not to disclose."""
    low, mid, high = BALANCE_BANDS
    if available < low:
        return "under-1"
    if available < mid:
        return "1-5"
    if available < high:
        return "5-20"
    return "20-plus"


def receipt_fields(
    *,
    tap_id: str,
    terminal_id: str,
    merchant_id: str,
    card_id: str,
    asset: str,
    amount: int,
    charged: int,
    capped: bool,
    band: str,
    tapped_at: int,
    key_id: str,
) -> dict[str, Any]:
    """What an approval's receipt says, field for field (see `obolo.sdk.tap.TapReceipt`)."""
    return {
        "tap_id": tap_id,
        "terminal_id": terminal_id,
        "merchant_id": merchant_id,
        "card_id": card_id,
        "asset": asset,
        "amount": amount,
        "charged": charged,
        "capped": capped,
        "balance_band": band,
        "tapped_at": tapped_at,
        "kid": key_id,
    }


def kit_fields(
    *,
    terminal_id: str,
    merchant_id: str,
    asset: str,
    version: int,
    issued_at: int,
    expires_at: int,
    offline_limit: int,
    tag_key: bytes,
    deny: list[str],
    key_id: str,
) -> dict[str, Any]:
    """What an offline kit says (see `obolo.sdk.tap.OfflineKit`). The loss bound is stated
    in the kit: a terminal that keeps to the limit per card and stops at expiry loses at most
    `max_loss_per_card` on any one card."""
    return {
        "terminal_id": terminal_id,
        "merchant_id": merchant_id,
        "asset": asset,
        "version": version,
        "issued_at": issued_at,
        "expires_at": expires_at,
        "offline_limit": offline_limit,
        "max_loss_per_card": offline_limit,
        "tag_key": tag_key.hex(),
        "deny": sorted(deny),
        "kid": key_id,
    }
