"""`make run`'s Auction House: its merchant account set up through the public API, as a
real shop would, and the site served beside the server (see obolo.examples.auction)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from obolo.entrypoints.demo_sites import serve_in_thread
from obolo.examples.auction import AuctionHouse, site

SELLER_EMAIL = "auction@example.com"
SELLER_PASSWORD = "demo-password-1"  # noqa: S105 -- a published sandbox login, not a secret


def seller_setup(server: str, state_file: Path, origin: str) -> dict[str, Any]:
    """The auction house's provider id and API key, made once per origin."""
    state: dict[str, Any] = json.loads(state_file.read_text()) if state_file.exists() else {}
    if state.get("origin") == origin:
        return state
    with httpx.Client(base_url=server, timeout=10) as http:
        http.post("/v1/users", json={"email": SELLER_EMAIL, "password": SELLER_PASSWORD,
                                     "display_name": "The Auction House"})  # fmt: skip
        session = http.post("/v1/sessions", json={"email": SELLER_EMAIL, "password": SELLER_PASSWORD})
        session.raise_for_status()
        auth = {"Authorization": f"Bearer {session.json()['token']}"}
        http.post("/v1/me/roles", json={"role": "provider"}, headers=auth).raise_for_status()
        provider = http.post(
            "/v1/providers", json={"name": "The Auction House", "origin": origin}, headers=auth
        )
        provider.raise_for_status()
        key = http.post("/v1/api-keys", json={"name": "auction", "scopes": ["provider:*"]}, headers=auth)
        key.raise_for_status()
    state = {"provider_id": provider.json()["id"], "api_key": key.json()["secret"], "origin": origin}
    state_file.write_text(json.dumps(state))
    state_file.chmod(0o600)
    return state


def build_auction(server: str, store: Path, origin: str) -> AuctionHouse:
    state = seller_setup(server, store.with_suffix(".seller.json"), origin)
    return AuctionHouse(server, state["api_key"], state["provider_id"], origin, store)


def start_auction_when_ready(server: str, port: int, beside: Path) -> threading.Thread:
    """In a thread: wait for the server, set the Auction House up and serve it on `port`
    (at http://localhost:<port>: another origin than the server's 127.0.0.1). A failure
    is reported, never fatal to the server."""

    def run() -> None:
        for _ in range(300):
            try:
                if httpx.get(f"{server}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        origin = f"http://localhost:{port}"
        try:
            house = build_auction(server, beside.with_name("auction.json"), origin)
        except Exception as error:  # the server runs on without its example site
            print(f"the Auction House could not start: {type(error).__name__}: {error}", flush=True)
            return
        serve_in_thread(site(house), port)
        print(f"the Auction House on {origin}, paid through {server}", flush=True)

    thread = threading.Thread(target=run, name="auction", daemon=True)
    thread.start()
    return thread
