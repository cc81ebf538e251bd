"""The provider's views and revenue per page, on the API and on the dashboard: one row per
path (a page is its path), with the latest title the site gave it beside the path, and
the path alone for a page that never had one; in English and in Italian."""

from __future__ import annotations

import html
import re

import pytest

from obolo.money import EUR, Amount
from obolo.settings import Settings
from tests.integration.test_web_provider import FEES, provider
from tests.web_support import Browser, make_platform, top_up_form

CENTS_10 = Amount(100_000, EUR)


@pytest.fixture
def platform(db_url, clock):
    yield from make_platform(db_url, clock, Settings(fees=FEES))


@pytest.fixture
def pub(platform, clock):
    """A site whose first article was renamed twice, then charged once with no title; its
    second never had one."""
    pub = provider(platform, "pub@example.com", "news")
    reader = Browser(platform)
    reader.user_id = reader.sign_up("ann@example.com")
    top_up_form(reader, "20.00")
    tabs = platform.tabs
    tabs.set_consent(reader.user_id, pub.site_id, Amount(200_000, EUR), Amount(5_000_000, EUR))
    tabs.charge(reader.user_id, pub.site_id, "/articles/1", CENTS_10, "c1", title="Cats & dogs")
    clock.advance(60)
    tabs.charge(reader.user_id, pub.site_id, "/articles/1", CENTS_10, "c2", title="Cats & <dogs>, revised")
    clock.advance(60)
    tabs.charge(reader.user_id, pub.site_id, "/articles/1", CENTS_10, "c3")
    tabs.charge(reader.user_id, pub.site_id, "/articles/2", Amount(150_000, EUR), "c4")
    tabs.refund(reader.user_id, pub.site_id, "c1")
    return pub


def report(browser: Browser, site_id: str, **params: str):
    token = browser.client.cookies["obolo_session"]
    return browser.client.get(
        f"/v1/providers/{site_id}/pages", params=params, headers={"Authorization": f"Bearer {token}"}
    )


def test_the_api_reports_one_row_per_path_with_its_latest_title(pub):
    """Three views of one path under two titles and none are one row, titled with the
    latest title given; a path never titled has a null title."""
    answer = report(pub, pub.site_id)
    assert answer.status_code == 200, answer.text
    rows = [
        (p["resource"], p["title"], p["views"], p["refunded"], p["revenue"]) for p in answer.json()["pages"]
    ]
    assert rows == [
        ("/articles/1", "Cats & <dogs>, revised", 3, 1, "0.200000"),
        ("/articles/2", None, 1, 0, "0.150000"),
    ]


def test_the_api_counts_only_the_days_asked_for_and_only_ones_own_site(pub, platform, clock):
    """Past the window nothing is reported; another provider asking for this site is 404."""
    clock.advance(2 * 86_400)
    pub.sign_in("pub@example.com")  # two days later: the session has expired
    assert report(pub, pub.site_id, days="1").json()["pages"] == []
    other = provider(platform, "other@example.com", "other")
    refused = report(other, pub.site_id)
    assert refused.status_code == 404
    assert refused.json()["code"] == "provider_not_found"


def _text(cell: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()


def _rows(page: str) -> list[tuple[str, ...]]:
    """The per-page table's rows as text, cell by cell."""
    table = page[page.index('id="resources-title"') : page.index('id="settlements-title"')]
    return [
        tuple(_text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row))
        for row in re.findall(r"<tr>(<td>.*?)</tr>", table, re.S)
    ]


def test_the_dashboard_shows_the_title_beside_the_path_in_english_and_italian(pub):
    """The page's cell holds the latest title (escaped) then the path; a page without a
    title shows its path alone; amounts in each language's format."""
    english = pub.get(f"/provider?site={pub.site_id}")
    assert english.status_code == 200
    assert "Cats &amp; &lt;dogs&gt;, revised" in english.text
    assert (
        '<span data-item-title>Cats &amp; &lt;dogs&gt;, revised</span> <code class="muted">/articles/1</code>'
        in (english.text)
    )
    assert "<td><code>/articles/2</code></td>" in english.text
    assert _rows(english.text) == [
        ("Cats & <dogs>, revised /articles/1", "3", "1", "€0.20"),
        ("/articles/2", "1", "0", "€0.15"),
    ]
    italian = pub.get(f"/provider?site={pub.site_id}", headers={"Accept-Language": "it"})
    assert "Letture e ricavi per pagina" in italian.text
    assert [(row[0], row[3]) for row in _rows(italian.text)] == [
        ("Cats & <dogs>, revised /articles/1", "0,20\xa0€"),
        ("/articles/2", "0,15\xa0€"),
    ]
