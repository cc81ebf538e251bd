"""PAY <code> / PAGA <code>: a shop's payment request paid by SMS, confirmed with the PIN,
paid once; a wrong PIN, an unknown code, a request paid or expired move nothing."""

from __future__ import annotations

import pytest

from obolo.checkout.model import Status
from obolo.sms import model
from tests.integration.checkout_helpers import SETTINGS, balance, merchant, snapshot, terms, units
from tests.integration.sms_helpers import ALICE, CARD, Phone, eur, sms_platform


@pytest.fixture
def world(db_url, clock):
    platform, _ = sms_platform(db_url, clock, SETTINGS)
    alice_id = platform.identity.sign_up("alice@example.com", "alice password 1", "Alice Verdi", ALICE).id
    platform.wallets.top_up(alice_id, eur("50.00"), CARD)
    alice = Phone(platform, ALICE)
    code, _ = platform.sms.link_code(alice_id)
    alice.say(f"JOIN {code}")
    assert alice.say("PIN 2468").code == "ok"
    seller, shop = merchant(platform)
    yield platform, alice, alice_id, seller, shop
    platform.close()


def test_pay_code_is_parsed_apart_from_a_send():
    """PAY with one code word is a payment request; PAY with an amount and a number is a send."""
    assert model.parse("pay ab3xyz") == model.PayRequest(model.Lang.EN, "AB3XYZ")
    assert model.parse("PAGA AB3XYZ") == model.PayRequest(model.Lang.IT, "AB3XYZ")
    assert isinstance(model.parse("PAY 5 +393331234567"), model.Send)


def test_pay_then_pin_pays_the_request_once(world):
    """The code names shop and amount; the PIN pays; the PIN again finds nothing to confirm."""
    platform, alice, alice_id, seller, shop = world
    request = platform.checkout.create(seller, shop, terms("20.00"), "EUR")
    asked = alice.say(f"PAY {request.sms_code}")
    assert "Pay €20.00 to Seller Shop" in asked.text
    assert balance(platform, alice_id) == (units("50.00"), 0)
    paid = alice.say("2468")
    assert paid.code == "ok"
    assert paid.text.startswith("Paid €20.00 to Seller Shop")
    assert balance(platform, alice_id) == (units("30.00"), 0)
    assert balance(platform, seller) == (units("19.80"), 0)
    assert platform.checkout.payment_request(request.id).status == Status.PAID
    assert alice.say("2468").code == "sms_nothing_to_confirm"
    assert balance(platform, alice_id) == (units("30.00"), 0)


def test_wrong_pin_unknown_code_and_a_paid_request_move_nothing(world):
    """Each refusal is a reply; no money moves."""
    platform, alice, alice_id, seller, shop = world
    request = platform.checkout.create(seller, shop, terms("20.00"), "EUR")
    before = snapshot(platform, alice_id, seller)
    assert alice.say("PAGA ZZZZZZ").text.startswith("No payment request")  # her language, not the keyword's
    alice.say("LINGUA it")
    assert alice.say("PAGA ZZZZZZ").text.startswith("Nessuna richiesta")
    alice.say(f"PAY {request.sms_code}")
    assert alice.say("1111").code == "sms_wrong_pin"
    assert snapshot(platform, alice_id, seller)[:-2] == before[:-2]
    other = platform.identity.sign_up("bob@example.com", "bob password 12", "Bob").id
    platform.wallets.top_up(other, eur("50.00"), CARD)
    platform.checkout.pay(other, request.id)
    taken = alice.say("2468")
    assert "già stata pagata" in taken.text
    assert balance(platform, alice_id) == (units("50.00"), 0)
