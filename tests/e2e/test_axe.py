"""Every main page passes axe-core's WCAG 2 A and AA rules in a real browser (Debian's
chromium via Playwright, against `obolo serve --demo`): signed out and signed in, as a
reader, a provider and an operator, in English and Italian, on a desktop in the light colour
scheme and on a phone in the dark one.
axe-core comes from npm (`make browser` fetches it into .cache/axe); without it the test
skips with one line saying why."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_server import free_port
from tests.e2e.widget_support import browser  # noqa: F401 -- a fixture

AXE = Path(__file__).resolve().parents[2] / ".cache/axe/node_modules/axe-core/axe.min.js"
DEMO_PASSWORD = "demo-password-1"  # the demo's published sandbox login
OPERATOR = "alice@example.com"

MISSING = "/no-such-page"
WIDGET = "/widget/pay?provider={provider_id}&resource=/bell&price=0.10&asset=EUR&origin=https://bikes.example"
SIGNED_OUT_PAGES = [
    "/",
    "/signin",
    "/signin/phone",
    "/signup",
    "/sms/simulator",  # the demo's phone on a page
    "/pay/{request_id}",
    WIDGET,
    MISSING,
]
SIGNED_IN_PAGES = [
    "/",
    "/wallet",
    "/wallet/history",
    "/reading",
    "/account",
    "/provider",
    "/provider/payment-requests",
    "/pay/{request_id}",
    WIDGET,
    "/tasks",
    "/tasks/employer",
    "/tasks/work",
    "/operator",
    "/operator/people/{operator_id}",
    "/operator/disputes",
    "/operator/checkout-disputes",
    "/operator/sms-undos",
    MISSING,
]
# the phone in the dark colour scheme, so both of the style sheet's palettes are checked
SCREENS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}, "color_scheme": "light"},
    "phone": {"viewport": {"width": 390, "height": 844}, "color_scheme": "dark", "is_mobile": True},
}
LOCALES = {"en": "en-GB", "it": "it-IT"}


def _run(args: list[str], environment: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "obolo.entrypoints.cli", *args],
        env=environment,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """`obolo serve --demo`, Alice made a provider (with a site) and an operator, Bob a
    merchant who asks for a payment; the url and the ids the pages' paths need."""
    if not AXE.is_file():
        pytest.skip(f"accessibility test skipped: no axe-core at {AXE} (make browser fetches it with npm)")
    database = tmp_path_factory.mktemp("axe") / "obolo.db"
    port = free_port()
    environment = dict(os.environ, OBOLO_DATABASE_URL=f"sqlite:///{database}")
    server = subprocess.Popen(
        [sys.executable, "-m", "obolo.entrypoints.cli", "serve", "--demo", "--port", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            assert server.poll() is None, "obolo serve exited"
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        for role in ("provider", "operator"):
            _run(["users", "grant", OPERATOR, role], environment)
        with sqlite3.connect(database) as connection:
            (user_id,) = connection.execute("SELECT id FROM users WHERE email = ?", (OPERATOR,)).fetchone()
        yield {"url": url, "operator_id": user_id, **_merchant(url)}
    finally:
        server.terminate()
        server.wait(timeout=10)


def _bearer(client: httpx.Client, email: str) -> dict[str, str]:
    token = client.post("/v1/sessions", json={"email": email, "password": DEMO_PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def _merchant(url: str) -> dict[str, str]:
    """Alice's site (her dashboard shows it); Bob's site and payment request (the checkout
    page and the widget's popup)."""
    with httpx.Client(base_url=url) as client:
        alice = _bearer(client, OPERATOR)
        site = {"name": "Alice's notes", "origin": "https://notes.example"}
        assert client.post("/v1/providers", json=site, headers=alice).status_code == 201
        bob = _bearer(client, "bob@example.com")
        client.post("/v1/me/roles", json={"role": "provider"}, headers=bob)
        site = {"name": "Bob's bikes", "origin": "https://bikes.example"}
        provider_id = client.post("/v1/providers", json=site, headers=bob).json()["id"]
        asked = {"provider_id": provider_id, "amount": "12.50", "asset": "EUR", "description": "A bell",
                 "reference": "order-1", "return_url": "https://bikes.example/done",
                 "items": [{"label": "Bell", "amount": "12.50"}]}  # fmt: skip
        answer = client.post("/v1/payment-requests", json=asked, headers=bob)
        assert answer.status_code == 201, answer.text
        return {"provider_id": provider_id, "request_id": answer.json()["id"]}


def _violations(page: Any) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " targets: v.nodes.map(n => n.target.join(' '))}))"
    )
    return [f"{v['id']} ({v['impact']}): {v['help']} at {v['targets']}" for v in found]


def _sign_in(page: Any, url: str) -> None:
    page.goto(f"{url}/signin")
    page.fill("#f-email", OPERATOR)
    page.fill("#f-password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{url}/wallet*")


# `make test` runs English on a light desktop and Italian on a dark phone: each language,
# each layout and each colour scheme once; the two crossings run in `make fuzz`.
COMBINATIONS = [
    pytest.param(language, screen, id=f"{language}-{screen}", marks=() if kept else pytest.mark.long)
    for language in LOCALES
    for screen in SCREENS
    for kept in [(language, screen) in {("en", "desktop"), ("it", "phone")}]
]


@pytest.mark.parametrize(("language", "screen"), COMBINATIONS)
def test_every_main_page_has_no_wcag_violations(browser, demo, language, screen):  # noqa: F811
    url = demo["url"]
    # the pages forbid inline scripts (CSP): the injected axe-core is let through, nothing else
    context = browser.new_context(locale=LOCALES[language], bypass_csp=True, **SCREENS[screen])
    page = context.new_page()
    failures: list[str] = []

    def check(path: str) -> None:
        answer = page.goto(url + path.format(**demo))
        assert answer is not None
        assert answer.status == (404 if path == MISSING else 200), path
        assert page.url.startswith(url + path.format(**demo)), f"{path} went to {page.url}"
        assert page.locator("html").get_attribute("lang") == language, path
        failures.extend(f"{path}: {violation}" for violation in _violations(page))

    for path in SIGNED_OUT_PAGES:
        check(path)
    # a form answered with its errors: the messages must be tied to their fields
    page.goto(f"{url}/signup")
    page.fill("#f-email", "not an address")
    page.fill("#f-password", "short")
    page.click("main button[type=submit]")
    page.wait_for_selector("[id$=-error]")
    failures.extend(f"/signup with errors: {violation}" for violation in _violations(page))
    dark = page.evaluate("() => matchMedia('(prefers-color-scheme: dark)').matches")
    assert dark == (SCREENS[screen]["color_scheme"] == "dark")
    _sign_in(page, url)
    for path in SIGNED_IN_PAGES:
        check(path)
    # turning on two-factor sign-in: the QR code and its key
    page.goto(f"{url}/account")
    page.click("form[action='/account/two-factor'] button")
    page.wait_for_selector(".qr svg")
    failures.extend(f"/account/two-factor: {violation}" for violation in _violations(page))
    context.close()
    assert failures == [], "\n".join(failures)
