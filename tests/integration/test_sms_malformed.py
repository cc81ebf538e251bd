"""Whatever a person texts, the answer is a short reply, never an exception, and no money
moves unless a whole send was confirmed by PIN. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obolo.ledger.check import check_ledger
from obolo.sms import texts
from tests.integration.sms_helpers import ALICE, BOB, CARD, STRANGER, Phone, available, eur, sms_platform

MALFORMED = [
    "", "   ", "SEND", "SEND 5", f"SEND abc {BOB}", f"SEND 5.1234567 {BOB}", f"SEND -5 {BOB}",
    f"SEND 0 {BOB}",
    "SEND 5 +999", "SEND 5 bob@", f"SEND 1e3 {BOB}", "INVIA", "INVIA 5", "PIN", "PIN 12", "PIN 1234 12",
    "UNDO", "ANNULLA", "OK", "OK 12", "BAL XYZ", "SALDO forse", "HIST 3", "12", "1234567", "hello there",
    "💸 5 " + BOB, "<Response>", "SEND 5 " + BOB + "x" * 500, "\x00\x01", "JOIN" + "\n" * 3,
]  # fmt: skip


@pytest.fixture
def world(db_url, clock):
    platform, _gateway = sms_platform(db_url, clock)
    alice_id = platform.identity.sign_up("a@example.com", "alice password 1", "Alice", ALICE).id
    platform.wallets.top_up(alice_id, eur("50.00"), CARD)
    bob_id = platform.identity.sign_up("b@example.com", "bob password 12", "Bob", BOB).id
    alice = Phone(platform, ALICE)
    alice.say(f"JOIN {platform.sms.link_code(alice_id)[0]}")
    alice.say("PIN 2468")
    yield platform, alice, alice_id, bob_id
    assert check_ledger(platform.engine) == []
    platform.close()


def test_each_malformed_command_gets_a_helpful_reply_and_moves_nothing(world):
    """Each malformed message is answered with a short help or refusal that fits one SMS; balances stay."""
    platform, alice, alice_id, bob_id = world
    for text in MALFORMED:
        reply = alice.say(text)
        assert reply.code != "ok" or text.startswith("JOIN"), text
        assert reply.text, text
        assert texts.fits_one_sms(reply.text), reply.text
        assert alice.say("2468").code == "sms_nothing_to_confirm", text
        assert (available(platform, alice_id), available(platform, bob_id)) == (50_000_000, 0), text


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.text(max_size=200),
        st.lists(st.sampled_from(["SEND", "INVIA", "5", "5,5", BOB, "OK", "PIN", "UNDO", "NO", "x"]),
                 max_size=5).map(" ".join),
    ),
    sender=st.sampled_from([ALICE, STRANGER, "garbage", ""]),
)  # fmt: skip
def test_arbitrary_text_never_raises_and_never_moves_money_without_a_pin(world, body, sender):
    """Any text from any sender is answered; without the PIN step nothing is paid."""
    platform, _, alice_id, bob_id = world
    reply = Phone(platform, sender).say(body)
    assert isinstance(reply.text, str)
    assert (available(platform, alice_id), available(platform, bob_id)) == (50_000_000, 0)
