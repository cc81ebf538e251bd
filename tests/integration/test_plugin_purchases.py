"""Purchases belong to the account, whichever client pays: a page bought on one device through
x402's client (Obolo's scheme plugin) or pympp (Obolo's method) opens on another device of the
same account, through either, with the platform's re-access receipt: nothing is paid, reserved
or moved. A refunded view is paid again; a re-access receipt replayed opens nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from mpp import Receipt
from mpp.client.transport import PaymentTransport
from sqlalchemy import func, select
from x402 import x402Client
from x402.http.clients import x402_httpx_transport
from x402.http.utils import decode_payment_required_header, decode_payment_response_header

from obolo.adapters.db.schema import channels, charges, movements, transfers
from obolo.sdk.client import PayingClient
from obolo.sdk.mpp_method import OboloMethod
from obolo.sdk.paywall import CHARGE_SCHEME, encode_header
from obolo.sdk.x402_scheme import OboloScheme
from tests.integration.paying_world import PRICE, SPEND, World, world
from tests.integration.test_gate import gate_for
from tests.integration.test_purchases import issue_receipt_key, recorded

__all__ = ["world"]  # a fixture: imported here for pytest to find


class Recording(httpx.AsyncBaseTransport):
    """The site's transport, keeping every request sent to it (to replay one)."""

    def __init__(self, site: object) -> None:
        self.inner = httpx.ASGITransport(app=site)  # type: ignore[arg-type]
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return await self.inner.handle_async_request(request)


Device = tuple[PayingClient, httpx.AsyncBaseTransport, Recording]


def x402_device(world: World, app: object = None) -> Device:
    """A fresh client of the reader's account (no wallet file shared): x402's own client,
    reaching the Magazine (or `app`)."""
    paying = world.paying()
    client = x402Client()
    client.register("obolo:*", OboloScheme(paying))
    client.set_spend_controls(SPEND)  # type: ignore[arg-type]
    site = Recording(app or world.site)
    return paying, x402_httpx_transport(client, site), site


def mpp_device(world: World, app: object = None) -> Device:
    """A fresh client of the reader's account: pympp's transport, Obolo's method watching it."""
    paying = world.paying()
    method = OboloMethod(paying)
    site = Recording(app or world.site)
    transport = PaymentTransport(methods=[method.client_method()], inner=site)
    method.watch(transport)
    return paying, transport, site


DEVICES: dict[str, Callable[[World, object], Device]] = {"x402": x402_device, "pympp": mpp_device}


def get(
    transport: httpx.AsyncBaseTransport, path: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="https://mag.example") as http:
            return await http.get(path, headers=headers)

    return asyncio.run(call())


def books(world: World) -> tuple[int, list[int]]:
    """The reader's available balance, and how many transfers, movements, charges and
    channels the platform holds: what any payment would change."""
    with world.platform.engine.connect() as connection:
        counts = [
            connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (transfers, movements, charges, channels)
        ]
    return world.available(world.reader), counts


def paid_view(response: httpx.Response) -> dict[str, object]:
    """The Obolo receipt inside the plugin's answer (x402's PAYMENT-RESPONSE extra, or the
    Payment-Receipt's)."""
    if "payment-receipt" in response.headers:
        return dict(Receipt.from_payment_receipt(response.headers["payment-receipt"]).extra or {})
    return dict(decode_payment_response_header(response.headers["PAYMENT-RESPONSE"]).extra or {})


@pytest.mark.parametrize("first", ["x402", "pympp"])
@pytest.mark.parametrize("second", ["x402", "pympp"])
def test_a_page_bought_on_one_device_opens_on_another_without_a_second_charge(world, first, second):
    """Device A pays /articles/1 through one plugin (the purchase is recorded with its view
    receipt); device B, a fresh client of the same account, opens it through the other (or the
    same) plugin: 200 with the page, device B spends and reserves nothing, and no balance,
    transfer, movement, charge or channel changes. The provider is paid for one view."""
    issue_receipt_key(world)
    laptop, laptop_transport, _ = DEVICES[first](world, None)
    bought = get(laptop_transport, "/articles/1")
    assert (bought.status_code, bought.text, laptop.spent) == (200, "article 1", PRICE)
    assert recorded(world) == 1
    before = books(world)

    phone, phone_transport, _ = DEVICES[second](world, None)
    opened = get(phone_transport, "/articles/1")
    assert (opened.status_code, opened.text) == (200, "article 1")
    assert paid_view(opened)["reaccess"] is True
    assert (phone.spent, phone.reserved) == (0, 0)
    assert books(world) == before
    if second == "x402":
        assert decode_payment_response_header(opened.headers["PAYMENT-RESPONSE"]).amount == "0"

    assert [r["paid"] for r in world.settle()] == ["0.100000"]
    assert world.available(world.reader) == 5_000_000 - PRICE


@pytest.mark.parametrize("second", ["x402", "pympp"])
def test_a_refunded_view_is_paid_again_on_the_other_device(world, second):
    """The laptop pays through x402 and takes the view back with its view receipt: the phone
    finds no purchase and pays for the page."""
    issue_receipt_key(world)
    _, laptop_transport, _ = x402_device(world)
    receipt = paid_view(get(laptop_transport, "/articles/3"))
    refunded = world.api.post(
        f"/v1/channels/{receipt['channel']}/refunds", json={"view": receipt["view"]}, headers=world.reader
    )
    assert refunded.status_code == 201, refunded.text
    phone, phone_transport, _ = DEVICES[second](world, None)
    again = get(phone_transport, "/articles/3")
    assert (again.status_code, again.text) == (200, "article 3")
    assert "reaccess" not in paid_view(again)
    assert phone.spent == PRICE


@pytest.mark.parametrize(("second", "header"), [("x402", "payment-signature"), ("pympp", "authorization")])
def test_a_replayed_re_access_receipt_is_refused_and_nothing_moves(world, second, header):
    """The phone's request carrying the re-access receipt (x402's PAYMENT-SIGNATURE, or the
    `Authorization: Payment` credential), sent again: 402 `replayed`, nothing paid or moved."""
    issue_receipt_key(world)
    _, laptop_transport, _ = x402_device(world)
    assert get(laptop_transport, "/articles/5").status_code == 200
    phone, phone_transport, site = DEVICES[second](world, None)
    assert get(phone_transport, "/articles/5").status_code == 200
    before = books(world)

    credential = next(r.headers[header] for r in site.sent if header in r.headers)
    replayed = get(httpx.ASGITransport(app=world.site), "/articles/5", headers={header: credential})
    assert (replayed.status_code, replayed.json()["refused"]) == (402, "replayed")
    if second == "x402":
        assert decode_payment_required_header(replayed.headers["PAYMENT-REQUIRED"]).error == "replayed"
    assert books(world) == before
    assert phone.spent == 0
    assert [r["paid"] for r in world.settle()] == ["0.100000"]


@pytest.mark.parametrize("second", ["x402", "pympp"])
def test_a_re_access_receipt_the_site_refuses_is_paid_for_instead(world, second):
    """When the site will not take the re-access receipt (here: one already used), the plugin
    pays for the page in the same request (x402's recovery retry, pympp's next attempt)."""
    issue_receipt_key(world)
    _, laptop_transport, _ = x402_device(world)
    assert get(laptop_transport, "/articles/6").status_code == 200
    phone, phone_transport, _ = DEVICES[second](world, None)
    used = phone.reaccess(world.provider_id, "/articles/6")
    assert used is not None
    spend = {"Payment": encode_header({"scheme": CHARGE_SCHEME, "receipt": used})}
    assert get(httpx.ASGITransport(app=world.site), "/articles/6", headers=spend).status_code == 200
    phone.reaccess = lambda provider, resource: used  # type: ignore[method-assign]

    paid = get(phone_transport, "/articles/6")
    assert (paid.status_code, paid.text) == (200, "article 6")
    assert phone.spent == PRICE


def test_the_sync_x402_client_over_real_http_reopens_what_another_device_bought(world):
    """x402ClientSync over x402's requests adapter and a real HTTP server: the laptop pays,
    the phone (a fresh client, same account) opens the page with nothing paid or moved."""
    import requests
    from x402 import x402ClientSync
    from x402.http.clients import wrapRequestsWithPayment

    from tests.serving import served

    issue_receipt_key(world)

    def device() -> tuple[PayingClient, requests.Session]:
        paying = world.paying()
        client = x402ClientSync()
        client.register("obolo:*", OboloScheme(paying))
        client.set_spend_controls(SPEND)  # type: ignore[arg-type]
        return paying, wrapRequestsWithPayment(requests.Session(), client)

    with served(world.site) as base:
        laptop, laptop_session = device()
        with laptop_session:
            assert laptop_session.get(f"{base}/articles/1", timeout=10).status_code == 200
        assert laptop.spent == PRICE
        before = books(world)
        phone, phone_session = device()
        with phone_session:
            opened = phone_session.get(f"{base}/articles/1", timeout=10)
        assert (opened.status_code, opened.text) == (200, "article 1")
        settled = decode_payment_response_header(opened.headers["PAYMENT-RESPONSE"])
        assert (settled.success, settled.amount, settled.transaction.startswith("charge:")) == (
            True,
            "0",
            True,
        )
        assert (phone.spent, phone.reserved) == (0, 0)
        assert books(world) == before


@pytest.mark.parametrize("second", ["x402", "pympp"])
def test_behind_obolo_gate_the_other_device_reopens_the_page_for_nothing(world, second, tmp_path):
    """The same behind `obolo gate` (its own paywall, the provider's receipt key): the laptop
    pays through x402, the phone opens the page through x402 or pympp with nothing moved, and
    the upstream never sees a proof."""
    issue_receipt_key(world)
    gate = gate_for(world, tmp_path / "gate.db", receipt_key=world.site.receipt_key)
    laptop, laptop_transport, _ = x402_device(world, gate)
    assert get(laptop_transport, "/api/echo").status_code == 200
    assert (laptop.spent, recorded(world)) == (PRICE, 1)
    before = books(world)
    phone, phone_transport, _ = DEVICES[second](world, gate)
    opened = get(phone_transport, "/api/echo")
    assert opened.status_code == 200
    assert opened.json()["signature"] is None
    assert paid_view(opened)["reaccess"] is True
    assert (phone.spent, phone.reserved) == (0, 0)
    assert books(world) == before
