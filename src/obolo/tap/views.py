"""Taps, cards, merchants and terminals as callers see them."""

from __future__ import annotations

from dataclasses import dataclass

from obolo.tap.model import Mode, Reason, Status


@dataclass(frozen=True, slots=True)
class Merchant:
    id: str
    user_id: str
    name: str
    kind: Mode
    asset: str
    fare: int | None
    daily_cap: int | None
    weekly_cap: int | None
    offline_limit: int


@dataclass(frozen=True, slots=True)
class Terminal:
    id: str
    merchant_id: str
    name: str
    mode: Mode


@dataclass(frozen=True, slots=True)
class Card:
    id: str
    label: str
    asset: str
    blocked: bool
    owed: int
    created_at: int


@dataclass(frozen=True, slots=True)
class Credential:
    """What a terminal presented: an API key, or an Ed25519 signature over the request."""

    terminal_id: str
    api_key: str | None = None
    signature: str | None = None
    signed_message: bytes = b""


@dataclass(frozen=True, slots=True)
class TapIn:
    tap_id: str
    card_uid: bytes
    amount: int | None = None  # retail only
    tapped_at: int | None = None  # ns; the terminal's clock (required offline)
    asset: str | None = None  # if given, must be the merchant's


@dataclass(frozen=True, slots=True)
class TapOutcome:
    tap_id: str
    status: Status
    reason: Reason | None
    asset: str
    amount: int
    charged: int
    capped: bool
    debt: int
    balance_band: str | None
    duplicate_of: str | None
    receipt: str | None
    offline: bool


@dataclass(frozen=True, slots=True)
class Journey:
    tap_id: str
    merchant: str
    terminal_id: str
    mode: Mode
    status: Status
    reason: Reason | None
    asset: str
    fare: int
    charged: int
    capped: bool
    debt: int
    offline: bool
    tapped_at: int


__all__ = ["Card", "Credential", "Journey", "Merchant", "TapIn", "TapOutcome", "Terminal"]
