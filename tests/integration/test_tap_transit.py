"""Transit gates: fares capped per card per day and per week, one posted transfer per card
and day (the day's hold), late taps billed by one correction at the week's end, all under
an injected clock."""

from __future__ import annotations

import pytest

from obolo.adapters.cards import Card
from obolo.money import EUR, Amount
from obolo.tap.model import NS_PER_DAY, Caps, Reason, Status, day_of, expected_week_total, week_of
from tests.factories import checked_platform
from tests.fakes import NS
from tests.integration.tap_helpers import available, balances, build_world, eur, posted_debits, tap_in

HOUR = 3_600 * NS
CARD = Card("4242424242424242", 12, 2031, "123")


@pytest.fixture
def platform(db_url, clock):
    # Start on a Monday at 07:00 UTC so the test's week is a calendar week.
    monday = week_of(day_of(clock())) + 7
    clock.advance(ns=monday * NS_PER_DAY + 7 * HOUR - clock())
    yield from checked_platform(url=db_url, clock=clock, migrate=True, card_key=b"k" * 32)


def ride(platform, world, clock, hours_later=1):
    clock.advance(ns=hours_later * HOUR)
    return platform.tap.tap(world.gate, tap_in())


def next_morning(platform, clock):
    """Move to 07:00 the next day and run the day-close job."""
    now = clock()
    clock.advance(ns=(day_of(now) + 1) * NS_PER_DAY + 7 * HOUR - now)
    platform.tap.close_days()


def test_a_week_of_rides_is_capped_per_day_and_per_week_exactly(platform, clock):
    """Fares 2.00, caps 5.00 a day and 15.00 a week: each day and the week cost exactly the capped sum."""
    world = build_world(platform)
    rides_per_day = [1, 3, 4, 2, 1, 0, 2]
    charged_by_day = []
    for rides in rides_per_day:
        outcomes = [ride(platform, world, clock) for _ in range(rides)]
        assert all(o.status is Status.APPROVED for o in outcomes)
        charged_by_day.append(sum(o.charged for o in outcomes))
        next_morning(platform, clock)
    caps = Caps(eur("2.00"), eur("5.00"), eur("15.00"))
    assert charged_by_day == [eur(x) for x in ("2.00", "5.00", "5.00", "3.00", "0", "0", "0")]
    assert sum(charged_by_day) == expected_week_total(
        {d: n * caps.fare for d, n in enumerate(rides_per_day)}, caps
    )
    # One posted transfer per card and day that cost something; nothing for the free days.
    assert posted_debits(platform, world.rider) == [eur("2.00"), eur("5.00"), eur("5.00"), eur("3.00")]
    assert available(platform, world.rider) == eur("5.00")
    assert available(platform, world.owner) == eur("15.00")
    # A new week starts from nothing.
    assert ride(platform, world, clock).charged == eur("2.00")


def test_the_first_ride_of_a_day_holds_the_daily_cap_and_the_close_releases_the_rest(platform, clock):
    """Rides only accrue on the day's hold; the close posts what accrued and frees the rest."""
    world = build_world(platform)
    ride(platform, world, clock)
    assert balances(platform, world.rider) == (eur("15.00"), eur("5.00"))
    ride(platform, world, clock)
    assert balances(platform, world.rider) == (eur("15.00"), eur("5.00"))
    assert posted_debits(platform, world.rider) == []
    next_morning(platform, clock)
    assert balances(platform, world.rider) == (eur("16.00"), 0)
    assert posted_debits(platform, world.rider) == [eur("4.00")]


def test_journeys_show_fares_and_what_was_capped(platform, clock):
    """The history has each ride's fare, what it cost, and whether a cap applied."""
    world = build_world(platform)
    for _ in range(3):
        ride(platform, world, clock)
    journeys = platform.tap.journeys(world.rider, world.card_id)
    assert [(j.fare, j.charged, j.capped) for j in reversed(journeys)] == [
        (eur("2.00"), eur("2.00"), False),
        (eur("2.00"), eur("2.00"), False),
        (eur("2.00"), eur("1.00"), True),
    ]


def test_a_ride_the_wallet_cannot_cover_is_declined_and_nothing_moves(platform, clock):
    """With 1.00 in the wallet a 2.00 fare is declined and nothing is held."""
    world = build_world(platform, topup="")
    platform.wallets.top_up(world.rider, Amount(eur("1.00"), EUR), CARD)
    before = balances(platform, world.rider, world.owner)
    outcome = ride(platform, world, clock)
    assert (outcome.status, outcome.reason) == (Status.DECLINED, Reason.INSUFFICIENT_FUNDS)
    assert balances(platform, world.rider, world.owner) == before


def test_a_hold_smaller_than_the_cap_grows_or_the_ride_is_declined_unchanged(platform, clock):
    """A wallet of 3.00 pays one ride; the second is declined and the hold stays as it was."""
    world = build_world(platform, topup="")
    platform.wallets.top_up(world.rider, Amount(eur("3.00"), EUR), CARD)
    assert ride(platform, world, clock).charged == eur("2.00")
    before = balances(platform, world.rider, world.owner)
    assert before[:2] == (0, eur("3.00"))
    outcome = ride(platform, world, clock)
    assert (outcome.status, outcome.reason) == (Status.DECLINED, Reason.INSUFFICIENT_FUNDS)
    assert balances(platform, world.rider, world.owner) == before
    platform.wallets.top_up(world.rider, Amount(eur("10.00"), EUR), CARD)
    assert ride(platform, world, clock).charged == eur("2.00")
    next_morning(platform, clock)
    assert posted_debits(platform, world.rider) == [eur("4.00")]


def test_late_offline_rides_are_capped_and_billed_once_at_the_weeks_end(platform, clock):
    """Rides uploaded after their day closed still respect the caps and cost one correction."""
    world = build_world(platform)
    monday_ride = clock()
    ride(platform, world, clock, hours_later=0)
    next_morning(platform, clock)
    next_morning(platform, clock)
    late = [tap_in(at=monday_ride + k * HOUR) for k in (10, 11, 12)]
    results = platform.tap.upload_offline(world.gate, late)
    assert [r.charged for r in results] == [eur("2.00"), eur("1.00"), 0]
    assert posted_debits(platform, world.rider) == [eur("2.00")]
    for _ in range(6):
        next_morning(platform, clock)
    assert platform.tap.close_weeks() == 1
    assert platform.tap.close_weeks() == 0
    assert posted_debits(platform, world.rider) == [eur("2.00"), eur("3.00")]
    assert available(platform, world.owner) == eur("5.00")
