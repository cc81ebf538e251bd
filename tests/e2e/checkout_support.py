"""For the browser tests of checkout: a real `obolo serve` on 127.0.0.1, a shop on another
origin (http://localhost:<port>, a tiny server of this process) whose page pays with
`/checkout.js` and whose server verifies the result with the SDK, and the payment
handler's confirm window driven through CDP (it is a browser target of its own, not a
Playwright page)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from obolo.sdk.checkout import MemoryReplayGuard, ResultRefused, public_keys, verify_result
from tests.e2e.test_server import free_port
from tests.e2e.widget_support import PASSWORD, _wait

SHOP_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Camera shop</title>
<script src="{obolo}/checkout.js"></script></head>
<body><h1>Vintage camera</h1><p>20.00 EUR</p>
<button id="buy">Buy with Obolo</button><pre id="out"></pre>
<script>
document.getElementById("buy").addEventListener("click", () => {{
  const asked = {{paymentRequest: "{request_id}", amount: "{amount}", currency: "EUR", label: "Camera"}};
  Obolo.checkout(asked)
    .then((paid) => fetch("/verify", {{method: "POST", body: JSON.stringify(paid)}}))
    .then((answer) => answer.text())
    .then((text) => {{
      document.getElementById("out").textContent = text;
      document.body.dataset.done = text;
    }})
    .catch((error) => {{ document.body.dataset.done = "failed:" + error.name; }});
}});
</script></body></html>"""


@dataclass
class Shop:
    """The shop's server: its page for one payment request, and what it verified."""

    obolo: str
    port: int
    request_id: str = ""
    amount: str = "20.00"
    verified: list[str] = field(default_factory=list)
    guard: MemoryReplayGuard = field(default_factory=MemoryReplayGuard)

    @property
    def origin(self) -> str:
        return f"http://localhost:{self.port}"

    def verify(self, token: str, request_id: str) -> str:
        keys = public_keys(httpx.get(f"{self.obolo}/.well-known/obolo-keys").json()["keys"])
        try:
            result = verify_result(token, keys, request_id=request_id, amount=20_000_000, asset="EUR",
                                   seen=self.guard)  # fmt: skip
        except ResultRefused as refused:
            return f"refused: {refused}"
        self.verified.append(result.request_id)
        return f"verified {result.status}"


def serve_shop(shop: Shop) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, body: str, content_type: str = "text/html; charset=utf-8") -> None:
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/done":  # the hosted page's way back
                query = parse_qs(url.query)
                token = query.get("obolo_result", [""])[0]
                request_id = query.get("obolo_payment_request", [""])[0]
                self._send(f"<p id='out'>{shop.verify(token, request_id) if token else 'not paid'}</p>")
                return
            self._send(SHOP_PAGE.format(obolo=shop.obolo, request_id=shop.request_id, amount=shop.amount))

        def do_POST(self) -> None:
            paid = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            self._send(shop.verify(paid["result"], paid["paymentRequest"]), "text/plain")

    server = ThreadingHTTPServer(("127.0.0.1", shop.port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def start_obolo(tmp_path: Path) -> Iterator[str]:
    database = tmp_path / "obolo.db"
    port = free_port()
    environment = dict(os.environ, OBOLO_DATABASE_URL=f"sqlite:///{database}", OBOLO_FEES="checkout=100:0")
    process = subprocess.Popen(
        [sys.executable, "-m", "obolo.entrypoints.cli", "serve", "--port", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        obolo = f"http://127.0.0.1:{port}"
        _wait(f"{obolo}/healthz", process, "obolo serve")
        yield obolo
    finally:
        process.terminate()
        process.wait(timeout=10)


def account(obolo: str, email: str, *roles: str, top_up: str | None = None) -> dict[str, str]:
    """Sign up by the API; the person's bearer headers."""
    with httpx.Client(base_url=obolo) as client:
        client.post("/v1/users", json={"email": email, "password": PASSWORD, "display_name": email[:4]})
        token = client.post("/v1/sessions", json={"email": email, "password": PASSWORD}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        for role in roles:
            client.post("/v1/me/roles", json={"role": role}, headers=headers)
        if top_up:
            card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}
            client.post("/v1/topups", json={"amount": top_up, "asset": "EUR", "card": card}, headers=headers)
    return headers


def ask_payment(obolo: str, merchant: dict[str, str], provider_id: str, origin: str) -> dict[str, Any]:
    body = {"provider_id": provider_id, "amount": "20.00", "asset": "EUR", "description": "Vintage camera",
            "reference": f"order-{time.time_ns()}", "return_url": f"{origin}/done",
            "items": [{"label": "Camera", "amount": "20.00"}]}  # fmt: skip
    answer = httpx.post(f"{obolo}/v1/payment-requests", json=body, headers=merchant)
    assert answer.status_code == 201, answer.text
    return answer.json()


class Target:
    """A browser target (the payment handler's window) spoken to through CDP."""

    def __init__(self, cdp: Any, page: Any, session_id: str) -> None:
        self.cdp, self.page, self.session_id = cdp, page, session_id
        self.answers: dict[int, Any] = {}
        self.next_id = 0
        cdp.on("Target.receivedMessageFromTarget", self._received)

    def _received(self, event: dict[str, Any]) -> None:
        if event.get("sessionId") == self.session_id:
            message = json.loads(event["message"])
            if "id" in message:
                self.answers[message["id"]] = message

    def evaluate(self, expression: str, timeout: float = 10.0) -> Any:
        self.next_id += 1
        params = {"expression": expression, "returnByValue": True, "awaitPromise": True}
        call = {"id": self.next_id, "method": "Runtime.evaluate", "params": params}
        self.cdp.send(
            "Target.sendMessageToTarget", {"sessionId": self.session_id, "message": json.dumps(call)}
        )
        deadline = time.monotonic() + timeout
        while self.next_id not in self.answers:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer to {expression!r}")
            self.page.wait_for_timeout(50)  # lets Playwright deliver the CDP events
        answer = self.answers.pop(self.next_id)
        return answer.get("result", {}).get("result", {}).get("value")

    def call(self, method: str, params: dict[str, Any], timeout: float = 10.0) -> Any:
        """Any CDP command on the target; its result."""
        self.next_id += 1
        call = {"id": self.next_id, "method": method, "params": params}
        self.cdp.send(
            "Target.sendMessageToTarget", {"sessionId": self.session_id, "message": json.dumps(call)}
        )
        deadline = time.monotonic() + timeout
        while self.next_id not in self.answers:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer to {method}")
            self.page.wait_for_timeout(50)
        return self.answers.pop(self.next_id).get("result", {})

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", {"format": "png"})["data"]))

    def wait_for(self, expression: str, timeout: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"never true: {expression!r}")
            self.page.wait_for_timeout(100)


def handler_window(browser: Any, page: Any, request_id: str, timeout: float = 20.0) -> Target:
    """The payment handler's confirm window for this payment request, once it is open,
    attached through CDP."""
    cdp = browser.new_browser_cdp_session()
    cdp.send("Target.setDiscoverTargets", {"discover": True})
    deadline = time.monotonic() + timeout
    while True:
        targets = cdp.send("Target.getTargets")["targetInfos"]
        found = [t for t in targets if "/pay/handler/confirm" in t["url"] and request_id in t["url"]]
        if found:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"no payment handler window among {[t.get('url') for t in targets]}")
        page.wait_for_timeout(100)
    attached = cdp.send("Target.attachToTarget", {"targetId": found[0]["targetId"], "flatten": False})
    return Target(cdp, page, attached["sessionId"])


def screenshot(page: Any, name: str) -> None:
    """With OBOLO_SCREENSHOTS=<dir>, keep a picture of the page for the docs."""
    folder = os.environ.get("OBOLO_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def screenshot_target(target: Target, name: str) -> None:
    folder = os.environ.get("OBOLO_SCREENSHOTS")
    if folder:
        target.screenshot(Path(folder) / f"{name}.png")
