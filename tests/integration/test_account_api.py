"""The account its holder manages, through the HTTP API: each change asks for what proves
it (the current password, a code sent to the new address or number, a TOTP code), each
refusal has its code and changes nothing, and each change is audited."""

from __future__ import annotations

import re

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from obolo.adapters.db.schema import audit_log, users
from obolo.adapters.db.schema_account import recovery_codes, two_factor
from obolo.entrypoints.api.app import create_app
from obolo.identity.model import Role
from obolo.mail.outbox import deliver_emails
from tests.fakes import FakeEmailGateway
from tests.sms_fakes import FakeSmsGateway
from tests.web_support import PASSWORD, make_platform, money_snapshot

CARD = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}
NEW_PASSWORD = "another quite long passphrase"
IBAN = "IT60X0542811101000000123456"


@pytest.fixture
def platform(db_url, clock):
    yield from make_platform(db_url, clock, email_gateway=FakeEmailGateway(), sms_gateway=FakeSmsGateway())


@pytest.fixture
def api(platform):
    return TestClient(create_app(platform), raise_server_exceptions=True)


def sign_up(api, email: str, top_up: str | None = None) -> dict[str, str]:
    assert (
        api.post("/v1/users", json={"email": email, "password": PASSWORD, "display_name": "Ann"}).status_code
        == 201
    )
    headers = sign_in(api, email)
    if top_up:
        body = {"amount": top_up, "asset": "EUR", "card": CARD}
        assert api.post("/v1/topups", json=body, headers=headers).status_code == 201
    return headers


def sign_in(api, email: str, password: str = PASSWORD) -> dict[str, str]:
    answer = api.post("/v1/sessions", json={"email": email, "password": password})
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def actions(platform) -> list[str]:
    with platform.engine.connect() as connection:
        return list(connection.execute(select(audit_log.c.action).order_by(audit_log.c.seq)).scalars())


def available(api, headers) -> str:
    return {w["asset"]: w["available"] for w in api.get("/v1/wallets", headers=headers).json()}.get(
        "EUR", "0"
    )


def test_changing_the_password_asks_for_the_current_one_and_revokes_other_sessions(api, platform):
    """Wrong current password: 403 wrong_password and the old one still works; right: the
    new one works, the old does not, the other session is revoked, this one is kept."""
    here = sign_up(api, "ann@example.com")
    there = sign_in(api, "ann@example.com")
    wrong = api.put(
        "/v1/me/password",
        json={"current_password": "not it at all", "new_password": NEW_PASSWORD},
        headers=here,
    )
    assert (wrong.status_code, wrong.json()["code"]) == (403, "wrong_password")
    assert api.get("/v1/me", headers=there).status_code == 200
    sign_in(api, "ann@example.com")  # the old password still works
    weak = api.put(
        "/v1/me/password", json={"current_password": PASSWORD, "new_password": "weakweakweak"}, headers=here
    )
    assert (weak.status_code, weak.json()["code"]) == (422, "weak_password")
    changed = api.put(
        "/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}, headers=here
    )
    assert changed.status_code == 200
    assert changed.json()["sessions_revoked"] == 2
    assert api.get("/v1/me", headers=there).status_code == 401
    assert api.get("/v1/me", headers=here).status_code == 200
    assert (
        api.post("/v1/sessions", json={"email": "ann@example.com", "password": PASSWORD}).status_code == 401
    )
    sign_in(api, "ann@example.com", NEW_PASSWORD)
    assert actions(platform).count("password.changed") == 1


def test_a_new_email_is_proved_by_a_code_mailed_to_it(api, platform):
    """The code goes to the new address; a wrong code is 401 invalid_code and changes
    nothing; the right one changes the address, tells the old one, and is audited."""
    headers = sign_up(api, "ann@example.com")
    refused = api.post(
        "/v1/me/email", json={"password": "wrong password here", "email": "new@example.com"}, headers=headers
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "wrong_password")
    asked = api.post("/v1/me/email", json={"password": PASSWORD, "email": "New@Example.com"}, headers=headers)
    assert asked.status_code == 202
    deliver_emails(platform.engine, platform.email_gateway, platform.clock)
    ((_subject, body),) = platform.email_gateway.to("new@example.com")
    code = re.search(r"\b([0-9]{6})\b", body).group(1)
    wrong = api.post(
        "/v1/me/email/confirm", json={"code": "000000" if code != "000000" else "111111"}, headers=headers
    )
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_code")
    assert api.get("/v1/me", headers=headers).json()["email"] == "ann@example.com"
    done = api.post("/v1/me/email/confirm", json={"code": code}, headers=headers)
    assert done.status_code == 200
    assert done.json()["email"] == "new@example.com"
    again = api.post("/v1/me/email/confirm", json={"code": code}, headers=headers)
    assert again.json()["code"] == "invalid_code"
    deliver_emails(platform.engine, platform.email_gateway, platform.clock)
    assert [s for s, _b in platform.email_gateway.to("ann@example.com")] == ["Your email address was changed"]
    assert "email.changed" in actions(platform)


def test_someone_elses_email_gets_no_code_and_the_same_answer(api, platform):
    """Asking for an address that is someone's answers 202 alike and mails nothing to it."""
    sign_up(api, "bob@example.com")
    headers = sign_up(api, "ann@example.com")
    asked = api.post("/v1/me/email", json={"password": PASSWORD, "email": "bob@example.com"}, headers=headers)
    assert asked.status_code == 202
    deliver_emails(platform.engine, platform.email_gateway, platform.clock)
    assert platform.email_gateway.to("bob@example.com") == []


def test_a_new_phone_is_proved_by_a_code_texted_to_it(api, platform):
    headers = sign_up(api, "ann@example.com")
    assert api.post("/v1/me/phone", json={"phone": "+39 333 123 4567"}, headers=headers).status_code == 202
    ((to, body),) = platform.sms_gateway.sent
    assert to == "+393331234567"
    code = re.search(r"\b([0-9]{6})\b", body).group(1)
    done = api.post("/v1/me/phone/confirm", json={"code": code}, headers=headers)
    assert done.status_code == 200
    assert done.json()["phone"] == "+393331234567"
    assert "phone.changed" in actions(platform)


def test_sessions_are_listed_and_revoked_but_not_someone_elses(api, platform):
    """Sessions show when and where they were opened; someone else's id is 404 and their
    session lives on; one's own is revoked; then all others at once."""
    here = sign_up(api, "ann@example.com")
    there = sign_in(api, "ann@example.com")
    third = sign_in(api, "ann@example.com")
    bob = sign_up(api, "bob@example.com")
    listed = api.get("/v1/me/sessions", headers=here).json()
    assert len(listed) == 3
    assert sum(s["current"] for s in listed) == 1
    assert all(s["address"] == "testclient" and s["created_at"] for s in listed)
    assert {s["device"] for s in listed} == {"testclient"}
    bobs = api.get("/v1/me/sessions", headers=bob).json()[0]["id"]
    refused = api.delete(f"/v1/me/sessions/{bobs}", headers=here)
    assert (refused.status_code, refused.json()["code"]) == (404, "not_found")
    assert api.get("/v1/me", headers=bob).status_code == 200
    theirs = next(s["id"] for s in api.get("/v1/me/sessions", headers=there).json() if s["current"])
    assert api.delete(f"/v1/me/sessions/{theirs}", headers=here).status_code == 204
    assert api.get("/v1/me", headers=there).status_code == 401
    assert api.delete("/v1/me/sessions", headers=here).json() == {"sessions_revoked": 1}
    assert api.get("/v1/me", headers=third).status_code == 401
    assert api.get("/v1/me", headers=here).status_code == 200


def totp_code(platform, secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(platform.clock() // 1_000_000_000 + 30 * offset_steps)


def test_two_factor_sign_in_with_totp_and_recovery_codes(api, platform, clock):
    """Enrol (the secret is stored sealed), confirm with a code: ten recovery codes. Sign-in
    then asks for a code: a wrong one is refused, the right one opens a session, the same
    code twice is refused, a recovery code works once. Disabling needs a code."""
    headers = sign_up(api, "ann@example.com")
    secret = api.post("/v1/me/two-factor", headers=headers).json()["secret"]
    with platform.engine.connect() as connection:
        sealed = connection.execute(select(two_factor.c.secret_sealed)).scalar_one()
    assert secret not in sealed
    bad = api.post(
        "/v1/me/two-factor/confirm", json={"code": totp_code(platform, secret, 5)}, headers=headers
    )
    assert (bad.status_code, bad.json()["code"]) == (401, "invalid_two_factor_code")
    assert api.get("/v1/me/two-factor", headers=headers).json()["enabled"] is False
    codes = api.post("/v1/me/two-factor/confirm", json={"code": totp_code(platform, secret)}, headers=headers)
    recovery = codes.json()["recovery_codes"]
    assert len(recovery) == 10
    assert len(set(recovery)) == 10
    with platform.engine.connect() as connection:
        hashes = list(connection.execute(select(recovery_codes.c.code_hash)).scalars())
    assert not any(code in h for code in recovery for h in hashes)

    first = api.post("/v1/sessions", json={"email": "ann@example.com", "password": PASSWORD})
    assert (first.status_code, first.json()["code"]) == (401, "two_factor_required")
    challenge = first.json()["challenge"]
    wrong = api.post(
        "/v1/sessions/two-factor", json={"challenge": challenge, "code": totp_code(platform, secret, 9)}
    )
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_two_factor_code")
    clock.advance(30)
    code = totp_code(platform, secret)
    opened = api.post("/v1/sessions/two-factor", json={"challenge": challenge, "code": code})
    assert opened.status_code == 201
    assert opened.json()["token"]
    replayed = api.post("/v1/sessions/two-factor", json={"challenge": challenge, "code": code})
    assert replayed.json()["code"] == "invalid_two_factor_code"
    # The MAC is hex: flip its last digit to another one, never to itself.
    forged_challenge = challenge[:-1] + ("1" if challenge[-1] == "0" else "0")
    forged = api.post("/v1/sessions/two-factor", json={"challenge": forged_challenge, "code": recovery[0]})
    assert forged.json()["code"] == "invalid_two_factor_code"
    assert (
        api.post("/v1/sessions/two-factor", json={"challenge": challenge, "code": recovery[0]}).status_code
        == 201
    )
    reused = api.post("/v1/sessions/two-factor", json={"challenge": challenge, "code": recovery[0]})
    assert (reused.status_code, reused.json()["code"]) == (401, "invalid_two_factor_code")
    assert api.get("/v1/me/two-factor", headers=headers).json() == {"enabled": True, "recovery_codes_left": 9}

    kept = api.post("/v1/me/two-factor/disable", json={"code": recovery[0]}, headers=headers)
    assert kept.json()["code"] == "invalid_two_factor_code"
    assert (
        api.post("/v1/me/two-factor/disable", json={"code": recovery[1]}, headers=headers).status_code == 204
    )
    clock.advance(60)  # the wrong codes above slowed this address down
    sign_in(api, "ann@example.com")
    assert {"two_factor.enabled", "two_factor.disabled", "two_factor.recovery_code_used"} <= set(
        actions(platform)
    )


def test_the_data_export_has_everything_and_no_secret(api, platform):
    headers = sign_up(api, "ann@example.com", top_up="10.00")
    key = api.post(
        "/v1/api-keys", json={"name": "script", "scopes": ["wallets:read"]}, headers=headers
    ).json()
    answer = api.get("/v1/me/export", headers=headers)
    data = answer.json()
    assert data["profile"]["email"] == "ann@example.com"
    assert data["wallets"] == [{"asset": "EUR", "available": "10.000000", "reserved": "0.000000"}]
    assert [(h["kind"], h["amount"]) for h in data["history"]] == [("topup", "10.000000")]
    assert data["api_keys"][0]["name"] == "script"
    assert len(data["sessions"]) == 1
    token = headers["Authorization"].split()[1]
    with platform.engine.connect() as connection:
        password_hash = connection.execute(select(users.c.password_hash)).scalar_one()
    for secret in (key["secret"], token, password_hash, PASSWORD):
        assert secret not in answer.text
    assert "token_hash" not in answer.text
    assert "secret" not in answer.text


def test_closing_with_money_needs_a_payout_and_then_sign_in_is_refused(api, platform):
    """With 10.00 and no IBAN: 409 balance_not_zero and nothing moved; a wrong password is
    403; with an IBAN the balance is withdrawn, the account closed, its sessions revoked,
    and sign-in refused with account_closed."""
    headers = sign_up(api, "ann@example.com", top_up="10.00")
    before = money_snapshot(platform)
    refused = api.post("/v1/me/close", json={"password": PASSWORD}, headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (409, "balance_not_zero")
    assert refused.json()["balances"] == {"EUR": "10.000000"}
    wrong = api.post("/v1/me/close", json={"password": "not the password", "iban": IBAN}, headers=headers)
    assert (wrong.status_code, wrong.json()["code"]) == (403, "wrong_password")
    assert money_snapshot(platform) == before
    assert api.get("/v1/me", headers=headers).status_code == 200
    assert (
        api.post("/v1/me/close", json={"password": PASSWORD, "iban": IBAN}, headers=headers).status_code
        == 204
    )
    assert api.get("/v1/me", headers=headers).status_code == 401
    closed = api.post("/v1/sessions", json={"email": "ann@example.com", "password": PASSWORD})
    assert (closed.status_code, closed.json()["code"]) == (403, "account_closed")
    assert "account.closed" in actions(platform)


def test_a_key_a_client_chose_cannot_stand_in_the_way_of_closing(api, platform):
    """Closing pays out under keys of its own, with a space no client key may hold: a
    withdrawal the person sent earlier under a key shaped like them does not block it."""
    headers = sign_up(api, "ann@example.com", top_up="10.00")
    user_id = api.get("/v1/me", headers=headers).json()["id"]
    early = api.post(
        "/v1/withdrawals",
        json={"amount": "1.00", "asset": "EUR", "iban": IBAN},
        headers={**headers, "Idempotency-Key": f"close:{user_id}:EUR"},
    )
    assert early.status_code == 201
    closed = api.post("/v1/me/close", json={"password": PASSWORD, "iban": IBAN}, headers=headers)
    assert closed.status_code == 204
    assert "account.closed" in actions(platform)


def test_an_empty_account_closes_at_once(api, platform):
    headers = sign_up(api, "ann@example.com")
    assert api.post("/v1/me/close", json={"password": PASSWORD}, headers=headers).status_code == 204
    assert api.post("/v1/sessions", json={"email": "ann@example.com", "password": PASSWORD}).json()[
        "code"
    ] == ("account_closed")


def test_a_frozen_person_cannot_pay_top_up_withdraw_or_sign_in(api, platform):
    """Freezing is for operators (403 for others), needs a reason, is audited with both;
    then each money move is 403 account_frozen and nothing moves; unfreezing restores."""
    ann = sign_up(api, "ann@example.com", top_up="10.00")
    sign_up(api, "bob@example.com")
    ann_id = api.get("/v1/me", headers=ann).json()["id"]
    olga = sign_up(api, "olga@example.com")
    platform.identity.grant_role("olga@example.com", Role.OPERATOR)
    olga_id = api.get("/v1/me", headers=olga).json()["id"]
    path = f"/v1/admin/people/{ann_id}"
    assert api.post(f"{path}/freeze", json={"reason": "card fraud report"}, headers=ann).status_code == 403
    short = api.post(f"{path}/freeze", json={"reason": "x"}, headers=olga)
    assert (short.status_code, short.json()["code"]) == (422, "reason_required")
    assert (
        api.post(f"{path}/freeze", json={"reason": "card fraud report"}, headers=olga).json()["frozen"]
        is True
    )
    before = money_snapshot(platform)
    attempts = [
        api.post(
            "/v1/payments", json={"to": "bob@example.com", "amount": "1.00", "asset": "EUR"}, headers=ann
        ),
        api.post("/v1/topups", json={"amount": "5.00", "asset": "EUR", "card": CARD}, headers=ann),
        api.post("/v1/withdrawals", json={"amount": "1.00", "asset": "EUR", "iban": IBAN}, headers=ann),
        api.post("/v1/sessions", json={"email": "ann@example.com", "password": PASSWORD}),
    ]
    assert [(a.status_code, a.json()["code"]) for a in attempts] == [(403, "account_frozen")] * 4
    assert money_snapshot(platform) == before
    file = api.get(path, headers=olga).json()
    assert file["standing"]["frozen_reason"] == "card fraud report"
    assert file["balances"] == [{"asset": "EUR", "available": "10.000000", "reserved": "0.000000"}]
    assert ("account.frozen", olga_id) in [(a["action"], a["actor"]) for a in file["audit"]]
    assert (
        api.post(f"{path}/unfreeze", json={"reason": "cleared by the bank"}, headers=olga).json()["frozen"]
        is False
    )
    paid = api.post(
        "/v1/payments", json={"to": "bob@example.com", "amount": "1.00", "asset": "EUR"}, headers=ann
    )
    assert paid.status_code == 201
    assert available(api, ann) == "9.000000"


def test_the_person_file_is_for_operators_only(api, platform):
    ann = sign_up(api, "ann@example.com")
    ann_id = api.get("/v1/me", headers=ann).json()["id"]
    answer = api.get(f"/v1/admin/people/{ann_id}", headers=ann)
    assert (answer.status_code, answer.json()["code"]) == (403, "forbidden")
