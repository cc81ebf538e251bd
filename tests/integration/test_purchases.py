"""Purchases belong to the account: two paying clients of one person read the same page
and it is paid once; the platform's re-access receipt opens it offline; what was
refunded, or another person's, or forged, opens nothing and is charged again."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from obolo.adapters.db.schema import purchases
from obolo.sdk.client import PayingClient
from obolo.sdk.paywall import CHARGE_SCHEME, decode_header, encode_header
from obolo.sdk.payword import unb64
from tests.integration.api_world import person
from tests.integration.paying_world import PRICE, SERVER, World, site_get, world

__all__ = ["world"]  # a fixture: imported here for pytest to find


def router(world: World) -> TestClient:
    """One HTTP client reaching both the platform and the Magazine (by Host), as a
    reader's client on the internet does."""
    platform_app = world.api.app

    async def by_host(scope: Any, receive: Any, send: Any) -> None:
        host = dict(scope.get("headers", [])).get(b"host", b"").decode()
        app = world.site if host.startswith("mag.example") else platform_app
        await app(scope, receive, send)

    return TestClient(by_host, base_url=SERVER)


def client_of(world: World, http: TestClient, headers: dict[str, str] | None = None) -> PayingClient:
    token = (headers or world.reader)["Authorization"].split(" ", 1)[1]
    return PayingClient(SERVER, token, budget=1_000_000, chain_length=10, http=http, clock=world.site_clock)


def issue_receipt_key(world: World) -> None:
    issued = world.api.post(f"/v1/providers/{world.provider_id}/receipt-key", headers=world.publisher)
    assert issued.status_code == 201, issued.text
    world.site.receipt_key = unb64(issued.json()["receipt_key"])


def recorded(world: World) -> int:
    with world.platform.engine.connect() as connection:
        return len(connection.execute(purchases.select()).all())


def test_two_clients_of_one_account_pay_for_a_page_once(world):
    """The laptop pays for /articles/1; the phone (a second client, same account) opens it
    with the platform's re-access receipt: no channel, nothing reserved, one charge."""
    issue_receipt_key(world)
    http = router(world)
    laptop, phone = client_of(world, http), client_of(world, http)
    assert laptop.get("https://mag.example/articles/1").text == "article 1"
    assert laptop.spent == PRICE
    assert recorded(world) == 1
    opened = phone.get("https://mag.example/articles/1")
    assert opened.status_code == 200
    assert opened.text == "article 1"
    assert decode_header(opened.headers["Payment-Response"])["reaccess"] is True
    assert (phone.spent, phone.reserved) == (0, 0)
    assert phone.get("https://mag.example/articles/1").text == "article 1"  # its own read-again receipt now
    assert phone.get("https://mag.example/articles/2").text == "article 2"  # another page is paid
    assert phone.spent == PRICE
    results = world.settle()
    assert sorted(r["paid"] for r in results) == ["0.100000", "0.100000"]  # two pages, each paid once
    assert world.available(world.reader) == 5_000_000 - 2 * PRICE


def test_a_refunded_view_is_no_longer_a_purchase(world):
    """Taking a view back takes back the purchase: the other client pays for it again."""
    issue_receipt_key(world)
    http = router(world)
    laptop, phone = client_of(world, http), client_of(world, http)
    paid = laptop.get("https://mag.example/articles/3")
    laptop.refund(paid)
    assert phone.get("https://mag.example/articles/3").text == "article 3"
    assert phone.spent == PRICE


def test_another_persons_purchase_opens_nothing_for_them(world):
    """What the reader bought is theirs: another account asking gets 404 not_purchased and pays."""
    issue_receipt_key(world)
    http = router(world)
    client_of(world, http).get("https://mag.example/articles/4")
    other = person(world.api, "other@example.com", top_up="1.00")
    query = {"provider_id": world.provider_id, "resource": "/articles/4"}
    asked = world.api.get("/v1/purchases", params=query, headers=other)
    assert (asked.status_code, asked.json()["code"]) == (404, "not_purchased"), asked.text
    mine = world.api.get("/v1/purchases", params=query, headers=world.reader)
    assert mine.status_code == 200
    assert mine.json()["until"] - mine.json()["bought_at"] == 24 * 3600
    theirs = client_of(world, http, other)
    assert theirs.get("https://mag.example/articles/4").text == "article 4"
    assert theirs.spent == PRICE


def test_a_re_access_receipt_opens_its_page_once_and_no_other(world):
    """The platform's receipt is good once, for the page it names, at this provider only."""
    issue_receipt_key(world)
    client_of(world, router(world)).get("https://mag.example/articles/5")
    query = {"provider_id": world.provider_id, "resource": "/articles/5"}
    receipt = world.api.get("/v1/purchases", params=query, headers=world.reader).json()["receipt"]
    header = {"Payment": encode_header({"scheme": CHARGE_SCHEME, "receipt": receipt})}
    assert site_get(world, "/articles/6", headers=header).status_code == 402
    assert site_get(world, "/articles/5", headers=header).text == "article 5"
    replayed = site_get(world, "/articles/5", headers=header)
    assert (replayed.status_code, replayed.json()["refused"]) == (402, "replayed")


def test_forged_or_foreign_view_receipts_record_nothing(world):
    """A view receipt not MACed by the provider, or for another person's channel, is
    refused with its code and records no purchase."""
    issue_receipt_key(world)
    http = router(world)
    laptop = client_of(world, http)
    response = laptop.get("https://mag.example/articles/7")
    view = decode_header(response.headers["Payment-Response"])["view"]
    before = recorded(world)
    forged = world.api.post("/v1/purchases", json={"view": view[:-4] + "AAAA"}, headers=world.reader)
    assert (forged.status_code, forged.json()["code"]) == (422, "invalid_view_receipt")
    other = person(world.api, "other@example.com")
    foreign = world.api.post("/v1/purchases", json={"view": view}, headers=other)
    assert (foreign.status_code, foreign.json()["code"]) == (404, "channel_not_found")
    again = world.api.post("/v1/purchases", json={"view": view}, headers=world.reader)
    assert again.status_code == 201
    assert again.json()["resource"] == "/articles/7"
    assert recorded(world) == before  # the same view again changes nothing


def test_a_channel_paid_view_is_remembered_with_the_providers_title(world):
    """The site names its pages (`title_of`): the view receipt carries the title and the
    purchase the client records keeps it; a title the rule refuses is left out, the
    purchase still kept."""
    from sqlalchemy import select

    issue_receipt_key(world)
    world.site.title_of = lambda path: "Article one" if path == "/articles/1" else "x" * 500
    http = router(world)
    laptop = client_of(world, http)
    assert laptop.get("https://mag.example/articles/1").status_code == 200
    assert laptop.get("https://mag.example/articles/2").status_code == 200
    with world.platform.engine.connect() as connection:
        kept = connection.execute(
            select(purchases.c.resource, purchases.c.title).order_by(purchases.c.resource)
        ).all()
    assert kept == [("/articles/1", "Article one"), ("/articles/2", None)]
