"""Wallet rules: pure functions, values in and out, no I/O."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from obolo.adapters.ids import derived_id
from obolo.money import round_half_even
from obolo.settings import FeeRule
from obolo.wallets.activity import Text
from obolo.wallets.errors import InvalidCard, InvalidIban


class MovementKind(enum.StrEnum):
    TOPUP = "topup"
    PAYMENT = "payment"
    WITHDRAWAL = "withdrawal"
    ADJUSTMENT = "adjustment"  # an operator's correction, with a reason, under the audit trail


class MovementStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class AccountCode(enum.IntEnum):
    """What a ledger account is for (the ledger's `code` on accounts). Products keep their
    own codes in their own decade: tasks the 20s, SMS the 30s."""

    CARD_FUNDING = 1
    BANK_PAYOUTS = 2
    FEE_REVENUE = 3
    ROUNDING = 4
    ADJUSTMENTS = 5
    INVITATIONS = 6  # money held for an email or phone without an account, until claimed or returned
    WALLET = 10


class TransferCode(enum.IntEnum):
    """Why money moved (the ledger's `code` on transfers)."""

    TOPUP = 1
    PAYMENT = 2
    FEE = 3
    WITHDRAWAL = 4
    ADJUSTMENT = 5


class PlatformAccount(enum.StrEnum):
    CARD_FUNDING = "card_funding"
    BANK_PAYOUTS = "bank_payouts"
    FEE_REVENUE = "fee_revenue"
    ROUNDING = "rounding"
    ADJUSTMENTS = "adjustments"  # the other side of every operator's correction
    INVITATIONS = "invitations"  # payments waiting for their recipient to join

    @property
    def code(self) -> AccountCode:
        return AccountCode[self.name]

    def account_id(self, asset: str) -> int:
        """The platform's account for this purpose and asset: the same id everywhere."""
        return derived_id("platform", self.value, asset)


def fee_for(amount: int, rule: FeeRule) -> int:
    """The fee on `amount` units: basis points rounded half to even, plus the fixed part."""
    return round_half_even(amount * rule.basis_points, 10_000) + rule.fixed


@dataclass(frozen=True, slots=True)
class Wallet:
    id: str
    user_id: str
    asset: str
    account_id: int


@dataclass(frozen=True, slots=True)
class Balance:
    asset: str
    available: int
    reserved: int


@dataclass(frozen=True, slots=True)
class Movement:
    """A movement of money as its owner sees it."""

    id: str
    kind: MovementKind
    status: MovementStatus
    asset: str
    amount: int
    fee: int
    from_user_id: str | None
    to_user_id: str | None
    note: str | None
    details: dict[str, Any]
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    movement: Movement
    direction: str  # "in" or "out"
    counterparty: str | None


@dataclass(frozen=True, slots=True)
class StatementLine:
    timestamp: int
    movement_id: str | None
    kind: str
    description: str
    amount: int  # signed: credits positive, debits negative
    balance: int
    text: Text | None = None  # `description`, structured for translation


# -- cards ---------------------------------------------------------------------------------


def luhn_valid(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def check_card(number: str, exp_month: int, exp_year: int, cvc: str, *, year: int, month: int) -> str:
    """The card number without spaces, or InvalidCard saying what is wrong with it."""
    digits = re.sub(r"[ -]", "", number)
    if not luhn_valid(digits):
        raise InvalidCard("the card number is not valid", field="number")
    if not 1 <= exp_month <= 12:
        raise InvalidCard("the expiry month must be 1-12", field="exp_month")
    if exp_year < 100:
        exp_year += 2000
    if (exp_year, exp_month) < (year, month):
        raise InvalidCard("the card has expired", field="exp_year")
    if exp_year > year + 20:
        raise InvalidCard("the expiry year is too far ahead", field="exp_year")
    if not (cvc.isdigit() and 3 <= len(cvc) <= 4):
        raise InvalidCard("the CVC is 3 or 4 digits", field="cvc")
    return digits


# -- IBAN ----------------------------------------------------------------------------------

# ISO 13616 lengths for the countries we pay out to (SEPA and a few more).
IBAN_LENGTHS = {
    "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20,
    "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26,
    "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15,
    "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
}  # fmt: skip


def normalize_iban(text: str) -> str:
    """The IBAN in electronic form (no spaces, upper case) if its country, length and
    mod-97 checksum are right; otherwise InvalidIban."""
    iban = re.sub(r"\s", "", text).upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{8,30}", iban):
        raise InvalidIban("an IBAN is a country code, two check digits and the account number")
    country = iban[:2]
    if IBAN_LENGTHS.get(country) != len(iban):
        raise InvalidIban(f"an IBAN from {country} does not have {len(iban)} characters")
    rearranged = iban[4:] + iban[:4]
    numeric = "".join(str(int(char, 36)) for char in rearranged)
    if int(numeric) % 97 != 1:
        raise InvalidIban("the IBAN's check digits are wrong")
    return iban


def mask_iban(iban: str) -> str:
    return f"{iban[:4]} **** {iban[-4:]}"
