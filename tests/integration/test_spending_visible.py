"""Spending a reader can read: every view charged on a tab shows in the history the moment
it is charged (site, what was bought, exact amount, time), the balance breaks down into
available, held and already spent, the settlement does not count the views twice, and a
refund lowers what was spent by exactly its price — over the HTTP API and the pages, on
SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import dataclasses
import io
import re

import pytest
from fastapi.testclient import TestClient

from obolo.bootstrap import build
from obolo.entrypoints.api.app import create_app
from obolo.paywall.tabs import TAB_PERIOD_SECONDS
from obolo.settings import Settings
from tests.integration.api_world import PASSWORD, bearer, cheap_hashing, person
from tests.web_support import Browser

ARTICLES = ["/articles/1", "/articles/2", "/articles/3"]
MINUS = "\N{MINUS SIGN}"  # how the history page writes a debit


@pytest.fixture
def world(db_url, clock):
    # Refunds allowed for two days, so a view can be taken back after its tab settled.
    settings = dataclasses.replace(Settings(), refund_window_seconds=2 * 86_400)
    platform = build(settings, url=db_url, clock=clock, migrate=True)
    cheap_hashing(platform)
    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        reader = person(client, "reader@example.com", "consumer", top_up="5.00")
        owner = person(client, "mag@example.com", "provider")
        created = client.post(
            "/v1/providers", json={"name": "The Magazine", "origin": "https://mag.example"}, headers=owner
        )
        assert created.status_code == 201, created.text
        provider_id = created.json()["id"]
        consent = {"asset": "EUR", "per_item": "0.10", "per_day": "1.00"}
        assert client.put(f"/v1/consents/{provider_id}", json=consent, headers=reader).status_code == 204
        yield client, platform, reader, provider_id
    platform.close()


def _charge(client, reader, provider_id, resource, n):
    body = {"provider_id": provider_id, "resource": resource, "asset": "EUR", "amount": "0.10",
            "charge_id": f"view-{n}"}  # fmt: skip
    response = client.post("/v1/charges", json=body, headers=reader)
    assert response.status_code == 201, response.text


def _purchases(client, reader):
    page = client.get("/v1/transactions?limit=200", headers=reader)
    assert page.status_code == 200, page.text
    return [e for e in page.json()["data"] if e["status"] in ("charged", "refunded")], page.json()["data"]


def _spending(client, reader):
    answer = client.get("/v1/spending", headers=reader)
    assert answer.status_code == 200, answer.text
    (eur,) = answer.json()
    return eur


def test_views_show_when_charged_settle_once_and_a_refund_lowers_spent(world, clock):
    """3 views: 3 entries with site, page and price, and a breakdown of 4.00 free, 1.00
    held of which 0.30 spent; after the settlement the same 3 views, one posting of 0.30
    that is not a new spend, totals equal to the ledger; a refund takes 0.10 off spent."""
    client, platform, reader, provider_id = world
    for n, resource in enumerate(ARTICLES):
        clock.advance(1)
        _charge(client, reader, provider_id, resource, n)

    views, _ = _purchases(client, reader)
    assert [(v["item"], v["counterparty"], v["spent"], v["amount"], v["kind"]) for v in views] == [
        (r, "The Magazine", "0.100000", "0.000000", "paywall") for r in reversed(ARTICLES)
    ]
    assert [v["description"] for v in views] == [f"The Magazine — {r}" for r in reversed(ARTICLES)]
    times = [v["created_at"] for v in views]
    assert times == sorted(times, reverse=True)
    assert len(set(times)) == 3
    assert _spending(client, reader) == {
        "asset": "EUR", "available": "4.000000", "held": "1.000000", "held_spent": "0.300000",
        "spent_today": "0.300000", "spent_this_month": "0.300000",
        "sites": [{"site": "The Magazine", "today": "0.300000", "this_month": "0.300000"}],
    }  # fmt: skip

    clock.advance(TAB_PERIOD_SECONDS + 1)
    assert platform.tabs.settle_due_tabs() == 1
    signed_in = client.post("/v1/sessions", json={"email": "reader@example.com", "password": PASSWORD})
    reader = bearer(signed_in.json()["token"])  # a day later: a new session
    views_after, everything = _purchases(client, reader)
    assert [v["id"] for v in views_after] == [v["id"] for v in views]
    settled = [e for e in everything if e["status"] == "settled"]
    assert [(s["amount"], s["spent"]) for s in settled] == [("-0.300000", "0.000000")]
    me = client.get("/v1/me", headers=reader).json()["id"]
    (balance,) = platform.wallets.balances(me)
    assert (balance.available, balance.reserved) == (5_000_000 - 300_000, 0)  # the ledger
    after = _spending(client, reader)
    assert (after["available"], after["held"], after["held_spent"]) == ("4.700000", "0.000000", "0.000000")
    assert after["spent_this_month"] == "0.300000"  # the settlement added nothing
    assert sum(int(v["spent"].replace(".", "")) for v in views_after) == 300_000

    refunded = client.post(
        "/v1/refunds", json={"provider_id": provider_id, "charge_id": "view-1"}, headers=reader
    )
    assert refunded.status_code == 201, refunded.text
    views_refunded, _ = _purchases(client, reader)
    assert (views_refunded[0]["status"], views_refunded[0]["spent"], views_refunded[0]["item"]) == (
        "refunded", "-0.100000", "/articles/2",
    )  # fmt: skip
    assert len(views_refunded) == 4
    assert _spending(client, reader)["spent_this_month"] == "0.200000"


def test_a_refund_on_an_open_tab_lowers_held_spent_and_today(world, clock):
    """Refunded before the tab settles: what the hold has used, what was spent today and
    the reading page's "spent in the last 24 h" go down by exactly the view's price;
    nothing else moves."""
    client, platform, reader, provider_id = world
    for n, resource in enumerate(ARTICLES):
        _charge(client, reader, provider_id, resource, n)
    browser = Browser(platform)
    browser.sign_in("reader@example.com")
    assert "€0.30 / €1.00" in browser.get("/reading").text  # spent in the last 24 h / the cap
    before = _spending(client, reader)
    refunded = client.post(
        "/v1/refunds", json={"provider_id": provider_id, "charge_id": "view-0"}, headers=reader
    )
    assert refunded.status_code == 201, refunded.text
    after = _spending(client, reader)
    assert (before["held_spent"], after["held_spent"]) == ("0.300000", "0.200000")
    assert (before["spent_today"], after["spent_today"]) == ("0.300000", "0.200000")
    assert (after["available"], after["held"]) == (before["available"], before["held"])
    assert "€0.20 / €1.00" in browser.get("/reading").text


def test_spending_needs_a_signed_in_caller(world):
    """No token, no breakdown."""
    client = world[0]
    assert client.get("/v1/spending").status_code == 401


def test_pages_show_the_views_and_the_breakdown(world, clock):
    """The wallet page shows held and already spent; the history page lists each view with
    its site, page and price; in Italian, with Italian amounts."""
    client, platform, reader, provider_id = world
    for n, resource in enumerate(ARTICLES):
        _charge(client, reader, provider_id, resource, n)
    browser = Browser(platform)
    browser.sign_in("reader@example.com")
    wallet = browser.get("/wallet")
    assert wallet.status_code == 200
    assert "€1.00 held, of which €0.30 already spent" in wallet.text
    assert re.findall(r'data-asset="EUR">([^<]+)<', wallet.text) == ["€4.00"]
    history = browser.get("/wallet/history")
    assert history.text.count("The Magazine — /articles/") == 3
    assert history.text.count(f'data-spent="100000">{MINUS}€0.10') == 3
    italian = browser.get("/wallet", headers={"accept-language": "it"})
    assert "1,00\xa0€ trattenuti, di cui 0,30\xa0€ già spesi" in italian.text
    italian_history = browser.get("/wallet/history", headers={"accept-language": "it"})
    assert italian_history.text.count(f"{MINUS}0,10\xa0€") == 3
    statement = browser.get("/wallet/statement.csv?asset=EUR", headers={"accept-language": "it"})
    rows = list(csv.DictReader(io.StringIO(statement.text), delimiter=";"))
    assert [(r["Tipo"], r["Stato"], r["Descrizione"], r["Speso"]) for r in rows[1:]] == [
        ("Lettura", "addebitato", f"The Magazine — {r}", "0,10") for r in ARTICLES
    ]


def test_the_api_statement_lists_each_view_beside_the_posted_changes(world):
    """GET /v1/statements.csv: the top-up posted, then each view charged with its page and price."""
    client, _, reader, provider_id = world
    for n, resource in enumerate(ARTICLES):
        _charge(client, reader, provider_id, resource, n)
    statement = client.get("/v1/statements.csv?asset=EUR", headers=reader)
    assert statement.status_code == 200, statement.text
    rows = list(csv.DictReader(io.StringIO(statement.text)))
    assert [(r["kind"], r["status"], r["item"], r["amount"], r["spent"]) for r in rows] == [
        ("topup", "posted", "", "5.000000", "0.000000"),
        *[("paywall", "charged", r, "0.000000", "0.100000") for r in ARTICLES],
    ]


def test_history_descriptions_are_written_in_the_page_language(world):
    """The top-up, the tab's hold and each view read in Italian on an Italian page, in
    English on an English one; the API keeps English beside the message to translate."""
    client, platform, reader, provider_id = world
    _charge(client, reader, provider_id, ARTICLES[0], 0)
    browser = Browser(platform)
    browser.sign_in("reader@example.com")
    english = browser.get("/wallet/history").text
    assert "Top-up by Visa 4242" in english
    assert "Reserved for The Magazine" in english
    italian = browser.get("/wallet/history", headers={"accept-language": "it"}).text
    assert "Ricarica con Visa 4242" in italian
    assert "Riservato per The Magazine" in italian
    assert "Top-up by" not in italian
    assert "Reserved for" not in italian
    data = client.get("/v1/transactions", headers=reader).json()["data"]
    top_up = next(e for e in data if e["kind"] == "topup")
    assert (top_up["description"], top_up["message"], top_up["values"]) == (
        "Top-up by Visa 4242", "Top-up by {brand} {last4}", {"brand": "Visa", "last4": "4242"},
    )  # fmt: skip
