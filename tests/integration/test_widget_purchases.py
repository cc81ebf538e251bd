"""The wallet's popup and the reading page as HTTP, for what a reader bought: a page paid
in one browser opens in another without a charge; the consent question names the article
and one daily limit; the daily cap reached is told on the reading page; the Magazine's
pass is bought in the popup and its visits left are shown; the "allow a site" list holds
only the sites the reader used or searched."""

from __future__ import annotations

import asyncio
import html as html_text
import re
from urllib.parse import urlencode

import httpx
import pytest

from obolo.adapters.cards import Card
from obolo.adapters.db.schema import charges, reader_passes
from obolo.entrypoints.web.format import date_time
from obolo.examples.magazine import PRICE_RULES, magazine
from obolo.identity.model import Role
from obolo.money import EUR, Amount
from obolo.sdk.paywall import CHARGE_SCHEME, PASS_SCHEME, encode_header
from tests.web_support import Browser, make_platform, money_snapshot

SITE = "https://magazine.example"
TITLE = "Why micropayments failed"


@pytest.fixture
def platform(db_url, clock):
    yield from make_platform(db_url, clock)


@pytest.fixture
def provider_id(platform):
    owner = platform.identity.sign_up("magazine@example.com", "magazine password", "Magazine").id
    platform.identity.add_role(owner, Role.PROVIDER)
    provider = platform.paywall.register_provider(owner, "The Magazine", SITE)
    platform.paywall.set_price_rules(owner, provider.id, PRICE_RULES)
    return provider.id


def reader_browser(platform, email="reader@example.com", top_up="5.00") -> Browser:
    browser = Browser(platform)
    user_id = browser.sign_up(email)
    if top_up:
        platform.wallets.top_up(user_id, Amount.parse(top_up, EUR), Card("4242424242424242", 12, 2031, "123"))
    browser.user_id = user_id  # type: ignore[attr-defined]
    return browser


def popup_path(provider_id: str, resource: str = "/articles/1", title: str = TITLE, **extra: str) -> str:
    query = {"provider": provider_id, "resource": resource, "price": "0.10", "asset": "EUR", "origin": SITE}
    return "/widget/pay?" + urlencode({**query, "title": title, **extra})


def form_in(page: str, action: str, marker: str = "") -> dict[str, str]:
    """The fields of the first form posting to `action` (holding `marker`, when given)."""
    start = page.index(f'action="{action}"')
    while marker and marker not in page[start : page.index("</form>", start)]:
        start = page.index(f'action="{action}"', start + 1)
    form = page[start : page.index("</form>", start)]
    return {k: html_text.unescape(v) for k, v in re.findall(r'name="([a-z_]+)" value="([^"]*)"', form)}


def click(browser: Browser, provider_id: str, resource: str, *, confirm: bool = False) -> httpx.Response:
    """Open the popup for `resource` and press its button (Pay, or the automatic form)."""
    page = browser.get(popup_path(provider_id, resource)).text
    fields = form_in(page, "/widget/pay")
    return browser.client.post("/widget/pay", data=fields | ({"confirm": "yes"} if confirm else {}))


def attribute(page: str, name: str) -> str:
    found = re.search(rf'{name}="([^"]*)"', page)
    assert found, f"no {name} on the page"
    return html_text.unescape(found.group(1))


def serve(platform, provider_id: str, path: str, payment: dict) -> httpx.Response:
    """The Magazine's own paywall (the SDK middleware) answering a Payment header."""
    site = magazine(provider_id, platform.keys.public_keys(), "https://obolo.example", ":memory:")

    async def get() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=site), base_url=SITE) as client:
            return await client.get(path, headers={"Payment": encode_header(payment)})

    return asyncio.run(get())


def count(platform, table) -> int:
    with platform.engine.connect() as connection:
        return len(connection.execute(table.select()).all())


def test_the_consent_question_names_the_article_and_one_daily_limit(platform, provider_id):
    """The first question shows the article's title (not its path) and the site's daily
    cap as the one daily limit: no second, larger figure."""
    browser = reader_browser(platform)
    page = browser.get(popup_path(provider_id)).text
    assert 'data-mode="confirm"' in page
    assert f"<strong>{TITLE}</strong>" in page
    assert "<code>/articles/1</code>" not in page
    text = re.sub(r"<[^>]+>", " ", page)
    assert "never more than €0.50 a day" in text
    assert text.count(" a day") == 1
    assert "€1.00" not in text
    answer = browser.client.post("/widget/pay", data=form_in(page, "/widget/pay") | {"confirm": "yes"})
    assert answer.status_code == 200
    assert platform.tabs.tab_of(browser.user_id, provider_id) == (500_000, 100_000)  # type: ignore[attr-defined]
    reading = browser.get("/reading").text
    assert "€0.10 / €0.50" in reading  # the same one limit on the reading page


def test_a_page_bought_in_one_browser_opens_in_another_without_a_charge(platform, provider_id):
    """The laptop pays for /articles/1; the phone (same account, its own cookies) opens it
    with a re-access receipt the Magazine's paywall accepts, and nothing moves."""
    laptop = reader_browser(platform)
    paid = click(laptop, provider_id, "/articles/1", confirm=True)
    assert attribute(paid.text, "data-kind") == "charge"
    phone = Browser(platform)
    phone.sign_in("reader@example.com")
    before = money_snapshot(platform)
    page = phone.get(popup_path(provider_id)).text
    assert 'data-mode="auto"' in page  # no question: it is already the reader's
    again = phone.client.post("/widget/pay", data=form_in(page, "/widget/pay"))
    assert attribute(again.text, "data-kind") == "reaccess"
    bought = platform.purchases.purchase(laptop.user_id, provider_id, "/articles/1")
    notice = attribute(again.text, "data-notice")  # until when: the site's period, a day by default
    assert notice.startswith("Already yours")
    assert date_time(bought.until) in notice
    assert bought.until - bought.bought_at == 24 * 3600 * 10**9
    assert money_snapshot(platform) == before
    assert count(platform, charges) == 1
    receipt = attribute(again.text, "data-receipt")
    opened = serve(platform, provider_id, "/articles/1", {"scheme": CHARGE_SCHEME, "receipt": receipt})
    assert opened.status_code == 200
    assert TITLE in opened.text
    elsewhere = serve(platform, provider_id, "/articles/2", {"scheme": CHARGE_SCHEME, "receipt": receipt})
    assert elsewhere.status_code == 402  # it opens the page bought, and no other


def test_a_refunded_page_is_charged_again_on_the_other_browser(platform, provider_id):
    """A view taken back is no longer a purchase: the next browser pays for it again."""
    laptop = reader_browser(platform)
    paid = click(laptop, provider_id, "/articles/1", confirm=True)
    charge_id = attribute(paid.text, "data-charge")
    laptop.submit("/reading", "/reading/refund", {"provider_id": provider_id, "charge_id": charge_id})
    phone = Browser(platform)
    phone.sign_in("reader@example.com")
    again = click(phone, provider_id, "/articles/1")
    assert attribute(again.text, "data-kind") == "charge"
    assert count(platform, charges) == 2


def test_the_daily_cap_reached_is_told_in_the_popup_and_on_the_reading_page(platform, provider_id):
    """Five articles at 0.10 reach the Magazine's 0.50 cap: the sixth is free, said so in
    the notice the widget shows on the page, and the reading page says it too."""
    browser = reader_browser(platform)
    click(browser, provider_id, "/articles/1", confirm=True)
    for n in (2, 3, 4, 5):
        assert attribute(click(browser, provider_id, f"/articles/{n}").text, "data-kind") == "charge"
    free = click(browser, provider_id, "/articles/6")
    assert attribute(free.text, "data-kind") == "capped"
    assert attribute(free.text, "data-notice") == "Free: you reached this site's daily cap."
    reading = browser.get("/reading").text
    assert (
        "Free for the rest of the day at The Magazine: you paid €0.50 there today, its daily cap is €0.50."
        in html_text.unescape(reading)
    )
    italian = html_text.unescape(browser.get("/reading", headers={"Accept-Language": "it"}).text)
    told = re.search(r"<p[^>]*data-cap-reached[^>]*>([^<]*)</p>", italian)
    assert told, italian[:3000]
    # 0,50 € with whatever space the Italian format puts before the sign
    assert re.fullmatch(
        r"Gratis per il resto della giornata su The Magazine: oggi hai pagato 0,50\s€, "
        r"il suo tetto giornaliero è 0,50\s€\.",
        told.group(1),
    ), told.group(1)


def test_a_pass_bought_in_the_popup_opens_pages_and_its_visits_left_are_shown(platform, provider_id):
    """The Magazine's "10 articles" pass is offered in the popup, bought for exactly 0.50
    through the one pass sale, accepted by the Magazine's paywall; each page opened on it
    is one visit, shown left on the reading page; a page opened again costs no visit."""
    browser = reader_browser(platform)
    page = browser.get(popup_path(provider_id, **{"pass": "1"})).text
    assert 'data-mode="passes"' in page
    assert "10 articles: 10 visits for €0.50, within 30 days." in page
    fields = form_in(page, "/widget/pass")
    bought = browser.client.post("/widget/pass", data=fields)
    assert bought.status_code == 200
    assert attribute(bought.text, "data-scheme") == PASS_SCHEME
    assert attribute(bought.text, "data-notice") == "Opened with your pass 10 articles: 9 visits left."
    available = {b.asset: b.available for b in platform.wallets.balances(browser.user_id)}  # type: ignore[attr-defined]
    assert available["EUR"] == 4_500_000
    again = browser.client.post("/widget/pass", data=fields)  # the same form twice buys once
    assert again.status_code == 200
    assert count(platform, reader_passes) == 1
    token = attribute(bought.text, "data-receipt")
    opened = serve(platform, provider_id, "/articles/1", {"scheme": PASS_SCHEME, "pass": token})
    assert opened.status_code == 200
    second = click(browser, provider_id, "/articles/2")  # no consent given: the pass pays
    assert attribute(second.text, "data-kind") == "pass"
    click(browser, provider_id, "/articles/2")  # bought already: no second visit
    assert count(platform, charges) == 0
    reading = html_text.unescape(browser.get("/reading").text)
    assert re.search(r'data-pass="10 articles" data-visits-left="8"', reading)
    assert "8 of 10 visits left, until" in reading
    italian = html_text.unescape(browser.get("/reading", headers={"Accept-Language": "it"}).text)
    assert "8 visite rimaste su 10, fino al" in italian


def test_a_pass_the_wallet_cannot_pay_is_refused_in_words_and_moves_nothing(platform, provider_id):
    """Without the money, buying the pass answers a sentence (no code, no raw amount)."""
    browser = reader_browser(platform, top_up="")
    page = browser.get(popup_path(provider_id, **{"pass": "1"})).text
    before = money_snapshot(platform)
    refused = browser.client.post("/widget/pass", data=form_in(page, "/widget/pass"))
    assert refused.status_code == 409
    assert "Your wallet does not hold enough for this pass: top it up first. Nothing was paid." in (
        html_text.unescape(refused.text)
    )
    assert "insufficient_funds" not in refused.text
    assert money_snapshot(platform) == before
    assert count(platform, reader_passes) == 0


def test_allow_a_site_lists_only_sites_used_or_searched(platform, provider_id):
    """Another provider on the platform is not offered until the reader searches for it;
    a site the reader paid is offered."""
    owner = platform.identity.sign_up("news@example.com", "news password!", "News").id
    platform.identity.add_role(owner, Role.PROVIDER)
    other = platform.paywall.register_provider(owner, "Daily News", "https://news.example")
    browser = reader_browser(platform)
    page = browser.get("/reading").text
    assert other.id not in page
    assert provider_id not in page
    found = browser.get("/reading?site=daily").text
    assert f'value="{other.id}"' in found
    assert f'value="{provider_id}"' not in found
    assert "No site by that name." in browser.get("/reading?site=nothing-like-it").text
    click(browser, provider_id, "/articles/1", confirm=True)
    used = browser.get("/reading").text
    assert f'value="{provider_id}"' in used
    assert f'value="{other.id}"' not in used


def test_every_new_message_has_its_italian_with_the_same_placeholders():
    """Each sentence of the popup and reading page about purchases, caps and passes has an
    Italian translation naming the same values."""
    from obolo.entrypoints.web.i18n import IT
    from obolo.entrypoints.web.reader_i18n import READER_IT

    for english, italian in READER_IT.items():
        assert set(re.findall(r"{(\w+)}", english)) == set(re.findall(r"{(\w+)}", italian)), english
        assert IT[english] == italian  # merged into the pages' catalogue
