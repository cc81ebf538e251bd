"""The Auction House example in a real browser: bids, the auction ends, the winner pays
through the browser's Payment Request (Obolo's payment handler) with buyer protection on,
the seller marks it shipped, the buyer confirms receipt on Obolo, and the seller is paid
less the fee."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.checkout_support import account, handler_window, screenshot, screenshot_target
from tests.e2e.test_server import free_port
from tests.e2e.widget_support import PASSWORD, _wait, browser  # noqa: F401 -- a fixture


@pytest.fixture
def sites(tmp_path) -> Iterator[dict[str, Any]]:
    database = tmp_path / "obolo.db"
    port, auction_port = free_port(), free_port()
    environment = dict(os.environ, OBOLO_DATABASE_URL=f"sqlite:///{database}", OBOLO_FEES="checkout=100:0")
    process = subprocess.Popen(
        [sys.executable, "-m", "obolo.entrypoints.cli", "serve", "--port", str(port),
         "--auction-port", str(auction_port)],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        obolo, auction = f"http://127.0.0.1:{port}", f"http://localhost:{auction_port}"
        _wait(f"{obolo}/healthz", process, "obolo serve")
        _wait(f"{auction}/healthz", process, "the Auction House")
        yield {"obolo": obolo, "auction": auction, "database": database}
    finally:
        process.terminate()
        process.wait(timeout=10)


def available(obolo: str, email: str, password: str = PASSWORD) -> str:
    token = httpx.post(f"{obolo}/v1/sessions", json={"email": email, "password": password}).json()["token"]
    wallets = httpx.get(f"{obolo}/v1/wallets", headers={"Authorization": f"Bearer {token}"}).json()
    return wallets[0]["available"] if wallets else "0"


def test_an_auction_won_paid_with_buyer_protection_shipped_received_and_settled(browser, sites):  # noqa: F811
    """The whole story of one lot, through the pages of both sites."""
    obolo, auction = sites["obolo"], sites["auction"]
    account(obolo, "winner@example.com", top_up="50.00")
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{obolo}/signin")
    page.fill("#f-email", "winner@example.com")
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{obolo}/wallet*")

    page.goto(f"{auction}/lots/1")
    page.fill("input[name=name]", "Winnie")
    page.fill("input[name=amount]", "25.00")
    page.click("form[action$='/bids'] button")
    page.click("form[action$='/end'] button")
    page.wait_for_selector("#pay")
    screenshot(page, "auction-lot-won")
    request_id = page.get_attribute("#pay", "data-request")
    page.click("#pay")
    window = handler_window(browser, page, request_id)
    window.wait_for("document.querySelector('[data-pay]') !== null")
    assert "Buyer protection" in window.evaluate("document.body.innerText")
    screenshot_target(window, "payment-handler-confirm")
    window.evaluate("document.querySelector('[data-pay]').click()")
    page.wait_for_selector("#status:has-text('Paid by Winnie: held')", timeout=20_000)
    assert available(obolo, "winner@example.com") == "25.000000"

    page.goto(f"{auction}/seller")
    page.click("text=Mark shipped")
    page.wait_for_selector("text=(shipped)")

    page.goto(f"{obolo}/pay/{request_id}")
    assert "The seller marked it shipped" in page.locator("main").inner_text()
    screenshot(page, "checkout-held")
    page.click("[data-receipt]")
    page.wait_for_selector("text=Done.")
    assert available(obolo, "auction@example.com", "demo-password-1") == "24.750000"  # 25.00 less 1%
    with sqlite3.connect(sites["database"]) as connection:
        status = connection.execute("SELECT status, released_how FROM checkout_requests").fetchall()
    assert status == [("paid", "received")]
    context.close()
