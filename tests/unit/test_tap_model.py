"""The pure tap rules: fare capping, weeks, the double-tap window, UIDs, balance bands."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from obolo.sdk.tap import card_tag
from obolo.tap.errors import InvalidCardUid
from obolo.tap.model import (
    NS_PER_DAY,
    Caps,
    balance_band,
    capped_fare,
    day_of,
    expected_week_total,
    is_double_tap,
    offline_key,
    offline_tag,
    parse_uid,
    uid_hash,
    week_of,
)

caps_strategy = st.tuples(st.integers(1, 5_000_000), st.integers(1, 20), st.integers(1, 10)).map(
    lambda t: Caps(t[0], t[0] * t[1], t[0] * t[1] * t[2])
)


@given(
    caps=caps_strategy,
    taps=st.lists(st.tuples(st.integers(0, 6), st.booleans()), max_size=60),
    order=st.randoms(use_true_random=False),
)
def test_capped_charges_never_exceed_the_caps_and_sum_to_the_capped_fares(caps, taps, order):
    """In any arrival order, each day costs at most the daily cap, the week at most the
    weekly cap, and the week exactly min(sum of min(day's fares, daily cap), weekly cap)."""
    arrivals = list(taps)
    order.shuffle(arrivals)
    by_day: dict[int, int] = {}
    week = 0
    for day, _ in arrivals:
        charge, capped = capped_fare(caps.fare, by_day.get(day, 0), week, caps)
        assert 0 <= charge <= caps.fare
        assert capped == (charge < caps.fare)
        by_day[day] = by_day.get(day, 0) + charge
        week += charge
    assert all(v <= caps.daily for v in by_day.values())
    assert week <= caps.weekly
    fares: dict[int, int] = {}
    for day, _ in taps:
        fares[day] = fares.get(day, 0) + caps.fare
    assert week == expected_week_total(fares, caps)


def test_caps_must_be_ordered():
    """A daily cap below the fare, or a weekly cap below the daily one, is refused."""
    with pytest.raises(ValueError, match="caps need"):
        Caps(200, 100, 1_000)
    with pytest.raises(ValueError, match="caps need"):
        Caps(100, 500, 400)


def test_weeks_start_on_monday():
    """Every day of a calendar week maps to that week's Monday."""
    monday = day_of(int(datetime(2026, 11, 23, tzinfo=UTC).timestamp()) * 10**9)
    assert datetime.fromtimestamp(monday * 86_400, tz=UTC).weekday() == 0
    assert [week_of(monday + k) for k in range(7)] == [monday] * 7
    assert week_of(monday + 7) == monday + 7
    assert week_of(monday - 1) == monday - 7


def test_day_of_splits_at_midnight_utc():
    """The last nanosecond of a day and the first of the next are different days."""
    assert day_of(NS_PER_DAY - 1) == 0
    assert day_of(NS_PER_DAY) == 1


def test_double_tap_window():
    """Within the window (inclusive) either side of a charged tap it is the same tap; past it, a new one."""
    second = 10**9
    assert is_double_tap(0, 3 * second, 3)
    assert not is_double_tap(0, 3 * second + 1, 3)
    assert not is_double_tap(None, 0, 3)
    assert is_double_tap(5 * second, 4 * second, 3)
    assert not is_double_tap(5 * second, second, 3)


def test_uids_are_hex_of_4_to_10_bytes():
    """Separators are allowed; odd lengths, non-hex and wrong sizes are refused."""
    assert parse_uid("04:a1:b2:c3") == bytes.fromhex("04a1b2c3")
    for bad in ("04a1b2", "04a1b2c3d", "zz a1 b2 c3", "00" * 11):
        with pytest.raises(InvalidCardUid):
            parse_uid(bad)


def test_card_hashes_are_keyed_and_the_sdk_names_cards_as_the_kit_does():
    """Another key gives another hash; the terminal's tag equals the server's."""
    uid = bytes.fromhex("04a1b2c3d4e5f6")
    assert uid_hash(b"a" * 32, uid) != uid_hash(b"b" * 32, uid)
    assert uid.hex() not in uid_hash(b"a" * 32, uid)
    key = offline_key(b"a" * 32)
    assert offline_tag(key, uid) == card_tag(key, uid)
    assert offline_tag(key, uid) != uid_hash(b"a" * 32, uid)[:32]


def test_balance_bands():
    """Balances are shown as coarse bands, at their boundaries too."""
    assert [balance_band(u) for u in (0, 999_999, 1_000_000, 4_999_999, 5_000_000, 20_000_000)] == [
        "under-1", "under-1", "1-5", "1-5", "5-20", "20-plus",
    ]  # fmt: skip
