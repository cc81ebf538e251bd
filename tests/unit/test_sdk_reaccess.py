"""The middleware and the platform's re-access receipts, offline: a receipt for nothing
opens exactly the page bought, once, before it expires and within the re-access period;
anything else is refused with its reason and costs nothing."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from obolo.adapters.signing import SigningKeys
from obolo.paywall.purchases import sign_receipt
from obolo.sdk.paywall import CHARGE_SCHEME, PaywallMiddleware, Price, decode_header, encode_header

KEYS = SigningKeys(Ed25519PrivateKey.generate())
NOW = int(time.time())


async def page(request: Any) -> PlainTextResponse:
    return PlainTextResponse("the article")


def site() -> PaywallMiddleware:
    return PaywallMiddleware(
        Starlette(routes=[Route("/a/{n}", page)]),
        provider_id="mag",
        prices=[Price("/a/*", 100_000, daily_cap=500_000)],
        keys=KEYS.public_keys(),
        server="http://obolo",
    )


def receipt(**changes: Any) -> str:
    now = int(time.time())  # at the call: a collection may run long before the test
    fields = {"charge_id": "r1", "provider": "mag", "resource": "/a/1", "amount": 0,
              "reaccess": now + 3600, "reader": "abc", "expires_at": now + 120} | changes  # fmt: skip
    return sign_receipt(KEYS, fields)


def get(app: PaywallMiddleware, path: str, token: str) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://mag"
        ) as client:
            payment = encode_header({"scheme": CHARGE_SCHEME, "receipt": token})
            return await client.get(path, headers={"Payment": payment})

    return asyncio.run(go())


def test_a_re_access_receipt_opens_its_page_once_for_nothing():
    """Accepted offline, answered as paid nothing with a read-again receipt; a replay is refused."""
    app = site()
    opened = get(app, "/a/1", receipt())
    assert opened.text == "the article"
    answer = decode_header(opened.headers["payment-response"])
    assert (answer["paid"], answer["reaccess"]) == ("0.000000", True)
    assert answer["receipt"]
    assert answer["receipt_key"]
    again = get(app, "/a/1", receipt())
    assert (again.status_code, again.json()["refused"]) == (402, "replayed")


@pytest.mark.parametrize(
    ("changes", "path", "reason"),
    [
        ({}, "/a/2", "wrong_price"),  # another page
        ({"provider": "other"}, "/a/1", "wrong_provider"),
        ({"expires_at": NOW - 1}, "/a/1", "expired"),  # the receipt is stale
        ({"reaccess": NOW - 1}, "/a/1", "expired"),  # the purchase's period is over
        ({"reaccess": "forever"}, "/a/1", "expired"),
        ({"amount": 100_000}, "/a/1", "expired"),  # a re-access receipt pays nothing, or is none
    ],
)
def test_a_re_access_receipt_for_anything_else_is_refused(changes, path, reason):
    """Another page, provider, a stale receipt or an ended period: 402 with the reason."""
    refused = get(site(), path, receipt(**changes))
    assert (refused.status_code, refused.json()["refused"]) == (402, reason)


def test_a_re_access_receipt_signed_by_another_key_is_refused():
    """Only the platform's keys sign purchases."""
    now = int(time.time())
    fields = {"charge_id": "r1", "provider": "mag", "resource": "/a/1", "amount": 0,
              "reaccess": now + 3600, "expires_at": now + 120}  # fmt: skip
    forged = sign_receipt(SigningKeys(Ed25519PrivateKey.generate()), fields)
    assert get(site(), "/a/1", forged).json()["refused"] == "unknown_key"
