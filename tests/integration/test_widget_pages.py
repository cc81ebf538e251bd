"""The wallet's popup as HTTP: every refusal is a page with a stable code and moves no
money; the trial cookie is signed and HttpOnly; the 402 page a browser gets carries the
widget."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import httpx
import pytest

from obolo.adapters.cards import Card
from obolo.adapters.db.schema import charges
from obolo.adapters.db.schema_widget import anonymous_charges, anonymous_tabs
from obolo.bootstrap import build
from obolo.examples.magazine import PRICE_RULES, magazine
from obolo.identity.model import Role
from obolo.ledger.check import check_ledger
from obolo.money import EUR, Amount
from obolo.settings import Settings
from tests.web_support import Browser, money_snapshot

SITE = "https://magazine.example"


@pytest.fixture
def platform(db_url, clock):
    built = build(Settings(anonymous_tab_limit=200_000), url=db_url, clock=clock, migrate=True)
    yield built
    assert check_ledger(built.engine) == []
    built.close()


@pytest.fixture
def provider_id(platform):
    owner = platform.identity.sign_up("magazine@example.com", "magazine password", "Magazine").id
    platform.identity.add_role(owner, Role.PROVIDER)
    provider = platform.paywall.register_provider(owner, "The Magazine", SITE)
    platform.paywall.set_price_rules(owner, provider.id, PRICE_RULES)
    return provider.id


def popup_path(provider_id: str, resource: str = "/articles/1", origin: str = SITE) -> str:
    query = {"provider": provider_id, "resource": resource, "price": "0.10", "asset": "EUR", "origin": origin}
    return "/widget/pay?" + urlencode(query)


def form_of(browser: Browser, path: str) -> dict[str, str]:
    """The hidden fields of the popup's pay form, as the page gave them."""
    import re

    html = browser.get(path).text
    form = html[html.index('action="/widget/pay"') :]
    form = form[: form.index("</form>")]
    return dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form))


def count(platform, table) -> int:
    with platform.engine.connect() as connection:
        return len(connection.execute(table.select()).all())


def test_widget_script_may_be_loaded_by_any_site(platform):
    """/widget.js is JavaScript any origin may load; the popup's own script is same-origin."""
    browser = Browser(platform)
    script = browser.get("/widget.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "event.origin !== OBOLO" in script.text
    assert "cross-origin-resource-policy" not in browser.get("/widget/popup.js").headers


def test_popup_for_another_origin_is_refused_and_carries_no_proof(platform, provider_id):
    """A page not at the provider's registered origin gets a refusal page (wrong_origin)."""
    browser = Browser(platform)
    answer = browser.get(popup_path(provider_id, origin="https://evil.example"))
    assert answer.status_code == 403
    assert 'data-refused="wrong_origin"' in answer.text
    assert "obolo-popup" not in answer.text
    assert answer.headers["x-frame-options"] == "DENY"


def test_paying_for_another_origin_is_refused_and_moves_nothing(platform, provider_id):
    """A forged form naming another origin charges nothing, even for a signed-in reader."""
    browser = Browser(platform)
    reader = browser.sign_up("reader@example.com")
    platform.wallets.top_up(reader, Amount.parse("5.00", EUR), Card("4242424242424242", 12, 2031, "123"))
    fields = form_of(browser, popup_path(provider_id))
    before = money_snapshot(platform)
    answer = browser.client.post(
        "/widget/pay", data={**fields, "confirm": "yes", "origin": "https://evil.example"}
    )
    assert answer.status_code == 403
    assert 'data-refused="wrong_origin"' in answer.text
    assert money_snapshot(platform) == before
    assert count(platform, charges) == 0


def test_pay_without_csrf_token_is_refused(platform, provider_id):
    """A form posted from another site (no CSRF token) changes nothing."""
    browser = Browser(platform)
    fields = form_of(browser, popup_path(provider_id))
    fields.pop("csrf")
    answer = browser.client.post("/widget/pay", data=fields)
    assert answer.status_code == 403
    assert count(platform, anonymous_charges) == 0


def test_trial_cookie_is_signed_http_only_and_stops_at_the_limit(platform, provider_id):
    """An anonymous click opens a trial tab in a signed HttpOnly cookie; past the limit the
    popup answers trial_limit_reached and nothing accrues; a forged cookie names no tab."""
    browser = Browser(platform)
    left_open = form_of(browser, popup_path(provider_id, "/articles/3"))  # clicked later
    for n in (1, 2):
        fields = form_of(browser, popup_path(provider_id, f"/articles/{n}"))
        answer = browser.client.post("/widget/pay", data=fields)
        assert answer.status_code == 200
        assert "data-receipt=" in answer.text
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("obolo_trial="))
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    page = browser.get(popup_path(provider_id, "/articles/3"))
    assert 'data-mode="trial_full"' in page.text
    refused = browser.client.post("/widget/pay", data=left_open)
    assert refused.status_code == 409
    assert "data-error" in refused.text
    assert count(platform, anonymous_charges) == 2
    tab_id = browser.client.cookies["obolo_trial"].split(".")[0]
    browser.client.cookies.set("obolo_trial", tab_id + ".forged")
    assert 'data-mode="anonymous"' in browser.get(popup_path(provider_id, "/articles/3")).text
    assert count(platform, anonymous_tabs) == 1


def test_carrying_a_trial_over_without_funds_changes_nothing(platform, provider_id):
    """A reader whose wallet cannot hold the tab keeps the trial open; no money moves."""
    browser = Browser(platform)
    fields = form_of(browser, popup_path(provider_id))
    assert browser.client.post("/widget/pay", data=fields).status_code == 200
    browser.sign_up("reader@example.com")
    page = browser.get(popup_path(provider_id, "/articles/2"))
    assert 'data-mode="carry"' in page.text
    before = money_snapshot(platform)
    answer = browser.client.post("/widget/trial", data=form_of_carry(page.text))
    assert answer.status_code == 409
    assert "data-error" in answer.text
    assert money_snapshot(platform) == before
    assert count(platform, charges) == 0
    assert "obolo_trial" in browser.client.cookies


def form_of_carry(html: str) -> dict[str, str]:
    import re

    form = html[html.index('action="/widget/trial"') :]
    return dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form[: form.index("</form>")]))


def test_a_browser_gets_the_magazine_pay_page_with_the_widget(platform, provider_id):
    """The Magazine's 402 for a browser is a page loading /widget.js with a marked pay box;
    a program still gets the JSON offers."""
    site = magazine(provider_id, platform.keys.public_keys(), "https://obolo.example", ":memory:")

    async def get(accept: str) -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=site), base_url=SITE) as client:
            return await client.get("/articles/1", headers={"Accept": accept})

    page = asyncio.run(get("text/html,application/xhtml+xml"))
    assert page.status_code == 402
    assert '<script src="https://obolo.example/widget.js" defer></script>' in page.text
    assert f'data-obolo-provider="{provider_id}"' in page.text
    assert 'data-obolo-price="0.10"' in page.text
    assert "payment-required" in page.headers
    program = asyncio.run(get("application/json"))
    assert program.json()["error"] == "payment_required"


def test_every_popup_message_has_an_italian_translation():
    """The popup in Italian never falls back to English for a message of its own."""
    import re
    from pathlib import Path

    from obolo.entrypoints.web.i18n import IT
    from obolo.entrypoints.web.widget_i18n import WIDGET_IT

    web = Path(__file__).parents[2] / "src" / "obolo" / "entrypoints" / "web"
    found: set[str] = set()
    for template in (web / "templates" / "widget").glob("*.html"):
        found.update(
            m.group(2) for m in re.finditer(r"""\bw\(\s*(["'])((?:(?!\1).)+)\1""", template.read_text())
        )
    code = (web / "widget_routes.py").read_text()
    found.update(re.findall(r'widget_translator\(page\)\("([^"]+)"\)', code))
    assert len(found) > 20  # the extraction works
    assert sorted(m for m in found if m not in WIDGET_IT and m not in IT) == []
    for english, italian in WIDGET_IT.items():
        assert set(re.findall(r"{(\w+)}", english)) == set(re.findall(r"{(\w+)}", italian)), english


def test_the_popup_speaks_italian(platform, provider_id):
    """A browser asking for Italian gets the popup in Italian."""
    browser = Browser(platform)
    page = browser.get(popup_path(provider_id), headers={"Accept-Language": "it-IT,it;q=0.9"})
    assert "Leggi ora, paga dopo" in page.text
    assert "Accedi per pagare" in page.text


def test_trial_carried_over_moves_to_the_wallet_and_a_signed_out_reader_starts_anew(platform, provider_id):
    """Settling the trial from the popup carries its charge to the reader's tab and drops
    the cookie; a stale cookie of a claimed tab never accrues again."""
    browser = Browser(platform)
    assert (
        browser.client.post("/widget/pay", data=form_of(browser, popup_path(provider_id))).status_code == 200
    )
    stale = browser.client.cookies["obolo_trial"]
    reader = browser.sign_up("reader@example.com")
    platform.wallets.top_up(reader, Amount.parse("5.00", EUR), Card("4242424242424242", 12, 2031, "123"))
    page = browser.get(popup_path(provider_id, "/articles/2"))
    answer = browser.client.post("/widget/trial", data=form_of_carry(page.text))
    assert answer.status_code == 303
    assert "obolo_trial" not in browser.client.cookies
    assert platform.tabs.tab_of(reader, provider_id) == (1_000_000, 100_000)
    browser.client.post("/signout", data={"csrf": browser.csrf("/wallet")})
    browser.client.cookies.set("obolo_trial", stale)
    assert (
        browser.client.post("/widget/pay", data=form_of(browser, popup_path(provider_id))).status_code == 200
    )
    with platform.engine.connect() as connection:
        tabs_now = connection.execute(anonymous_tabs.select()).all()
    assert sorted((t.accrued, t.claimed_by or "") for t in tabs_now) == [(100_000, ""), (100_000, reader)]
    assert platform.tabs.tab_of(reader, provider_id) == (1_000_000, 100_000)
