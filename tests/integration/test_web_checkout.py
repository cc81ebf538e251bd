"""The hosted checkout page: a signed-in payer sees the merchant, items and amount,
confirms once (a double submit pays once) and goes back to the merchant with the signed
result; without a session it asks to sign in; forms need CSRF; expired and taken
requests pay nothing; the merchant refunds on its dashboard; English and Italian."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from obolo.checkout.model import LineItem, Terms
from obolo.identity.model import Role
from obolo.sdk.checkout import verify_result
from tests.integration.checkout_helpers import SETTINGS, balance, merchant, units
from tests.web_support import Browser, make_platform, money_snapshot, top_up_form


@pytest.fixture
def platform(db_url, clock):
    yield from make_platform(db_url, clock, SETTINGS)


@pytest.fixture
def shop(platform):
    seller, site = merchant(platform)
    terms = Terms(units("20.00"), "Vintage camera", "order-1", "https://shop.example/done?order=1", 600,
                  (LineItem("Camera", 1, units("15.00")), LineItem("Lens", 1, units("5.00"))))  # fmt: skip
    return seller, site, platform.checkout.create(seller, site, terms, "EUR")


@pytest.fixture
def ann(platform):
    browser = Browser(platform)
    browser.user_id = browser.sign_up("ann@example.com", "Ann")
    assert top_up_form(browser, "50.00").status_code == 303
    return browser


def test_a_payer_confirms_once_and_returns_to_the_merchant_with_a_result(platform, shop, ann):
    """The page shows merchant, items and total; confirming pays once, even twice submitted."""
    seller, _site, request = shop
    page = ann.get(f"/pay/{request.id}")
    assert page.status_code == 200
    assert "Seller Shop" in page.text
    assert "Lens" in page.text
    assert "€20.00" in page.text
    assert "form-action 'self' https://shop.example" in page.headers["content-security-policy"]
    token = ann.csrf(f"/pay/{request.id}")
    first = ann.client.post(f"/pay/{request.id}", data={"csrf": token})
    again = ann.client.post(f"/pay/{request.id}", data={"csrf": token})
    assert first.status_code == again.status_code == 303
    target = urlsplit(first.headers["location"])
    assert (target.scheme, target.netloc, target.path) == ("https", "shop.example", "/done")
    query = parse_qs(target.query)
    assert query["order"] == ["1"]
    assert query["obolo_status"] == ["paid"]
    result = verify_result(query["obolo_result"][0], platform.keys.public_keys(), request_id=request.id,
                           amount=units("20.00"), now=platform.clock() / 1e9)  # fmt: skip
    assert result.payer == ann.user_id
    assert balance(platform, ann.user_id) == (units("30.00"), 0)
    assert balance(platform, seller) == (units("19.80"), 0)
    assert "You paid" in ann.get(f"/pay/{request.id}").text


def test_without_a_session_the_page_asks_to_sign_in_and_the_form_needs_csrf(platform, shop, ann):
    """A stranger sees a sign-in link back to the page; a post without a token pays nothing."""
    _, _, request = shop
    stranger = Browser(platform)
    page = stranger.get(f"/pay/{request.id}")
    assert f"/signin?next=/pay/{request.id}" in page.text
    before = money_snapshot(platform)
    forged = ann.client.post(f"/pay/{request.id}", data={"csrf": "forged"})
    assert forged.status_code == 403
    assert money_snapshot(platform) == before


def test_expired_and_unknown_requests_pay_nothing(platform, shop, ann, clock):
    """Past its expiry the page says so and a confirmation moves nothing; an unknown id is 404."""
    _, _, request = shop
    token = ann.csrf(f"/pay/{request.id}")
    clock.advance(601)
    assert "has expired" in ann.get(f"/pay/{request.id}").text
    before = money_snapshot(platform)
    refused = ann.client.post(f"/pay/{request.id}", data={"csrf": token})
    assert refused.status_code == 409
    assert money_snapshot(platform) == before
    assert ann.get("/pay/0190d1c2-0000-7000-8000-000000000000").status_code == 404


def test_the_short_link_leads_to_the_page_and_italian_is_spoken(platform, shop, ann):
    """`/p/<code>` redirects to the checkout page; with Italian the page is in Italian."""
    _, _, request = shop
    link = ann.get(f"/p/{request.sms_code}")
    assert link.headers["location"] == f"/pay/{request.id}"
    # a short code is not an id, but it keeps the text rule: a control character is no page
    assert ann.get(f"/p/{request.sms_code[:4]}%00").status_code == 404
    page = ann.get(f"/pay/{request.id}", headers={"accept-language": "it"})
    assert "Paga Seller Shop" in page.text
    assert "20,00\u00a0€" in page.text


def test_buyer_protection_on_the_page_then_refunds_on_the_merchant_dashboard(platform, ann):
    """The payer chooses protection and confirms receipt on the page; the merchant refunds
    part on its dashboard (a double submit refunds once, more than is left is refused)."""
    seller = Browser(platform)
    seller.user_id = seller.sign_up("sam@example.com", "Sam")
    platform.identity.add_role(seller.user_id, Role.PROVIDER)
    site = platform.paywall.register_provider(seller.user_id, "Sam's", "https://shop.example").id
    terms = Terms(units("20.00"), "Camera", "order-2", "https://shop.example/done", 600)
    request = platform.checkout.create(seller.user_id, site, terms, "EUR")
    token = ann.csrf(f"/pay/{request.id}")
    ann.client.post(f"/pay/{request.id}", data={"csrf": token, "protection": "yes"})
    assert balance(platform, ann.user_id) == (units("30.00"), units("20.00"))
    assert "I received it" in ann.get(f"/pay/{request.id}").text
    ann.submit(f"/pay/{request.id}", f"/pay/{request.id}/receipt", {})
    assert balance(platform, seller.user_id) == (units("19.80"), 0)
    dashboard = seller.get("/provider/payment-requests")
    assert "order-2" in dashboard.text
    token = seller.csrf("/provider/payment-requests")
    form = {"csrf": token, "amount": "5,00", "reason": "scratched", "key": "refund-1"}
    action = f"/provider/payment-requests/{request.id}/refund"
    assert seller.client.post(action, data=form).status_code == 200
    assert seller.client.post(action, data=form).status_code == 200
    assert balance(platform, ann.user_id) == (units("35.00"), 0)
    before = money_snapshot(platform)
    too_much = seller.client.post(action, data={**form, "amount": "15.01", "key": "refund-2"})
    assert too_much.status_code == 422
    assert money_snapshot(platform) == before
    assert "Refunded" in ann.get(f"/pay/{request.id}").text


def test_the_payment_method_serves_its_manifests_service_worker_and_icon(platform):
    """The method URL names its manifest in a Link header; that names the app, whose
    manifest names the service worker and a PNG icon: what Chromium needs to install it."""
    browser = Browser(platform)
    method = browser.get("/pay/method")
    link = method.headers["link"]
    assert link == '<http://testserver/pay/method/manifest.json>; rel="payment-method-manifest"'
    manifest = browser.get("/pay/method/manifest.json").json()
    assert manifest["default_applications"] == ["http://testserver/pay/handler/app.json"]
    app = browser.get("/pay/handler/app.json").json()
    assert app["serviceworker"]["src"] == "http://testserver/pay/handler/sw.js"
    assert browser.get("/pay/handler/sw.js").text.count('addEventListener("paymentrequest"') == 1
    assert browser.get("/pay/handler/icon.png").content.startswith(b"\x89PNG")
    assert "Cross-Origin-Resource-Policy" in browser.get("/checkout.js").headers


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"origin": "https://evil.example"}, 403, "origin_not_registered"),
        ({"frame": "https://evil.example"}, 403, "origin_not_registered"),
        ({"amount": "2.00"}, 422, "amount_mismatch"),
        ({"currency": "USD"}, 422, "amount_mismatch"),
    ],
)
def test_the_handler_window_refuses_what_the_request_does_not_say(platform, shop, ann, change, status, code):
    """The browser's account (the page's origin, the amount it showed) must match the
    payment request on the server; otherwise the window refuses and a confirm moves nothing."""
    _, _, request = shop
    fields = {"request": request.id, "origin": "https://shop.example", "frame": "https://shop.example",
              "amount": "20.00", "currency": "EUR"} | change  # fmt: skip
    window = ann.get("/pay/handler/confirm", params=fields)
    assert window.status_code == status
    assert f'data-refused="{code}"' in window.text
    before = money_snapshot(platform)
    token = ann.csrf(f"/pay/{request.id}")
    posted = ann.client.post("/pay/handler/confirm", data={"csrf": token, **fields})
    assert posted.status_code == status
    assert money_snapshot(platform) == before
    good = ann.get("/pay/handler/confirm", params=fields | {"origin": "https://shop.example", "frame": "",
                                                           "amount": "20,00", "currency": "EUR"})  # fmt: skip
    assert good.status_code == 200
    assert "data-pay" in good.text


def test_an_operator_rules_on_a_dispute_from_the_queue(platform, shop, ann):
    """The queue lists disputed payments for operators only; a refund voids the hold."""
    seller, _, request = shop
    platform.checkout.pay(ann.user_id, request.id, protection=True)
    platform.checkout.open_dispute(ann.user_id, request.id, "the lens is cracked")
    assert ann.get("/operator/checkout-disputes").status_code == 403
    operator = Browser(platform)
    operator.sign_up("olga@example.com", "Olga")
    platform.identity.grant_role("olga@example.com", Role.OPERATOR)
    queue = operator.get("/operator/checkout-disputes")
    assert "the lens is cracked" in queue.text
    ruled = operator.submit("/operator/checkout-disputes", f"/operator/checkout-disputes/{request.id}",
                            {"decision": "refund", "note": "photos show the crack"})  # fmt: skip
    assert ruled.status_code == 200
    assert "No open disputes." in ruled.text
    assert balance(platform, ann.user_id) == (units("50.00"), 0)
    assert balance(platform, seller) == (0, 0)
