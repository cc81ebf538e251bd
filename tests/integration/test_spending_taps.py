"""Rides a person can read: each transit tap shows in the history when it happens (the
operator, the gate, the fare charged), the day's hold breaks down into what the rides
already used, and the day's close posts them without counting them again."""

from __future__ import annotations

import pytest

from obolo.tap.model import NS_PER_DAY, day_of, week_of
from tests.factories import checked_platform
from tests.fakes import NS
from tests.integration.tap_helpers import build_world, eur, tap_in

HOUR = 3_600 * NS


@pytest.fixture
def platform(db_url, clock):
    monday = week_of(day_of(clock())) + 7  # a Monday at 07:00 UTC, as the transit tests
    clock.advance(ns=monday * NS_PER_DAY + 7 * HOUR - clock())
    yield from checked_platform(url=db_url, clock=clock, migrate=True, card_key=b"k" * 32)


def test_rides_show_when_tapped_and_the_close_does_not_count_them_twice(platform, clock):
    """Three rides of 2.00 under a 5.00 daily cap: 2.00, 2.00, 1.00 shown as they happen,
    5.00 held of which 5.00 used; after the close, the same rides and 5.00 spent today."""
    world = build_world(platform)
    for _ in range(3):
        clock.advance(ns=HOUR)
        platform.tap.tap(world.gate, tap_in())
    entries, _ = platform.wallets.activity(world.rider, 50)
    rides = [e for e in entries if e.status == "charged"]
    assert [(e.kind, e.counterparty, e.item, e.spent, e.amount) for e in rides] == [
        ("tap", "City Metro", "gate 1", eur("1.00"), 0),
        ("tap", "City Metro", "gate 1", eur("2.00"), 0),
        ("tap", "City Metro", "gate 1", eur("2.00"), 0),
    ]
    (during,) = platform.wallets.breakdown(world.rider)
    assert (during.available, during.held, during.held_spent) == (eur("15.00"), eur("5.00"), eur("5.00"))
    assert [(s.site, s.today) for s in during.sites] == [("City Metro", eur("5.00"))]

    clock.advance(ns=(day_of(clock()) + 1) * NS_PER_DAY + 7 * HOUR - clock())  # 07:00 the next day
    platform.tap.close_days()
    entries, _ = platform.wallets.activity(world.rider, 50)
    assert [e.id for e in entries if e.status == "charged"] == [e.id for e in rides]
    (after,) = platform.wallets.breakdown(world.rider)
    assert (after.available, after.held, after.held_spent) == (eur("15.00"), 0, 0)
    assert after.this_month == eur("5.00")
