"""Paywall rules: pure."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from typing import Any

from obolo.money import Asset, parse_units

MAX_CHAIN = 1_000_000
GRACE_SECONDS = 3600  # claims after a channel's expiry still pay within this window


class ClaimStatus(enum.StrEnum):
    SETTLED = "settled"
    ALREADY_SETTLED = "already_settled"
    NOT_FOUND = "not_found"
    BAD_PREIMAGE = "bad_preimage"
    BEYOND_CHANNEL = "beyond_channel"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Provider:
    id: str
    user_id: str
    name: str
    origin: str


@dataclass(frozen=True, slots=True)
class Claim:
    channel_id: str
    index: int
    token: bytes


@dataclass(frozen=True, slots=True)
class ClaimResult:
    channel_id: str
    status: ClaimStatus
    payments: int = 0
    paid: int = 0  # units to the provider, before the fee
    fee: int = 0
    released: int = 0  # units back to the payer
    asset: str = ""
    refunded: int = 0  # units of used payments taken back by the payer (refunds, credit notes)


def chain_reaches(token: bytes, index: int, root: bytes) -> bool:
    """Does hashing `token` `index` times give `root`? (The proof a claim carries.)"""
    value = token
    for _ in range(index):
        value = hashlib.sha256(value).digest()
    return value == root


def pass_on_sale(
    rules: dict[str, Any], pattern: str, price: int, asset: Asset, visits: int | None, hours: int | None
) -> bool:
    """Is a pass with exactly these terms one the provider published (`rules` as stored by
    `set_price_rules`)? Prices compare as amounts, so "0.5" and "0.50" are the same offer."""
    for offer in rules.get("passes", []):
        if offer.get("asset", "EUR") != asset.code:
            continue
        terms = (
            offer["pattern"],
            parse_units(offer["price"], asset),
            offer.get("visits"),
            offer.get("hours"),
        )
        if terms == (pattern, price, visits, hours):
            return True
    return False
