"""Offline: signed kits with a deny list and a stated loss bound; batches uploaded in any
order, any number of times, each tap charged once; what a wallet cannot pay is a debt
that puts the card on the next deny list until it is collected."""

from __future__ import annotations

import pytest

from obolo.adapters.cards import Card
from obolo.money import EUR, Amount
from obolo.sdk.tap import card_tag, public_keys, verify_kit
from obolo.tap.errors import BadTerminalCredential, TapReplayed
from obolo.tap.model import NS_PER_DAY, Reason, Status, day_of, week_of
from obolo.tap.service import Credential
from tests.factories import checked_platform
from tests.fakes import NS
from tests.integration.tap_helpers import (
    OTHER_UID,
    RIDER_UID,
    available,
    balances,
    build_world,
    eur,
    posted_debits,
    tap_in,
)

MINUTE = 60 * NS
CARD = Card("4242424242424242", 12, 2031, "123")


@pytest.fixture
def platform(db_url, clock):
    monday = week_of(day_of(clock())) + 7
    clock.advance(ns=monday * NS_PER_DAY + 7 * 3_600 * NS - clock())
    yield from checked_platform(url=db_url, clock=clock, migrate=True, card_key=b"k" * 32)


def kit_of(platform, credential):
    return verify_kit(platform.tap.offline_kit(credential), public_keys(platform.keys.published()))


def test_retail_batches_out_of_order_and_repeated_charge_each_tap_once(platform, clock):
    """Three offline taps sent as [3, 1] then [2, 3, 1] are charged once each, 6.00 in all."""
    world = build_world(platform)
    start = clock()
    taps = [tap_in(amount=a, at=start + k * 5 * MINUTE) for k, a in enumerate(("1.00", "2.00", "3.00"))]
    clock.advance(3_600)
    first = platform.tap.upload_offline(world.till, [taps[2], taps[0]])
    again = platform.tap.upload_offline(world.till, [taps[1], taps[2], taps[0]])
    assert [r.charged for r in first] == [eur("3.00"), eur("1.00")]
    assert again[1:] == first
    assert again[0].charged == eur("2.00")
    assert available(platform, world.rider) == eur("14.00")
    assert sorted(posted_debits(platform, world.rider)) == [eur("1.00"), eur("2.00"), eur("3.00")]


def test_a_double_tap_uploaded_later_tap_first_is_one_charge(platform, clock):
    """Two offline taps a second apart at one till are one charge, whichever arrives first."""
    world = build_world(platform)
    first = tap_in(amount="1.00", at=clock())
    second = tap_in(amount="1.00", at=clock() + NS)
    clock.advance(600)
    platform.tap.upload_offline(world.till, [second])
    (result,) = platform.tap.upload_offline(world.till, [first])
    assert (result.reason, result.charged, result.duplicate_of) == (Reason.DOUBLE_TAP, 0, second.tap_id)
    assert posted_debits(platform, world.rider) == [eur("1.00")]


def test_transit_batches_in_any_order_cost_the_capped_day_once(platform, clock):
    """Four rides of a day uploaded backwards, then again, cost the daily cap once."""
    world = build_world(platform)
    start = clock()
    rides = [tap_in(at=start + k * 30 * MINUTE) for k in range(4)]
    clock.advance(4 * 3_600)
    platform.tap.upload_offline(world.gate, rides[::-1])
    platform.tap.upload_offline(world.gate, rides[1:3] + rides)
    clock.advance(24 * 3_600)
    platform.tap.close_days()
    assert posted_debits(platform, world.rider) == [eur("5.00")]
    journeys = platform.tap.journeys(world.rider, world.card_id)
    assert len(journeys) == 4
    assert sum(j.charged for j in journeys) == eur("5.00")


def test_a_kit_is_signed_and_denies_blocked_cards_and_wallets_below_the_limit(platform, world_with_friend):
    """The kit names blocked cards and too-poor wallets by keyed hash and states the loss bound."""
    world, _ = world_with_friend
    platform.tap.set_blocked(world.rider, world.card_id, True)
    kit = kit_of(platform, world.till)
    tag_key = bytes.fromhex(kit.tag_key)
    assert card_tag(tag_key, RIDER_UID) in kit.deny
    assert card_tag(tag_key, OTHER_UID) in kit.deny  # the friend's wallet is empty
    assert RIDER_UID.hex() not in str(kit)
    assert (kit.offline_limit, kit.max_loss_per_card) == (eur("5.00"), eur("5.00"))
    assert kit.expires_at > kit.issued_at
    assert not kit.allows(RIDER_UID, 0, eur("1.00"))
    platform.tap.set_blocked(world.rider, world.card_id, False)
    fresh = kit_of(platform, world.till)
    assert fresh.allows(RIDER_UID, 0, eur("1.00"))
    assert not fresh.allows(RIDER_UID, eur("4.50"), eur("1.00"))  # over the per-card offline limit
    assert not fresh.allows(OTHER_UID, 0, eur("1.00"))


@pytest.fixture
def world_with_friend(platform):
    world = build_world(platform)
    friend = platform.identity.sign_up("friend@example.com", "friend password 1", "Friend").id
    card = platform.tap.link_card(friend, OTHER_UID, "friend's tag")
    return world, card


def test_offline_taps_after_a_block_are_refused_and_move_nothing(platform, clock):
    """A tap made offline after the owner blocked the card is the merchant's loss, not the owner's."""
    world = build_world(platform)
    before_block = tap_in(amount="1.00", at=clock())
    clock.advance(60)
    platform.tap.set_blocked(world.rider, world.card_id, True)
    clock.advance(60)
    after_block = tap_in(amount="1.00", at=clock())
    before = balances(platform, world.rider, world.owner)
    results = platform.tap.upload_offline(world.till, [after_block, before_block])
    assert (results[0].status, results[0].reason) == (Status.DECLINED, Reason.CARD_BLOCKED)
    assert results[1].status is Status.APPROVED
    assert balances(platform, world.rider, world.owner)[0] == before[0] - eur("1.00")


def test_an_uncollectable_offline_tap_is_a_debt_that_denies_the_card_until_paid(platform, clock):
    """Past the wallet's balance an offline tap becomes a debt; the card is denied; a top-up pays it."""
    world = build_world(platform, topup="")
    platform.wallets.top_up(world.rider, Amount(eur("1.00"), EUR), CARD)
    item = tap_in(amount="3.00", at=clock())
    clock.advance(600)
    (result,) = platform.tap.upload_offline(world.till, [item])
    assert (result.status, result.charged, result.debt) == (Status.APPROVED, eur("1.00"), eur("2.00"))
    (card,) = platform.tap.cards(world.rider)
    assert card.owed == eur("2.00")
    kit = kit_of(platform, world.till)
    assert card_tag(bytes.fromhex(kit.tag_key), RIDER_UID) in kit.deny
    before = balances(platform, world.rider, world.owner)
    online = platform.tap.tap(world.till, tap_in(amount="0.50"))
    assert (online.status, online.reason) == (Status.DECLINED, Reason.DEBT_OUTSTANDING)
    assert balances(platform, world.rider, world.owner) == before
    assert platform.tap.collect_debts() == 0  # nothing to collect from an empty wallet
    platform.wallets.top_up(world.rider, Amount(eur("10.00"), EUR), CARD)
    assert platform.tap.collect_debts() == 1
    assert platform.tap.collect_debts() == 0
    (card,) = platform.tap.cards(world.rider)
    assert card.owed == 0
    assert available(platform, world.owner) == eur("3.00")
    assert available(platform, world.rider) == eur("8.00")
    kit = kit_of(platform, world.till)
    assert card_tag(bytes.fromhex(kit.tag_key), RIDER_UID) not in kit.deny


def test_an_upload_with_a_wrong_credential_charges_nothing(platform, clock):
    """Offline taps are a terminal's own: another terminal's key is refused for all of them."""
    world = build_world(platform)
    item = tap_in(amount="1.00", at=clock())
    before = balances(platform, world.rider, world.owner)
    with pytest.raises(BadTerminalCredential):
        platform.tap.upload_offline(Credential(world.till.terminal_id, api_key=world.gate.api_key), [item])
    assert balances(platform, world.rider, world.owner) == before


def test_an_offline_tap_replayed_by_another_terminal_is_refused(platform, clock):
    """The same tap id uploaded by a second terminal is refused; the first charge stands alone."""
    world = build_world(platform)
    item = tap_in(amount="1.00", at=clock())
    platform.tap.upload_offline(world.till, [item])
    before = balances(platform, world.rider, world.owner)
    (result,) = platform.tap.upload_offline(world.till_b, [item])
    assert isinstance(result, TapReplayed)
    assert balances(platform, world.rider, world.owner) == before


def test_offline_taps_too_old_are_declined(platform, clock):
    """A tap older than the offline window is refused rather than charged weeks later."""
    world = build_world(platform)
    item = tap_in(amount="1.00", at=clock())
    clock.advance(8 * 86_400)
    before = balances(platform, world.rider, world.owner)
    (result,) = platform.tap.upload_offline(world.till, [item])
    assert (result.status, result.reason) == (Status.DECLINED, Reason.TOO_OLD)
    assert balances(platform, world.rider, world.owner) == before
