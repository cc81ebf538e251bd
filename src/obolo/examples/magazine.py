"""The Magazine: a small real site that sells articles at 0.10 EUR a page (or a pass of
10 articles for 0.50 EUR, and never more than 0.50 EUR a day) through the Obolo paywall.

`obolo demo magazine --port 8001 --server http://127.0.0.1:8000` registers its provider
account on the server if missing and serves it.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route

from obolo.money import Asset, format_units
from obolo.sdk.passes import PassOffer
from obolo.sdk.paywall import PaywallMiddleware, Price

ARTICLE_PRICE = 100_000  # 0.10 EUR
DAILY_CAP = 500_000  # 0.50 EUR: never more a day than a subscription would cost
EUR_ASSET = Asset("EUR", 6)
# A news magazine's article reopens for a day on all the reader's devices: set on the
# platform (PUT /v1/providers/{id}/reaccess-period) and given to the middleware below, so
# the platform's re-access and the site's own read-again receipts end together.
REACCESS_SECONDS = 24 * 3600
# What the Magazine publishes on the platform, so the wallet's popup charges this price
# and knows this cap (the same numbers the middleware below enforces).
PRICE_RULES = {
    "prices": [{"pattern": "/articles/*", "price": "0.10", "asset": "EUR", "daily_cap": "0.50"}],
    "passes": [
        {"name": "10 articles", "pattern": "/articles/*", "price": "0.50", "asset": "EUR", "visits": 10}
    ],
}
ARTICLES = {
    1: ("Why micropayments failed", "Every payment cost more to process than it was worth..."),
    2: ("Hash chains for beginners", "Take a random number and hash it a thousand times..."),
    3: ("A tenth of a cent", "What can you buy for a thousandth of a euro? One API call..."),
}


# The page's frame, fit for a phone (390 px wide) as for a desktop: providers copy this.
HEAD = (
    "<!doctype html><html lang=en><meta charset=utf-8>"
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<style>"
    "body{font:17px/1.55 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:42rem;"
    "padding:1rem 1.1rem 3rem;color:#1b1b1b;background:#fff;overflow-wrap:break-word}"
    "h1{font-size:clamp(1.5rem,6vw,2.2rem);line-height:1.2;margin:.6em 0}"
    "ul{padding-left:1.2rem}li{margin:.6rem 0}a{color:#0b57b5}"
    "div.priced{border:1px solid #cfd6df;border-radius:10px;padding:1rem;margin:1rem 0;background:#f7f9fb}"
    "div.priced button{display:block;width:100%;min-height:48px;margin:.6rem 0 0;padding:.7rem 1rem;"
    "font:inherit;font-weight:600;border-radius:8px;border:1px solid #0b57b5;cursor:pointer}"
    "button.obolo-pay{background:#0b57b5;color:#fff}button.obolo-pass{background:#fff;color:#0b57b5}"
    "@media (prefers-color-scheme: dark){body{background:#121417;color:#e8e8e8}a{color:#8ab4f8}"
    "div.priced{background:#1c2026;border-color:#3a414b}button.obolo-pass{background:#1c2026;color:#8ab4f8}}"
    "</style>"
)


def widget_tags(server: str) -> str:
    """The one script tag a provider adds: the Obolo widget, served by the platform."""
    return f'<script src="{html.escape(server.rstrip("/"))}/widget.js" defer></script>' if server else ""


def price_text(units: int) -> str:
    """0.100000 → "0.10": what a reader reads (exact: only zeros past the cents go)."""
    whole, _, cents = format_units(units, EUR_ASSET).partition(".")
    return f"{whole}.{cents.rstrip('0').ljust(2, '0')}"


def priced(
    provider_id: str,
    path: str,
    units: int,
    inner: str,
    tag: str = "div",
    *,
    title: str = "",
    pass_label: str = "",
) -> str:
    """Priced content marked for the widget (in the spirit of the W3C per-fee-link markup):
    `title` names it in the wallet's popup, `pass_label` adds a button offering passes."""
    price = price_text(units)
    extra = f' href="{html.escape(path)}"' if tag == "a" else ""
    if title:
        extra += f' data-obolo-title="{html.escape(title)}"'
    if pass_label:
        extra += f' data-obolo-pass="{html.escape(pass_label)}"'
    return (
        f'<{tag}{extra} class="priced" data-obolo-price="{price}" data-obolo-asset="EUR" '
        f'data-obolo-provider="{html.escape(provider_id)}" data-obolo-resource="{html.escape(path)}">'
        f"{inner}</{tag}>"
    )


def article_title(path: str) -> str | None:
    """What the Magazine calls the article at `path`: the reader's wallet history shows it."""
    number = path.rsplit("/", 1)[-1]
    if not path.startswith("/articles/") or not number.isdigit():
        return None
    return ARTICLES.get(int(number), (f"Article {number}", ""))[0]


def index_page(provider_id: str, server: str) -> str:
    links = "".join(
        f"<li>{priced(provider_id, f'/articles/{n}', ARTICLE_PRICE, html.escape(name), 'a', title=name)}</li>"
        for n, (name, _) in ARTICLES.items()
    )
    return f"{HEAD}<title>The Magazine</title>{widget_tags(server)}<h1>The Magazine</h1><ul>{links}</ul>"


def payment_page(provider_id: str, server: str) -> Callable[[str, list[dict[str, Any]]], str]:
    """The 402 a browser sees: the article's title, its price and the widget's pay button."""

    def page(path: str, offers: list[dict[str, Any]]) -> str:
        title = article_title(path) or path
        passes = [o for o in offers if o.get("scheme") == "obolo-pass"]
        on_sale = "".join(
            f"<p>Or a pass: {html.escape(str(o['name']))} for {html.escape(price_text(int(o['amount'])))} EUR"
            + (
                f", {o['visits']} articles within 30 days.</p>"
                if o.get("visits")
                else f", {o['hours']} hours.</p>"
            )
            for o in passes
        )
        button = priced(
            provider_id,
            path,
            ARTICLE_PRICE,
            f"<p>This article costs {price_text(ARTICLE_PRICE)} EUR, "
            f"never more than {price_text(DAILY_CAP)} EUR a day.</p>{on_sale}"
            "<noscript><p>Paying needs JavaScript, or a paying client.</p></noscript>",
            title=title,
            pass_label="Buy a pass" if passes else "",
        )
        name = html.escape(title)
        back = '<p><a href="/">All articles</a></p>'
        return f"{HEAD}<title>{name} · The Magazine</title>{widget_tags(server)}<h1>{name}</h1>{button}{back}"

    return page


async def article(request: Request) -> HTMLResponse:
    number = int(request.path_params["n"])
    title, body = ARTICLES.get(number, (f"Article {number}", "..."))
    name = html.escape(title)
    return HTMLResponse(
        f'{HEAD}<title>{name}</title><h1>{name}</h1><p>{body}</p><p><a href="/">All articles</a></p>'
    )


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def site(provider_id: str = "", server: str = "") -> Starlette:
    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(index_page(provider_id, server))

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
        site(provider_id, server),
        provider_id=provider_id,
        prices=[Price("/articles/*", ARTICLE_PRICE, "EUR", daily_cap=DAILY_CAP)],
        passes=[PassOffer("10 articles", "/articles/*", 500_000, "EUR", visits=10)],
        keys=keys,
        server=server,
        store=store,
        payment_page=payment_page(provider_id, server),
        title_of=article_title,
        reaccess_seconds=REACCESS_SECONDS,
    )
