"""The account page and the operator's person page, through the pages as a browser uses
them: each change, each refusal said beside its field, nothing changed by a refusal."""

from __future__ import annotations

import re

import pyotp
import pytest

from obolo.identity.model import Role
from tests.web_support import PASSWORD, Browser, errors_on, iban, make_platform, money_snapshot, top_up_form

NEW_PASSWORD = "another quite long passphrase"


@pytest.fixture
def platform(db_url, clock):
    yield from make_platform(db_url, clock)


@pytest.fixture
def ann(platform):
    browser = Browser(platform)
    browser.user_id = browser.sign_up("ann@example.com", "Ann")
    return browser


def test_the_account_page_needs_a_session_and_is_in_the_menu(platform, ann):
    assert Browser(platform).get("/account").status_code == 303
    page = ann.get("/account")
    assert page.status_code == 200
    assert '<a href="/account" aria-current="page">Your account</a>' in page.text
    assert 'data-two-factor="off"' in page.text


def test_changing_the_password_on_the_page(platform, ann):
    """A wrong current password is said beside the field and changes nothing; the right one
    changes it and signs the other browser out."""
    elsewhere = Browser(platform)
    elsewhere.sign_in("ann@example.com")
    wrong = ann.submit(
        "/account", "/account/password", {"current_password": "nope nope", "password": NEW_PASSWORD}
    )
    assert wrong.status_code == 422
    assert re.findall(r'id="(f-[a-z_-]+)-error"', wrong.text) == ["f-pw-current_password"]
    assert "The current password is wrong." in wrong.text
    assert elsewhere.get("/account").status_code == 200
    done = ann.submit(
        "/account", "/account/password", {"current_password": PASSWORD, "password": NEW_PASSWORD}
    )
    assert done.status_code == 303
    assert "Your password is changed" in ann.get(done.headers["location"]).text
    assert elsewhere.get("/account").status_code == 303  # signed out: to the sign-in page


def test_turning_on_two_factor_and_signing_in_with_it(platform, ann, clock):
    """The QR code and key are shown; a wrong code is refused; the right one shows ten
    recovery codes; signing in then asks for a code, refuses a wrong one, takes the right."""
    enrol = ann.submit("/account", "/account/two-factor", {})
    assert enrol.status_code == 200
    assert "<svg" in enrol.text
    secret = re.search(r"data-totp-secret>([A-Z2-7]+)<", enrol.text).group(1)
    totp = pyotp.TOTP(secret)
    now = platform.clock() // 1_000_000_000
    wrong = ann.submit("/account", "/account/two-factor/confirm", {"code": totp.at(now + 600)})
    assert wrong.status_code == 422
    assert errors_on(wrong.text) == ["code"]
    done = ann.submit("/account", "/account/two-factor/confirm", {"code": totp.at(now)})
    assert len(re.findall(r"<li><code>[a-z2-9]{5}-[a-z2-9]{5}</code></li>", done.text)) == 10
    assert 'data-two-factor="on"' in ann.get("/account").text

    other = Browser(platform)
    asked = other.submit("/signin", "/signin", {"email": "ann@example.com", "password": PASSWORD})
    assert asked.status_code == 401
    assert 'action="/signin/two-factor"' in asked.text
    challenge = re.search(r'name="challenge" value="([^"]+)"', asked.text).group(1)
    refused = other.submit(
        "/signin", "/signin/two-factor", {"challenge": challenge, "code": totp.at(now + 600)}
    )
    assert "That code is wrong or was used already." in refused.text
    assert "obolo_session" not in other.client.cookies
    clock.advance(30)
    signed_in = other.submit(
        "/signin",
        "/signin/two-factor",
        {"challenge": challenge, "code": totp.at(now + 30), "next": "/account"},
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/account"
    assert other.get("/account").status_code == 200


FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"


def test_signing_out_a_session_but_not_someone_elses(platform, ann):
    elsewhere = Browser(platform)
    elsewhere.client.headers["user-agent"] = FIREFOX
    elsewhere.sign_in("ann@example.com")
    assert "<td>Firefox on Windows</td><td>testclient</td>" in ann.get("/account").text
    bob = Browser(platform)
    bob.sign_up("bob@example.com")
    bobs = re.findall(r'data-session="([0-9a-f-]+)"', bob.get("/account").text)
    refused = ann.submit("/account", "/account/sessions/revoke", {"session": bobs[0]})
    assert refused.status_code == 404
    assert "No such session." in refused.text
    assert bob.get("/account").status_code == 200
    done = ann.submit("/account", "/account/sessions/revoke-others", {})
    assert done.status_code == 303
    assert elsewhere.get("/account").status_code == 303
    assert ann.get("/account").status_code == 200


@pytest.mark.parametrize(
    ("agent", "english", "italian"),
    [
        ("python-httpx/0.27.0", "API client (httpx)", "Client API (httpx)"),
        ("curl/8.5.0", "API client (curl)", "Client API (curl)"),
        ("made-up-agent", "Unknown device", "Dispositivo sconosciuto"),
    ],
)
def test_a_session_opened_by_a_program_is_named_honestly(platform, ann, agent, english, italian):
    """A session signed in by a script reads "API client (httpx)", an unrecognised one "Unknown
    device", on the person's account page and the operator's page about them, in each page's
    language: never "httpx on ?"."""
    script = Browser(platform)
    script.client.headers["user-agent"] = agent
    script.sign_in("ann@example.com")
    operator = Browser(platform)
    operator.sign_up("op@example.com", "Olga")
    platform.identity.grant_role("op@example.com", Role.OPERATOR)
    for language, name in (("en", english), ("it", italian)):
        headers = {"accept-language": language}
        assert f"<td>{name}</td>" in ann.get("/account", headers=headers).text
        assert f" · {name} · " in operator.get(f"/operator/people/{ann.user_id}", headers=headers).text
    assert " on ?" not in ann.get("/account").text


def test_closing_with_money_asks_for_an_iban_then_closes(platform, ann):
    top_up_form(ann, "10.00")
    before = money_snapshot(platform)
    refused = ann.submit("/account", "/account/close", {"current_password": PASSWORD})
    assert refused.status_code == 422
    assert errors_on(refused.text) == ["iban"]
    assert money_snapshot(platform) == before
    closed = ann.submit(
        "/account",
        "/account/close",
        {"current_password": PASSWORD, "iban": iban("IT", "X0542811101000000123456")},
    )
    assert closed.status_code == 303
    again = Browser(platform).submit("/signin", "/signin", {"email": "ann@example.com", "password": PASSWORD})
    assert again.status_code == 401
    assert "This account is closed." in again.text


def test_the_data_download_is_json_without_secrets(platform, ann):
    answer = ann.get("/account/export.json")
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["profile"]["email"] == "ann@example.com"
    assert ann.client.cookies["obolo_session"] not in answer.text


@pytest.fixture
def operator(platform):
    browser = Browser(platform)
    browser.user_id = browser.sign_up("op@example.com", "Olga")
    platform.identity.grant_role("op@example.com", Role.OPERATOR)
    return browser


def test_the_person_page_is_for_operators_and_search_leads_to_it(platform, ann, operator):
    top_up_form(ann, "12.34")
    assert ann.get(f"/operator/people/{ann.user_id}").status_code == 403
    search = operator.get("/operator?q=ann")
    assert f'href="/operator/people/{ann.user_id}"' in search.text
    page = operator.get(f"/operator/people/{ann.user_id}")
    assert page.status_code == 200
    assert '<li data-balance="EUR"><div class="balance">€12.34</div>' in page.text
    assert 'data-standing="active"' in page.text


def test_freezing_from_the_person_page_stops_money_and_sign_in(platform, ann, operator):
    """Without a reason nothing happens; with one the person is frozen: their top-up is
    refused and nothing moves, their sign-in is refused; unfreezing restores."""
    top_up_form(ann, "5.00")
    path = f"/operator/people/{ann.user_id}"
    bare = operator.submit(path, f"{path}/standing", {"action": "freeze", "reason": ""})
    assert bare.status_code == 422
    assert "Say why" in bare.text
    frozen = operator.submit(path, f"{path}/standing", {"action": "freeze", "reason": "chargeback reported"})
    assert frozen.status_code == 303
    page = operator.get(path)
    assert 'data-standing="frozen"' in page.text
    assert "chargeback reported" in page.text
    before = money_snapshot(platform)
    assert top_up_form(ann, "5.00").status_code in (403, 422)
    assert money_snapshot(platform) == before
    refused = Browser(platform).submit(
        "/signin", "/signin", {"email": "ann@example.com", "password": PASSWORD}
    )
    assert "This account is frozen." in refused.text
    operator.submit(path, f"{path}/standing", {"action": "unfreeze", "reason": "resolved with the bank"})
    assert top_up_form(ann, "1.00").status_code == 303


def test_an_adjustment_from_the_person_page_needs_a_reason(platform, ann, operator):
    path = f"/operator/people/{ann.user_id}"
    before = money_snapshot(platform)
    bare = operator.submit(path, f"{path}/adjust", {"amount": "2.50", "direction": "credit", "reason": ""})
    assert bare.status_code == 422
    assert money_snapshot(platform) == before
    done = operator.submit(
        path, f"{path}/adjust", {"amount": "2.50", "direction": "credit", "reason": "goodwill"}
    )
    assert done.status_code == 303
    page = operator.get(path)
    assert '<div class="balance">€2.50</div>' in page.text
    assert 'data-audit="ledger.adjusted"' in page.text


def test_the_account_page_in_italian(platform, ann):
    ann.client.cookies.set("obolo_lang", "it")
    page = ann.get("/account").text
    for italian in ("Il tuo account", "Cambia password", "Accesso in due passaggi", "Scarica i miei dati"):
        assert italian in page
    for english in ("Change password", "Two-factor sign-in", "Download my data", "Close my account"):
        assert english not in page
