"""Through a real `obolo serve` process on loopback: two people sign up, top up, pay,
withdraw, read history and a statement, and a webhook arrives signed."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest

from obolo.sdk import verify_signature

PASSWORD = "a long enough password"
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(tmp_path):
    port = free_port()
    # the webhook receiver is on loopback: allowed by name, as outbound requests to internal
    # addresses are refused by default
    env = dict(
        os.environ, OBOLO_DATABASE_URL=f"sqlite:///{tmp_path / 'obolo.db'}", OBOLO_EGRESS_ALLOW="127.0.0.1"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "obolo.entrypoints.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail(process.stdout.read().decode() if process.stdout else "server did not start")
    yield base
    process.terminate()
    process.wait(timeout=10)


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_two_people_pay_each_other_through_a_real_server(server):
    """Sign up, top up, pay, withdraw, history, statement, and a signed webhook."""
    hook = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    with httpx.Client(base_url=server, timeout=10) as http:
        tokens = {}
        for email in ("ada@example.com", "ben@example.com"):
            assert (
                http.post(
                    "/v1/users", json={"email": email, "password": PASSWORD, "display_name": email[:3]}
                ).status_code
                == 201
            )
            session = http.post("/v1/sessions", json={"email": email, "password": PASSWORD})
            tokens[email] = {"Authorization": f"Bearer {session.json()['token']}"}
        ada, ben = tokens["ada@example.com"], tokens["ben@example.com"]
        endpoint = http.post(
            "/v1/webhook-endpoints",
            json={"url": f"http://127.0.0.1:{hook.server_port}/hooks", "events": ["payment.received"]},
            headers=ben,
        ).json()
        topup = http.post("/v1/topups", json={"amount": "10.00", "asset": "EUR", "card": CARD}, headers=ada)
        assert topup.status_code == 201, topup.text
        paid = http.post(
            "/v1/payments",
            json={"to": "ben@example.com", "amount": "0.001", "asset": "EUR", "note": "one article"},
            headers=dict(ada, **{"Idempotency-Key": "article-1"}),
        )
        assert paid.status_code == 201, paid.text
        replay = http.post(
            "/v1/payments",
            json={"to": "ben@example.com", "amount": "0.001", "asset": "EUR", "note": "one article"},
            headers=dict(ada, **{"Idempotency-Key": "article-1"}),
        )
        assert replay.json() == paid.json()
        withdrawn = http.post(
            "/v1/withdrawals",
            json={"amount": "1.00", "asset": "EUR", "iban": "DE89370400440532013000"},
            headers=ada,
        )
        assert withdrawn.json()["status"] == "succeeded"
        assert http.get("/v1/wallets", headers=ada).json() == [
            {"asset": "EUR", "available": "8.999000", "reserved": "0.000000"}
        ]
        assert http.get("/v1/wallets", headers=ben).json()[0]["available"] == "0.001000"
        history = http.get("/v1/transactions", headers=ada).json()["data"]
        assert [(t["kind"], t["status"], t["amount"], t["reserved"]) for t in history] == [
            ("withdrawal", "settled", "-1.000000", "-1.000000"),
            ("withdrawal", "reserved", "0.000000", "1.000000"),
            ("payment", "posted", "-0.001000", "0.000000"),
            ("topup", "posted", "10.000000", "0.000000"),
        ]
        statement = list(csv.DictReader(io.StringIO(http.get("/v1/statements.csv", headers=ada).text)))
        assert [row["balance"] for row in statement if row["balance"]][-1] == "8.999000"
        deadline = time.monotonic() + 15
        while not Receiver.received and time.monotonic() < deadline:
            time.sleep(0.2)
    hook.shutdown()
    assert Receiver.received, "the webhook never arrived"
    headers, body = Receiver.received[0]
    verify_signature(endpoint["secret"], body, headers["Obolo-Signature"])
    event = json.loads(body)
    assert event["type"] == "payment.received"
    assert event["data"]["amount"] == "0.001000"


def test_serve_can_run_the_example_magazine_beside_it(tmp_path):
    """`obolo serve --magazine-port P` (what `make run` does) serves the Magazine, which asks for payment."""
    port, magazine_port = free_port(), free_port()
    # the webhook receiver is on loopback: allowed by name, as outbound requests to internal
    # addresses are refused by default
    env = dict(
        os.environ, OBOLO_DATABASE_URL=f"sqlite:///{tmp_path / 'obolo.db'}", OBOLO_EGRESS_ALLOW="127.0.0.1"
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "obolo.entrypoints.cli",
            "serve",
            "--port",
            str(port),
            "--magazine-port",
            str(magazine_port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        status = None
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and status != 402:
            try:
                status = httpx.get(f"http://127.0.0.1:{magazine_port}/articles/1", timeout=1).status_code
            except httpx.HTTPError:
                time.sleep(0.3)
        assert status == 402
        offers = httpx.get(f"http://127.0.0.1:{magazine_port}/articles/1").json()["offers"]
        assert {o["scheme"] for o in offers} == {"obolo-channel", "obolo-pass"}
    finally:
        process.terminate()
        process.wait(timeout=10)
