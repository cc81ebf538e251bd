"""Online taps at a shop's till: approved with a signed receipt, charged once per tap id,
double taps are one charge, and every refusal moves no money."""

from __future__ import annotations

import threading

import pytest

from obolo.adapters.db.write_path import WritePath
from obolo.sdk.tap import TapTokenRefused, public_keys, verify_receipt
from obolo.tap.errors import BadTerminalCredential, InvalidTap, TapIdReused, TapReplayed
from obolo.tap.model import Reason, Status
from obolo.tap.service import Credential
from tests.factories import checked_platform
from tests.integration.tap_helpers import (
    OTHER_UID,
    UNKNOWN_UID,
    available,
    balances,
    build_world,
    eur,
    posted_debits,
    tap_in,
)


@pytest.fixture
def platform(db_url, clock):
    yield from checked_platform(url=db_url, clock=clock, migrate=True, card_key=b"k" * 32)


@pytest.fixture
def world(platform):
    return build_world(platform)


def test_a_retail_tap_charges_the_amount_once_and_signs_a_receipt(platform, world):
    """An approved tap moves the amount to the merchant in one transfer; the receipt verifies."""
    outcome = platform.tap.tap(world.till, tap_in(amount="2.50"))
    assert (outcome.status, outcome.charged, outcome.reason) == (Status.APPROVED, eur("2.50"), None)
    assert available(platform, world.rider) == eur("17.50")
    assert available(platform, world.owner) == eur("2.50")
    assert posted_debits(platform, world.rider) == [eur("2.50")]
    receipt = verify_receipt(outcome.receipt, public_keys(platform.keys.published()))
    assert (receipt.tap_id, receipt.charged, receipt.capped) == (outcome.tap_id, eur("2.50"), False)
    assert receipt.balance_band == "5-20"


def test_a_forged_receipt_is_refused_by_the_sdk(platform, world):
    """Changing what a receipt says breaks its signature."""
    outcome = platform.tap.tap(world.till, tap_in(amount="2.50"))
    body, _, signature = outcome.receipt.partition(".")
    forged = body[:-4] + ("AAAA" if body[-4:] != "AAAA" else "BBBB") + "." + signature
    with pytest.raises(TapTokenRefused):
        verify_receipt(forged, public_keys(platform.keys.published()))


def test_a_retried_tap_answers_the_same_and_charges_once(platform, world):
    """The same tap id from the same terminal is the same tap."""
    first = tap_in(amount="1.00")
    one = platform.tap.tap(world.till, first)
    two = platform.tap.tap(world.till, first)
    assert one == two
    assert available(platform, world.rider) == eur("19.00")


def test_a_tap_id_reused_for_another_amount_is_refused(platform, world):
    """A terminal cannot turn a charged tap into another by reusing its id."""
    first = tap_in(amount="1.00")
    platform.tap.tap(world.till, first)
    before = balances(platform, world.rider, world.owner)
    with pytest.raises(TapIdReused):
        platform.tap.tap(world.till, tap_in(amount="3.00", tap_id=first.tap_id))
    assert balances(platform, world.rider, world.owner) == before


def test_a_double_tap_is_one_charge(platform, clock, world):
    """Two taps of a card at one terminal within the window are charged once; later ones again."""
    one = platform.tap.tap(world.till, tap_in(amount="1.00"))
    clock.advance(2)
    two = platform.tap.tap(world.till, tap_in(amount="1.00"))
    assert (two.status, two.reason, two.charged, two.duplicate_of) == (
        Status.APPROVED, Reason.DOUBLE_TAP, 0, one.tap_id,
    )  # fmt: skip
    clock.advance(5)
    platform.tap.tap(world.till, tap_in(amount="1.00"))
    assert available(platform, world.rider) == eur("18.00")


def test_an_unknown_card_is_declined_and_nothing_moves(platform, world):
    """A UID nobody linked is declined with its reason."""
    before = balances(platform, world.rider, world.owner)
    outcome = platform.tap.tap(world.till, tap_in(UNKNOWN_UID, amount="1.00"))
    assert (outcome.status, outcome.reason, outcome.receipt) == (Status.DECLINED, Reason.UNKNOWN_CARD, None)
    assert balances(platform, world.rider, world.owner) == before


def test_a_blocked_card_is_refused_at_once_and_works_again_when_unblocked(platform, world):
    """The owner's block takes effect on the next tap; unblocking restores it."""
    platform.tap.set_blocked(world.rider, world.card_id, True)
    before = balances(platform, world.rider, world.owner)
    outcome = platform.tap.tap(world.till, tap_in(amount="1.00"))
    assert (outcome.status, outcome.reason) == (Status.DECLINED, Reason.CARD_BLOCKED)
    assert balances(platform, world.rider, world.owner) == before
    platform.tap.set_blocked(world.rider, world.card_id, False)
    assert platform.tap.tap(world.till, tap_in(amount="1.00")).status is Status.APPROVED


def test_insufficient_funds_are_declined_and_nothing_moves(platform, world):
    """A tap for more than the wallet holds is declined, not partly charged."""
    before = balances(platform, world.rider, world.owner)
    outcome = platform.tap.tap(world.till, tap_in(amount="25.00"))
    assert (outcome.status, outcome.reason) == (Status.DECLINED, Reason.INSUFFICIENT_FUNDS)
    assert balances(platform, world.rider, world.owner) == before


def test_a_wrong_terminal_credential_is_refused_and_nothing_moves(platform, world):
    """Another terminal's key, a made-up key or no key does not pass for this terminal."""
    before = balances(platform, world.rider, world.owner)
    for credential in (
        Credential(world.till.terminal_id, api_key=world.till_b.api_key),
        Credential(world.till.terminal_id, api_key="tk_made-up"),
        Credential(world.till.terminal_id),
        Credential("not-a-terminal", api_key=world.till.api_key),
    ):
        with pytest.raises(BadTerminalCredential):
            platform.tap.tap(credential, tap_in(amount="1.00"))
    assert balances(platform, world.rider, world.owner) == before


def test_a_tap_replayed_from_another_terminal_is_refused_and_charges_nothing_more(platform, world):
    """A tap id already used at one terminal cannot be charged again through another."""
    original = tap_in(amount="1.00")
    platform.tap.tap(world.till, original)
    before = balances(platform, world.rider, world.owner)
    with pytest.raises(TapReplayed):
        platform.tap.tap(world.till_b, original)
    assert balances(platform, world.rider, world.owner) == before


def test_a_tap_without_an_amount_or_in_the_future_is_refused(platform, clock, world):
    """A retail tap needs a positive amount; no tap comes from the future."""
    before = balances(platform, world.rider, world.owner)
    with pytest.raises(InvalidTap):
        platform.tap.tap(world.till, tap_in())
    with pytest.raises(InvalidTap):
        platform.tap.tap(world.till, tap_in(amount="1.00", at=clock() + 3_600 * 10**9))
    assert balances(platform, world.rider, world.owner) == before


def test_journeys_list_the_cards_taps_for_its_owner_only(platform, world):
    """The owner sees each tap with what it charged; a card not theirs is not found."""
    platform.tap.tap(world.till, tap_in(amount="1.00"))
    platform.tap.tap(world.till, tap_in(UNKNOWN_UID, amount="1.00"))
    journeys = platform.tap.journeys(world.rider, world.card_id)
    assert [(j.status, j.charged) for j in journeys] == [(Status.APPROVED, eur("1.00"))]
    from obolo.tap.errors import CardNotFound

    with pytest.raises(CardNotFound):
        platform.tap.journeys(world.owner, world.card_id)


def test_a_card_is_linked_once(platform, world):
    """The same UID cannot be linked twice, by anyone."""
    from obolo.tap.errors import CardTaken
    from tests.integration.tap_helpers import RIDER_UID

    with pytest.raises(CardTaken):
        platform.tap.link_card(world.owner, RIDER_UID, "mine too")
    platform.tap.link_card(world.owner, OTHER_UID, "mine")


def test_concurrent_taps_share_commits_and_each_is_charged_exactly_once(platform, world):
    """Under group commit a declined tap rolls back alone; every approval is charged once."""
    runner = platform.writer
    assert isinstance(runner, WritePath)
    uids = [bytes.fromhex(f"05{n:012x}") for n in range(31)]
    for n, uid in enumerate(uids):
        platform.tap.link_card(world.rider, uid, f"tag {n}")
    taps = [tap_in(uid, amount="0.50") for uid in uids[:30]] + [tap_in(uids[30], amount="500.00")]
    outcomes = {}

    def send(n, item):
        outcomes[item.tap_id] = platform.tap.tap(world.till if n % 2 else world.till_b, item)

    threads = [threading.Thread(target=send, args=pair) for pair in enumerate(taps)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes[taps[-1].tap_id].reason is Reason.INSUFFICIENT_FUNDS
    assert [outcomes[t.tap_id].charged for t in taps[:30]] == [eur("0.50")] * 30
    assert available(platform, world.rider) == eur("5.00")
    assert available(platform, world.owner) == eur("15.00")
    assert posted_debits(platform, world.rider) == [eur("0.50")] * 30
