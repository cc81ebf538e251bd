"""Money is exact: integer units at the asset's scale, parsed and formatted without loss."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from obolo.money import (
    EUR,
    INT64_MAX,
    INT64_MIN,
    USD,
    Amount,
    AmountOutOfRange,
    Asset,
    AssetMismatch,
    NotAnAmount,
    TooManyDecimals,
    UnknownAsset,
    allocate,
    format_units,
    parse_units,
    round_half_even,
    split_fee,
)


def test_parse_with_an_asset_or_naming_it():
    """ "0.10" with EUR and "0.10 EUR" are both 100,000 micro-euros."""
    assert Amount.parse("0.10", EUR) == Amount(100_000, EUR)
    assert Amount.parse("0.10 EUR") == Amount(100_000, EUR)
    assert Amount.parse("0.000001 EUR").units == 1


@given(st.integers(INT64_MIN, INT64_MAX))
def test_format_and_parse_round_trip_exactly(units):
    """Every signed 64-bit amount formats and parses back to itself."""
    assert parse_units(format_units(units, EUR), EUR) == units


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("abc", NotAnAmount),
        ("", NotAnAmount),
        ("1.2.3", NotAnAmount),
        ("NaN", NotAnAmount),
        ("inf", NotAnAmount),
        ("1e3", NotAnAmount),
        ("+1", NotAnAmount),
        (" 1", NotAnAmount),
        ("1,000", NotAnAmount),
        (".5", NotAnAmount),
        ("0.1234567", TooManyDecimals),
        ("9223372036854.775808", AmountOutOfRange),
        ("1" + "0" * 50, AmountOutOfRange),
    ],
)
def test_bad_text_is_refused_with_its_own_error(text, error):
    """Malformed text, exponents, signs, too many decimals and overflow each have a code."""
    with pytest.raises(error):
        parse_units(text, EUR)


@pytest.mark.parametrize("units", [0.1, 1.0, True, "1", None])
def test_units_must_be_integers(units):
    """A float (or bool, or text) is never an amount."""
    with pytest.raises(NotAnAmount):
        Amount(units, EUR)


def test_unknown_and_mixed_assets_are_refused():
    """Unknown asset codes and arithmetic across assets are errors, not conversions."""
    with pytest.raises(UnknownAsset):
        Amount.parse("1.00 XYZ")
    with pytest.raises(AssetMismatch):
        Amount.parse("1.00 USD", EUR)
    with pytest.raises(AssetMismatch):
        Amount(1, EUR) + Amount(1, USD)
    with pytest.raises(UnknownAsset):
        Asset("eu", 2)


def test_each_error_has_a_stable_code():
    """The API maps these codes; they must not drift."""
    assert [
        e.code for e in (NotAnAmount, TooManyDecimals, AmountOutOfRange, UnknownAsset, AssetMismatch)
    ] == [
        "invalid_amount",
        "too_many_decimals",
        "amount_out_of_range",
        "unknown_asset",
        "asset_mismatch",
    ]


@pytest.mark.parametrize(("numerator", "expected"), [(5, 0), (15, 2), (25, 2), (35, 4), (14, 1), (16, 2)])
def test_rounding_is_half_to_even(numerator, expected):
    """Ties go to the even unit: 0.5 → 0, 1.5 → 2, 2.5 → 2, 3.5 → 4."""
    assert round_half_even(numerator, 10) == expected


@given(st.integers(0, 10**15), st.integers(0, 10_000), st.integers(0, 10**6))
def test_fee_and_net_always_add_up_to_the_amount(amount, basis_points, fixed):
    """However the fee rounds, net + fee is the amount and the fee never exceeds it."""
    net, fee = split_fee(amount, basis_points, fixed)
    assert net + fee == amount
    assert 0 <= fee <= amount


@given(
    st.integers(0, 10**12),
    st.lists(st.integers(0, 1000), min_size=1, max_size=20).filter(lambda w: sum(w) > 0),
)
def test_allocation_loses_no_unit(total, weights):
    """Shares plus the rounding remainder are exactly the total, the remainder small."""
    shares, remainder = allocate(total, weights)
    assert sum(shares) + remainder == total
    assert abs(remainder) <= len(weights)
