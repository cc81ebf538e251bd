"""What a reader bought, told and offered, in a real browser (Debian's chromium): the same
account in two browser contexts pays for an article once; the daily cap reached stays on
the Magazine's page as a banner and on the reading page; the Magazine's pass is bought in
the popup and its visits left are on the reading page; the Magazine's paywall fits a
390x844 phone; the widget speaks Italian to an it-IT browser."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.widget_support import (
    PASSWORD,
    Sites,
    article_shown,
    browser,  # noqa: F401 -- a fixture
    pay_on_magazine,
    sign_up,
    start_sites,
    top_up,
)

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> Iterator[Sites]:
    yield from start_sites(tmp_path_factory.mktemp("reader"))


def sign_in(page: Any, obolo: str, email: str) -> None:
    page.goto(f"{obolo}/signin")
    page.fill("#f-email", email)
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{obolo}/wallet*")


def charges_of(sites: Sites, email: str) -> list[tuple[Any, ...]]:
    return sites.query(
        "SELECT c.amount, c.resource FROM charges c JOIN users u ON u.id = c.reader_id WHERE u.email = ? "
        "ORDER BY c.created_at",
        email,
    )


def test_two_browsers_of_one_account_pay_for_an_article_once(browser, sites):  # noqa: F811
    """The laptop pays for article 1; the phone, signed in to the same account in another
    browser context (no shared storage), opens it from the popup without a second charge
    and says so on the page."""
    laptop = browser.new_context().new_page()
    sign_up(laptop, sites.obolo, "two@example.com")
    top_up(laptop, sites.obolo, "5.00")
    popup = pay_on_magazine(laptop, sites.magazine, 1)
    popup.locator("[data-pay]:enabled").click()
    article_shown(laptop)
    assert laptop.locator(".obolo-banner").inner_text() == "Paid €0.10 with Obolo."

    phone = browser.new_context(viewport=PHONE).new_page()
    sign_in(phone, sites.obolo, "two@example.com")
    pay_on_magazine(phone, sites.magazine, 1)  # the popup pays by itself and closes
    article_shown(phone)
    assert phone.locator("h1").inner_text() == "Why micropayments failed"
    assert phone.locator(".obolo-banner").inner_text().startswith("Already yours")
    assert charges_of(sites, "two@example.com") == [(100_000, "/articles/1")]
    phone.goto(f"{sites.obolo}/wallet")
    assert phone.locator(".balance[data-asset=EUR]").inner_text() == "€4.50"  # the tab's 0.50 held once
    laptop.context.close()
    phone.context.close()


def test_the_daily_cap_reached_stays_on_the_page_and_on_reading(browser, sites):  # noqa: F811
    """Five articles reach the 0.50 cap; the sixth opens free with a banner on the
    Magazine's page that stays, and the reading page says the same."""
    page = browser.new_context().new_page()
    sign_up(page, sites.obolo, "cap@example.com")
    top_up(page, sites.obolo, "5.00")
    popup = pay_on_magazine(page, sites.magazine, 1)
    popup.locator("[data-pay]:enabled").click()
    article_shown(page)
    for number in (2, 3, 4, 5):
        pay_on_magazine(page, sites.magazine, number)
        article_shown(page)
    pay_on_magazine(page, sites.magazine, 6)
    article_shown(page)
    banner = page.locator(".obolo-banner")
    assert banner.inner_text() == "Free: you reached this site's daily cap."
    page.wait_for_timeout(1500)
    assert banner.is_visible()  # it stays: the popup closed, the page still says it
    assert len(charges_of(sites, "cap@example.com")) == 5
    page.goto(f"{sites.obolo}/reading")
    told = page.locator("[data-cap-reached]")
    assert told.inner_text() == (
        "Free for the rest of the day at The Magazine: you paid €0.50 there today, its daily cap is €0.50."
    )
    page.context.close()


def test_a_pass_bought_in_the_popup_shows_its_visits_left_on_reading(browser, sites):  # noqa: F811
    """ "Buy a pass" on the Magazine's paywall page opens the popup with the pass; buying it
    pays 0.50 once, opens the article on its first visit, and the reading page shows 9 of
    10 visits left."""
    page = browser.new_context().new_page()
    sign_up(page, sites.obolo, "pass@example.com")
    top_up(page, sites.obolo, "5.00")
    page.goto(f"{sites.magazine}/articles/2")
    assert "Or a pass: 10 articles for 0.50 EUR" in page.locator(".priced").inner_text()
    with page.expect_popup() as opened:
        page.locator("button.obolo-pass").click()
    popup = opened.value
    popup.wait_for_load_state()
    assert popup.locator("#obolo-popup").get_attribute("data-mode") == "passes"
    assert "10 articles: 10 visits for €0.50, within 30 days." in popup.locator("[data-passes]").inner_text()
    popup.locator("[data-buy-pass]:enabled").click()
    article_shown(page)
    assert page.locator("h1").inner_text() == "Hash chains for beginners"
    assert page.locator(".obolo-banner").inner_text() == "Opened with your pass 10 articles: 9 visits left."
    page.goto(f"{sites.obolo}/wallet")
    assert page.locator(".balance[data-asset=EUR]").inner_text() == "€4.50"
    page.goto(f"{sites.obolo}/reading")
    held = page.locator("[data-pass='10 articles']")
    assert held.get_attribute("data-visits-left") == "9"
    assert "9 of 10 visits left, until" in held.inner_text()
    assert charges_of(sites, "pass@example.com") == []
    page.context.close()


def test_the_magazines_paywall_fits_a_phone_and_the_widget_speaks_italian(browser, sites):  # noqa: F811
    """On a 390x844 it-IT phone the paywall page has no sideways scroll, its pay button
    spans the box and reads in Italian, with the price as Italians write it."""
    context = browser.new_context(viewport=PHONE, locale="it-IT", is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{sites.magazine}/articles/3")
    page.wait_for_selector("button.obolo-pay")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    button = page.locator("button.obolo-pay")
    assert button.inner_text() == "Paga 0,10\xa0€ con Obolo"
    box = button.bounding_box()
    assert box is not None
    assert box["width"] >= 300
    assert box["height"] >= 44  # a thumb's target
    assert page.locator("meta[name=viewport]").count() == 1
    context.close()
