"""`obolo gate` as a process: a real Obolo server, a plain HTTP upstream from the standard
library, the gate in between; a reader pays through it, and when the gate stops its claim
sender settles what it took; restarted on the same store, it refuses a replay."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from obolo.sdk.client import PayingClient
from obolo.sdk.paywall import encode_header
from obolo.sdk.payword import b64
from tests.e2e.test_paywall import CARD, obolo, person
from tests.e2e.test_server import free_port

__all__ = ["obolo"]  # a fixture: imported here for pytest to find


class Plain(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"plain {self.path}".encode()
        self.send_response(200)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def start_gate(base: str, upstream: str, provider_id: str, prices: str, key: str, store: str, port: int):
    command = [sys.executable, "-m", "obolo.entrypoints.cli", "gate", "--upstream", upstream,
               "--provider", provider_id, "--prices", prices, "--port", str(port), "--server", base,
               "--api-key", key, "--store", store]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(150):
        try:
            httpx.get(f"http://127.0.0.1:{port}/free", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the gate did not start")


def test_the_gate_process_prices_a_plain_site_and_claims_when_it_stops(obolo, tmp_path):
    """Two paid pages through `obolo gate`; SIGTERM: its claim sender settles them (the provider
    is paid 0.20); restarted on the same store, the gate refuses the first proof again."""
    base, _ = obolo
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Plain)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    with httpx.Client(base_url=base, timeout=10) as http:
        reader = person(http, "reader@example.com")
        publisher = person(http, "publisher@example.com")
        http.post("/v1/topups", json={"amount": "5.00", "asset": "EUR", "card": CARD}, headers=reader)
        http.post("/v1/me/roles", json={"role": "provider"}, headers=publisher)
        site = {"name": "Plain", "origin": "http://127.0.0.1"}
        provider_id = http.post("/v1/providers", json=site, headers=publisher).json()["id"]
        key = http.post("/v1/api-keys", json={"name": "gate", "scopes": ["provider:*"]}, headers=publisher)
        prices = tmp_path / "prices.json"
        prices.write_text(json.dumps({"prices": [{"pattern": "/paid/*", "price": "0.10", "asset": "EUR"}]}))
        port, store = free_port(), str(tmp_path / "gate.db")
        upstream_url = f"http://127.0.0.1:{upstream.server_address[1]}"
        gate = start_gate(base, upstream_url, provider_id, str(prices), key.json()["secret"], store, port)
        site_url = f"http://127.0.0.1:{port}"
        token = reader["Authorization"].split(" ", 1)[1]
        assert httpx.get(f"{site_url}/free").text == "plain /free"
        with PayingClient(base, token, budget=1_000_000, chain_length=10) as client:
            pages = [client.get(f"{site_url}/paid/{n}") for n in (1, 2)]
            assert [(p.status_code, p.text) for p in pages] == [
                (200, "plain /paid/1"),
                (200, "plain /paid/2"),
            ]
            offer = httpx.get(f"{site_url}/paid/3").json()["offers"][0]
            proof = client.proof_for(offer)
            first = {**proof.payload, "index": 1, "token": b64(proof.channel.chain.token(1))}  # taken already
        gate.send_signal(signal.SIGTERM)
        gate.wait(timeout=30)
        wallet = http.get("/v1/wallets", headers=publisher).json()
        assert wallet[0]["available"] == "0.200000"  # claimed on shutdown (no fee configured)
        gate = start_gate(base, upstream_url, provider_id, str(prices), key.json()["secret"], store, port)
        try:
            replay = httpx.get(f"{site_url}/paid/1", headers={"Payment": encode_header(first)})
            assert replay.status_code == 402
            assert replay.json()["refused"] in ("replayed", "closed")
        finally:
            gate.terminate()
            gate.wait(timeout=30)
            upstream.shutdown()
