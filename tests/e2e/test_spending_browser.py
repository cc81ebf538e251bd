"""Spending a reader can see, in a real browser (Debian's chromium): a new reader tops up
€5.00 and pays for three of the Magazine's articles through the widget; the wallet, its
history, the reading page and the downloaded statement show exact amounts that agree with
each other, with the API (`GET /v1/spending`, `GET /v1/transactions`) and, once the tab
settles, with the ledger — in English and, for an it-IT browser, in Italian. A refunded
view lowers what was spent by exactly its price on every page.

Expected amounts are computed from the prices the Magazine publishes, never copied from a
page; what a page shows is read from its text."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from obolo.bootstrap import build
from obolo.entrypoints.web.security import SESSION_COOKIE
from obolo.examples.magazine import ARTICLES, PRICE_RULES
from obolo.money import EUR, Amount
from obolo.paywall.tabs import TAB_PERIOD_SECONDS
from tests.e2e.widget_support import (
    Sites,
    article_shown,
    browser,  # noqa: F401 -- a fixture
    pay_on_magazine,
    sign_up,
    start_sites,
    top_up,
)
from tests.integration.italian_pages import not_italian

SITE = "The Magazine"
# The site's name and its articles' titles are the provider's words, not the platform's
# English on an Italian page.
SITE_NAME = frozenset(SITE.split()) | {word for title, _ in ARTICLES.values() for word in title.split()}
BOUGHT = (1, 2, 3)
TOP_UP = Amount.parse("5.00", EUR).units
NBSP, MINUS = "\u00a0", "\N{MINUS SIGN}"
NS = 1_000_000_000


def bought_item(page_text: str, article: int) -> bool:
    """Whether a line of a page (or of the API) names the Magazine's article `article` as
    what was bought: by its title, which the Magazine sends with each charge."""
    return ARTICLES[article][0] in page_text


@dataclass(frozen=True)
class Language:
    """How the pages of one language write amounts and name what they show."""

    locale: str
    decimal: str
    words: Mapping[str, str] = field(default_factory=dict)

    def number(self, units: int) -> str:
        """`units` of EUR to the cent: "0.10" / "0,10"."""
        assert units % 10_000 == 0, "the Magazine's prices are whole cents"
        cents = abs(units) // 10_000
        return f"{'-' if units < 0 else ''}{cents // 100}{self.decimal}{cents % 100:02d}"

    def money(self, units: int) -> str:
        """An amount in euros as a page writes it: "€0.10" / "0,10 €"."""
        if self.decimal == ".":
            return f"€{self.number(units)}"
        return f"{self.number(units)}{NBSP}€"

    def units(self, shown: str) -> int:
        """An amount read back from a page, signed (a minus sign before "€0.10" is -100000)."""
        negative = shown.strip().startswith((MINUS, "-"))
        digits = re.sub(r"[^0-9]", "", shown)
        assert re.search(rf"\d{re.escape(self.decimal)}\d\d(?!\d)", shown), shown
        return (-1 if negative else 1) * int(digits) * 10_000

    def say(self, english: str, **values: str) -> str:
        return self.words.get(english, english).format(**values)


ENGLISH = Language("en-GB", ".")
ITALIAN = Language(
    "it-IT",
    ",",
    {
        "reserved": "riservato",
        "{held} held, of which {spent} already spent": "{held} trattenuti, di cui {spent} già spesi",
        "Spent today": "Spesi oggi",
        "Spent this month": "Spesi questo mese",
        "Spending by site": "Spesa per sito",
        "charged": "addebitato",
        "refunded": "rimborsato",
        "Refunded: {site} — {item}": "Rimborsato: {site} — {item}",
        "Spent in the last 24 h": "Speso nelle ultime 24 ore",
        "{used} used of {held} reserved; {left} left": "{used} usati di {held} riservati; restano {left}",
        "Date": "Data",
        "Kind": "Tipo",
        "Status": "Stato",
        "Description": "Descrizione",
        "Amount": "Importo",
        "Balance": "Saldo",
        "Spent": "Speso",
        "Asset": "Valuta",
        "Reading": "Lettura",
        "Top-up": "Ricarica",
        "posted": "registrato",
    },
)


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> Iterator[Sites]:
    yield from start_sites(tmp_path_factory.mktemp("spending"))


def published_prices(page: Any, magazine: str) -> dict[int, int]:
    """Each article's price as the Magazine publishes it on its front page, in units."""
    page.goto(magazine)
    prices = {}
    for link in page.locator("a.priced").all():
        assert link.get_attribute("data-obolo-asset") == "EUR"
        number = int(str(link.get_attribute("data-obolo-resource")).rsplit("/", 1)[1])
        prices[number] = Amount.parse(str(link.get_attribute("data-obolo-price")), EUR).units
    return prices


def daily_cap() -> int:
    """The Magazine's daily cap as it publishes it to the platform: what the reader's tab
    holds once they allow the site to charge them."""
    (rule,) = PRICE_RULES["prices"]
    return Amount.parse(str(rule["daily_cap"]), EUR).units


def api_for(page: Any, obolo: str) -> httpx.Client:
    """The API as the reader of `page`, with the very session the pages signed them in with."""
    (token,) = [c["value"] for c in page.context.cookies(obolo) if c["name"] == SESSION_COOKIE]
    return httpx.Client(base_url=obolo, headers={"authorization": f"Bearer {token}"}, timeout=10)


def decimal(units: int) -> str:
    """How the API writes an EUR amount: six decimals, "-0.100000"."""
    return f"{'-' if units < 0 else ''}{abs(units) // 1_000_000}.{abs(units) % 1_000_000:06d}"


def units(text: str) -> int:
    """An amount the API wrote, signed."""
    return -units(text[1:]) if text.startswith("-") else Amount.parse(text, EUR).units


def history_rows(page: Any, obolo: str) -> list[tuple[str, str, str]]:
    """The history page's rows, newest first: (status, description, amount shown)."""
    page.goto(f"{obolo}/wallet/history")
    rows = []
    for row in page.locator("main tbody tr").all():
        description, amount = row.locator("td").all_inner_texts()
        rows.append((str(row.get_attribute("data-status")), description, amount))
    return rows


def bought_rows(rows: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    return [row for row in rows if row[0] in ("charged", "refunded")]


def pay_for(page: Any, sites: Sites, article: int, *, first: bool) -> None:
    """Pay on the Magazine through the widget: the first time the reader confirms in the
    popup (and so allows the site up to its cap); after that the popup pays by itself."""
    popup = pay_on_magazine(page, sites.magazine, article)
    if first:
        popup.locator("[data-pay]:enabled").click()
    article_shown(page)


def spent_shown(page: Any, obolo: str, lang: Language) -> dict[str, str]:
    """Every place a page shows what the reader spent at the Magazine, as it shows it."""
    page.goto(f"{obolo}/wallet")
    by_site = page.locator("section[aria-labelledby=by-site-title]")
    shown = {
        "wallet: held": page.locator("[data-held-spent]").inner_text(),
        "wallet: today": page.locator("[data-spent-today]").inner_text(),
        "wallet: month": page.locator("[data-spent-month]").inner_text(),
        "wallet: by site": " | ".join(by_site.locator("tbody td").all_inner_texts()),
        "wallet: chart": page.locator(".legend").inner_text(),
    }
    page.goto(f"{obolo}/reading")
    consent = page.locator("li.consent p").first.inner_text()
    shown["reading: last 24 h"] = consent.splitlines()[-1]
    shown["reading: tab"] = page.locator("section[aria-labelledby=tabs-title] li").inner_text()
    charged = bought_rows(history_rows(page, obolo))
    shown["history: net"] = lang.money(-sum(lang.units(amount) for _, _, amount in charged))
    return shown


def spent_expected(lang: Language, spent: int, held: int) -> dict[str, str]:
    """What `spent_shown` should read when the reader spent `spent` on a tab holding `held`."""
    money = lang.money
    return {
        "wallet: held": lang.say(
            "{held} held, of which {spent} already spent", held=money(held), spent=money(spent)
        ),
        "wallet: today": f"{lang.say('Spent today')}: {money(spent)}",
        "wallet: month": f"{lang.say('Spent this month')}: {money(spent)}",
        "wallet: by site": f"{SITE} | {money(spent)} | {money(spent)}",
        "wallet: chart": f"{SITE}: {money(spent)}",
        "reading: last 24 h": f"{lang.say('Spent in the last 24 h')}: {money(spent)} / {money(held)}",
        "reading: tab": f"{SITE}: "
        + lang.say(
            "{used} used of {held} reserved; {left} left",
            used=money(spent),
            held=money(held),
            left=money(held - spent),
        ),
        "history: net": money(spent),
    }


def statement(page: Any, obolo: str, lang: Language) -> list[dict[str, str]]:
    """The CSV the history page's link downloads, as rows keyed by the English headings."""
    page.goto(f"{obolo}/wallet/history")
    with page.expect_download() as downloading:
        page.locator("a[href^='/wallet/statement.csv']").click()
    text = Path(downloading.value.path()).read_text(encoding="utf-8")
    lines = list(csv.reader(io.StringIO(text), delimiter="," if lang.decimal == "." else ";"))
    headings = ("Date", "Kind", "Status", "Description", "Amount", "Balance", "Spent", "Asset")
    assert lines[0] == [lang.say(h) for h in headings]
    return [dict(zip(headings, line, strict=True)) for line in lines[1:]]


def settle_tab(sites: Sites, email: str) -> tuple[int, int]:
    """A day goes by for this reader's tab, and the job that settles due tabs runs; the
    reader's (available, reserved) in the ledger afterwards."""
    (reader,) = sites.query("SELECT id FROM users WHERE email = ?", email)
    sites.query(
        "UPDATE tabs SET opened_at = opened_at - ? WHERE reader_id = ? AND status = 'open'",
        (TAB_PERIOD_SECONDS + 1) * NS,
        reader[0],
    )
    platform = build(url=f"sqlite:///{sites.database}", migrate=False)
    try:
        assert platform.tabs.settle_due_tabs() == 1
        (balance,) = platform.wallets.balances(reader[0])
        return balance.available, balance.reserved
    finally:
        platform.close()


@pytest.mark.parametrize("lang", [ENGLISH, ITALIAN], ids=["en", "it"])
def test_every_paid_view_is_visible_at_once_and_every_page_agrees(browser, sites, lang):  # noqa: F811
    """Three views paid through the widget: each is in the history at once with its site,
    article and price; the wallet, the reading page, the statement and the API show the
    same available, held, already spent and spent today and this month; once the tab
    settles the ledger posts exactly what was spent, and nothing is counted twice."""
    context = browser.new_context(locale=lang.locale, timezone_id="Europe/Rome", accept_downloads=True)
    page = context.new_page()
    email = f"spender-{lang.locale.lower()}@example.com"
    sign_up(page, sites.obolo, email)
    top_up(page, sites.obolo, lang.number(TOP_UP))
    prices, cap = published_prices(page, sites.magazine), daily_cap()
    spent = sum(prices[n] for n in BOUGHT)
    assert spent <= cap < TOP_UP  # within the cap: every view is charged

    for n in BOUGHT:
        pay_for(page, sites, n, first=n == BOUGHT[0])
        status, description, amount = bought_rows(history_rows(page, sites.obolo))[0]
        assert (status, amount) == ("charged", MINUS + lang.money(prices[n])), description
        assert description.startswith(f"{SITE} — ")
        assert bought_item(description, n), description
        assert lang.say("charged") in description  # the entry's tag, in the page's language

    page.goto(f"{sites.obolo}/wallet")
    assert page.locator(".balance[data-asset=EUR]").inner_text() == lang.money(TOP_UP - cap)
    assert f"{lang.money(cap)} {lang.say('reserved')}" in page.locator(".balances").inner_text()
    assert lang.say("Spending by site") in page.locator("main h2").all_inner_texts()
    if lang is ITALIAN:
        assert not_italian(page.content(), SITE_NAME) == []
    assert spent_shown(page, sites.obolo, lang) == spent_expected(lang, spent, cap)
    if lang is ITALIAN:
        assert not_italian(page.content(), SITE_NAME) == []  # the history, last read
    page.goto(f"{sites.obolo}/reading")
    views = page.locator("section[aria-labelledby=charges-title] tbody tr").all()
    assert [v.locator("td.num").inner_text() for v in views] == [
        lang.money(prices[n]) for n in reversed(BOUGHT)
    ]
    assert all(bought_item(v.inner_text(), n) for v, n in zip(views, reversed(BOUGHT), strict=True))
    if lang is ITALIAN:
        assert not_italian(page.content(), SITE_NAME) == []

    rows = statement(page, sites.obolo, lang)
    top_ups = [r for r in rows if r["Kind"] == lang.say("Top-up")]
    assert [(r["Status"], r["Amount"]) for r in top_ups] == [(lang.say("posted"), lang.number(TOP_UP))]
    read = [r for r in rows if r["Kind"] == lang.say("Reading")]
    assert [(r["Status"], r["Spent"], r["Asset"]) for r in read] == [
        (lang.say("charged"), lang.number(prices[n]), "EUR") for n in BOUGHT
    ]
    assert all(bought_item(r["Description"], n) for r, n in zip(read, BOUGHT, strict=True))
    assert all(r["Description"].startswith(f"{SITE} — ") for r in read)

    with api_for(page, sites.obolo) as api:
        assert api.get("/v1/spending").json() == [
            {
                "asset": "EUR",
                "available": decimal(TOP_UP - cap),
                "held": decimal(cap),
                "held_spent": decimal(spent),
                "spent_today": decimal(spent),
                "spent_this_month": decimal(spent),
                "sites": [{"site": SITE, "today": decimal(spent), "this_month": decimal(spent)}],
            }
        ]
        entries = api.get("/v1/transactions", params={"limit": 200}).json()["data"]
        charged = [e for e in entries if e["status"] == "charged"]
        assert [(e["counterparty"], e["spent"], e["amount"]) for e in charged] == [
            (SITE, decimal(prices[n]), decimal(0)) for n in reversed(BOUGHT)
        ]
        assert all(
            bought_item(f"{e['item']} {e['description']}", n)
            for e, n in zip(charged, reversed(BOUGHT), strict=True)
        )

        assert settle_tab(sites, email) == (TOP_UP - spent, 0)  # the ledger: exactly what was spent
        entries = api.get("/v1/transactions", params={"limit": 200}).json()["data"]
        settled = [(e["amount"], e["spent"]) for e in entries if e["status"] == "settled"]
        assert settled == [(decimal(-spent), decimal(0))]  # posted, not spent a second time
        assert len([e for e in entries if e["status"] == "charged"]) == len(BOUGHT)
        after = api.get("/v1/spending").json()[0]
        assert (after["available"], after["held"], after["held_spent"]) == (
            decimal(TOP_UP - spent),
            decimal(0),
            decimal(0),
        )
        assert (after["spent_today"], after["spent_this_month"]) == (decimal(spent), decimal(spent))

    (settled,) = [row for row in history_rows(page, sites.obolo) if row[0] == "settled"]
    assert settled[2].splitlines()[0] == MINUS + lang.money(spent)  # the posting, as the ledger made it
    page.goto(f"{sites.obolo}/wallet")
    assert page.locator(".balance[data-asset=EUR]").inner_text() == lang.money(TOP_UP - spent)
    assert page.locator("[data-held-spent]").count() == 0  # nothing held any more
    month = page.locator("[data-spent-month]").inner_text()
    assert month == f"{lang.say('Spent this month')}: {lang.money(spent)}"  # not counted twice
    if lang is ITALIAN:
        assert not_italian(page.content(), SITE_NAME) == []
    context.close()


def test_a_refunded_view_lowers_spent_by_its_price_on_every_page(browser, sites):  # noqa: F811
    """The reader takes back one of three views on the reading page: what was spent drops
    by exactly that view's price on the wallet, the reading page, the tab, the history, the
    statement and the API; the balance and the hold do not move (the open tab accrues
    less), and the settlement posts the two views kept."""
    lang = ENGLISH
    page = browser.new_context(accept_downloads=True).new_page()
    email = "refunder@example.com"
    sign_up(page, sites.obolo, email)
    top_up(page, sites.obolo, lang.number(TOP_UP))
    prices, cap = published_prices(page, sites.magazine), daily_cap()
    for n in BOUGHT:
        pay_for(page, sites, n, first=n == BOUGHT[0])
    spent, refunded = sum(prices[n] for n in BOUGHT), BOUGHT[1]
    kept = spent - prices[refunded]
    assert spent_shown(page, sites.obolo, lang) == spent_expected(lang, spent, cap)
    with api_for(page, sites.obolo) as api:
        before = api.get("/v1/spending").json()[0]

        page.goto(f"{sites.obolo}/reading")
        views = page.locator("section[aria-labelledby=charges-title] tbody tr")
        (view,) = [v for v in views.all() if bought_item(v.inner_text(), refunded)]
        view.get_by_role("button", name="Refund").click()
        page.wait_for_url(f"{sites.obolo}/reading?done=refund")
        assert "Refunded. The charge is taken off your tab." in page.locator("main").inner_text()
        (view,) = [v for v in views.all() if bought_item(v.inner_text(), refunded)]
        assert view.locator(".tag").inner_text() == lang.say("refunded")

        assert spent_shown(page, sites.obolo, lang) == spent_expected(lang, kept, cap)
        after = api.get("/v1/spending").json()[0]
        assert {k: after[k] for k in ("held_spent", "spent_today", "spent_this_month")} == dict.fromkeys(
            ("held_spent", "spent_today", "spent_this_month"), decimal(kept)
        )
        assert (after["available"], after["held"]) == (before["available"], before["held"])
        assert after["sites"] == [{"site": SITE, "today": decimal(kept), "this_month": decimal(kept)}]
        entries = api.get("/v1/transactions", params={"limit": 200}).json()["data"]
        refunds = [e for e in entries if e["status"] == "refunded"]
        assert [(e["counterparty"], e["spent"], e["amount"]) for e in refunds] == [
            (SITE, decimal(-prices[refunded]), decimal(0))
        ]
        assert bought_item(f"{refunds[0]['item']} {refunds[0]['description']}", refunded)
        assert sum(units(e["spent"]) for e in entries) == kept

    status, description, amount = bought_rows(history_rows(page, sites.obolo))[0]
    assert (status, amount) == ("refunded", "+" + lang.money(prices[refunded]))
    assert description.startswith(lang.say("Refunded: {site} — {item}", site=SITE, item=""))
    assert bought_item(description, refunded)
    page.goto(f"{sites.obolo}/wallet")
    assert page.locator(".balance[data-asset=EUR]").inner_text() == lang.money(TOP_UP - cap)  # nothing moved
    rows = statement(page, sites.obolo, lang)
    read = [r for r in rows if r["Kind"] == lang.say("Reading")]
    assert sum(lang.units(r["Spent"]) for r in read) == kept
    (back,) = [r for r in read if r["Status"] == lang.say("refunded")]
    assert (back["Spent"], bought_item(back["Description"], refunded)) == (
        lang.number(-prices[refunded]),
        True,
    )

    assert settle_tab(sites, email) == (TOP_UP - kept, 0)  # the ledger posts the views kept
    (settled,) = [row for row in history_rows(page, sites.obolo) if row[0] == "settled"]
    assert settled[1].startswith(f"{SITE} — {len(BOUGHT)} views, 1 refunded")
    assert settled[2].splitlines()[0] == MINUS + lang.money(kept)
    page.context.close()
