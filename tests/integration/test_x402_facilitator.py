"""Obolo as an x402 facilitator: a resource server that runs x402's own FastAPI middleware,
pointed at `{obolo}/x402`, accepts the payment x402's client makes with Obolo's plugin;
verify spends nothing, settle spends once, the channel settles later in bulk."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from x402 import x402Client, x402ResourceServer
from x402.http import FacilitatorConfig, HTTPFacilitatorClient
from x402.http.clients import x402_httpx_transport
from x402.http.middleware.fastapi import PaymentMiddlewareASGI
from x402.http.utils import (
    decode_payment_required_header,
    decode_payment_response_header,
    encode_payment_signature_header,
)

from obolo.bootstrap import build
from obolo.entrypoints.api.app import create_app
from obolo.entrypoints.workers import platform_jobs
from obolo.ledger.check import check_ledger
from obolo.paywall.facilitator import Facilitator
from obolo.sdk.client import PayingClient
from obolo.sdk.x402_scheme import OboloScheme, OboloServerScheme
from obolo.settings import FeeRule, Settings
from tests.e2e.test_server import free_port
from tests.integration.api_world import cheap_hashing, person

PRICE = 100_000
FEE_BP = 500
SPEND = {"allowed_assets": [{"network": "obolo:eur", "asset": "EUR", "max_amount_per_payment": "200000"}]}


@pytest.fixture
def obolo(db_url, clock):
    """The platform served over loopback (x402's facilitator client speaks real HTTP)."""
    settings = Settings(fees={**Settings().fees, "paywall": FeeRule(FEE_BP, 0)})
    platform = build(settings, url=db_url, clock=clock, migrate=True)
    cheap_hashing(platform)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(platform), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(f"{base}/livez", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    yield platform, base
    server.should_exit = True
    thread.join(timeout=10)
    assert check_ledger(platform.engine) == []
    platform.close()


def resource_server(base: str, provider_id: str) -> FastAPI:
    """A site that knows nothing of Obolo but x402's middleware and Obolo's server scheme."""
    server = x402ResourceServer(HTTPFacilitatorClient(FacilitatorConfig(url=f"{base}/x402")))
    server.register("obolo:eur", OboloServerScheme(base))
    option = {"scheme": "batch-settlement", "payTo": provider_id, "price": "0.10", "network": "obolo:eur"}
    app = FastAPI()

    @app.get("/reports/{n}")
    def report(n: int) -> PlainTextResponse:
        return PlainTextResponse(f"report {n}")

    app.add_middleware(PaymentMiddlewareASGI, routes={"GET /reports/*": {"accepts": option}}, server=server)
    return app


def get(app: FastAPI, path: str, transport: Any = None, **kw: Any) -> httpx.Response:
    return get_all(app, [path], transport, **kw)[0]


def get_all(app: FastAPI, paths: list[str], transport: Any = None, **kw: Any) -> list[httpx.Response]:
    """One event loop for all (x402's facilitator client keeps its connections on the loop)."""

    async def call() -> list[httpx.Response]:
        inner = transport or httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=inner, base_url="https://reports.example") as http:
            return [await http.get(path, **kw) for path in paths]

    return asyncio.run(call())


def test_x402s_own_middleware_with_obolo_as_facilitator_accepts_the_payment(obolo):
    """x402's FastAPI middleware asks Obolo to verify and settle: two reports 200 with a successful
    PAYMENT-RESPONSE on obolo:eur; the bulk claim pays the provider 2 x price less the fee."""
    platform, base = obolo
    with httpx.Client(base_url=base, timeout=10) as api:
        reader = person(api, "reader@example.com", top_up="5.00")
        publisher = person(api, "publisher@example.com", "provider")
        site = {"name": "Reports", "origin": "https://reports.example"}
        provider_id = api.post("/v1/providers", json=site, headers=publisher).json()["id"]
        assert api.get("/x402/supported").json()["kinds"][0] == {
            "x402Version": 2, "scheme": "batch-settlement", "network": "obolo:eur",
        }  # fmt: skip
        app = resource_server(base, provider_id)
        paying = PayingClient(
            base, reader["Authorization"].split(" ", 1)[1], budget=1_000_000, chain_length=10
        )
        client = x402Client()
        client.register("obolo:*", OboloScheme(paying))
        client.set_spend_controls(SPEND)  # type: ignore[arg-type]
        transport = x402_httpx_transport(client, httpx.ASGITransport(app=app))
        pages = get_all(app, ["/reports/1", "/reports/2"], transport)
        assert [p.status_code for p in pages] == [200, 200]
        for page in pages:
            settled = decode_payment_response_header(page.headers["PAYMENT-RESPONSE"])
            assert (settled.success, settled.network) == (True, "obolo:eur")
        wallet = api.get("/v1/wallets", headers=publisher).json()
        assert wallet == [] or wallet[0]["available"] == "0.000000"  # nothing moved per request
        facilitator = Facilitator(platform.engine, platform.clock, platform.keys, platform.paywall)
        assert "x402_claims" in {job.name for job in platform_jobs(platform, api)}
        assert facilitator.claim_due() == 0  # neither used up nor near expiry: left to run
        assert facilitator.claim_due(close_all=True) == 1
        assert api.get("/v1/wallets", headers=publisher).json()[0]["available"] == "0.190000"


def test_verify_spends_nothing_and_settle_spends_once(obolo):
    """Verify twice: valid both times; settle: success; settle the same proof again: the same
    success (a retried settle); verify after: refused as replayed; a later payment still settles."""
    platform, base = obolo
    with httpx.Client(base_url=base, timeout=10) as api:
        reader = person(api, "reader@example.com", top_up="5.00")
        publisher = person(api, "publisher@example.com", "provider")
        site = {"name": "Reports", "origin": "https://reports.example"}
        provider_id = api.post("/v1/providers", json=site, headers=publisher).json()["id"]
        app = resource_server(base, provider_id)
        unpaid = get(app, "/reports/1")
        required = decode_payment_required_header(unpaid.headers["PAYMENT-REQUIRED"])
        assert required.accepts[0].network == "obolo:eur"
        paying = PayingClient(
            base, reader["Authorization"].split(" ", 1)[1], budget=1_000_000, chain_length=10
        )
        client = x402Client()
        client.register("obolo:*", OboloScheme(paying))
        client.set_spend_controls(SPEND)  # type: ignore[arg-type]

        async def payload() -> Any:
            return await client.create_payment_payload(required)

        paid = asyncio.run(payload())
        terms = required.accepts[0].model_dump(by_alias=True, exclude_none=True)
        body = {"x402Version": 2, "paymentPayload": paid.model_dump(by_alias=True, exclude_none=True),
                "paymentRequirements": terms}  # fmt: skip
        assert [api.post("/x402/verify", json=body).json()["isValid"] for _ in range(2)] == [True, True]
        first = api.post("/x402/settle", json=body).json()
        assert first["success"] is True
        assert api.post("/x402/settle", json=body).json() == first
        again = api.post("/x402/verify", json=body).json()
        assert (again["isValid"], again["invalidReason"]) == (False, "replayed")
        # The proof is refused on the resource server too (x402's middleware asks verify first).
        replay = get(app, "/reports/1", headers={"PAYMENT-SIGNATURE": encode_payment_signature_header(paid)})
        assert replay.status_code == 402
        assert "replayed" in str(decode_payment_required_header(replay.headers["PAYMENT-REQUIRED"]).error)
        stranger = dict(body, paymentRequirements={**body["paymentRequirements"], "amount": "1"})
        refused = api.post("/x402/settle", json=stranger).json()
        assert (refused["success"], refused["errorReason"]) == (False, "requirements_mismatch")
        assert (
            Facilitator(platform.engine, platform.clock, platform.keys, platform.paywall).claim_due(
                close_all=True
            )
            == 1
        )
        assert api.get("/v1/wallets", headers=publisher).json()[0]["available"] == "0.095000"
