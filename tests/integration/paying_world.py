"""A platform in process with a reader, a provider and its API key, and a magazine behind
PaywallMiddleware: the world the third-party paying clients and the gate are tested in."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from x402 import x402Client

from obolo.bootstrap import build
from obolo.entrypoints.api.app import create_app
from obolo.ledger.check import check_ledger
from obolo.sdk.client import PayingClient
from obolo.sdk.paywall import PaywallMiddleware, Price, send_claims
from obolo.sdk.x402_scheme import OboloScheme
from obolo.settings import FeeRule, Settings
from tests.integration.api_world import cheap_hashing, person

SERVER = "http://testserver"
PRICE = 100_000  # 0.10 EUR
FEE_BP = 500  # the platform keeps 5% of what channels pay
SPEND = {"allowed_assets": [{"network": "obolo:eur", "asset": "EUR", "max_amount_per_payment": "200000"}]}


class World:
    def __init__(self, api: TestClient, platform: Any, clock: Any, tmp_path: Any) -> None:
        self.api = api
        self.platform = platform
        self.site_clock = lambda: clock() / 1e9
        self.reader = person(api, "reader@example.com", top_up="5.00")
        self.publisher = person(api, "publisher@example.com", "provider")
        created = api.post(
            "/v1/providers",
            json={"name": "Magazine", "origin": "https://mag.example"},
            headers=self.publisher,
        )
        self.provider_id = created.json()["id"]
        key = {"name": "site", "scopes": ["provider:*"]}
        self.api_key = api.post("/v1/api-keys", json=key, headers=self.publisher).json()["secret"]

        async def article(request: Any) -> PlainTextResponse:
            return PlainTextResponse(f"article {request.path_params['n']}")

        async def broken(request: Any) -> PlainTextResponse:
            return PlainTextResponse("the site failed", status_code=500)

        self.site = PaywallMiddleware(
            Starlette(routes=[Route("/articles/{n}", article), Route("/broken/{n}", broken),
                              Route("/daily/{n}", article)]),
            provider_id=self.provider_id,
            prices=[
                Price("/articles/*", PRICE),
                Price("/broken/*", PRICE),
                Price("/daily/*", PRICE, daily_cap=PRICE),
            ],
            keys=platform.keys.public_keys(), server=SERVER, store=tmp_path / "site.db",
            clock=self.site_clock,
        )  # fmt: skip

    def paying(self, **options: Any) -> PayingClient:
        token = self.reader["Authorization"].split(" ", 1)[1]
        return PayingClient(
            SERVER, token, budget=1_000_000, chain_length=10, http=self.api, clock=self.site_clock, **options
        )

    def available(self, headers: dict[str, str]) -> int:
        wallet = self.api.get("/v1/wallets", headers=headers).json()[0]
        return int(wallet["available"].replace(".", ""))

    def settle(self) -> list[dict[str, Any]]:
        return send_claims(self.site.book, self.api, SERVER, self.api_key, close_all=True)


@pytest.fixture
def world(db_url, clock, tmp_path):
    settings = Settings(fees={**Settings().fees, "paywall": FeeRule(FEE_BP, 0)})
    platform = build(settings, url=db_url, clock=clock, migrate=True)
    cheap_hashing(platform)
    with TestClient(create_app(platform), base_url=SERVER) as api:
        yield World(api, platform, clock, tmp_path)
    assert check_ledger(platform.engine) == []
    platform.close()


def x402_client(world: World) -> x402Client:
    client = x402Client()
    client.register("obolo:*", OboloScheme(world.paying()))
    client.set_spend_controls(SPEND)  # type: ignore[arg-type]
    return client


def site_get(world: World, path: str, transport: httpx.AsyncBaseTransport | None = None, **kw: Any):
    async def call() -> httpx.Response:
        inner = transport or httpx.ASGITransport(app=world.site)
        async with httpx.AsyncClient(transport=inner, base_url="https://mag.example") as http:
            return await http.get(path, **kw)

    return asyncio.run(call())
