"""Pay per view over loopback: a real Obolo server, a magazine behind the SDK's
middleware, a paying client reading 1,000 pages, and one settlement."""

from __future__ import annotations

import base64
import subprocess
import sys
import threading
import time

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from obolo.adapters.db.engine import make_engine
from obolo.ledger.check import check_ledger
from obolo.sdk.client import PayingClient, PaymentFailed
from obolo.sdk.paywall import PaywallMiddleware, Price, encode_header, send_claims
from obolo.sdk.payword import b64
from tests.e2e.test_server import free_port

PASSWORD = "a long enough password"
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}


@pytest.fixture
def obolo(tmp_path):
    port = free_port()
    url = f"sqlite:///{tmp_path / 'obolo.db'}"
    process = subprocess.Popen(
        [sys.executable, "-m", "obolo.entrypoints.cli", "serve", "--port", str(port), "--db", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    yield base, url
    process.terminate()
    process.wait(timeout=10)


def person(http: httpx.Client, email: str) -> dict[str, str]:
    http.post("/v1/users", json={"email": email, "password": PASSWORD, "display_name": email[:6]})
    token = http.post("/v1/sessions", json={"email": email, "password": PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def magazine(
    provider_id: str, keys: dict, server: str, store: str, receipt_key: bytes | None = None
) -> tuple[PaywallMiddleware, str]:
    async def article(request):
        return PlainTextResponse(f"article {request.path_params['n']}")

    async def broken(request):
        return PlainTextResponse("oops", status_code=500)

    app = Starlette(
        routes=[Route("/articles/{n}", article), Route("/broken/{n}", broken), Route("/daily/{n}", article)]
    )
    paywall = PaywallMiddleware(
        app,
        provider_id=provider_id,
        prices=[
            Price("/articles/*", 1_000, "EUR"),
            Price("/broken/*", 1_000, "EUR"),
            Price("/daily/*", 2_000, "EUR", daily_cap=10_000),
        ],
        keys=keys,
        server=server,
        store=store,
        receipt_key=receipt_key,
    )
    port = free_port()
    server_thread = uvicorn.Server(uvicorn.Config(paywall, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server_thread.run, daemon=True).start()
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    return paywall, f"http://127.0.0.1:{port}"


def test_a_reader_pays_for_a_thousand_pages_and_the_provider_settles_once(obolo, tmp_path):
    """1,000 pages at 0.001 EUR: the reader pays exactly 1.00, the books balance."""
    base, url = obolo
    with httpx.Client(base_url=base, timeout=10) as http:
        reader = person(http, "reader@example.com")
        publisher = person(http, "publisher@example.com")
        http.post("/v1/topups", json={"amount": "5.00", "asset": "EUR", "card": CARD}, headers=reader)
        http.post("/v1/me/roles", json={"role": "provider"}, headers=publisher)
        provider = http.post(
            "/v1/providers", json={"name": "Magazine", "origin": "http://127.0.0.1"}, headers=publisher
        ).json()
        keys = {
            k["kid"]: Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(k["public_key"] + "=="))
            for k in http.get("/.well-known/obolo-keys").json()["keys"]
        }
        paywall, site = magazine(provider["id"], keys, base, str(tmp_path / "paywall.db"))

        unpaid = httpx.get(f"{site}/articles/1")
        assert unpaid.status_code == 402
        assert unpaid.json()["offers"][0]["price"] == "0.001000"

        token = reader["Authorization"].split(" ", 1)[1]
        wallet_file = tmp_path / "reader-wallet.json"
        with PayingClient(
            base, token, budget=2_000_000, chain_length=1_500, wallet_file=wallet_file
        ) as client:
            for n in range(1_000):
                page = client.get(f"{site}/articles/{n}")
                assert page.status_code == 200, page.text
                assert "Payment-Response" in page.headers
            # A failing page does not consume the payment.
            assert client.get(f"{site}/broken/1").status_code == 500
            assert client.spent == 1_000 * 1_000
            # Past the daily cap pages are free: 15 pages at 0.002 cost exactly the 0.01 cap.
            for n in range(15):
                assert client.get(f"{site}/daily/{n}").status_code == 200
            assert client.spent == 1_000 * 1_000 + 10_000
            # Past the cap the certificate is no key: a stranger holding it gets 402.
            captured = {"scheme": "obolo-channel", "certificate": client._by_host["127.0.0.1"].certificate,
                        "index": 7, "token": b64(b"\0" * 32)}  # fmt: skip
            stranger = httpx.get(f"{site}/daily/99", headers={"Payment": encode_header(captured)})
            assert (stranger.status_code, stranger.json()["refused"]) == (402, "capped_proof_required")
            # Paid once, read again: the same page reopens on its receipt, for nothing.
            assert client.get(f"{site}/articles/7").status_code == 200
            assert client.spent == 1_000 * 1_000 + 10_000

        # A restarted client picks up its chains from disk and pays on with them: no new channel.
        with PayingClient(base, token, budget=2_000_000, wallet_file=wallet_file) as restarted:
            assert restarted.get(f"{site}/articles/5000").status_code == 200
            assert restarted.spent == 1_001 * 1_000 + 10_000
            assert restarted.reserved == 2_000_000  # the budget it had reserved, remembered
        assert oct(wallet_file.stat().st_mode & 0o777) == "0o600"

        claims = paywall.book.unclaimed()
        assert sorted(c["index"] for c in claims) == [5, 1_001]
        key = http.post(
            "/v1/api-keys", json={"name": "site", "scopes": ["provider:*"]}, headers=publisher
        ).json()
        # Neither channel is used up nor near expiry: the periodic claim leaves them running.
        assert send_claims(paywall.book, http, base, key["secret"]) == []
        settled = send_claims(paywall.book, http, base, key["secret"], close_all=True)
        assert sorted((r["status"], r["paid"]) for r in settled) == [
            ("settled", "0.010000"),
            ("settled", "1.001000"),
        ]
        again = http.post("/v1/channels/claims", json={"claims": claims}, headers=publisher).json()
        assert {r["status"] for r in again} == {"already_settled"}  # a claim sent twice pays once
        assert paywall.book.unclaimed() == []
        assert send_claims(paywall.book, http, base, key["secret"], close_all=True) == []
        # The site settled the channel the client holds: the next page opens a new one.
        with PayingClient(base, token, budget=2_000_000, wallet_file=wallet_file) as later:
            assert later.get(f"{site}/articles/6000").status_code == 200
            assert later.spent == 1_002 * 1_000 + 10_000
        (last,) = send_claims(paywall.book, http, base, key["secret"], close_all=True)
        assert (last["status"], last["paid"]) == ("settled", "0.001000")
        wallets = {
            who: http.get("/v1/wallets", headers=headers).json()[0]["available"]
            for who, headers in (("reader", reader), ("publisher", publisher))
        }
    assert wallets == {"reader": "3.988000", "publisher": "1.012000"}
    engine = make_engine(url)
    assert check_ledger(engine) == []
    engine.dispose()


def test_a_reader_takes_back_a_view_and_the_settlement_pays_for_the_others(obolo, tmp_path):
    """Three pages read, the second refunded with its view receipt: the provider is paid for two,
    the reader for two; the same refund again is refused; the books balance."""
    base, url = obolo
    with httpx.Client(base_url=base, timeout=10) as http:
        reader = person(http, "reader@example.com")
        publisher = person(http, "publisher@example.com")
        http.post("/v1/topups", json={"amount": "5.00", "asset": "EUR", "card": CARD}, headers=reader)
        http.post("/v1/me/roles", json={"role": "provider"}, headers=publisher)
        provider = http.post(
            "/v1/providers", json={"name": "Magazine", "origin": "http://127.0.0.1"}, headers=publisher
        ).json()
        issued = http.post(f"/v1/providers/{provider['id']}/receipt-key", headers=publisher)
        assert issued.status_code == 201
        keys = {
            k["kid"]: Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(k["public_key"] + "=="))
            for k in http.get("/.well-known/obolo-keys").json()["keys"]
        }
        receipt_key = base64.urlsafe_b64decode(issued.json()["receipt_key"] + "=")
        paywall, site = magazine(provider["id"], keys, base, str(tmp_path / "paywall.db"), receipt_key)
        token = reader["Authorization"].split(" ", 1)[1]
        with PayingClient(base, token, budget=100_000, chain_length=10) as client:
            pages = [client.get(f"{site}/articles/{n}") for n in range(3)]
            refunded = client.refund(pages[1])
            assert (refunded["index"], refunded["refunded"], refunded["netted"]) == (
                2,
                "0.001000",
                "settlement",
            )
            with pytest.raises(PaymentFailed, match="not_refundable"):
                client.refund(pages[1])
        key = http.post("/v1/api-keys", json={"name": "site", "scopes": ["provider:*"]}, headers=publisher)
        (settled,) = send_claims(paywall.book, http, base, key.json()["secret"], close_all=True)
        assert (settled["paid"], settled["refunded"]) == ("0.002000", "0.001000")
        wallets = {
            who: http.get("/v1/wallets", headers=headers).json()[0]["available"]
            for who, headers in (("reader", reader), ("publisher", publisher))
        }
    assert wallets == {"reader": "4.998000", "publisher": "0.002000"}
    engine = make_engine(url)
    assert check_ledger(engine) == []
    engine.dispose()
