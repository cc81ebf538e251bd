"""Pages: layout, sign up / in / out with cookie sessions, CSRF, headers, languages."""

from __future__ import annotations

import re

import pytest

from obolo.identity.model import Role
from tests.web_support import PASSWORD, Browser, errors_on, make_platform


@pytest.fixture
def platform(db_url, clock):
    yield from make_platform(db_url, clock)


@pytest.fixture
def browser(platform):
    return Browser(platform)


# Pages that move no money and show no one's data run on SQLite only, to keep the suite fast;
# everything about sessions, CSRF and accounts runs on both databases.
@pytest.fixture
def page_platform(sqlite_url, clock):
    yield from make_platform(sqlite_url, clock)


@pytest.fixture
def page_browser(page_platform):
    return Browser(page_platform)


def test_pages_carry_a_content_security_policy_without_inline_scripts(page_browser):
    """Every page answers with a CSP that allows scripts and styles from this origin only."""
    for path in ("/", "/signin", "/signup"):
        page = page_browser.get(path)
        assert page.status_code == 200
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        assert "<script>" not in page.text
        assert " on" + "click=" not in page.text


def test_sign_up_signs_nobody_in_and_sign_in_sets_an_http_only_same_site_cookie(browser, platform):
    """Sign-up leads to the sign-in page with no session (it answers a taken address alike);
    signing in sets an HttpOnly, SameSite=Lax session cookie."""
    answer = browser.submit(
        "/signup", "/signup", {"email": "ann@example.com", "password": PASSWORD, "display_name": "Ann"}
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/signin?new=1")
    assert "obolo_session" not in answer.headers.get("set-cookie", "")
    answer = browser.submit("/signin", "/signin", {"email": "ann@example.com", "password": PASSWORD})
    assert answer.status_code == 303
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("obolo_session="))
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Path=/" in cookie
    # Served over http here (a local run), so not Secure: a Secure cookie would never come back.
    assert "Secure" not in cookie
    token = browser.client.cookies["obolo_session"]
    assert platform.identity.authenticate(token).via == "session"


def test_the_session_cookie_is_secure_over_https(page_platform):
    """Over https the session cookie is marked Secure."""
    page_browser = Browser(page_platform)
    page_browser.client.base_url = "https://testserver"
    page_browser.submit(
        "/signup", "/signup", {"email": "sec@example.com", "password": PASSWORD, "display_name": "Sec"}
    )
    answer = page_browser.submit("/signin", "/signin", {"email": "sec@example.com", "password": PASSWORD})
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("obolo_session="))
    assert "Secure" in cookie


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"email": "not-an-email", "password": PASSWORD, "display_name": "X"}, "email"),
        ({"email": "short@example.com", "password": "short", "display_name": "X"}, "password"),
        ({"email": "same@example.com", "password": "same@example.com", "display_name": "X"}, "password"),
        ({"email": "aaaa@example.com", "password": "aaaaaaaaaaaa", "display_name": "X"}, "password"),
        ({"email": "p@example.com", "password": PASSWORD, "display_name": "X", "phone": "12"}, "phone"),
        ({"email": "n@example.com", "password": PASSWORD, "display_name": ""}, "display_name"),
    ],
)
def test_a_refused_sign_up_shows_the_error_next_to_its_field_and_creates_nobody(
    browser, platform, values, field
):
    """Password rules and other refusals are shown beside the field, and no account is made."""
    answer = browser.submit("/signup", "/signup", values)
    assert answer.status_code == 422
    assert errors_on(answer.text) == [field]
    assert 'aria-invalid="true"' in answer.text
    assert "obolo_session" not in browser.client.cookies
    with platform.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM users").scalar_one() == 0


@pytest.mark.parametrize(
    ("password", "english", "italian"),
    [
        ("1234567890", "one of the most common passwords", "una delle password più comuni"),
        ("qwertyuiop", "one of the most common passwords", "una delle password più comuni"),
        ("passwordpassword", "repeats and sequences", "ripetizioni e sequenze"),
        ("weakweakweak", "repeats and sequences", "ripetizioni e sequenze"),
        ("ann.bell@example.com", "your email address or your name", "della tua email o del tuo nome"),
    ],
)
def test_a_guessable_password_is_refused_with_its_reason_in_the_pages_language(
    browser, platform, password, english, italian
):
    """Common, patterned and personal passwords are refused on the sign-up page, saying why in
    English or Italian, and nobody is created."""
    values = {"email": "ann.bell@example.com", "password": password, "display_name": "Ann Bell"}
    answer = browser.submit("/signup", "/signup", values, headers={"accept-language": "en"})
    assert answer.status_code == 422
    assert errors_on(answer.text) == ["password"]
    assert english in answer.text
    answer = browser.submit("/signup", "/signup", values, headers={"accept-language": "it"})
    assert answer.status_code == 422
    assert italian in answer.text.replace("&#39;", "'")
    with platform.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM users").scalar_one() == 0


def test_a_taken_email_gets_the_same_page_as_a_new_one_and_no_account(browser, platform):
    """Signing up with someone's email answers exactly as a new sign-up does; no account is
    made and signing in with the password given fails."""
    browser.sign_up("dup@example.com")
    new = Browser(platform).submit(
        "/signup", "/signup", {"email": "new@example.com", "password": PASSWORD, "display_name": "New"}
    )
    other = Browser(platform)
    answer = other.submit(
        "/signup",
        "/signup",
        {"email": "dup@example.com", "password": "another password!", "display_name": "X"},
    )
    assert (answer.status_code, answer.headers["location"]) == (new.status_code, new.headers["location"])
    assert sorted(answer.cookies.keys()) == sorted(new.cookies.keys())
    refused = other.submit(
        "/signin", "/signin", {"email": "dup@example.com", "password": "another password!"}
    )
    assert refused.status_code == 401
    with platform.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM users").scalar_one() == 2


def test_sign_in_with_a_wrong_password_says_so_and_sets_no_session(browser, platform):
    """A wrong password is refused with one message and no session cookie."""
    Browser(platform).sign_up("bo@example.com")
    answer = browser.submit("/signin", "/signin", {"email": "bo@example.com", "password": "wrong password!"})
    assert answer.status_code == 401
    assert "Wrong email or password." in answer.text
    assert "obolo_session" not in browser.client.cookies


def test_sign_in_returns_to_the_page_asked_for_but_never_to_another_site(page_browser, page_platform):
    """next= brings the person back to a local page; an absolute URL is ignored."""
    Browser(page_platform).sign_up("nx@example.com")
    back = page_browser.submit(
        "/signin", "/signin", {"email": "nx@example.com", "password": PASSWORD, "next": "/reading"}
    )
    assert back.headers["location"] == "/reading"
    page_browser.client.cookies.clear()
    away = page_browser.submit(
        "/signin", "/signin", {"email": "nx@example.com", "password": PASSWORD, "next": "//evil.example/x"}
    )
    assert away.headers["location"] == "/wallet"


def test_a_page_that_needs_a_session_redirects_to_sign_in(page_browser):
    """Without a session, private pages redirect to /signin with the way back."""
    answer = page_browser.get("/wallet?asset=EUR")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin?next=%2Fwallet%3Fasset%3DEUR"


def test_sign_out_ends_the_session_on_the_server(browser, platform):
    """After signing out the old token no longer authenticates, even if replayed."""
    browser.sign_up("out@example.com")
    token = browser.client.cookies["obolo_session"]
    answer = browser.submit("/", "/signout", {})
    assert answer.status_code == 303
    assert platform.identity.authenticate(token) is None
    browser.client.cookies.set("obolo_session", token)
    assert browser.get("/wallet").status_code == 303


def test_an_api_key_in_the_session_cookie_is_not_a_session(browser, platform):
    """Only session tokens sign a browser in: an API key in the cookie is ignored."""
    user_id = browser.sign_up("key@example.com")
    _key, secret = platform.identity.create_api_key(user_id, "k", ["*"])
    browser.client.cookies.set("obolo_session", secret)
    assert browser.get("/wallet").status_code == 303


def test_a_form_without_or_with_a_wrong_csrf_token_is_refused_and_changes_nothing(browser, platform):
    """Sign-up and sign-out posts lacking the right token answer 403 and do nothing."""
    data = {"email": "csrf@example.com", "password": PASSWORD, "display_name": "C"}
    browser.get("/signup")
    assert browser.client.post("/signup", data=data).status_code == 403
    assert browser.client.post("/signup", data={**data, "csrf": "forged"}).status_code == 403
    with platform.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM users").scalar_one() == 0
    browser.sign_up("csrf@example.com")
    token = browser.client.cookies["obolo_session"]
    assert browser.client.post("/signout", data={"csrf": "forged"}).status_code == 403
    assert platform.identity.authenticate(token) is not None


def test_a_token_from_another_browser_does_not_pass(browser, platform):
    """A CSRF token is bound to the browser (and session) it was given to."""
    attacker = Browser(platform)
    stolen = attacker.csrf("/signup")
    browser.get("/signup")
    data = {"email": "x@example.com", "password": PASSWORD, "display_name": "X", "csrf": stolen}
    assert browser.client.post("/signup", data=data).status_code == 403


def test_the_language_follows_the_browser_then_the_switch(page_browser):
    """Accept-Language picks Italian; the switch (a CSRF-checked form) overrides it."""
    italian = page_browser.get("/signin", headers={"accept-language": "it-IT,it;q=0.9,en;q=0.8"})
    assert '<html lang="it">' in italian.text
    assert "Accedi" in italian.text
    english = page_browser.get("/signin", headers={"accept-language": "de, en;q=0.5"})
    assert '<html lang="en">' in english.text
    switched = page_browser.submit("/signin", "/language", {"language": "it", "next": "/signup"})
    assert switched.status_code == 303
    assert switched.headers["location"] == "/signup"
    again = page_browser.get("/signup", headers={"accept-language": "en"})
    assert '<html lang="it">' in again.text
    assert "Registrati" in again.text


def test_repeated_wrong_passwords_slow_sign_in_down_with_a_clear_message(browser, platform):
    """After a few failures the form says to wait, without checking the password."""
    Browser(platform).sign_up("slow@example.com")
    for _ in range(3):
        browser.submit("/signin", "/signin", {"email": "slow@example.com", "password": "wrong password!"})
    answer = browser.submit("/signin", "/signin", {"email": "slow@example.com", "password": PASSWORD})
    assert answer.status_code == 429
    assert "Too many failed sign-ins; try again in 1 s." in answer.text
    assert "obolo_session" not in browser.client.cookies


def test_a_signed_in_person_asking_for_sign_in_goes_where_they_were_going(page_browser):
    """Sign-in and sign-up pages send a signed-in person on (to next=, else the wallet)."""
    page_browser.sign_up("here@example.com")
    assert page_browser.get("/signin?next=/reading").headers["location"] == "/reading"
    assert page_browser.get("/signup").headers["location"] == "/wallet"


@pytest.mark.parametrize("language", ["en", "it"])
def test_every_page_renders_for_a_person_with_every_role(page_browser, page_platform, language):
    """Each page answers 200 in both languages, with one h1, a title and labelled fields."""
    user_id = page_browser.sign_up("all@example.com")
    page_platform.identity.add_role(user_id, Role.PROVIDER)
    page_platform.identity.grant_role("all@example.com", Role.OPERATOR)
    page_platform.paywall.register_provider(user_id, "Site", "https://site.example")
    for path in ("/", "/wallet", "/wallet/history", "/reading", "/provider", "/operator"):
        page = page_browser.get(path, headers={"accept-language": language})
        assert page.status_code == 200, path
        assert f'<html lang="{language}">' in page.text
        assert page.text.count("<h1") == 1, path
        assert re.search(r"<title>[^<]+ · Obolo</title>", page.text), path
        ids = set(re.findall(r'<(?:input|select|textarea)[^>]* id="([^"]+)"', page.text))
        labelled = set(re.findall(r'<label for="([^"]+)"', page.text))
        assert ids <= labelled | {"snippet", "new-key-secret"}, (path, ids - labelled)


def test_a_browser_gets_a_page_for_a_missing_page_and_the_api_keeps_problem_json(page_browser):
    """404 is an HTML page (with the CSP) for a browser; API paths stay problem+json."""
    html = {"accept": "text/html,application/xhtml+xml"}
    missing = page_browser.get("/no-such-page", headers=html)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "Page not found" in missing.text
    assert "content-security-policy" in missing.headers
    api = page_browser.get("/v1/no-such-thing", headers=html)
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")
    program = page_browser.get("/no-such-page")
    assert program.headers["content-type"].startswith("application/problem+json")
