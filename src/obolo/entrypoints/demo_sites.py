"""Run example provider sites against an Obolo server, setting up what they need
through the public API, as a real provider would."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from obolo.examples.magazine import PRICE_RULES, REACCESS_SECONDS, magazine, public_keys
from obolo.sdk.claims import ClaimSender
from obolo.sdk.paywall import PaywallMiddleware
from obolo.sdk.payword import unb64

PROVIDER_EMAIL = "magazine@example.com"
PROVIDER_PASSWORD = "demo-password-1"  # noqa: S105 -- a published sandbox login, not a secret


def provider_setup(server: str, state_file: Path, origin: str = "http://127.0.0.1") -> dict[str, Any]:
    """The magazine's provider id, claim key and the platform keys, created if missing (or
    again when the site moved to another origin: the wallet's popup hands payments only to
    the provider's registered origin); its prices and re-access period published on the
    platform (the middleware is given the same period)."""
    state: dict[str, Any] = json.loads(state_file.read_text()) if state_file.exists() else {}
    with httpx.Client(base_url=server, timeout=10) as http:
        http.post(
            "/v1/users",
            json={"email": PROVIDER_EMAIL, "password": PROVIDER_PASSWORD, "display_name": "The Magazine"},
        )
        session = http.post("/v1/sessions", json={"email": PROVIDER_EMAIL, "password": PROVIDER_PASSWORD})
        session.raise_for_status()
        auth = {"Authorization": f"Bearer {session.json()['token']}"}
        if "provider_id" not in state or state.get("origin") != origin:
            http.post("/v1/me/roles", json={"role": "provider"}, headers=auth).raise_for_status()
            provider = http.post(
                "/v1/providers", json={"name": "The Magazine", "origin": origin}, headers=auth
            )
            provider.raise_for_status()
            key = http.post(
                "/v1/api-keys", json={"name": "magazine claims", "scopes": ["provider:*"]}, headers=auth
            )
            key.raise_for_status()
            state = {
                "provider_id": provider.json()["id"],
                "claims_key": key.json()["secret"],
                "origin": origin,
            }
        if "receipt_key" not in state:
            issued = http.post(f"/v1/providers/{state['provider_id']}/receipt-key", headers=auth)
            issued.raise_for_status()
            state["receipt_key"] = issued.json()["receipt_key"]
        state_file.write_text(json.dumps(state))
        state_file.chmod(0o600)
        http.put(
            f"/v1/providers/{state['provider_id']}/prices", json=PRICE_RULES, headers=auth
        ).raise_for_status()
        http.put(
            f"/v1/providers/{state['provider_id']}/reaccess-period",
            json={"seconds": REACCESS_SECONDS},
            headers=auth,
        ).raise_for_status()
        state["keys"] = http.get("/.well-known/obolo-keys").json()["keys"]
    return state


def build_magazine(
    server: str, store: Path, origin: str = "http://127.0.0.1"
) -> tuple[PaywallMiddleware, dict[str, Any]]:
    state = provider_setup(server, store.with_suffix(".provider.json"), origin)
    paywall = magazine(state["provider_id"], public_keys(state["keys"]), server, store)
    paywall.receipt_key = unb64(state["receipt_key"])  # paid views can be refunded
    return paywall, state


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_in_thread(app: Any, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return server


def start_magazine_when_ready(server: str, port: int, beside: Path) -> threading.Thread:
    """In a thread: wait for the server to answer, set the Magazine up through its API and
    serve it on `port`, settling claims every minute. A failure is reported, never fatal
    to the server."""

    def run() -> None:
        for _ in range(300):
            try:
                if httpx.get(f"{server}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        try:
            paywall, state = build_magazine(
                server, beside.with_name("magazine.db"), f"http://127.0.0.1:{port}"
            )
        except Exception as error:  # the server runs on without its example site
            print(f"the Magazine could not start: {type(error).__name__}: {error}", flush=True)
            return
        ClaimSender(paywall.book, server, state["claims_key"], every=60.0).start()
        serve_in_thread(paywall, port)
        print(f"the Magazine on http://127.0.0.1:{port}, paid through {server}", flush=True)

    thread = threading.Thread(target=run, name="magazine", daemon=True)
    thread.start()
    return thread
