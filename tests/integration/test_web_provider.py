"""The provider dashboard: only for providers, only their own sites; prices published
through the editor; API keys shown once; earnings, views and settlements with fees."""

from __future__ import annotations

import re

import pytest

from obolo.money import EUR, Amount
from obolo.paywall.tabs import TAB_PERIOD_SECONDS
from obolo.settings import FeeRule, Settings
from tests.web_support import Browser, make_platform, top_up_form

FEES = {
    "payment": FeeRule(),
    "topup": FeeRule(),
    "withdrawal": FeeRule(),
    "paywall": FeeRule(basis_points=500),
}


@pytest.fixture
def platform(db_url, clock):
    yield from make_platform(db_url, clock, Settings(fees=FEES))


def provider(platform, email, site_name):
    browser = Browser(platform)
    browser.user_id = browser.sign_up(email)
    assert browser.submit("/provider", "/provider/join", {}).status_code == 303
    answer = browser.submit(
        "/provider", "/provider/sites", {"name": site_name, "origin": f"https://{site_name}.example"}
    )
    assert answer.status_code == 303
    browser.site_id = re.search(r"site=([0-9a-f-]+)", answer.headers["location"]).group(1)
    return browser


@pytest.fixture
def pub(platform):
    return provider(platform, "pub@example.com", "news")


@pytest.fixture
def reader(platform):
    browser = Browser(platform)
    browser.user_id = browser.sign_up("ann@example.com")
    top_up_form(browser, "20.00")
    return browser


def test_a_consumer_is_offered_the_provider_role_and_refused_provider_actions(platform):
    """Without the role the dashboard offers to join; posting provider forms is 403."""
    someone = Browser(platform)
    someone.sign_up("plain@example.com")
    page = someone.get("/provider")
    assert page.status_code == 200
    assert "Become a provider" in page.text
    for action in ("/provider/sites", "/provider/prices", "/provider/keys"):
        assert (
            someone.submit("/provider", action, {"name": "x", "origin": "https://x.example"}).status_code
            == 403
        )
    with platform.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM providers").scalar_one() == 0
        assert connection.exec_driver_sql("SELECT count(*) FROM api_keys").scalar_one() == 0


def test_the_price_editor_publishes_the_rules_the_sdk_fetches(pub, platform):
    """Rows typed in the editor become the provider's published prices and passes."""
    answer = pub.submit(
        "/provider",
        "/provider/prices",
        {
            "site": pub.site_id, "price_rows": "3", "pass_rows": "2",
            "price-0-pattern": "/articles/*", "price-0-price": "0,10", "price-0-daily_cap": "1",
            "pass-0-name": "10 visits", "pass-0-pattern": "/articles/*", "pass-0-price": "0.80",
            "pass-0-visits": "10",
        },
    )  # fmt: skip
    assert answer.status_code == 303
    assert platform.paywall.price_rules(pub.site_id) == {
        "prices": [{"pattern": "/articles/*", "price": "0.10", "daily_cap": "1.00", "asset": "EUR"}],
        "passes": [
            {"name": "10 visits", "pattern": "/articles/*", "price": "0.80", "asset": "EUR", "visits": 10}
        ],
    }
    page = pub.get("/provider")
    assert 'value="0.10"' in page.text
    italian = pub.get("/provider", headers={"accept-language": "it"})
    assert re.findall(r'name="(?:price|pass)-0-price"[^>]*value="([^"]*)"', italian.text) == ["0,10", "0,80"]
    assert 'value="1,00"' in italian.text


def test_the_italian_editor_sent_back_as_shown_publishes_the_same_prices(pub, platform):
    """The values the Italian page shows ("0,10") read back as they were: nothing changes."""
    rules = {"prices": [{"pattern": "/a/*", "price": "0.015", "asset": "EUR"}], "passes": []}
    platform.paywall.set_price_rules(pub.user_id, pub.site_id, rules)
    page = pub.get("/provider", headers={"accept-language": "it"}).text
    shown = re.search(r'name="price-0-price"[^>]*value="([^"]*)"', page).group(1)
    assert shown == "0,015"
    row = {"price-0-pattern": "/a/*", "price-0-price": shown}
    answer = pub.submit("/provider", "/provider/prices", {"site": pub.site_id, "price_rows": "1", **row})
    assert answer.status_code == 303
    assert platform.paywall.price_rules(pub.site_id) == rules


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"price-0-pattern": "/a/*", "price-0-price": "free"}, "price-0-price"),
        ({"price-0-pattern": "/a/*", "price-0-price": "0"}, "price-0-price"),
        ({"price-0-pattern": "/a/*", "price-0-price": "0.1", "price-0-daily_cap": "-1"}, "price-0-daily_cap"),
        ({"pass-0-name": "x", "pass-0-pattern": "/a/*", "pass-0-price": "1,2,3"}, "pass-0-price"),
    ],
)
def test_bad_prices_are_refused_beside_the_field_and_nothing_is_published(pub, platform, row, field):
    """A price that is not a positive amount is refused where it was typed."""
    answer = pub.submit(
        "/provider", "/provider/prices", {"site": pub.site_id, "price_rows": "3", "pass_rows": "2", **row}
    )
    assert answer.status_code == 422
    assert re.findall(r'id="f-([a-z0-9_-]+)-error"', answer.text) == [field]
    assert platform.paywall.price_rules(pub.site_id) == {"prices": [], "passes": []}


def test_rules_the_api_would_refuse_are_refused_here_too(pub, platform):
    """A pass with neither visits nor hours... is stored only if valid for the API schema."""
    answer = pub.submit(
        "/provider",
        "/provider/prices",
        {
            "site": pub.site_id,
            "price_rows": "1",
            "pass_rows": "1",
            "price-0-pattern": "",
            "price-0-price": "0.1",
        },
    )
    assert answer.status_code == 422
    assert platform.paywall.price_rules(pub.site_id) == {"prices": [], "passes": []}


def test_a_provider_never_sees_or_edits_another_providers_site(pub, platform):
    """Another provider's site id gives 404 on the dashboard and cannot be priced."""
    other = provider(platform, "rival@example.com", "rival")
    assert pub.get(f"/provider?site={other.site_id}").status_code == 404
    assert "rival" not in pub.get("/provider").text
    answer = pub.submit(
        "/provider",
        "/provider/prices",
        {
            "site": other.site_id,
            "price_rows": "1",
            "pass_rows": "0",
            "price-0-pattern": "/x",
            "price-0-price": "9",
        },
    )
    assert answer.status_code == 404
    assert platform.paywall.price_rules(other.site_id) == {"prices": [], "passes": []}


def test_an_api_key_is_shown_once_and_works_then_revoked(pub, platform):
    """The new key's secret appears on the answer only; it authenticates until revoked."""
    answer = pub.submit("/provider", "/provider/keys", {"name": "server", "site": pub.site_id})
    assert answer.status_code == 200
    (secret,) = re.findall(r'id="new-key-secret">([^<]+)<', answer.text)
    principal = platform.identity.authenticate(secret)
    assert principal.user_id == pub.user_id
    assert principal.scopes == frozenset({"provider:*"})
    page = pub.get("/provider")
    assert secret not in page.text
    assert "Your new API key" not in page.text
    (key_id,) = re.findall(r'name="key_id" value="([^"]+)"', page.text)
    rival = provider(platform, "rival@example.com", "rival")
    assert rival.submit("/provider", "/provider/keys/revoke", {"key_id": key_id}).status_code == 404
    assert platform.identity.authenticate(secret) is not None
    assert (
        pub.submit("/provider", "/provider/keys/revoke", {"key_id": key_id, "site": pub.site_id}).status_code
        == 303
    )
    assert platform.identity.authenticate(secret) is None


def test_the_dashboard_shows_earnings_views_and_settlements_with_fees(pub, reader, platform, clock):
    """Views charged appear per page and in the chart; a settled tab shows paid, fee, net."""
    platform.tabs.set_consent(reader.user_id, pub.site_id, Amount(200_000, EUR), Amount(5_000_000, EUR))
    platform.tabs.charge(reader.user_id, pub.site_id, "/articles/1", Amount(100_000, EUR), "c1")
    platform.tabs.charge(reader.user_id, pub.site_id, "/articles/1", Amount(100_000, EUR), "c2")
    platform.tabs.charge(reader.user_id, pub.site_id, "/articles/2", Amount(150_000, EUR), "c3")
    platform.tabs.refund(reader.user_id, pub.site_id, "c2")
    page = pub.get("/provider")
    cells = r"<tr><td><code>([^<]+)</code></td>" + r'<td class="num">([^<]+)</td>' * 3
    rows = re.findall(cells, page.text)
    assert rows == [("/articles/2", "1", "0", "€0.15"), ("/articles/1", "2", "1", "€0.10")]
    assert "Earnings, last 30 days: €0.25" in page.text
    assert "<svg" in page.text
    clock.advance(TAB_PERIOD_SECONDS + 1)
    assert platform.tabs.settle_due_tabs() == 1
    pub.sign_in("pub@example.com")  # a day later: the session has expired
    page = pub.get("/provider")
    settled = re.findall(r"<td>tab</td>" + r'<td class="num">([^<]+)</td>' * 3, page.text)
    # 0.25 accrued, 5% fee = 0.0125, net 0.2375: as the ledger posted them.
    assert settled == [("€0.25", "€0.0125", "€0.2375")]


def test_the_snippet_names_this_site_and_this_server(pub):
    """The snippet to paste loads /widget.js from this server and carries the provider id."""
    page = pub.get("/provider")
    assert "/widget.js" in page.text
    assert f'data-obolo-provider="{pub.site_id}"' in page.text.replace("&#34;", '"').replace("&quot;", '"')
