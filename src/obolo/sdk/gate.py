"""`obolo-gate` (and `obolo gate`): a reverse proxy that prices any site or API, in any
language, with Obolo's paywall in front of it (as Lightning Labs' Aperture does for L402).

    obolo-gate --upstream http://127.0.0.1:3000 --provider <id> --prices prices.json --port 8080 \\
               --server https://obolo.example --api-key $OBOLO_API_KEY --store gate.db

- Bodies stream both ways (httpx to the upstream, ASGI to the client); headers pass but
  hop-by-hop ones and the payment proofs (the upstream never sees a proof).
- A payment is kept only when the upstream answers 2xx; otherwise the same proof pays
  for the retry.
- A browser (Accept: text/html) gets a page carrying Obolo's widget; any other client the
  three challenge encodings (Obolo's offers, x402's PAYMENT-REQUIRED, IETF `Payment`).
- Read-again receipts last the re-access period the provider set on the platform
  (fetched at start), so they end when the platform's re-access on other devices does.
- The claim sender settles finished channels every minute and all of them on shutdown;
  the store is a SQLite file, so a restarted gate still refuses a replayed payment.

`--prices` is the JSON the platform publishes at /v1/providers/{id}/prices:
{"prices": [{"pattern": "/api/*", "price": "0.001", "asset": "EUR"}], "passes": [...]}.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import os
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from obolo.sdk.paywall import (
    ASGIApp,
    Message,
    PaywallMiddleware,
    Receive,
    Scope,
    Send,
    fetch_reaccess_period,
    price_rules_from,
)

#: Never forwarded: they describe one connection, not the message (RFC 9110 §7.6.1).
HOP_BY_HOP = {b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te",
              b"trailer", b"transfer-encoding", b"upgrade", b"host"}  # fmt: skip
#: Proofs are for the gate: the upstream never sees one.
PROOFS = {b"payment", b"payment-signature"}
RECEIPTS = {b"payment-response", b"payment-receipt"}


class Upstream:
    """The ASGI app that forwards a request to the upstream and streams its answer back."""

    def __init__(self, base: str, client: httpx.AsyncClient | None = None) -> None:
        self.base = base.rstrip("/")
        self.client = client or httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send, on_shutdown=self.client.aclose)
            return
        if scope["type"] != "http":
            return
        query = bytes(scope.get("query_string") or b"").decode("latin-1")
        path = bytes(scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        url = self.base + path + (f"?{query}" if query else "")
        headers = [(k, v) for k, v in scope.get("headers", []) if _forwarded(k, v)]
        client_host = (scope.get("client") or ("", 0))[0]
        headers += [(b"x-forwarded-for", str(client_host).encode()), (b"x-forwarded-proto",
                    str(scope.get("scheme", "http")).encode())]  # fmt: skip
        host = dict(scope.get("headers", [])).get(b"host")
        if host:
            headers.append((b"x-forwarded-host", host))

        async def body() -> AsyncIterator[bytes]:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return
                yield message.get("body", b"")
                if not message.get("more_body", False):
                    return

        request = self.client.build_request(scope["method"], url, headers=headers, content=body())
        try:
            response = await self.client.send(request, stream=True)
        except httpx.HTTPError:
            await _plain(send, 502, b"the upstream did not answer")
            return
        try:
            kept = [(k.lower(), v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP]
            await send({"type": "http.response.start", "status": response.status_code, "headers": kept})
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()


def _forwarded(name: bytes, value: bytes) -> bool:
    name = name.lower()
    if name in HOP_BY_HOP or name in PROOFS:
        return False
    return not (name == b"authorization" and value[:8].lower() == b"payment ")


async def _plain(send: Send, status: int, text: bytes) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(text)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": text})


async def _lifespan(receive: Receive, send: Send, on_shutdown: Callable[[], Any]) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await on_shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return


class GatePaywall(PaywallMiddleware):
    """The paywall with the gate's rule: only a 2xx answer keeps a payment."""

    keep_below = 300


class Gate:
    """The gate's ASGI app: the paywall in front of the upstream; a 3xx carries no receipt
    (nothing was kept)."""

    def __init__(self, paywall: PaywallMiddleware) -> None:
        self.paywall = paywall

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.paywall.app(scope, receive, send)
            return

        async def send_kept(message: Message) -> None:
            if message["type"] == "http.response.start" and not 200 <= message["status"] < 300:
                message = dict(message)
                message["headers"] = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() not in RECEIPTS
                ]
            await send(message)

        await self.paywall(scope, receive, send_kept)


def payment_page(provider_id: str, server: str) -> Callable[[str, list[dict[str, Any]]], str]:
    """What a browser gets with its 402: the price and the widget's pay button."""
    script = f'<script src="{html.escape(server)}/widget.js" defer></script>'

    def page(path: str, offers: list[dict[str, Any]]) -> str:
        channel = next((o for o in offers if o.get("scheme") == "obolo-channel"), None)
        price, asset = (str(channel["price"]), str(channel["asset"])) if channel else ("", "EUR")
        title = str(channel.get("title") or "") if channel else ""
        named = f' data-obolo-title="{html.escape(title)}"' if title else ""
        button = (
            f'<div data-obolo-price="{html.escape(price)}" data-obolo-asset="{html.escape(asset)}" '
            f'data-obolo-provider="{html.escape(provider_id)}" '
            f'data-obolo-resource="{html.escape(path)}"{named}>'
            f"<p>{html.escape(title or path)} costs {html.escape(price)} {html.escape(asset)}.</p>"
            "<noscript>Paying needs JavaScript, or a paying client.</noscript></div>"
        )
        return f"<!doctype html><html><meta charset=utf-8><title>Payment required</title>{script}{button}"

    return page


def public_keys(published: list[dict[str, Any]]) -> dict[str, Ed25519PublicKey]:
    return {
        k["kid"]: Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(k["public_key"] + "=="))
        for k in published
    }


def build_gate(
    *,
    upstream: str | ASGIApp,
    provider_id: str,
    rules: dict[str, Any],
    server: str,
    keys: dict[str, Ed25519PublicKey],
    store: str | Path,
    **options: Any,
) -> Gate:
    """The gate as an ASGI app. `upstream` is a URL (or, in tests, an ASGI app reached
    through httpx's ASGI transport)."""
    prices, passes = price_rules_from(rules)
    if isinstance(upstream, str):
        target = Upstream(upstream)
    else:
        target = Upstream("http://upstream", httpx.AsyncClient(transport=httpx.ASGITransport(app=upstream)))
    paywall = GatePaywall(
        target, provider_id=provider_id, prices=prices, passes=passes, keys=keys, server=server,
        store=store, payment_page=payment_page(provider_id, server.rstrip("/")), **options,
    )  # fmt: skip
    return Gate(paywall)


def main(argv: list[str] | None = None) -> None:
    """`obolo-gate`: serve the gate (needs uvicorn: `pip install 'obolo-sdk[gate]'`)."""
    parser = argparse.ArgumentParser(prog="obolo-gate", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--upstream", required=True, help="the site or API to price, e.g. http://127.0.0.1:3000"
    )
    parser.add_argument("--provider", required=True, help="your provider id on Obolo")
    parser.add_argument("--prices", required=True, help="a JSON file of prices and passes")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--server", default=os.environ.get("OBOLO_SERVER", "http://127.0.0.1:8000"))
    parser.add_argument("--api-key", default=os.environ.get("OBOLO_API_KEY"), help="for claims (provider:*)")
    parser.add_argument("--store", default="gate.db", help="the gate's payment memory (SQLite)")
    args = parser.parse_args(argv)
    serve(args.upstream, args.provider, Path(args.prices), port=args.port, host=args.host,
          server=args.server, api_key=args.api_key, store=args.store)  # fmt: skip


def serve(
    upstream: str,
    provider_id: str,
    prices: Path,
    *,
    port: int,
    host: str,
    server: str,
    api_key: str | None,
    store: str,
) -> None:
    import uvicorn

    from obolo.sdk.claims import ClaimSender

    server = server.rstrip("/")
    keys = public_keys(httpx.get(f"{server}/.well-known/obolo-keys", timeout=10).json()["keys"])
    # The period the provider set on the platform: the gate's read-again receipts end with it.
    period = fetch_reaccess_period(httpx, server, provider_id)
    gate = build_gate(upstream=upstream, provider_id=provider_id, rules=json.loads(prices.read_text()),
                      server=server, keys=keys, store=store, reaccess_seconds=period)  # fmt: skip
    claims = ClaimSender(gate.paywall.book, server, api_key).start() if api_key else None
    # uvicorn re-raises SIGTERM once it has stopped serving: leave through `finally`, so the
    # claim sender settles every channel before the process ends.
    signal.signal(signal.SIGTERM, _leave)
    try:
        uvicorn.run(gate, host=host, port=port, log_level="info")
    finally:
        if claims is not None:
            claims.stop()


def _leave(signum: int, frame: object) -> None:
    raise SystemExit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
