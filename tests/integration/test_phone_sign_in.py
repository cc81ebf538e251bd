"""Signing in with one's phone (a code texted to a number that joined by SMS), through the
API and through the pages: the whole flow, and each refusal with its code and no session."""

from __future__ import annotations

import hashlib
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from structlog.testing import capture_logs

from obolo.adapters.db.schema import audit_log, phone_sign_in_codes, sessions
from obolo.adapters.db.schema_sms import sms_outbox
from obolo.entrypoints.api.app import create_app
from tests.integration.sms_helpers import ALICE, BOB, CARD, STRANGER, Phone, checked_sms_platform, eur
from tests.web_support import Browser

CODES = "/v1/sessions/phone-codes"


@pytest.fixture
def world(db_url, clock):
    yield from checked_sms_platform(db_url, clock)


@pytest.fixture
def joined(world):
    """Bob opened his wallet by text (JOIN, then a PIN) and has 12.34 EUR: no email, no password."""
    platform, gateway = world
    bob = Phone(platform, BOB)
    assert bob.say("JOIN Bob").code == "ok"
    assert bob.say("PIN 2468").code == "ok"
    user_id = platform.sms.number(BOB).user_id
    platform.wallets.top_up(user_id, eur("12.34"), CARD)
    gateway.sent.clear()
    return user_id


@pytest.fixture
def api(world):
    return TestClient(create_app(world[0]), raise_server_exceptions=True)


def code_in(body: str) -> str:
    found = re.search(r"\b([0-9]{6})\b", body)
    assert found, body
    return found.group(1)


def session_count(platform) -> int:
    with platform.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(sessions)).scalar_one())


def ask(api, phone: str = BOB):
    return api.post(CODES, json={"phone": phone})


def texted_code(world, phone: str = BOB) -> str:
    return code_in(world[1].to(phone)[-1])


def refused(answer, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code


# -- the flow -------------------------------------------------------------------------------
def test_a_person_who_joined_by_sms_signs_in_by_api_and_sees_their_balance(world, joined, api):
    """A texted code, in the number's own writing, buys a session token that reads the wallet."""
    answer = api.post(CODES, json={"phone": "+39 333 765 4321"})  # Bob's number, spaced
    assert answer.status_code == 202
    (text,) = world[1].to(BOB)
    assert "sign in" in text
    assert "Do not share" in text
    assert "10 min" in text
    signed = api.post("/v1/sessions", json={"phone": BOB, "code": code_in(text)})
    assert signed.status_code == 201, signed.text
    assert signed.json()["user"]["id"] == joined
    wallets = api.get("/v1/wallets", headers={"Authorization": f"Bearer {signed.json()['token']}"})
    assert wallets.status_code == 200
    assert any(w["asset"] == "EUR" and w["available"] == "12.340000" for w in wallets.json()), wallets.json()
    assert session_count(world[0]) == 1


def test_the_password_sign_in_still_works_beside_it(world, api):
    """The same endpoint still takes email and password."""
    world[0].identity.sign_up("ann@example.com", "a long enough password", "Ann")
    answer = api.post("/v1/sessions", json={"email": "ann@example.com", "password": "a long enough password"})
    assert answer.status_code == 201


# -- refusals: the one code, and no session -------------------------------------------------
def test_a_wrong_code_is_invalid_code_and_opens_no_session(world, joined, api):
    """A wrong code is 401 invalid_code; the right one still works afterwards (a try is spent)."""
    ask(api)
    right = texted_code(world)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    refused(api.post("/v1/sessions", json={"phone": BOB, "code": wrong}), 401, "invalid_code")
    assert session_count(world[0]) == 0
    assert api.post("/v1/sessions", json={"phone": BOB, "code": right}).status_code == 201


def test_an_expired_code_is_invalid_code(world, joined, api, clock):
    """A code older than 10 minutes opens nothing."""
    ask(api)
    code = texted_code(world)
    clock.advance(600)
    refused(api.post("/v1/sessions", json={"phone": BOB, "code": code}), 401, "invalid_code")
    assert session_count(world[0]) == 0


def test_a_code_works_once(world, joined, api):
    """The second use of a code is refused: one code, one session."""
    ask(api)
    code = texted_code(world)
    assert api.post("/v1/sessions", json={"phone": BOB, "code": code}).status_code == 201
    refused(api.post("/v1/sessions", json={"phone": BOB, "code": code}), 401, "invalid_code")
    assert session_count(world[0]) == 1


def test_five_wrong_tries_kill_the_code(world, joined, api, clock):
    """After 5 wrong tries even the right code is refused."""
    ask(api)
    right = texted_code(world)
    for n in range(1, 6):
        clock.advance(10)  # past the sign-in slow-down, which is not what this is about
        wrong = f"{(int(right) + n) % 1_000_000:06d}"
        refused(api.post("/v1/sessions", json={"phone": BOB, "code": wrong}), 401, "invalid_code")
    clock.advance(10)
    refused(api.post("/v1/sessions", json={"phone": BOB, "code": right}), 401, "invalid_code")
    assert session_count(world[0]) == 0


def test_a_new_code_replaces_the_old_one(world, joined, api):
    """Only the latest code texted to a number is alive."""
    ask(api)
    first = texted_code(world)
    ask(api)
    second = texted_code(world)
    if first != second:
        refused(api.post("/v1/sessions", json={"phone": BOB, "code": first}), 401, "invalid_code")
        assert session_count(world[0]) == 0
    assert api.post("/v1/sessions", json={"phone": BOB, "code": second}).status_code == 201


def test_codes_are_throttled_per_number_alike_for_known_and_unknown_numbers(world, joined, api, clock):
    """Five codes an hour per number; the sixth ask is 429 for a wallet's number and for a
    number without one alike (the answer does not tell them apart); an hour on, it works."""
    for phone in (BOB, STRANGER):
        for _ in range(5):
            assert ask(api, phone).status_code == 202
        answer = ask(api, phone)
        refused(answer, 429, "rate_limited")
        assert int(answer.headers["retry-after"]) > 0
    assert len(world[1].to(BOB)) == 5
    assert world[1].to(STRANGER) == []
    clock.advance(3600)
    assert ask(api).status_code == 202
    assert len(world[1].to(BOB)) == 6


def test_wrong_codes_lock_the_number_like_wrong_passwords(world, joined, api, clock):
    """Wrong codes across fresh codes count against the number: past the login lock, even the
    right code gets 429 and no session."""
    for _ in range(2):
        ask(api)
        right = texted_code(world)
        for n in range(1, 6):
            clock.advance(70)  # past each slow-down (1, 2, ... 64 s): the lock is what is shown
            wrong = f"{(int(right) + n) % 1_000_000:06d}"
            api.post("/v1/sessions", json={"phone": BOB, "code": wrong})
    ask(api)
    refused(api.post("/v1/sessions", json={"phone": BOB, "code": texted_code(world)}), 429, "rate_limited")
    assert session_count(world[0]) == 0


def test_an_unknown_number_gets_the_same_answer_and_no_text(world, joined, api):
    """A number without a wallet gets the same 202 and body as Bob's; nothing is texted to it,
    nothing is stored for it, and any code for it is invalid_code."""
    known, unknown = ask(api, BOB), ask(api, STRANGER)
    assert (unknown.status_code, unknown.json()) == (known.status_code, known.json())
    assert world[1].to(STRANGER) == []
    with world[0].engine.connect() as connection:
        phones = connection.execute(select(phone_sign_in_codes.c.phone)).scalars().all()
    assert phones == [BOB]
    refused(api.post("/v1/sessions", json={"phone": STRANGER, "code": "123456"}), 401, "invalid_code")
    assert session_count(world[0]) == 0


def test_a_number_on_an_account_with_a_password_gets_no_code(world, api):
    """A web account (password) that linked its number signs in with its password: no code is
    texted, so a swapped SIM does not open it."""
    platform, gateway = world
    user_id = platform.identity.sign_up("al@example.com", "a long enough password", "Al", ALICE).id
    link, _ = platform.sms.link_code(user_id)
    assert Phone(platform, ALICE).say(f"JOIN {link}").code == "ok"
    gateway.sent.clear()
    assert ask(api, ALICE).status_code == 202
    assert gateway.to(ALICE) == []


def test_a_number_that_is_not_a_number_is_refused_as_such(world, api):
    """The format is checked first (that says nothing about accounts): 422 invalid_phone."""
    refused(api.post(CODES, json={"phone": "not a phone"}), 422, "invalid_phone")
    refused(api.post("/v1/sessions", json={"phone": BOB, "code": "12345"}), 422, "validation_error")


# -- secrets --------------------------------------------------------------------------------
def test_the_code_is_kept_only_as_an_hmac_and_never_logged_or_queued(world, joined, api):
    """The table holds an HMAC (not the code, not its bare SHA-256); the outbox, the audit log
    and the logs never see the code."""
    with capture_logs() as logs:
        ask(api)
        code = texted_code(world)
        api.post("/v1/sessions", json={"phone": BOB, "code": code})
    with world[0].engine.connect() as connection:
        rows = connection.execute(select(phone_sign_in_codes)).all()
        outbox = connection.execute(select(sms_outbox.c.body)).scalars().all()
        audit = connection.execute(select(audit_log)).all()
    (row,) = rows
    assert code not in " ".join(str(value) for value in row)
    assert len(row.code_hash) == 64
    for clear in (code, f"{row.id}|{BOB}|{code}"):
        assert row.code_hash != hashlib.sha256(clear.encode()).hexdigest()
    assert not any(code in body for body in outbox)
    assert not any(code in str(tuple(entry)) for entry in audit)
    assert code not in repr(logs)


# -- the pages ------------------------------------------------------------------------------
def test_a_person_who_joined_by_sms_signs_in_on_the_pages_and_sees_their_balance(world, joined):
    """Sign-in page -> phone -> texted code -> a session cookie and the wallet page with the balance."""
    platform, _gateway = world
    browser = Browser(platform)
    assert 'href="/signin/phone' in browser.get("/signin").text
    asked = browser.submit("/signin/phone", "/signin/phone", {"phone": BOB, "next": "/wallet"})
    assert asked.status_code == 200
    assert 'name="code"' in asked.text
    answer = browser.submit(
        "/signin/phone", "/signin/phone/code", {"phone": BOB, "code": texted_code(world), "next": "/wallet"}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/wallet"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("obolo_session="))
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert platform.identity.authenticate(browser.client.cookies["obolo_session"]).user_id == joined
    wallet = browser.get("/wallet")
    assert wallet.status_code == 200
    assert "12.34" in wallet.text


def test_a_wrong_code_on_the_pages_says_so_and_sets_no_session(world, joined):
    """A wrong code re-shows the code form with one message, 401, and no session cookie."""
    browser = Browser(world[0])
    browser.submit("/signin/phone", "/signin/phone", {"phone": BOB})
    right = texted_code(world)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    answer = browser.submit("/signin/phone", "/signin/phone/code", {"phone": BOB, "code": wrong})
    assert answer.status_code == 401
    assert "That code is wrong, expired or already used." in answer.text
    assert "obolo_session" not in browser.client.cookies
    assert session_count(world[0]) == 0


def test_the_pages_answer_an_unknown_number_as_a_known_one(world, joined):
    """The page after asking is the same for a number without a wallet; nothing is texted to it."""
    browser = Browser(world[0])
    known = browser.submit("/signin/phone", "/signin/phone", {"phone": BOB})
    unknown = browser.submit("/signin/phone", "/signin/phone", {"phone": STRANGER})
    assert known.status_code == unknown.status_code == 200
    assert unknown.text.replace(STRANGER, BOB) == known.text
    assert world[1].to(STRANGER) == []


def test_asking_for_a_code_needs_the_forms_csrf_token(world, joined):
    """A forged form (no CSRF token) texts nothing."""
    browser = Browser(world[0])
    answer = browser.client.post("/signin/phone", data={"phone": BOB})
    assert answer.status_code == 403
    assert world[1].to(BOB) == []
