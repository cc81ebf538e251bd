"""A frozen account's cards are refused at the till like blocked cards, and nothing moves;
unfreezing restores them. An offline tap made before the freeze still counts."""

from __future__ import annotations

import pytest

from obolo.identity import standing
from obolo.tap.model import Reason, Status
from tests.factories import checked_platform
from tests.integration.tap_helpers import balances, build_world, tap_in


@pytest.fixture
def platform(db_url, clock):
    yield from checked_platform(url=db_url, clock=clock, migrate=True, card_key=b"k" * 32)


def test_a_frozen_persons_card_is_declined_and_nothing_moves(platform):
    world = build_world(platform)
    standing.freeze(platform.engine, platform.clock, world.owner, world.rider, "stolen phone reported")
    before = balances(platform, world.rider, world.owner)
    outcome = platform.tap.tap(world.till, tap_in(amount="1.00"))
    assert (outcome.status, outcome.reason) == (Status.DECLINED, Reason.CARD_BLOCKED)
    assert balances(platform, world.rider, world.owner) == before
    standing.unfreeze(platform.engine, platform.clock, world.owner, world.rider, "found the phone")
    assert platform.tap.tap(world.till, tap_in(amount="1.00")).status is Status.APPROVED
