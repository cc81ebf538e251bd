"""The gateway webhook over HTTP: signed requests only (constant-time check), XML replies,
duplicates answered once, messages without an id refused (a signed request replayed is
the same message). The simulator page is in test_sms_simulator.py."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from obolo.entrypoints.api.app import create_app
from obolo.entrypoints.api.sms_routes import signature
from obolo.settings import Settings
from tests.integration.sms_helpers import ALICE, BOB, CARD, available, eur, sms_platform

TOKEN = "gateway-auth-token"
URL = "http://testserver/v1/sms/inbound"


@pytest.fixture
def setup(db_url, clock):
    platform, _gateway = sms_platform(db_url, clock, Settings(sms_auth_token=TOKEN))
    alice_id = platform.identity.sign_up("a@example.com", "alice password 1", "Alice", ALICE).id
    platform.wallets.top_up(alice_id, eur("20.00"), CARD)
    bob_id = platform.identity.sign_up("b@example.com", "bob password 12", "Bob", BOB).id
    platform.sms.register_number(alice_id, ALICE, "2468")
    platform.sms.register_number(bob_id, BOB, "1357")
    clock.advance(86_401)
    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        yield client, platform, alice_id, bob_id


def post(client, form, *, token=TOKEN, url=URL, sign=True, tamper=None):
    headers = {}
    if sign:
        headers["X-Twilio-Signature"] = signature(token, url, list(form.items()))
    body = dict(form, **(tamper or {}))
    return client.post("/v1/sms/inbound", data=body, headers=headers)


def form(body, sid="SM1", sender=ALICE):
    return {"From": sender, "To": "+15005550006", "Body": body, "MessageSid": sid, "AccountSid": "AC1"}


def test_a_signed_message_is_answered_in_gateway_xml(setup):
    """A correctly signed request gets 200 and the reply as <Response><Message>."""
    client, *_ = setup
    response = post(client, form("BAL"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert response.text.endswith("<Response><Message>Balance: €20.00.</Message></Response>")


def test_send_and_pin_over_the_webhook_and_duplicate_delivery(setup):
    """SEND then the PIN pay once; the same MessageSid again gets the same answer and pays nothing."""
    client, platform, alice_id, bob_id = setup
    assert "Send €5.00" in post(client, form(f"SEND 5 {BOB}", sid="SM1")).text
    first = post(client, form("2468", sid="SM2"))
    again = post(client, form("2468", sid="SM2"))
    assert "Sent €5.00" in first.text
    assert again.text == first.text
    assert (available(platform, alice_id), available(platform, bob_id)) == (15_000_000, 5_000_000)


@pytest.mark.parametrize("case", ["missing", "wrong_token", "wrong_url", "tampered_body", "added_param"])
def test_unsigned_or_badly_signed_requests_are_refused_and_move_nothing(setup, case):
    """No signature, a wrong key, another URL or a changed body: 403 invalid_signature, nothing done."""
    client, platform, alice_id, bob_id = setup
    post(client, form(f"SEND 5 {BOB}", sid="SM1"))
    pin = form("2468", sid="SM2")
    response = {
        "missing": lambda: post(client, pin, sign=False),
        "wrong_token": lambda: post(client, pin, token="not-the-token"),
        "wrong_url": lambda: post(client, pin, url="http://evil.example/v1/sms/inbound"),
        "tampered_body": lambda: post(client, pin, tamper={"From": BOB}),
        "added_param": lambda: post(client, pin, tamper={"Extra": "1"}),
    }[case]()
    assert response.status_code == 403
    assert response.json()["code"] == "invalid_signature"
    assert (available(platform, alice_id), available(platform, bob_id)) == (20_000_000, 0)
    assert "Sent €5.00" in post(client, pin).text  # the genuine delivery still works


def test_public_url_is_what_the_signature_covers(setup):
    """With OBOLO_PUBLIC_URL set, the gateway signs that URL, not the one the server sees."""
    client, platform, *_ = setup
    platform.settings = dataclasses.replace(platform.settings, public_url="https://pay.example/")
    assert post(client, form("BAL")).status_code == 403
    assert post(client, form("BAL"), url="https://pay.example/v1/sms/inbound").status_code == 200


def test_without_an_auth_token_the_webhook_is_off(setup):
    """No OBOLO_SMS_AUTH_TOKEN: every request is refused, signed or not."""
    client, platform, *_ = setup
    platform.settings = dataclasses.replace(platform.settings, sms_auth_token=None)
    response = post(client, form("BAL"))
    assert response.status_code == 404
    assert response.json()["code"] == "sms_not_configured"


def test_reply_text_is_xml_escaped(setup):
    """Reply text is escaped inside the XML."""
    client, platform, *_ = setup
    xavier = platform.identity.sign_up("x@example.com", "xavier password", "<b>&Co", "+393401112233").id
    platform.sms.register_number(xavier, "+393401112233", "8642")
    post(client, form("BAL ON", sid="SMa"))
    text = post(client, form("SEND 1 +393401112233", sid="SMb")).text
    assert "to &lt;b*** +39" in text
    assert "<b" not in text.split("<Message>")[1]


def test_a_signed_in_person_gets_a_link_code_for_their_phone(setup):
    """POST /v1/sms/link gives a code; JOIN <code> from a phone binds it to that account."""
    client, *_ = setup
    client.post(
        "/v1/users", json={"email": "d@example.com", "password": "dora password 12", "display_name": "D"}
    )
    token = client.post("/v1/sessions", json={"email": "d@example.com", "password": "dora password 12"})
    headers = {"Authorization": f"Bearer {token.json()['token']}"}
    assert client.post("/v1/sms/link").status_code == 401
    created = client.post("/v1/sms/link", headers=headers)
    assert created.status_code == 201
    code = created.json()["code"]
    reply = post(client, form(f"JOIN {code}", sid="SMj", sender="+393401112233"))
    assert "linked to your Obolo account" in reply.text


# -- replays: a signed request sent again is the same message -------------------------------


def transfers(platform) -> int:
    with platform.engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM ledger_transfers")).scalar_one()


def inbound_rows(platform) -> int:
    with platform.engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM sms_inbound")).scalar_one()


def without_id(body, spelling):
    """A gateway form for `body` whose message id is missing, blank, too long, or misspelt."""
    fields = {k: v for k, v in form(body).items() if k != "MessageSid"}
    extra = {
        "absent": {},
        "empty": {"MessageSid": ""},
        "spaces": {"MessageSid": "   "},
        "tab": {"MessageSid": "\t"},
        "too_long": {"MessageSid": "SM" + "7" * 63},
        "lowercase_name": {"messagesid": "SM1"},
        "old_name_only": {"SmsSid": "SM1"},
    }[spelling]
    return {**fields, **extra}


@pytest.mark.parametrize(
    "spelling", ["absent", "empty", "spaces", "tab", "too_long", "lowercase_name", "old_name_only"]
)
def test_a_signed_message_without_a_message_id_is_refused_and_moves_nothing(setup, spelling):
    """A signed request without a usable MessageSid: 422 sms_message_id_required each time, no change."""
    client, platform, alice_id, bob_id = setup
    before = (transfers(platform), inbound_rows(platform))
    for _ in range(3):
        for body in (f"SEND 5 {BOB}", "2468"):
            response = post(client, without_id(body, spelling))
            assert response.status_code == 422, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["code"] == "sms_message_id_required"
    assert (available(platform, alice_id), available(platform, bob_id)) == (20_000_000, 0)
    assert (transfers(platform), inbound_rows(platform)) == before
    # no send was left waiting for a PIN: the genuine PIN finds nothing to confirm
    assert "Sent" not in post(client, form("2468", sid="SMgenuine")).text
    assert (available(platform, alice_id), available(platform, bob_id)) == (20_000_000, 0)


@pytest.mark.parametrize(
    "order",
    [
        "SP" * 4,  # the captured pair replayed three more times
        "SSSPPPP",
        "SPSSPPSP",
        "PSPSP",  # the PIN first: answered "nothing to confirm", and that answer is what it gets after
    ],
)
def test_a_signed_send_and_pin_replayed_any_number_of_times_pay_at_most_once(setup, order):
    """A captured signed SEND and PIN replayed in any order and count pay at most once (once if SEND led)."""
    client, platform, alice_id, bob_id = setup
    send, pin = form(f"SEND 5 {BOB}", sid="SMsend"), form("2468", sid="SMpin")
    counts = [transfers(platform)]
    for step in order:
        assert post(client, send if step == "S" else pin).status_code == 200
        counts.append(transfers(platform))
    paid = order.index("S") < order.index("P")
    moves = [after - before for before, after in itertools.pairwise(counts) if after != before]
    assert len(moves) == (1 if paid else 0)  # the ledger moved at one step only
    expected = (15_000_000, 5_000_000) if paid else (20_000_000, 0)
    assert (available(platform, alice_id), available(platform, bob_id)) == expected
