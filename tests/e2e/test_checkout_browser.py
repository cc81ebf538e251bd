"""Checkout in a real browser (Debian's chromium, headless): a shop on one origin calls
`PaymentRequest` with Obolo's payment method; Chromium installs the wallet's payment
handler just in time from its manifests; the confirm window (a CDP target) is driven; the
shop's page gets the signed result and its server verifies it; the ledger shows one payment.
Also the hosted page where the API is absent, a cancel, and a shop on an unregistered origin."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.checkout_support import (
    Shop,
    account,
    ask_payment,
    handler_window,
    screenshot,
    screenshot_target,
    serve_shop,
    start_obolo,
)
from tests.e2e.test_server import free_port
from tests.e2e.widget_support import PASSWORD, browser  # noqa: F401 -- a fixture


@pytest.fixture
def world(tmp_path) -> Iterator[dict[str, Any]]:
    for obolo in start_obolo(tmp_path):
        port = free_port()
        shop = Shop(obolo, port)
        merchant = account(obolo, "seller@example.com", "provider")
        site = {"name": "Camera Shop", "origin": shop.origin}
        provider_id = httpx.post(f"{obolo}/v1/providers", json=site, headers=merchant).json()["id"]
        account(obolo, "buyer@example.com", top_up="50.00")
        server = serve_shop(shop)
        yield {"obolo": obolo, "shop": shop, "merchant": merchant, "provider_id": provider_id,
               "database": tmp_path / "obolo.db"}  # fmt: skip
        server.shutdown()


def signed_in_context(browser: Any, obolo: str) -> tuple[Any, Any]:  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{obolo}/signin")
    page.fill("#f-email", "buyer@example.com")
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{obolo}/wallet*")
    return context, page


def payments(world: dict[str, Any]) -> list[tuple[int]]:
    """The ledger's checkout payments (transfer code 40) and holds (41)."""
    with sqlite3.connect(world["database"]) as connection:
        return connection.execute("SELECT amount FROM ledger_transfers WHERE code IN (40, 41)").fetchall()


def wallet(obolo: str, email: str) -> str:
    token = httpx.post(f"{obolo}/v1/sessions", json={"email": email, "password": PASSWORD}).json()["token"]
    wallets = httpx.get(f"{obolo}/v1/wallets", headers={"Authorization": f"Bearer {token}"}).json()
    return wallets[0]["available"] if wallets else "0"


def test_payment_request_paid_through_the_wallets_payment_handler(browser, world):  # noqa: F811
    """JIT-installed handler, confirm window driven by CDP, result verified by the shop's server."""
    obolo, shop = world["obolo"], world["shop"]
    request = ask_payment(obolo, world["merchant"], world["provider_id"], shop.origin)
    shop.request_id = request["id"]
    context, page = signed_in_context(browser, obolo)
    page.goto(shop.origin)
    page.click("#buy")
    window = handler_window(browser, page, request["id"])
    window.wait_for("document.querySelector('[data-pay]') !== null")
    assert "Camera Shop" in window.evaluate("document.body.innerText")
    window.evaluate("document.querySelector('[data-pay]').click()")
    page.wait_for_function("document.body.dataset.done", timeout=20_000)
    assert page.evaluate("document.body.dataset.done") == "verified paid"
    assert shop.verified == [request["id"]]
    assert wallet(obolo, "buyer@example.com") == "30.000000"
    assert wallet(obolo, "seller@example.com") == "19.800000"
    assert payments(world) == [(20_000_000,)]
    context.close()


def test_without_the_payment_request_api_the_hosted_page_takes_over(browser, world):  # noqa: F811
    """Where `PaymentRequest` is absent the page goes to the hosted checkout page, which
    comes back to the shop with the result its server verifies."""
    obolo, shop = world["obolo"], world["shop"]
    request = ask_payment(obolo, world["merchant"], world["provider_id"], shop.origin)
    shop.request_id = request["id"]
    context, page = signed_in_context(browser, obolo)
    context.add_init_script("delete window.PaymentRequest;")
    page.goto(shop.origin)
    page.click("#buy")
    page.wait_for_url(f"{obolo}/pay/{request['id']}")
    assert "Camera Shop" in page.locator("main").inner_text()
    screenshot(page, "checkout-hosted-page")
    page.click("[data-pay]")
    page.wait_for_url(f"{shop.origin}/done*")
    assert page.locator("#out").inner_text() == "verified paid"
    page.reload()  # the redirect again: the result is used once
    assert page.locator("#out").inner_text() == "refused: this result was already used"
    assert payments(world) == [(20_000_000,)]
    context.close()


def test_a_cancelled_payment_moves_nothing(browser, world):  # noqa: F811
    """Cancel in the handler's window: the shop's page is told, nothing is paid."""
    obolo, shop = world["obolo"], world["shop"]
    request = ask_payment(obolo, world["merchant"], world["provider_id"], shop.origin)
    shop.request_id = request["id"]
    context, page = signed_in_context(browser, obolo)
    page.goto(shop.origin)
    page.click("#buy")
    window = handler_window(browser, page, request["id"])
    window.wait_for("document.getElementById('obolo-handler')?.dataset.ready === 'true'")
    window.evaluate("document.querySelector('[data-cancel]').click()")
    page.wait_for_function("document.body.dataset.done", timeout=20_000)
    assert page.evaluate("document.body.dataset.done").startswith("failed:")
    assert shop.verified == []
    assert payments(world) == []
    assert wallet(obolo, "buyer@example.com") == "50.000000"
    context.close()


def test_a_shop_on_an_unregistered_origin_is_refused(browser, world):  # noqa: F811
    """A page on another origin asking to pay the shop's request gets a refusal window; nothing moves."""
    obolo, shop = world["obolo"], world["shop"]
    request = ask_payment(obolo, world["merchant"], world["provider_id"], shop.origin)
    impostor = Shop(obolo, free_port(), request["id"])
    server = serve_shop(impostor)
    context, page = signed_in_context(browser, obolo)
    page.goto(f"http://127.0.0.1:{impostor.port}")  # not the registered http://localhost:<port>
    page.click("#buy")
    window = handler_window(browser, page, request["id"])
    assert (
        window.wait_for("document.querySelector('[data-refused]')?.dataset.refused")
        == "origin_not_registered"
    )
    screenshot_target(window, "payment-handler-refused")
    assert window.evaluate("document.querySelector('[data-pay]')") is None
    window.wait_for("document.getElementById('obolo-handler')?.dataset.ready === 'true'")
    window.evaluate("document.querySelector('[data-cancel]').click()")
    page.wait_for_function("document.body.dataset.done", timeout=20_000)
    assert payments(world) == []
    assert wallet(obolo, "buyer@example.com") == "50.000000"
    server.shutdown()
    context.close()
