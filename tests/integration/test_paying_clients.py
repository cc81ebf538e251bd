"""Third-party clients pay an Obolo-priced page, unmodified: x402's Python client with
Obolo's scheme plugin, and pympp (the IETF `Payment` scheme's client) with Obolo's
method; both through the same offline verifier, both settled as claims."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from mpp import Challenge, Receipt
from mpp.client.transport import PaymentTransport
from mpp.runtime import CredentialParams
from x402 import x402Client
from x402.http.clients import x402_httpx_transport
from x402.http.utils import (
    decode_payment_required_header,
    decode_payment_response_header,
    encode_payment_signature_header,
)

from obolo.sdk.mpp_method import OboloMethod, obolo_method
from obolo.sdk.paywall import decode_header
from obolo.sdk.x402_scheme import OboloScheme
from tests.integration.paying_world import FEE_BP, PRICE, SPEND, site_get, world, x402_client

__all__ = ["world"]  # a fixture: imported here for pytest to find


def test_an_x402_client_with_the_plugin_pays_twice_and_the_provider_gets_twice_the_price_less_the_fee(world):
    """x402's own client, Obolo's plugin registered on obolo:*: two pages 200, each with a
    PAYMENT-RESPONSE x402 decodes as a success on obolo:eur; the claims pay 2 x price less 5%."""
    reader_before = world.available(world.reader)
    transport = x402_httpx_transport(x402_client(world), httpx.ASGITransport(app=world.site))
    pages = [site_get(world, f"/articles/{n}", transport) for n in (1, 2)]
    assert [page.status_code for page in pages] == [200, 200]
    for page in pages:
        settled = decode_payment_response_header(page.headers["PAYMENT-RESPONSE"])
        assert (settled.success, settled.network, settled.amount) == (True, "obolo:eur", str(PRICE))
    assert [r["status"] for r in world.settle()] == ["settled"]
    assert world.available(world.publisher) == 2 * PRICE - 2 * PRICE * FEE_BP // 10_000
    assert world.available(world.reader) == reader_before - 2 * PRICE


def test_the_402_is_read_by_x402s_own_decoder_and_still_carries_oboloss_offers(world):
    """PAYMENT-REQUIRED is x402 v2 (standard base64, accepts with batch-settlement on obolo:eur),
    and Obolo's own clients find their offers in the same header."""
    unpaid = site_get(world, "/articles/1")
    assert unpaid.status_code == 402
    required = decode_payment_required_header(unpaid.headers["PAYMENT-REQUIRED"])
    channel = required.accepts[0]
    assert (required.x402_version, channel.scheme, channel.network, channel.asset, channel.amount) == (
        2, "batch-settlement", "obolo:eur", "EUR", str(PRICE),
    )  # fmt: skip
    assert channel.pay_to == world.provider_id
    assert {a.extra["commitment"] for a in required.accepts} == {"obolo-channel", "obolo-charge"}
    assert decode_header(unpaid.headers["Payment-Required"])["offers"][0]["scheme"] == "obolo-channel"


def test_a_replayed_payment_signature_is_refused_with_its_reason_and_paid_once(world):
    """The same PAYMENT-SIGNATURE twice: 200, then 402 with error `replayed` in PAYMENT-REQUIRED
    and a failed PAYMENT-RESPONSE naming it; the provider is paid for one view only."""
    client = x402_client(world)
    required = decode_payment_required_header(site_get(world, "/articles/1").headers["PAYMENT-REQUIRED"])

    async def payload() -> Any:
        return await client.create_payment_payload(required)

    header = encode_payment_signature_header(asyncio.run(payload()))
    first = site_get(world, "/articles/1", headers={"PAYMENT-SIGNATURE": header})
    again = site_get(world, "/articles/1", headers={"PAYMENT-SIGNATURE": header})
    assert first.status_code == 200
    assert again.status_code == 402
    assert decode_payment_required_header(again.headers["PAYMENT-REQUIRED"]).error == "replayed"
    failed = decode_payment_response_header(again.headers["PAYMENT-RESPONSE"])
    assert (failed.success, failed.error_reason) == (False, "replayed")
    assert again.json()["refused"] == "replayed"
    assert [r["status"] for r in world.settle()] == ["settled"]
    assert world.available(world.publisher) == PRICE - PRICE * FEE_BP // 10_000


def test_pympp_parses_the_challenge_and_pays_with_the_obolo_method(world):
    """pympp's parser reads each WWW-Authenticate challenge (method obolo, intent charge, the price
    in its request); its transport with Obolo's method gets 200 and a Payment-Receipt naming obolo."""
    unpaid = site_get(world, "/articles/1")
    parsed = [Challenge.from_www_authenticate(h) for h in unpaid.headers.get_list("www-authenticate")]
    assert {(c.method, c.intent, c.realm) for c in parsed} == {("obolo", "charge", world.provider_id)}
    assert parsed[0].request["amount"] == str(PRICE)
    assert parsed[0].expires
    method = obolo_method(world.paying())  # its http is the API's test client: not closed here
    transport = PaymentTransport(methods=[method], inner=httpx.ASGITransport(app=world.site))
    pages = [site_get(world, f"/articles/{n}", transport) for n in (1, 2)]
    assert [page.status_code for page in pages] == [200, 200]
    receipt = Receipt.from_payment_receipt(pages[0].headers["Payment-Receipt"])
    assert (receipt.status, receipt.method) == ("success", "obolo")
    assert [r["status"] for r in world.settle()] == ["settled"]
    assert world.available(world.publisher) == 2 * PRICE - 2 * PRICE * FEE_BP // 10_000


def test_a_payment_credential_for_one_page_does_not_open_another(world):
    """The challenge id binds resource and price: a credential made for /articles/1 is refused on
    /articles/2 as challenge_invalid, and nothing is paid for it."""
    unpaid = site_get(world, "/articles/1")
    challenge = Challenge.from_www_authenticate(unpaid.headers.get_list("www-authenticate")[0])
    method = obolo_method(world.paying())

    async def credential() -> str:
        return await method.create_credential(CredentialParams(challenge=challenge))

    header = asyncio.run(credential())
    elsewhere = site_get(world, "/articles/2", headers={"Authorization": header})
    assert (elsewhere.status_code, elsewhere.json()["refused"]) == (402, "challenge_invalid")
    assert world.settle() == []
    assert world.available(world.publisher) == 0


def test_pympp_watched_gives_back_the_proof_of_a_page_the_site_failed(world):
    """Through a watched transport, a paid request answered 500 gives its proof back: the next
    page pays with it, and the provider is paid for one page, not two."""
    method = OboloMethod(world.paying())
    transport = PaymentTransport(methods=[method.client_method()], inner=httpx.ASGITransport(app=world.site))
    method.watch(transport)

    async def both() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=transport, base_url="https://mag.example") as http:
            return [await http.get("/broken/1"), await http.get("/articles/1")]

    failed, page = asyncio.run(both())
    assert (failed.status_code, page.status_code) == (500, 200)
    assert [r["status"] for r in world.settle()] == ["settled"]
    assert world.available(world.publisher) == PRICE - PRICE * FEE_BP // 10_000


def test_the_x402_plugin_gives_back_the_proof_of_a_page_the_site_failed(world):
    """x402's transport: a 500 after payment carries no PAYMENT-RESPONSE, so the plugin keeps the
    proof unspent; the next page pays with it and the provider is paid for one page."""
    transport = x402_httpx_transport(x402_client(world), httpx.ASGITransport(app=world.site))

    async def both() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=transport, base_url="https://mag.example") as http:
            return [await http.get("/broken/1"), await http.get("/articles/1")]

    failed, page = asyncio.run(both())
    assert (failed.status_code, page.status_code) == (500, 200)
    assert [r["status"] for r in world.settle()] == ["settled"]
    assert world.available(world.publisher) == PRICE - PRICE * FEE_BP // 10_000


def views(transport: httpx.AsyncBaseTransport, paths: list[str]) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=transport, base_url="https://mag.example") as http:
            return [await http.get(path) for path in paths]

    return asyncio.run(run())


def test_past_the_daily_cap_neither_plugin_spends_a_payment(world):
    """Past a daily cap views are free: the x402 plugin spends one payment for the first view
    and none for the two capped after it; the watched pympp method (the same reader, the cap
    already reached) spends none for three."""
    x402_paying = world.paying()
    client = x402Client()
    client.register("obolo:*", OboloScheme(x402_paying))
    client.set_spend_controls(SPEND)  # type: ignore[arg-type]
    transport = x402_httpx_transport(client, httpx.ASGITransport(app=world.site))
    assert [p.status_code for p in views(transport, ["/daily/1", "/daily/2", "/daily/3"])] == [200] * 3
    assert x402_paying.spent == PRICE

    mpp_paying = world.paying()
    method = OboloMethod(mpp_paying)
    watched = PaymentTransport(methods=[method.client_method()], inner=httpx.ASGITransport(app=world.site))
    method.watch(watched)
    assert [p.status_code for p in views(watched, ["/daily/4", "/daily/5", "/daily/6"])] == [200] * 3
    assert mpp_paying.spent == 0


def test_the_sync_x402_client_pays_over_requests(world):
    """x402ClientSync with the plugin, over x402's requests adapter and real HTTP: two pages 200,
    one payment each (the second on the same channel)."""
    import requests
    from x402 import x402ClientSync
    from x402.http.clients import wrapRequestsWithPayment

    from tests.serving import served

    with served(world.site) as base:
        paying = world.paying()
        client = x402ClientSync()
        client.register("obolo:*", OboloScheme(paying))
        client.set_spend_controls(SPEND)  # type: ignore[arg-type]
        with wrapRequestsWithPayment(requests.Session(), client) as session:
            pages = [session.get(f"{base}/articles/{n}", timeout=10) for n in (1, 2)]
        assert [p.status_code for p in pages] == [200, 200]
        assert decode_payment_response_header(pages[1].headers["PAYMENT-RESPONSE"]).transaction.endswith(":2")
        assert paying.spent == 2 * PRICE
