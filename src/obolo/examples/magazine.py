"""The Magazine: a small real site that sells articles at 0.10 EUR a page (or a pass of
10 articles for 0.50 EUR, and never more than 0.50 EUR a day) through the Obolo paywall.

`obolo demo magazine --port 8001 --server http://127.0.0.1:8000` registers its provider
account on the server if missing and serves it.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route

from obolo.sdk.passes import PassOffer
from obolo.sdk.paywall import PaywallMiddleware, Price

ARTICLE_PRICE = 100_000  # 0.10 EUR
ARTICLES = {
    1: ("Why micropayments failed", "Every payment cost more to process than it was worth..."),
    2: ("Hash chains for beginners", "Take a random number and hash it a thousand times..."),
    3: ("A tenth of a cent", "What can you buy for a thousandth of a euro? One API call..."),
}


async def index(request: Request) -> HTMLResponse:
    links = "".join(
        f'<li><a href="/articles/{n}" data-obolo-price="0.10 EUR">{html.escape(title)}</a></li>'
        for n, (title, _) in ARTICLES.items()
    )
    return HTMLResponse(f"<!doctype html><title>The Magazine</title><h1>The Magazine</h1><ul>{links}</ul>")


async def article(request: Request) -> HTMLResponse:
    number = int(request.path_params["n"])
    title, body = ARTICLES.get(number, (f"Article {number}", "..."))
    return HTMLResponse(
        f"<!doctype html><title>{html.escape(title)}</title><h1>{html.escape(title)}</h1><p>{body}</p>"
    )


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def site() -> Starlette:
    return Starlette(
        routes=[
            Route("/", index),
            Route("/healthz", health),
            Route("/articles/{n:int}", article),
            Route("/free/{n:int}", article),  # the same page, unpriced: a baseline
        ]
    )


def public_keys(published: list[dict[str, Any]]) -> dict[str, Ed25519PublicKey]:
    return {
        k["kid"]: Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(k["public_key"] + "=="))
        for k in published
    }


def magazine(
    provider_id: str, keys: dict[str, Ed25519PublicKey], server: str, store: str | Path
) -> PaywallMiddleware:
    return PaywallMiddleware(
        site(),
        provider_id=provider_id,
        prices=[Price("/articles/*", ARTICLE_PRICE, "EUR", daily_cap=500_000)],
        passes=[PassOffer("10 articles", "/articles/*", 500_000, "EUR", visits=10)],
        keys=keys,
        server=server,
        store=store,
    )
