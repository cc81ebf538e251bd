"""Who has an account cannot be learnt from a payment or a sign-up: money to an email or
number without an account is held and the address invited, claimed by whoever proves the
address, returned to the sender after the claim period; sign-up answers a taken address
as a new one and tells the owner."""

from __future__ import annotations

import re
import threading

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from obolo.adapters.db.schema import users
from obolo.adapters.db.schema_invitations import email_outbox, invitations
from obolo.adapters.db.schema_sms import sms_outbox
from obolo.bootstrap import build
from obolo.entrypoints.api.app import create_app
from obolo.entrypoints.workers import run_once
from obolo.ledger.check import check_ledger
from obolo.mail.outbox import deliver_emails
from obolo.money import EUR, Amount
from obolo.settings import FeeRule, Settings
from obolo.sms.service import Inbound
from obolo.wallets.model import PlatformAccount
from tests.fakes import FakeEmailGateway
from tests.integration.api_world import cheap_hashing

PASSWORD = "a long enough password"
CARD = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}
CLAIM_SECONDS = 3600
BOB_PHONE = "+393337654321"
NOBODYS_PHONE = "+393339990001"
VOLATILE = {"id", "created_at", "updated_at"}


@pytest.fixture
def platform(db_url, clock):
    settings = Settings(fees={"payment": FeeRule(basis_points=100)}, invite_claim_seconds=CLAIM_SECONDS)
    built = build(settings, url=db_url, clock=clock, migrate=True, email_gateway=FakeEmailGateway())
    cheap_hashing(built)
    yield built
    assert check_ledger(built.engine) == []
    built.close()


@pytest.fixture
def client(platform):
    with TestClient(create_app(platform), raise_server_exceptions=False) as test_client:
        yield test_client


def sign_up(client, email, phone=None):
    body = {"email": email, "password": PASSWORD, "display_name": email.split("@")[0].title()}
    if phone:
        body["phone"] = phone
    return client.post("/v1/users", json=body)


def person(client, email, phone=None, top_up=None) -> dict[str, str]:
    assert sign_up(client, email, phone).status_code == 201
    session = client.post("/v1/sessions", json={"email": email, "password": PASSWORD})
    assert session.status_code == 201, session.text
    headers = {"Authorization": f"Bearer {session.json()['token']}"}
    if top_up:
        topped = client.post(
            "/v1/topups", json={"amount": top_up, "asset": "EUR", "card": CARD}, headers=headers
        )
        assert topped.status_code == 201
    return headers


def pay(client, headers, to, amount="2.00", key=None):
    extra = {"Idempotency-Key": key} if key else {}
    return client.post(
        "/v1/payments", json={"to": to, "amount": amount, "asset": "EUR"}, headers=headers | extra
    )


def available(client, headers) -> str:
    wallets = client.get("/v1/wallets", headers=headers).json()
    return next((w["available"] for w in wallets if w["asset"] == "EUR"), "0.00")


def totals(platform) -> list[tuple]:
    with platform.engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.exec_driver_sql(
                "SELECT id, debits_posted, credits_posted, debits_pending, credits_pending "
                "FROM ledger_accounts ORDER BY id"
            )
        ]


def holding(platform) -> int:
    (account,) = platform.ledger.lookup_accounts([PlatformAccount.INVITATIONS.account_id("EUR")])
    return account.credits_posted - account.debits_posted


def claim_code(platform, address) -> str:
    deliver_emails(platform.engine, platform.email_gateway, platform.clock)
    bodies = [body for _subject, body in platform.email_gateway.to(address)]
    found = re.search(r"\b([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})\b", bodies[-1])
    assert found, bodies
    return found.group(1)


def shape(response) -> tuple:
    body = response.json()
    kept = {k: v for k, v in body.items() if k not in VOLATILE | {"instance", "detail"}}
    return response.status_code, response.headers["content-type"], sorted(body), kept


@pytest.mark.parametrize("funded", [False, True], ids=["empty wallet", "funded wallet"])
@pytest.mark.parametrize(
    ("known", "unknown"),
    [
        ("bob@example.com", "carol@example.com"),
        ("  Bob@Example.COM ", " Carol@Example.COM"),
        (BOB_PHONE, NOBODYS_PHONE),
        ("+39 333 765 4321", "+39 333 999 0001"),
    ],
)
def test_a_payment_answers_alike_whether_the_recipient_has_an_account_or_not(
    client, platform, funded, known, unknown
):
    """Status, content type, keys and every value but the id and times are the same for an
    address with an account and one without, from an empty wallet and from a funded one."""
    person(client, "bob@example.com", BOB_PHONE)
    alice = person(client, "alice@example.com", top_up="10.00" if funded else None)
    to_known, to_unknown = pay(client, alice, known), pay(client, alice, unknown)
    assert shape(to_known) == shape(to_unknown)
    assert to_known.status_code == (201 if funded else 422)
    if not funded:
        assert to_known.json()["code"] == "insufficient_funds"


def test_a_payment_to_an_unknown_user_id_from_an_empty_wallet_is_refused_for_the_money(client, platform):
    """An id is checked after the funds, so an empty wallet cannot tell ids apart either."""
    bob_id = sign_up(client, "bob@example.com").json()["id"]
    alice = person(client, "alice@example.com")
    before = totals(platform)
    for to in (bob_id, "0190a3d2-0000-7000-8000-000000000000"):
        answer = pay(client, alice, to)
        assert (answer.status_code, answer.json()["code"]) == (422, "insufficient_funds")
    assert totals(platform) == before


def test_money_to_an_email_is_held_and_claimed_only_by_that_address_with_its_code(client, platform):
    """The money waits on the holding account; a claim needs both the code mailed to the
    address and an account with that address; it is paid once, to exactly that account."""
    alice = person(client, "alice@example.com", top_up="10.00")
    sent = pay(client, alice, "carol@example.com")
    assert sent.status_code == 201
    assert available(client, alice) == "7.980000"
    assert holding(platform) == 2_000_000
    code = claim_code(platform, "carol@example.com")
    history = client.get("/v1/transactions", headers=alice).json()["data"]
    assert "Payment to ca***@example.com (waiting for them to join)" in [e["description"] for e in history]
    # Someone else, even with the code: refused, nothing moved.
    mallory = person(client, "mallory@example.com")
    before = totals(platform)
    refused = client.post("/v1/invitations/claim", json={"code": code}, headers=mallory)
    assert (refused.status_code, refused.json()["code"]) == (404, "invitation_not_found")
    # The address's owner with a wrong code: refused alike.
    carol = person(client, "carol@example.com")
    wrong = client.post("/v1/invitations/claim", json={"code": "AAAA-BBBB-CCCC-DDDD"}, headers=carol)
    assert (wrong.status_code, wrong.json()["code"]) == (404, "invitation_not_found")
    assert totals(platform) == before
    assert available(client, carol) == "0.00"
    claimed = client.post("/v1/invitations/claim", json={"code": code.lower()}, headers=carol)
    assert claimed.status_code == 201, claimed.text
    assert claimed.json()["claimed"] == [sent.json()["id"]]
    assert available(client, carol) == "2.000000"
    assert holding(platform) == 0
    again = client.post("/v1/invitations/claim", json={"code": code}, headers=carol)
    assert (again.status_code, again.json()) == (201, claimed.json())  # answered again, nothing moved
    assert available(client, carol) == "2.000000"
    assert client.get(f"/v1/transactions/{sent.json()['id']}", headers=alice).json()["to_user_id"] is not None
    assert check_ledger(platform.engine) == []


def test_money_to_a_number_is_claimed_when_the_number_joins_by_sms(client, platform):
    """A number proves itself by SMS (JOIN from it): the money held for it is paid to its new wallet."""
    alice = person(client, "alice@example.com", top_up="10.00")
    assert pay(client, alice, "+39 333 999 0001", "1.50").status_code == 201
    assert holding(platform) == 1_500_000
    with platform.engine.connect() as connection:
        (text,) = connection.execute(
            select(sms_outbox.c.body).where(sms_outbox.c.phone == NOBODYS_PHONE)
        ).scalars()
    assert "ti ha inviato 1,50 € con Obolo. Rispondi REGISTRA entro il " in text  # a +39 number: Italian
    assert "EUR" not in text
    reply = platform.sms.receive(Inbound("SM-join-1", NOBODYS_PHONE, "+15005550006", "JOIN"))
    assert reply.code == "ok"
    with platform.engine.connect() as connection:
        row = connection.execute(select(invitations)).one()
    assert row.status == "claimed"
    (wallet,) = platform.wallets.balances(row.claimed_by)
    assert wallet.available == 1_500_000
    assert holding(platform) == 0


def test_unclaimed_money_returns_once_even_when_the_job_runs_twice_or_races(client, platform, clock):
    """Past the claim period the job gives the money and its fee back, once, however many
    workers run it; the code no longer claims anything."""
    alice = person(client, "alice@example.com", top_up="10.00")
    pay(client, alice, "carol@example.com")
    pay(client, alice, NOBODYS_PHONE, "1.00")
    code = claim_code(platform, "carol@example.com")
    assert platform.invitations.return_due() == 0  # not yet due
    clock.advance(CLAIM_SECONDS + 1)
    results: list[int] = []
    workers = [
        threading.Thread(target=lambda: results.append(platform.invitations.return_due())) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sum(results) == 2  # each invitation returned by exactly one of the two workers
    assert platform.invitations.return_due() == 0
    assert available(client, alice) == "10.000000"
    assert holding(platform) == 0
    carol = person(client, "carol@example.com")
    assert client.post("/v1/invitations/claim", json={"code": code}, headers=carol).status_code == 404
    history = [e["description"] for e in client.get("/v1/transactions", headers=alice).json()["data"]]
    assert "Returned: unclaimed payment to ca***@example.com" in history
    assert check_ledger(platform.engine) == []


def test_a_retried_payment_to_an_invitee_moves_money_once(client, platform):
    """The same Idempotency-Key twice: one invitation, one debit, the same answer."""
    alice = person(client, "alice@example.com", top_up="10.00")
    first = pay(client, alice, "carol@example.com", key="lunch-1")
    second = pay(client, alice, "carol@example.com", key="lunch-1")
    assert first.json() == second.json()
    # The service retried under the same key (a request that died after its commit) too.
    retried = platform.wallets.pay(
        first.json()["from_user_id"],
        "carol@example.com",
        Amount.parse("2.00", EUR),
        idempotency_key="lunch-1",
    )
    assert retried.id == first.json()["id"]
    assert available(client, alice) == "7.980000"
    with platform.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(invitations)).scalar_one() == 1


@pytest.mark.parametrize(
    ("taken", "notified"),
    [
        ({"email": "bob@example.com"}, "bob@example.com"),
        ({"email": " BOB@example.com"}, "bob@example.com"),
        ({"email": "new@example.com", "phone": BOB_PHONE}, "bob@example.com"),
    ],
    ids=["email", "email spelt otherwise", "phone"],
)
def test_sign_up_with_a_taken_email_or_phone_answers_like_a_new_one_and_tells_the_owner(
    client, platform, taken, notified
):
    """Same status and body shape as a new sign-up; no account is made, signing in fails as a
    wrong password does, and the owner is told by email that someone tried."""
    assert sign_up(client, "bob@example.com", BOB_PHONE).status_code == 201
    deliver_emails(platform.engine, platform.email_gateway, platform.clock)
    fresh = sign_up(client, "fresh@example.com", "+393331112222")
    body = {"password": "someone else's password", "display_name": "Someone", **taken}
    tried = client.post("/v1/users", json=body)
    assert (tried.status_code, sorted(tried.json())) == (fresh.status_code, sorted(fresh.json()))
    assert tried.json()["roles"] == fresh.json()["roles"] == ["consumer"]
    assert tried.json()["email"] == body["email"].strip().lower()
    with platform.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(users)).scalar_one() == 2
    signed_in = client.post("/v1/sessions", json={"email": body["email"], "password": body["password"]})
    wrong = client.post("/v1/sessions", json={"email": "fresh@example.com", "password": "not the password"})
    assert (signed_in.status_code, signed_in.json()["code"]) == (wrong.status_code, wrong.json()["code"])
    assert deliver_emails(platform.engine, platform.email_gateway, platform.clock) >= 1
    subjects = [subject for subject, _body in platform.email_gateway.to(notified)]
    assert subjects == ["Someone tried to sign up with your details"]


def test_mail_bodies_do_not_outlive_their_delivery(client, platform):
    """A claim code is in the outbox only until it is sent."""
    alice = person(client, "alice@example.com", top_up="10.00")
    pay(client, alice, "carol@example.com")
    claim_code(platform, "carol@example.com")
    with platform.engine.connect() as connection:
        rows = connection.execute(select(email_outbox.c.status, email_outbox.c.body)).all()
    assert [(row.status, row.body) for row in rows] == [("sent", "")]


def test_the_mail_and_the_return_are_jobs_that_run_with_the_others(client, platform, clock):
    """A worker's run mails the invitation at once and returns the money once the claim period is over."""
    alice = person(client, "alice@example.com", top_up="10.00")
    pay(client, alice, "carol@example.com")
    with httpx.Client() as http:
        first = run_once(platform, http)
        assert (first["email_outbox"], first["invitations_return"]) == (1, 0)
        clock.advance(CLAIM_SECONDS + 1)
        assert run_once(platform, http)["invitations_return"] == 1
    assert available(client, alice) == "10.000000"
