"""Operators rule on undo requests made too late: a reversal takes exactly the amount back
from the recipient and refunds the fee, or moves nothing at all; a decline moves nothing;
both people are told, the ruling is audited, and a request is ruled on once."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from obolo.adapters.db.schema import audit_log
from obolo.entrypoints.api.app import create_app
from obolo.identity.model import Role
from obolo.ledger.check import check_ledger
from obolo.settings import FeeRule, Settings
from obolo.sms import undo_requests
from obolo.sms.errors import RecipientCannotRepay, UndoAlreadyDecided, UndoRequestNotFound
from obolo.wallets.model import PlatformAccount
from tests.integration.sms_helpers import ALICE, BOB, CARD, Phone, available, eur, ref_in, sms_platform
from tests.web_support import PASSWORD, Browser, money_snapshot

DAY = 86_400
FEE = 50_000  # 0.05 EUR a send


@pytest.fixture
def world(db_url, clock):
    settings = Settings(fees={"sms": FeeRule(fixed=FEE)})
    platform, gateway = sms_platform(db_url, clock, settings)
    yield platform, gateway
    assert check_ledger(platform.engine) == []
    platform.close()


@pytest.fixture
def late_request(world, clock):
    """Alice sent Bob 5.00 by SMS, asked UNDO after the window; Olga is an operator."""
    platform, _ = world
    alice_id = platform.identity.sign_up("alice@example.com", "alice password 1", "Alice Verdi", ALICE).id
    platform.wallets.top_up(alice_id, eur("100.00"), CARD)
    alice, bob = Phone(platform, ALICE), Phone(platform, BOB)
    code, _ = platform.sms.link_code(alice_id)
    alice.say(f"JOIN {code}")
    alice.say("PIN 2468")
    bob.say("JOIN Bob Rossi")
    bob.say("PIN 1357")
    clock.advance(DAY + 1)
    bob_id = platform.sms.number(BOB).user_id
    operator = platform.identity.sign_up("olga@example.com", "operator password", "Olga").id
    platform.identity.grant_role("olga@example.com", Role.OPERATOR)
    alice.say(f"SEND 5 {BOB}")
    ref = ref_in(alice.say("2468").text)
    clock.advance(601)
    assert "Request recorded" in alice.say(f"UNDO {ref}").text
    (request,) = undo_requests.open_requests(platform.sms)
    assert (request.ref, request.amount, request.fee) == (ref, 5_000_000, FEE)
    return alice_id, bob_id, operator, request


def fee_revenue(platform) -> int:
    (account,) = platform.ledger.lookup_accounts([PlatformAccount.FEE_REVENUE.account_id("EUR")])
    return account.credits_posted - account.debits_posted


def transfer_count(platform) -> int:
    with platform.engine.connect() as connection:
        return len(connection.exec_driver_sql("SELECT id FROM ledger_transfers").all())


def audited(platform, action):
    with platform.engine.connect() as connection:
        return (
            connection.execute(select(audit_log.c.subject).where(audit_log.c.action == action))
            .scalars()
            .all()
        )


def test_a_reversal_takes_back_the_amount_and_refunds_the_fee_once(world, late_request):
    platform, gateway = world
    alice_id, bob_id, operator, request = late_request
    before = (available(platform, alice_id), available(platform, bob_id), fee_revenue(platform))
    assert before == (100_000_000 - 5_000_000 - FEE, 5_000_000, FEE)
    decided = undo_requests.decide(
        platform.sms, operator, request.send_id, reverse=True, note="typo in number"
    )
    assert (decided.decision, decided.decided_by, decided.status) == ("reversed", operator, "undone")
    assert (available(platform, alice_id), available(platform, bob_id), fee_revenue(platform)) == (
        100_000_000, 0, 0,
    )  # fmt: skip
    assert "reversed your €5.00" in gateway.to(ALICE)[-1]
    assert "reversed the €5.00" in gateway.to(BOB)[-1]
    assert audited(platform, "sms.undo_reversed") == [request.send_id]
    assert undo_requests.open_requests(platform.sms) == []
    count = transfer_count(platform)
    with pytest.raises(UndoAlreadyDecided):
        undo_requests.decide(platform.sms, operator, request.send_id, reverse=True)
    assert transfer_count(platform) == count
    assert available(platform, alice_id) == 100_000_000


def test_a_reversal_the_recipient_cannot_cover_moves_nothing_and_stays_open(world, late_request):
    platform, _ = world
    alice_id, bob_id, operator, request = late_request
    platform.wallets.pay(bob_id, alice_id, eur("4.00"))  # Bob spent most of it
    before = (available(platform, alice_id), available(platform, bob_id), transfer_count(platform))
    with pytest.raises(RecipientCannotRepay) as refused:
        undo_requests.decide(platform.sms, operator, request.send_id, reverse=True)
    assert refused.value.code == "recipient_cannot_repay"
    assert (available(platform, alice_id), available(platform, bob_id), transfer_count(platform)) == before
    assert [r.send_id for r in undo_requests.open_requests(platform.sms)] == [request.send_id]
    assert audited(platform, "sms.undo_reversed") == []


def test_a_decline_moves_nothing_and_tells_the_sender(world, late_request):
    platform, gateway = world
    alice_id, bob_id, operator, request = late_request
    before = (available(platform, alice_id), available(platform, bob_id), transfer_count(platform))
    decided = undo_requests.decide(platform.sms, operator, request.send_id, reverse=False)
    assert (decided.decision, decided.status) == ("declined", "paid")
    assert (available(platform, alice_id), available(platform, bob_id), transfer_count(platform)) == before
    assert "the payment stands" in gateway.to(ALICE)[-1]
    assert audited(platform, "sms.undo_declined") == [request.send_id]
    with pytest.raises(UndoRequestNotFound):
        undo_requests.decide(platform.sms, operator, "00000000-0000-0000-0000-000000000000", reverse=True)


def test_over_the_api_only_operators_rule_and_money_moves_once(world, late_request):
    platform, _ = world
    alice_id, bob_id, _, request = late_request
    with TestClient(create_app(platform)) as client:

        def headers(email, password):
            token = client.post("/v1/sessions", json={"email": email, "password": password}).json()["token"]
            return {"Authorization": f"Bearer {token}"}

        olga, alice = (
            headers("olga@example.com", "operator password"),
            headers("alice@example.com", "alice password 1"),
        )
        path = f"/v1/admin/sms/undo-requests/{request.send_id}/decision"
        refused = client.post(path, json={"decision": "reverse"}, headers=alice)
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
        assert client.get("/v1/admin/sms/undo-requests", headers=alice).status_code == 403
        listed = client.get("/v1/admin/sms/undo-requests", headers=olga).json()
        assert [(r["ref"], r["amount"], r["fee"]) for r in listed] == [(request.ref, "5.000000", "0.050000")]
        bad = client.post(path, json={"decision": "refund-twice"}, headers=olga)
        assert bad.status_code == 422
        assert available(platform, bob_id) == 5_000_000
        keyed = {**olga, "Idempotency-Key": "rule-1"}
        first = client.post(path, json={"decision": "reverse", "note": "typo"}, headers=keyed)
        again = client.post(path, json={"decision": "reverse", "note": "typo"}, headers=keyed)
        assert first.status_code == again.status_code == 200
        assert first.json() == again.json()
        assert first.json()["decision"] == "reversed"
        late = client.post(path, json={"decision": "decline"}, headers=olga)
        assert (late.status_code, late.json()["code"]) == (409, "undo_decided")
    assert (available(platform, alice_id), available(platform, bob_id)) == (100_000_000, 0)


def test_the_console_page_lists_requests_and_an_operators_reversal_moves_money_once(world, late_request):
    platform, _ = world
    alice_id, bob_id, _, request = late_request
    platform.identity.sign_up("oscar@example.com", PASSWORD, "Oscar")
    platform.identity.grant_role("oscar@example.com", Role.OPERATOR)
    oscar = Browser(platform)
    oscar.sign_in("oscar@example.com")
    assert 'href="/operator/sms-undos"' in oscar.get("/operator").text
    listing = oscar.get("/operator/sms-undos")
    assert listing.status_code == 200
    assert f'data-undo-request="{request.send_id}"' in listing.text
    action = f"/operator/sms-undos/{request.send_id}"
    decided = oscar.submit("/operator/sms-undos", action, {"decision": "reverse", "note": "typo"})
    assert (decided.status_code, decided.headers["location"]) == (303, "/operator/sms-undos?done=reversed")
    assert (available(platform, alice_id), available(platform, bob_id)) == (100_000_000, 0)
    twice = oscar.submit("/operator/sms-undos", action, {"decision": "reverse"})
    assert twice.status_code == 409
    assert "already decided" in twice.text
    assert (available(platform, alice_id), available(platform, bob_id)) == (100_000_000, 0)


def test_the_console_page_is_for_operators_only(world, late_request):
    platform, _ = world
    *_, request = late_request
    platform.identity.sign_up("eve@example.com", PASSWORD, "Eve")
    eve = Browser(platform)
    eve.sign_in("eve@example.com")
    assert eve.get("/operator/sms-undos").status_code == 403
    before = money_snapshot(platform)
    refused = eve.submit("/wallet", f"/operator/sms-undos/{request.send_id}", {"decision": "reverse"})
    assert refused.status_code == 403
    assert money_snapshot(platform) == before
    assert [r.send_id for r in undo_requests.open_requests(platform.sms)] == [request.send_id]
