"""Assets and exact amounts: integer units at the asset's scale, never a float.

Parsing and formatting happen here and only at the edges (HTTP, CLI, SMS text);
everything inside Obolo carries `Amount` or plain integer units.

Errors (all `MoneyError`, each with a stable `code`):

    MoneyError
    ├── NotAnAmount          "abc", "", "1.2.3", "NaN", "1e3", "+-1", a float
    ├── TooManyDecimals      more decimals than the asset's scale ("0.1234567" EUR)
    ├── AmountOutOfRange     outside signed 64-bit units
    ├── UnknownAsset         an asset code nobody registered
    └── AssetMismatch        arithmetic between two assets
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1


class MoneyError(ValueError):
    code: str = "invalid_amount"


class NotAnAmount(MoneyError):
    code = "invalid_amount"


class TooManyDecimals(MoneyError):
    code = "too_many_decimals"


class AmountOutOfRange(MoneyError):
    code = "amount_out_of_range"


class UnknownAsset(MoneyError):
    code = "unknown_asset"


class AssetMismatch(MoneyError):
    code = "asset_mismatch"


_ASSET_CODE = re.compile(r"^[A-Z][A-Z0-9]{2,11}$")
# Plain decimal only: an optional minus, digits, an optional point with digits.
# No exponent, no "+", no spaces, no thousands separators, no "inf"/"nan".
_DECIMAL = re.compile(r"^(-)?([0-9]+)(?:\.([0-9]+))?$")


@dataclass(frozen=True, slots=True)
class Asset:
    """A currency or unit of value. `scale` is how many decimals one unit has: at
    scale 6, one unit is a millionth (a micro-euro for EUR)."""

    code: str
    scale: int

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not _ASSET_CODE.match(self.code):
            raise UnknownAsset(f"asset code must be 3-12 upper-case letters/digits: {self.code!r}")
        if isinstance(self.scale, bool) or not isinstance(self.scale, int) or not 0 <= self.scale <= 18:
            raise MoneyError(f"asset scale must be an integer from 0 to 18: {self.scale!r}")

    @property
    def one(self) -> int:
        """Units in one whole (1.000000 EUR is 1_000_000 units)."""
        units: int = 10**self.scale
        return units

    def __str__(self) -> str:
        return self.code


EUR: Final = Asset("EUR", 6)
USD: Final = Asset("USD", 6)

DEFAULT_ASSETS: Final[dict[str, Asset]] = {EUR.code: EUR, USD.code: USD}


def _check_units(units: object) -> int:
    # bool is an int in Python; True euros is a bug, not an amount.
    if isinstance(units, bool) or not isinstance(units, int):
        raise NotAnAmount(f"units must be an integer, not {type(units).__name__}")
    if not INT64_MIN <= units <= INT64_MAX:
        raise AmountOutOfRange(f"{units} units is outside signed 64-bit range")
    checked: int = units
    return checked


@dataclass(frozen=True, slots=True)
class Amount:
    """An exact amount: `units` integer units of `asset`. Immutable; a float is refused."""

    units: int
    asset: Asset

    def __post_init__(self) -> None:
        _check_units(self.units)
        if not isinstance(self.asset, Asset):
            raise UnknownAsset(f"asset must be an Asset, not {type(self.asset).__name__}")

    @classmethod
    def parse(
        cls, text: str, asset: Asset | None = None, *, assets: dict[str, Asset] | None = None
    ) -> Amount:
        """Parse `"0.10"` with an asset, or `"0.10 EUR"` naming it.

        Raises NotAnAmount, TooManyDecimals, AmountOutOfRange, UnknownAsset, AssetMismatch.
        """
        if not isinstance(text, str):
            raise NotAnAmount(f"an amount is written as text, not {type(text).__name__}")
        number, _, code = text.strip().partition(" ")
        code = code.strip()
        if code:
            named = (assets or DEFAULT_ASSETS).get(code)
            if named is None:
                raise UnknownAsset(f"unknown asset {code!r}")
            if asset is not None and asset != named:
                raise AssetMismatch(f"amount is in {code}, expected {asset.code}")
            asset = named
        if asset is None:
            raise UnknownAsset("no asset given for the amount")
        return cls(parse_units(number, asset), asset)

    def __str__(self) -> str:
        return f"{self.format()} {self.asset.code}"

    def format(self) -> str:
        """The exact decimal text at the asset's scale: 100_000 EUR units is "0.100000"."""
        return format_units(self.units, self.asset)

    def _same_asset(self, other: Amount) -> None:
        if not isinstance(other, Amount):
            raise TypeError(f"cannot combine Amount with {type(other).__name__}")
        if other.asset != self.asset:
            raise AssetMismatch(f"{self.asset.code} and {other.asset.code} do not mix")

    def __add__(self, other: Amount) -> Amount:
        self._same_asset(other)
        return Amount(self.units + other.units, self.asset)

    def __sub__(self, other: Amount) -> Amount:
        self._same_asset(other)
        return Amount(self.units - other.units, self.asset)

    def __neg__(self) -> Amount:
        return Amount(-self.units, self.asset)

    def __lt__(self, other: Amount) -> bool:
        self._same_asset(other)
        return self.units < other.units

    def __le__(self, other: Amount) -> bool:
        self._same_asset(other)
        return self.units <= other.units

    def is_positive(self) -> bool:
        return self.units > 0


def parse_units(text: str, asset: Asset) -> int:
    """Integer units for a plain decimal string at the asset's scale; never rounds."""
    if not isinstance(text, str):
        raise NotAnAmount(f"an amount is written as text, not {type(text).__name__}")
    match = _DECIMAL.match(text)
    if match is None:
        raise NotAnAmount(f"not a plain decimal amount: {text[:40]!r}")
    sign, whole, fraction = match.group(1), match.group(2), match.group(3) or ""
    if len(fraction) > asset.scale:
        raise TooManyDecimals(f"{asset.code} has {asset.scale} decimals; {text[:40]!r} has {len(fraction)}")
    if len(whole) > 40:
        raise AmountOutOfRange(f"{text[:40]}... is outside signed 64-bit units")
    units = int(whole) * asset.one + int(fraction.ljust(asset.scale, "0") or "0")
    return _check_units(-units if sign else units)


def format_units(units: int, asset: Asset) -> str:
    _check_units(units)
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), asset.one)
    if asset.scale == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:0{asset.scale}d}"


def round_half_even(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to a whole unit, ties to even (banker's rounding)."""
    if denominator <= 0:
        raise MoneyError("denominator must be positive")
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


def split_fee(amount: int, basis_points: int, fixed: int = 0) -> tuple[int, int]:
    """Split `amount` units into (net, fee) for a fee of basis_points/10_000 of it plus
    `fixed` units. The percentage part is rounded half to even to a whole unit and the
    fee never exceeds the amount, so net + fee == amount, always."""
    _check_units(amount)
    if amount < 0 or basis_points < 0 or fixed < 0:
        raise MoneyError("fees are computed on non-negative amounts and rates")
    fee = min(amount, round_half_even(amount * basis_points, 10_000) + fixed)
    return amount - fee, fee


def allocate(total: int, weights: list[int]) -> tuple[list[int], int]:
    """Share `total` units in proportion to `weights`, each share rounded half to even.

    Returns (shares, remainder) with sum(shares) + remainder == total: the remainder
    (positive or negative, a few units at most) is what the rounding rule left over and
    belongs on the ledger's rounding account, so the books stay exact.
    """
    _check_units(total)
    weight_sum = sum(weights)
    if weight_sum <= 0 or any(w < 0 for w in weights):
        raise MoneyError("weights must be non-negative with a positive sum")
    shares = [round_half_even(total * w, weight_sum) for w in weights]
    return shares, total - sum(shares)
