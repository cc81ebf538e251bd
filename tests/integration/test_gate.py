"""`obolo gate` in front of a plain upstream that knows nothing of Obolo: it prices it,
streams bodies both ways, passes headers, charges only on 2xx, answers browsers with the
widget and clients with all three challenges, and refuses a replay after a restart."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from x402.http.clients import x402_httpx_transport
from x402.http.utils import decode_payment_required_header, decode_payment_response_header

from obolo.sdk.gate import Gate, build_gate
from obolo.sdk.paywall import CHARGE_SCHEME, encode_header, send_claims
from tests.integration.paying_world import FEE_BP, PRICE, SERVER, World, world, x402_client

__all__ = ["world"]  # a fixture: imported here for pytest to find

RULES = {"prices": [{"pattern": "/api/*", "price": "0.10", "asset": "EUR"}]}


def upstream() -> Starlette:
    """A plain site: it has never heard of payments."""

    async def echo(request: Request) -> Response:
        body = await request.body()
        seen = {"x-custom": request.headers.get("x-custom"), "payment": request.headers.get("payment"),
                "signature": request.headers.get("payment-signature"), "length": len(body)}  # fmt: skip
        return Response(json.dumps(seen), media_type="application/json", headers={"x-upstream": "yes"})

    async def stream(request: Request) -> StreamingResponse:
        async def chunks() -> Any:
            for n in range(50):
                yield f"{n:04d}".encode() * 256

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    async def moved(request: Request) -> RedirectResponse:
        return RedirectResponse("/api/echo", status_code=302)

    async def missing(request: Request) -> PlainTextResponse:
        return PlainTextResponse("no such thing", status_code=404)

    async def free(request: Request) -> PlainTextResponse:
        return PlainTextResponse("free")

    return Starlette(
        routes=[
            Route("/api/echo", echo, methods=["GET", "POST"]),
            Route("/api/stream", stream),
            Route("/api/moved", moved),
            Route("/api/missing", missing),
            Route("/free", free),
        ]
    )


def gate_for(w: World, store: Any, **options: Any) -> Gate:
    return build_gate(upstream=upstream(), provider_id=w.provider_id, rules=RULES, server=SERVER,
                      keys=w.platform.keys.public_keys(), store=store, clock=w.site.clock,
                      **options)  # fmt: skip


def call(
    gate: Gate, requests: list[tuple[str, str, dict[str, Any]]], transport: Any = None
) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        inner = transport or httpx.ASGITransport(app=gate)
        async with httpx.AsyncClient(transport=inner, base_url="https://gated.example") as http:
            return [await http.request(method, path, **kw) for method, path, kw in requests]

    return asyncio.run(run())


def test_an_x402_client_pays_through_the_gate_and_the_provider_is_paid(world, tmp_path):
    """x402's client with Obolo's plugin, through the gate to a plain upstream: 200 twice with
    successful PAYMENT-RESPONSEs; the upstream never sees a proof; the claim pays 2 x price less 5%."""
    gate = gate_for(world, tmp_path / "gate.db")
    transport = x402_httpx_transport(x402_client(world), httpx.ASGITransport(app=gate))
    pages = call(
        gate, [("GET", "/api/echo", {}), ("POST", "/api/echo", {"content": b"x" * 70_000})], transport
    )
    assert [p.status_code for p in pages] == [200, 200]
    for page in pages:
        assert decode_payment_response_header(page.headers["PAYMENT-RESPONSE"]).success is True
        assert (page.json()["payment"], page.json()["signature"]) == (None, None)
    assert pages[1].json()["length"] == 70_000
    settled = send_claims(gate.paywall.book, world.api, SERVER, world.api_key, close_all=True)
    assert [r["status"] for r in settled] == ["settled"]
    assert world.available(world.publisher) == 2 * PRICE - 2 * PRICE * FEE_BP // 10_000


def test_the_gate_answers_each_kind_of_client_and_passes_what_is_not_priced(world, tmp_path):
    """Unpriced paths pass untouched; a priced one answers a client the three challenges and a
    browser a page with the widget; headers and streamed bodies pass both ways."""
    gate = gate_for(world, tmp_path / "gate.db")
    free, api, browser, streamed = call(gate, [
        ("GET", "/free", {}),
        ("GET", "/api/echo", {"headers": {"x-custom": "kept"}}),
        ("GET", "/api/echo", {"headers": {"accept": "text/html"}}),
        ("GET", "/api/stream", {}),
    ])  # fmt: skip
    assert (free.status_code, free.text) == (200, "free")
    assert api.status_code == 402
    assert api.json()["offers"][0]["scheme"] == "obolo-channel"
    assert decode_payment_required_header(api.headers["PAYMENT-REQUIRED"]).accepts[0].network == "obolo:eur"
    assert api.headers["www-authenticate"].startswith("Payment id=")
    assert browser.status_code == 402
    assert f"{SERVER}/widget.js" in browser.text
    assert f'data-obolo-provider="{world.provider_id}"' in browser.text
    assert streamed.status_code == 402  # priced too
    paying = world.paying()
    proof = paying.proof_for(api.json()["offers"][0])
    paid = call(gate, [("GET", "/api/stream", {"headers": {"Payment": encode_header(proof.payload)}})])[0]
    assert paid.status_code == 200
    assert len(paid.content) == 50 * 4 * 256
    paying.took(proof, taken=True)
    again = paying.proof_for(api.json()["offers"][0])
    headers = {"Payment": encode_header(again.payload), "x-custom": "kept"}
    echoed = call(gate, [("GET", "/api/echo", {"headers": headers})])[0]
    assert (echoed.status_code, echoed.json()["x-custom"], echoed.json()["payment"]) == (200, "kept", None)
    assert echoed.headers["x-upstream"] == "yes"
    seen = call(gate, [("GET", "/api/echo", {"headers": {"x-custom": "kept", "Payment": "x"}})])[0]
    assert seen.status_code == 402  # a bad proof is refused, never forwarded


def test_only_a_2xx_answer_keeps_the_payment(world, tmp_path):
    """A redirect or a 404 from the upstream keeps nothing and carries no receipt: the same
    proof then pays for a 200."""
    gate = gate_for(world, tmp_path / "gate.db")
    offer = call(gate, [("GET", "/api/echo", {})])[0].json()["offers"][0]
    paying = world.paying()
    proof = paying.proof_for(offer)
    header = {"Payment": encode_header(proof.payload)}
    moved, missing, ok = call(gate, [
        ("GET", "/api/moved", {"headers": header, "follow_redirects": False}),
        ("GET", "/api/missing", {"headers": header}),
        ("GET", "/api/echo", {"headers": header}),
    ])  # fmt: skip
    assert (moved.status_code, missing.status_code, ok.status_code) == (302, 404, 200)
    assert "payment-response" not in moved.headers
    assert "payment-response" not in missing.headers
    assert "payment-response" in ok.headers


def test_a_restarted_gate_refuses_a_replay(world, tmp_path):
    """The gate's memory is a file: after a restart, a proof already taken is refused as replayed."""
    store = tmp_path / "gate.db"
    gate = gate_for(world, store)
    offer = call(gate, [("GET", "/api/echo", {})])[0].json()["offers"][0]
    proof = world.paying().proof_for(offer)
    header = {"Payment": encode_header(proof.payload)}
    assert call(gate, [("GET", "/api/echo", {"headers": header})])[0].status_code == 200
    restarted = gate_for(world, store)
    replay = call(restarted, [("GET", "/api/echo", {"headers": header})])[0]
    assert (replay.status_code, replay.json()["refused"]) == (402, "replayed")
    charge = encode_header({"scheme": CHARGE_SCHEME, "receipt": "forged.receipt"})
    assert call(restarted, [("GET", "/api/echo", {"headers": {"Payment": charge}})])[0].status_code == 402
