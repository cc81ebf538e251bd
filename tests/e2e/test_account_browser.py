"""Two-factor sign-in in a real browser: a person turns it on from the account page (the QR
code and its key), keeps the recovery codes, signs out, and signs in again with a code from
the authenticator; a wrong code is refused on the page. Debian's chromium via Playwright,
against a real `obolo serve`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest

from tests.e2e.test_server import free_port
from tests.e2e.widget_support import PASSWORD, browser, sign_up  # noqa: F401 -- a fixture


@pytest.fixture
def obolo(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    environment = dict(os.environ, OBOLO_DATABASE_URL=f"sqlite:///{tmp_path / 'obolo.db'}")
    server = subprocess.Popen(
        [sys.executable, "-m", "obolo.entrypoints.cli", "serve", "--port", str(port)],
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
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_turning_on_two_factor_and_signing_in_with_a_code(browser, obolo):  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    sign_up(page, obolo, "ann@example.com", "Ann")
    page.goto(f"{obolo}/account")
    page.click("form[action='/account/two-factor'] button")
    assert page.locator(".qr svg").count() == 1
    totp = pyotp.TOTP(page.locator("[data-totp-secret]").inner_text())
    step = int(time.time()) // 30
    page.fill("#f-code", totp.at(step * 30))
    page.click("form[action='/account/two-factor/confirm'] button")
    assert page.locator("[data-recovery-codes] li").count() == 10
    page.goto(f"{obolo}/account")
    assert page.locator("[data-two-factor=on]").count() == 1

    page.click("form[action='/signout'] button")
    page.wait_for_url(f"{obolo}/signin*")
    page.fill("#f-email", "ann@example.com")
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_selector("form[action='/signin/two-factor']")
    page.fill("#f-code", totp.at((step + 5) * 30))  # not a code of now
    page.click("main button[type=submit]")
    page.wait_for_selector("#f-code-error")
    assert "wrong" in page.locator("#f-code-error").inner_text()
    page.fill("#f-code", totp.at((step + 1) * 30))  # the next step: the first code cannot be replayed
    page.click("main button[type=submit]")
    page.wait_for_url(f"{obolo}/wallet*")
    assert page.locator("nav a[href='/account']").count() == 1
    context.close()
