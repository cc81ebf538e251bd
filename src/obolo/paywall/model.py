"""Paywall rules: pure."""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from obolo.money import Asset, parse_units
from obolo.paywall.errors import InvalidReaccessPeriod, InvalidTitle

MAX_CHAIN = 1_000_000
GRACE_SECONDS = 3600  # claims after a channel's expiry still pay within this window
#: What a provider calls the item a reader buys (an article's title), shown in the reader's
#: history, statement, SMS and popup: one line, at most this many characters.
TITLE_MAX = 200
#: How long a purchase reopens its page on any of the reader's devices, unless the provider
#: chose otherwise: the one period every provider had before it was a setting.
DEFAULT_REACCESS_SECONDS = 24 * 3600
#: The provider's choice is bounded. 0 means every view is paid (a live score). A year is
#: the longest a per-view purchase reasonably promises: longer is ownership, which a pass
#: (or a shop's order) sells; and a bound keeps every `until` a plain date the reader's
#: history, the SDK's receipts and a 64-bit nanosecond clock all hold.
MAX_REACCESS_SECONDS = 365 * 24 * 3600
# C0 and C1 controls, DEL, bidi embeddings/overrides/isolates/marks, lone surrogates: they
# rewrite what the reader sees (the API's text rule, obolo.entrypoints.api.common).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


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
    reaccess_seconds: int = DEFAULT_REACCESS_SECONDS


def check_reaccess_seconds(seconds: object) -> int:
    """The provider's re-access period, whole seconds within bounds. Raises
    InvalidReaccessPeriod (a bool, a float or text is not a number of seconds)."""
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        raise InvalidReaccessPeriod("the re-access period is a whole number of seconds")
    if not 0 <= seconds <= MAX_REACCESS_SECONDS:
        raise InvalidReaccessPeriod(
            f"the re-access period is 0 (every view is paid) to {MAX_REACCESS_SECONDS} seconds (a year)",
            most=MAX_REACCESS_SECONDS,
        )
    return seconds


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


def clean_title(text: str | None) -> str | None:
    """A provider's title for an item, as the reader's history keeps it: runs of white
    space (line breaks and tabs included) made one space, trimmed; None when empty.
    Raises InvalidTitle for control or bidi characters, or past TITLE_MAX characters:
    the platform refuses rather than shows something else than what the provider sent."""
    if text is None:
        return None
    title = " ".join(text.split())
    found = _UNSAFE.search(title)
    if found is not None:
        raise InvalidTitle(
            "the title holds a control or bidi character", character=f"U+{ord(found.group()):04X}"
        )
    if len(title) > TITLE_MAX:
        raise InvalidTitle(f"the title is at most {TITLE_MAX} characters", length=len(title))
    return title or None


def fit_title(text: str | None) -> str | None:
    """A title read off a page (the widget sends its markup's or the document's title, not
    a provider's API call): control and bidi characters dropped, white space made single,
    cut to TITLE_MAX characters with an ellipsis. Always a valid `clean_title`."""
    title = " ".join(_UNSAFE.sub("", text or "").split())
    if len(title) > TITLE_MAX:
        title = title[: TITLE_MAX - 1].rstrip() + "…"
    return title or None


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
