"""Paying on another site in a real browser (Debian's chromium, headless): the Magazine on
one origin, the wallet's popup on Obolo's, a receipt handed over by postMessage and
accepted by the Magazine's paywall."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from obolo.examples.magazine import ARTICLES
from tests.e2e.widget_support import (
    Sites,
    browser,  # noqa: F401 -- a fixture
    pay_on_magazine,
    sign_up,
    start_sites,
    top_up,
)

FIRST_ARTICLE = "Every payment cost more to process than it was worth"


@pytest.fixture
def sites(tmp_path) -> Iterator[Sites]:
    yield from start_sites(tmp_path)


@pytest.fixture
def trial_sites(tmp_path) -> Iterator[Sites]:
    yield from start_sites(tmp_path, OBOLO_ANONYMOUS_TAB_LIMIT="0.30")


def article_shown(page: Any, number: int) -> None:
    """The Magazine's page now shows the article itself, not its pay box."""
    page.wait_for_function("() => !document.querySelector('.priced')", timeout=10_000)
    heading = page.locator("h1").inner_text()
    assert heading == ARTICLES.get(number, (f"Article {number}", ""))[0]


def test_reader_pays_up_to_the_daily_cap_refunds_one_and_sees_every_movement(browser, sites):  # noqa: F811
    """Sign up, top up, pay for articles on another origin until the daily cap, read the
    next free, refund one: the wallet and reading pages show exact amounts."""
    context = browser.new_context()
    page = context.new_page()
    sign_up(page, sites.obolo, "reader@example.com")
    top_up(page, sites.obolo, "5.00")
    assert page.locator(".balance[data-asset=EUR]").inner_text() == "€5.00"

    popup = pay_on_magazine(page, sites.magazine, 1)  # first time: the reader confirms once
    assert popup.locator("#obolo-popup").get_attribute("data-mode") == "confirm"
    popup.locator("[data-pay]:enabled").click()
    article_shown(page, 1)
    assert FIRST_ARTICLE in page.locator("body").inner_text()
    page.goto(f"{sites.magazine}/articles/1")  # paid once, read again: no popup, no charge
    article_shown(page, 1)
    assert len(sites.query("SELECT charge_id FROM charges")) == 1

    for number in (2, 3, 4, 5):  # under the consent just given: no question asked
        pay_on_magazine(page, sites.magazine, number)
        article_shown(page, number)
    charged = sites.query("SELECT amount, resource FROM charges ORDER BY created_at")
    assert charged == [(100_000, f"/articles/{n}") for n in range(1, 6)]

    for number in (6, 7):  # 0.50 paid today: the daily cap; the next ones are free
        pay_on_magazine(page, sites.magazine, number)
        article_shown(page, number)
    assert len(sites.query("SELECT charge_id FROM charges")) == 5

    page.goto(f"{sites.obolo}/reading")
    page.locator("form[action='/reading/refund'] button").first.click()
    page.wait_for_url(f"{sites.obolo}/reading*")
    assert page.locator("main .tag", has_text="refunded").count() == 1
    rows = page.locator("form[action='/reading/refund']").count()
    assert rows == 4  # the four other views can still be taken back
    refunded = sites.query("SELECT amount FROM charges WHERE refunded_at IS NOT NULL")
    assert refunded == [(100_000,)]
    # The consent's one daily limit is the Magazine's cap, 0.50: the tab holds that much.
    assert sites.query("SELECT held, accrued, status FROM tabs") == [(500_000, 400_000, "open")]

    page.goto(f"{sites.obolo}/wallet")
    # 5.00 topped up; the tab holds 0.50 for the Magazine, of which 0.40 is owed.
    assert page.locator(".balance[data-asset=EUR]").inner_text() == "€4.50"
    assert "€0.50 reserved" in page.locator(".balances").inner_text()
    assert page.locator(".legend").inner_text() == "The Magazine: €0.40"  # five views, one refunded
    page.goto(f"{sites.obolo}/wallet/history")
    amounts = page.locator("td [data-amount]").all_inner_texts()
    assert amounts == ["reserved €0.50", "+€5.00"]  # the tab's hold, then the top-up
    assert page.locator("td [data-amount]").evaluate_all("els => els.map(e => e.dataset.amount)") == [
        "500000",
        "5000000",
    ]
    assert (
        page.locator("tr[data-status=reserved] td").first.inner_text().startswith("Reserved for The Magazine")
    )
    page.goto(f"{sites.obolo}/reading")
    views = page.locator("#charges-title + p + .table-wrap td.num").all_inner_texts()
    assert sorted(views) == ["€0.10"] * 5
    context.close()


def test_popup_hands_the_proof_only_to_the_providers_origin(browser, sites):  # noqa: F811
    """A page on another origin cannot get a receipt: the popup refuses its origin, and
    when it lies about it the popup never hears back from it, so nothing is paid."""
    context = browser.new_context()
    page = context.new_page()
    sign_up(page, sites.obolo, "reader@example.com")
    top_up(page, sites.obolo, "5.00")
    provider = sites.query("SELECT id FROM providers")[0][0]
    evil = sites.obolo.replace("127.0.0.1", "localhost")  # another origin than the Magazine's
    page.goto(f"{evil}/healthz")
    page.evaluate("() => { window.got = []; addEventListener('message', e => window.got.push(e.data)); }")

    def open_popup(origin: str) -> Any:
        query = f"provider={provider}&resource=/articles/1&price=0.10&asset=EUR&origin={origin}"
        with page.expect_popup() as opened:
            page.evaluate(f"() => window.open('{sites.obolo}/widget/pay?{query}', 'w', 'popup')")
        popup = opened.value
        popup.wait_for_load_state()
        return popup

    refused = open_popup(evil)
    assert refused.locator("[data-refused]").get_attribute("data-refused") == "wrong_origin"
    assert refused.locator("#obolo-popup").count() == 0
    refused.close()

    lying = open_popup(sites.magazine)  # claims to be the Magazine
    assert lying.locator("#obolo-popup").get_attribute("data-mode") == "confirm"
    lying.wait_for_timeout(1500)
    assert lying.locator("[data-pay]").is_disabled()  # its hello reached no Magazine page
    assert lying.locator("#obolo-popup").get_attribute("data-verified") is None
    assert page.evaluate("() => window.got") == []
    assert sites.query("SELECT COUNT(*) FROM charges") == [(0,)]
    context.close()


def test_widget_ignores_messages_from_other_origins(browser, sites):  # noqa: F811
    """A payment message not from Obolo's origin is ignored: no request carries a proof."""
    page = browser.new_page()
    page.goto(f"{sites.magazine}/articles/1")
    page.locator("button.obolo-pay").wait_for()
    proofs: list[str] = []
    page.on("request", lambda request: proofs.append(request.url) if "payment" in request.headers else None)
    page.evaluate(
        "() => postMessage({type: 'obolo-payment', receipt: 'forged', resource: '/articles/1'}, '*')"
    )
    page.wait_for_timeout(500)
    assert proofs == []
    assert page.locator(".priced").count() == 1
    page.close()


def test_anonymous_reading_stops_at_the_limit_and_carries_over_on_sign_up(browser, trial_sites):  # noqa: F811
    """Without an account a reader reads up to the trial limit (0.30 here); past it they
    sign up, and the trial's charges become their first charges, nothing lost."""
    sites = trial_sites
    context = browser.new_context()
    page = context.new_page()
    for number in (1, 2, 3):
        popup = pay_on_magazine(page, sites.magazine, number)
        assert popup.locator("#obolo-popup").get_attribute("data-mode") == "anonymous"
        popup.locator("[data-trial]:enabled").click()
        article_shown(page, number)
    trial = sites.query("SELECT id, accrued, claimed_by FROM anonymous_tabs")
    assert [(accrued, claimed) for _, accrued, claimed in trial] == [(300_000, None)]

    popup = pay_on_magazine(page, sites.magazine, 4)  # past the limit
    assert popup.locator("#obolo-popup").get_attribute("data-mode") == "trial_full"
    assert popup.locator("[data-trial]").count() == 0
    assert page.locator(".priced").count() == 1  # the article stays closed
    cookies = {c["name"]: c for c in context.cookies(sites.obolo)}
    assert cookies["obolo_trial"]["httpOnly"]
    assert cookies["obolo_trial"]["sameSite"] == "Lax"

    sign_up(popup, sites.obolo, "new.reader@example.com")  # from the popup's own link
    top_up(popup, sites.obolo, "2.00")
    popup.close()
    popup = pay_on_magazine(page, sites.magazine, 4)
    assert popup.locator("#obolo-popup").get_attribute("data-mode") == "carry"
    popup.locator("[data-carry]").click()
    popup.wait_for_url("**/widget/pay?*")
    assert popup.locator("#obolo-popup").get_attribute("data-mode") == "confirm"
    popup.locator("[data-pay]:enabled").click()
    article_shown(page, 4)

    reader = sites.query("SELECT id FROM users WHERE email = ?", "new.reader@example.com")[0][0]
    anonymous = sites.query("SELECT charge_id, amount FROM anonymous_charges ORDER BY created_at")
    mine = sites.query(
        "SELECT charge_id, amount FROM charges WHERE reader_id = ? ORDER BY created_at", reader
    )
    assert mine[:3] == anonymous
    assert len(mine) == 4
    assert [amount for _, amount in mine] == [100_000] * 4
    assert sites.query("SELECT claimed_by FROM anonymous_tabs") == [(reader,)]
    assert sites.query("SELECT held, accrued FROM tabs WHERE reader_id = ?", reader) == [(1_000_000, 400_000)]
    assert "obolo_trial" not in {c["name"] for c in context.cookies(sites.obolo)}
    context.close()
