"""A view paid through a PayWord channel shows in the reader's history when it happens
(the reader's client reports it with the provider's view receipt), not when the channel
settles: with the site, the page's title and the channel's price, in the API, on the
history page (English and Italian) and in SMS HIST; the spending breakdown counts it at
once and, when the channel settles, counts what the settlement took instead, never
twice; a refund shows and lowers what was spent; views never reported count at the
settlement, as before; a channel nobody claimed in time costs nothing. Through
`PayingClient` against the in-process Magazine, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from x402 import x402Client
from x402.http.clients import x402_httpx_transport

from obolo.entrypoints.api.app import create_app
from obolo.ledger.check import check_ledger
from obolo.paywall.facilitator import Facilitator
from obolo.paywall.model import GRACE_SECONDS
from obolo.sdk.client import PayingClient
from obolo.sdk.x402_scheme import OboloScheme
from obolo.settings import FeeRule, Settings
from tests.integration.api_world import person
from tests.integration.paying_world import FEE_BP, PRICE, SERVER, World
from tests.integration.sms_helpers import ALICE, Phone, sms_platform
from tests.integration.test_purchases import issue_receipt_key, router
from tests.integration.test_x402_facilitator import SPEND, get_all, obolo, resource_server
from tests.web_support import Browser

START = 5_000_000  # the reader's top-up, 5.00 EUR
TITLES = {"/articles/1": "Article one", "/articles/2": "Article two", "/articles/3": "Article three"}
MINUS = "\N{MINUS SIGN}"

__all__ = ["obolo"]  # a fixture: imported here for pytest to find


@pytest.fixture
def world(db_url, clock, tmp_path):
    settings = Settings(fees={**Settings().fees, "paywall": FeeRule(FEE_BP, 0)})
    platform, _ = sms_platform(db_url, clock, settings)
    with TestClient(create_app(platform), base_url=SERVER) as api:
        made = World(api, platform, clock, tmp_path)
        made.site.title_of = TITLES.get
        yield made
    assert check_ledger(platform.engine) == []
    platform.close()


def paying(world: World, *, reports: bool = True) -> PayingClient:
    token = world.reader["Authorization"].split(" ", 1)[1]
    return PayingClient(
        SERVER, token, budget=1_000_000, chain_length=10, http=router(world), clock=world.site_clock,
        purchases=reports,
    )  # fmt: skip


def read(client: PayingClient, clock: Any) -> list[Any]:
    paid = []
    for path in TITLES:
        clock.advance(1)
        response = client.get(f"https://mag.example{path}")
        assert response.status_code == 200, response.text
        paid.append(response)
    return paid


def activity(world: World) -> list[dict[str, Any]]:
    page = world.api.get("/v1/transactions?limit=200", headers=world.reader)
    assert page.status_code == 200, page.text
    return page.json()["data"]


def bought(world: World) -> list[dict[str, Any]]:
    return [e for e in activity(world) if e["status"] in ("charged", "refunded")]


def spending(world: World) -> dict[str, Any]:
    answer = world.api.get("/v1/spending", headers=world.reader)
    assert answer.status_code == 200, answer.text
    (eur,) = answer.json()
    return eur


def units(text: str) -> int:
    return int(text.replace(".", ""))


def test_channel_views_show_when_paid_a_refund_lowers_them_and_the_settlement_counts_once(world, clock):
    """3 views: 3 charged purchases with title and price before any claim, 0.30 spent
    today at the Magazine, of the 1.00 held 0.30 spent. A refund: shown, spent 0.20. The
    provider claims and the channel settles: still 0.20, the wallet moved by exactly
    that, the same 4 entries and none twice."""
    issue_receipt_key(world)
    client = paying(world)
    _, refunded, _ = read(client, clock)

    views = bought(world)
    shown = [(v["status"], v["item"], v["counterparty"], v["spent"], v["amount"], v["kind"]) for v in views]
    assert shown == [
        ("charged", title, "Magazine", "0.100000", "0.000000", "paywall")
        for title in reversed(TITLES.values())
    ]
    assert [v["description"] for v in views] == [f"Magazine — {t}" for t in reversed(TITLES.values())]
    assert len({v["created_at"] for v in views}) == 3
    assert [e["status"] for e in activity(world) if e["kind"] == "paywall" and e["spent"] == "0.000000"] == [
        "reserved"
    ]  # the channel's hold, and nothing settled yet
    before = spending(world)
    assert before == {
        "asset": "EUR", "available": "4.000000", "held": "1.000000", "held_spent": "0.300000",
        "spent_today": "0.300000", "spent_this_month": "0.300000",
        "sites": [{"site": "Magazine", "today": "0.300000", "this_month": "0.300000"}],
    }  # fmt: skip

    clock.advance(1)
    client.refund(refunded)
    views = bought(world)
    assert (views[0]["status"], views[0]["item"], views[0]["spent"], views[0]["direction"]) == (
        "refunded", "Article two", "-0.100000", "in",
    )  # fmt: skip
    assert len(views) == 4
    after_refund = spending(world)
    assert (after_refund["spent_today"], after_refund["held_spent"]) == ("0.200000", "0.200000")
    assert after_refund["sites"] == [{"site": "Magazine", "today": "0.200000", "this_month": "0.200000"}]

    clock.advance(1)
    (result,) = world.settle()
    assert (result["status"], result["paid"]) == ("settled", "0.200000")
    settled = spending(world)
    assert (settled["available"], settled["held"], settled["held_spent"]) == (
        "4.800000",
        "0.000000",
        "0.000000",
    )
    assert (settled["spent_today"], settled["spent_this_month"]) == ("0.200000", "0.200000")
    assert world.available(world.reader) == START - 2 * PRICE  # the ledger agrees
    everything = activity(world)
    assert [e["id"] for e in bought(world)] == [v["id"] for v in views]  # the same 4 entries
    assert not [key for key, n in Counter(e["id"] for e in everything).items() if n > 1]
    assert sum(units(e["spent"]) for e in everything) == 2 * PRICE
    (settlement,) = [e for e in everything if e["status"] == "settled"]
    assert (settlement["amount"], settlement["spent"]) == ("-0.200000", "0.000000")


def test_a_view_refunded_after_its_channel_settled_comes_off_spent_once(world, clock):
    """Refunded after the settlement: a credit note, nothing moves yet, but the view shows
    refunded and spent drops to 0.20 at once. The next channel's settlement nets the note
    (it pays 0.10 less); its own view still counts, so spent equals what the ledger moved
    in all: 0.30."""
    issue_receipt_key(world)
    client = paying(world)
    _, refunded, _ = read(client, clock)
    clock.advance(1)
    (first,) = world.settle()
    assert first["paid"] == "0.300000"
    clock.advance(1)
    answer = client.refund(refunded)
    assert answer["netted"] == "credit_note", answer
    assert [v["status"] for v in bought(world)] == ["refunded", "charged", "charged", "charged"]
    assert spending(world)["spent_today"] == "0.200000"
    assert world.available(world.reader) == START - 3 * PRICE  # the note is owed, not paid back yet
    clock.advance(1)
    assert client.get("https://mag.example/articles/9").status_code == 200
    assert spending(world)["spent_today"] == "0.300000"
    clock.advance(1)
    (second,) = world.settle()
    assert second["paid"] == "0.000000"  # the view, less the note
    after = spending(world)
    assert (after["spent_today"], after["held"], after["held_spent"]) == ("0.300000", "0.000000", "0.000000")
    assert world.available(world.reader) == START - 3 * PRICE
    assert sum(units(e["spent"]) for e in activity(world)) == 3 * PRICE


def test_views_never_reported_count_only_when_the_channel_settles(world, clock):
    """A client that keeps its purchases to itself: no purchase in the history and nothing
    spent while the channel is open (only the hold); at settlement, what it paid."""
    issue_receipt_key(world)
    read(paying(world, reports=False), clock)
    assert bought(world) == []
    before = spending(world)
    assert (before["held"], before["held_spent"], before["spent_today"]) == (
        "1.000000",
        "0.000000",
        "0.000000",
    )
    clock.advance(1)
    (result,) = world.settle()
    assert result["paid"] == "0.300000"
    after = spending(world)
    assert (after["spent_today"], after["held_spent"], after["held"]) == ("0.300000", "0.000000", "0.000000")
    assert after["sites"] == [{"site": "Magazine", "today": "0.300000", "this_month": "0.300000"}]
    assert world.available(world.reader) == START - 3 * PRICE
    assert bought(world) == []


def test_a_channel_nobody_claimed_in_time_costs_nothing(world, clock):
    """Reported views of a channel whose hold expired unclaimed: the money came back, so
    they no longer show as charged nor count as spent, and a late claim pays nothing."""
    issue_receipt_key(world)
    read(paying(world), clock)
    assert spending(world)["spent_today"] == "0.300000"
    clock.advance(3600 + GRACE_SECONDS + 1)  # the client's channel lives an hour
    assert bought(world) == []
    lapsed = spending(world)
    assert (lapsed["spent_today"], lapsed["held_spent"], lapsed["sites"]) == ("0.000000", "0.000000", [])
    (result,) = world.settle()
    assert result["status"] == "expired"
    assert world.available(world.reader) == START


def test_the_history_page_shows_a_channel_view_with_its_title_and_price(world, clock):
    """The history page lists each channel view by its title with its price, in English
    and, with Italian amounts, in Italian; the refunded one as refunded; the wallet's
    spending chart counts them."""
    issue_receipt_key(world)
    client = paying(world)
    _, second, _ = read(client, clock)
    clock.advance(1)
    client.refund(second)
    browser = Browser(world.platform)
    browser.sign_in("reader@example.com")
    english = browser.get("/wallet/history").text
    assert english.count('data-spent="100000">' + MINUS + "€0.10") == 3
    for title in TITLES.values():
        assert f"Magazine — {title}" in english
    assert "Refunded: Magazine — Article two" in english
    italian = browser.get("/wallet/history", headers={"accept-language": "it"}).text
    assert italian.count(f"{MINUS}0,10\xa0€") == 3
    assert "Rimborsato: Magazine — Article two" in italian
    assert "Magazine — Article three" in italian
    # The wallet page's 30-day chart counts the views too, net of the refund, before any settlement.
    assert "Magazine: €0.20</li>" in browser.get("/wallet").text


def test_sms_hist_lists_channel_views_with_title_and_amount(world, clock):
    """HIST, before the channel settles: the newest views, each with the site, the title
    and its price; STORICO the same in Italian."""
    issue_receipt_key(world)
    reader_id = world.api.get("/v1/me", headers=world.reader).json()["id"]
    phone = Phone(world.platform, ALICE)
    code, _ = world.platform.sms.link_code(reader_id)
    assert phone.say(f"JOIN {code}").code == "ok"
    read(paying(world), clock)
    english = phone.say("HIST").text
    newest, older, _ = english.removeprefix("Last: ").split("; ")
    assert newest.endswith("-€0.10 Magazine: Article three"), english
    assert older.endswith("-€0.10 Magazine: Article two"), english
    phone.say("LINGUA it")
    italian = phone.say("STORICO").text
    assert italian.removeprefix("Ultimi: ").split("; ")[0].endswith("-0,10 € Magazine: Article three"), (
        italian
    )


def test_payments_the_x402_facilitator_settled_count_before_the_bulk_claim(obolo):
    """Two reports paid through x402's own middleware with Obolo as its facilitator: the
    reader's breakdown counts 0.20 spent (and held) at once, not a cent more if the client
    also reported them; the bulk claim then changes nothing but the ledger, by 0.20."""
    platform, base = obolo
    with httpx.Client(base_url=base, timeout=10) as api:
        reader = person(api, "reader@example.com", top_up="5.00")
        publisher = person(api, "publisher@example.com", "provider")
        site = {"name": "Reports", "origin": "https://reports.example"}
        provider_id = api.post("/v1/providers", json=site, headers=publisher).json()["id"]
        app = resource_server(base, provider_id)
        paying_client = PayingClient(base, reader["Authorization"].split(" ", 1)[1], budget=1_000_000,
                                     chain_length=10)  # fmt: skip
        client = x402Client()
        client.register("obolo:*", OboloScheme(paying_client))
        client.set_spend_controls(SPEND)  # type: ignore[arg-type]
        transport = x402_httpx_transport(client, httpx.ASGITransport(app=app))
        assert [p.status_code for p in get_all(app, ["/reports/1", "/reports/2"], transport)] == [200, 200]

        def breakdown() -> dict[str, Any]:
            (eur,) = api.get("/v1/spending", headers=reader).json()
            return eur

        before = breakdown()
        assert (before["held"], before["held_spent"], before["spent_today"]) == (
            "1.000000",
            "0.200000",
            "0.200000",
        )
        facilitator = Facilitator(platform.engine, platform.clock, platform.keys, platform.paywall)
        assert facilitator.claim_due(close_all=True) == 1
        after = breakdown()
        assert (after["held"], after["held_spent"], after["spent_today"]) == (
            "0.000000",
            "0.000000",
            "0.200000",
        )
        assert after["sites"] == [{"site": "Reports", "today": "0.200000", "this_month": "0.200000"}]
        assert after["available"] == "4.800000"
