"""The Auction House: an example site that sells lots by auction and is paid through an
Obolo payment request with buyer protection on.

Bidders bid by name; when a lot's auction ends (its time runs out, or "End now" on the
demo page) the site asks Obolo for a payment from the winner: the winner pays through the
browser's Payment Request (Obolo's payment handler) where the browser has it, on Obolo's
hosted checkout page elsewhere. The site's server checks the signed result with the SDK
before it ships; the seller marks the lot shipped, the buyer confirms receipt on Obolo,
and the seller is paid, less the fee, at its next settlement.

`obolo serve --auction-port 8002` (and so `make run`) serves it beside the Magazine.
"""

from __future__ import annotations

import hashlib
import html
import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from obolo.money import Amount, Asset, MoneyError, format_units
from obolo.sdk.checkout import MemoryReplayGuard, ResultRefused, public_keys, verify_result

EUR = Asset("EUR", 6)
AUCTION_SECONDS = 600
LOTS = {
    1: ("Vintage camera", "A 1970s rangefinder in working order.", "20.00"),
    2: ("Fountain pen", "Gold nib, boxed, barely used.", "5.00"),
    3: ("First-press vinyl", "A jazz record, sleeve a little worn.", "8.00"),
}


@dataclass
class Lot:
    number: int
    title: str
    about: str
    opening: int
    ends_at: float
    bids: list[tuple[str, int]] = field(default_factory=list)
    winner: str | None = None
    payment_request: str | None = None
    checkout_url: str | None = None
    paid: str | None = None  # "held" once the result checks out; the payment request says more
    shipped: bool = False

    @property
    def price(self) -> int:
        return self.bids[-1][1] if self.bids else self.opening


def money(units: int) -> str:
    whole, _, cents = format_units(units, EUR).partition(".")
    return f"{whole}.{cents.rstrip('0').ljust(2, '0')}"


class AuctionHouse:
    """The site's state (a JSON file) and its calls to Obolo as a merchant (an API key)."""

    def __init__(self, server: str, api_key: str, provider_id: str, origin: str, store: Path) -> None:
        self.server, self.api_key, self.provider_id, self.origin = server, api_key, provider_id, origin
        self.store = store
        self.lock = threading.Lock()
        self.guard = MemoryReplayGuard()
        now = time.time()
        self.lots = {
            n: Lot(n, title, about, Amount.parse(opening, EUR).units, now + AUCTION_SECONDS)
            for n, (title, about, opening) in LOTS.items()
        }
        if store.exists():
            for raw in json.loads(store.read_text()):
                raw["bids"] = [tuple(bid) for bid in raw["bids"]]
                self.lots[raw["number"]] = Lot(**raw)

    def save(self) -> None:
        self.store.write_text(json.dumps([asdict(lot) for lot in self.lots.values()]))

    def _api(self, method: str, path: str, body: Any = None) -> Any:
        # The same call again (a retry, a double click) is the same key: asked and paid once.
        key = hashlib.sha256(f"{method} {path} {json.dumps(body, sort_keys=True)}".encode()).hexdigest()
        headers = {"Authorization": f"Bearer {self.api_key}", "Idempotency-Key": key}
        answer = httpx.request(method, f"{self.server}{path}", json=body, headers=headers, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def bid(self, number: int, name: str, text: str) -> str | None:
        """None when the bid stands; else why not."""
        with self.lock:
            lot = self.lots[number]
            if lot.winner or time.time() >= lot.ends_at:
                return "this auction has ended"
            try:
                amount = Amount.parse(text.strip().replace(",", "."), EUR).units
            except MoneyError:
                return "write an amount like 21.50"
            if not name.strip() or amount <= lot.price:
                return f"a bid needs a name and more than {money(lot.price)} EUR"
            lot.bids.append((name.strip()[:40], amount))
            self.save()
        return None

    def end(self, number: int) -> Lot:
        """Close the auction and ask the winner for the payment (buyer protection on)."""
        with self.lock:
            lot = self.lots[number]
            if lot.winner is None and lot.bids:
                lot.winner = lot.bids[-1][0]
                asked = self._api("POST", "/v1/payment-requests", {
                    "provider_id": self.provider_id, "amount": money(lot.price), "asset": "EUR",
                    "description": lot.title, "reference": f"lot-{lot.number}-{int(lot.ends_at)}",
                    "return_url": f"{self.origin}/lots/{lot.number}/paid", "buyer_protection": True,
                    "items": [{"label": lot.title, "quantity": 1, "amount": money(lot.price)}],
                    "expires_in_seconds": 3 * 86_400,
                })  # fmt: skip
                lot.payment_request, lot.checkout_url = asked["id"], asked["checkout_url"]
            lot.ends_at = min(lot.ends_at, time.time())
            self.save()
            return lot

    def paid(self, number: int, token: str, request_id: str) -> str:
        """Check the signed result (offline, once) before shipping."""
        lot = self.lots[number]
        keys = public_keys(httpx.get(f"{self.server}/.well-known/obolo-keys", timeout=10).json()["keys"])
        try:
            result = verify_result(token, keys, request_id=lot.payment_request or "", amount=lot.price,
                                   asset="EUR", merchant_id=self.provider_id, seen=self.guard)  # fmt: skip
        except ResultRefused as refused:
            return f"not accepted: {refused}"
        if result.request_id != request_id:
            return "not accepted: another payment request"
        with self.lock:
            lot.paid = result.status
            self.save()
        return f"paid ({result.status})"

    def ship(self, number: int) -> None:
        lot = self.lots[number]
        if lot.payment_request and not lot.shipped:
            self._api("POST", f"/v1/payment-requests/{lot.payment_request}/shipped")
            lot.shipped = True
            self.save()

    def status(self, lot: Lot) -> dict[str, Any] | None:
        if lot.payment_request is None:
            return None
        try:
            found: dict[str, Any] = self._api("GET", f"/v1/payment-requests/{lot.payment_request}")
        except httpx.HTTPError:
            return None
        return found


def _page(title: str, body: str, server: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(title)} · The Auction House"
        f'</title><script src="{html.escape(server)}/checkout.js"></script>'
        f'<h1>{html.escape(title)}</h1>{body}<p><a href="/">All lots</a> · <a href="/seller">Seller</a></p>'
    )


PAY_SCRIPT = """<script>
document.getElementById("pay").addEventListener("click", (event) => {
  const data = event.target.dataset;
  Obolo.checkout({paymentRequest: data.request, amount: data.amount, currency: "EUR", label: data.label})
    .then((paid) => fetch(location.pathname + "/paid", {method: "POST", body: JSON.stringify(paid)}))
    .then(() => location.reload())
    .catch((error) => { document.getElementById("status").textContent = "Not paid (" + error.name + ")."; });
});
</script>"""


def site(house: AuctionHouse) -> Starlette:
    server = house.server

    async def index(request: Request) -> Response:
        rows = "".join(
            f'<li><a href="/lots/{lot.number}">{html.escape(lot.title)}</a>: {money(lot.price)} EUR'
            f"{' (sold to ' + html.escape(lot.winner) + ')' if lot.winner else ''}</li>"
            for lot in house.lots.values()
        )
        return _page("Lots", f"<ul>{rows}</ul>", server)

    async def lot_page(request: Request) -> Response:
        lot = house.lots.get(int(request.path_params["n"]))
        if lot is None:
            return PlainTextResponse("no such lot", 404)
        if lot.winner is None and time.time() >= lot.ends_at and lot.bids:
            house.end(lot.number)
        body = f"<p>{html.escape(lot.about)}</p><p>Current price: <b>{money(lot.price)} EUR</b></p>"
        if lot.winner is None:
            body += (
                f'<form method=post action="/lots/{lot.number}/bids"><label>Name <input name=name required>'
                f"</label> <label>Bid (EUR) <input name=amount required></label> <button>Bid</button></form>"
                f'<form method=post action="/lots/{lot.number}/end"><button>End now (demo)</button></form>'
            )
        elif lot.paid is None:
            body += (
                f"<p>Won by {html.escape(lot.winner)}. Pay with Obolo: the money is held until you confirm "
                f"receipt.</p><button id=pay data-request={lot.payment_request} "
                f'data-amount={money(lot.price)} data-label="{html.escape(lot.title)}">'
                f"Pay {money(lot.price)} EUR</button>"
                f"<p id=status></p>{PAY_SCRIPT}"
            )
        else:
            status = house.status(lot) or {}
            body += (
                f"<p id=status>Paid by {html.escape(lot.winner)}: {html.escape(str(status.get('status')))}"
                f"{', shipped' if lot.shipped else ''}.</p>"
                f'<p><a href="{html.escape(lot.checkout_url or "")}">'
                "Confirm receipt or open a dispute on Obolo</a></p>"
            )
        return _page(lot.title, body, server)

    async def bid(request: Request) -> Response:
        form = await request.form()
        number = int(request.path_params["n"])
        refused = house.bid(number, str(form.get("name", "")), str(form.get("amount", "")))
        if refused:
            return _page("Bid refused", f"<p>{html.escape(refused)}</p>", server)
        return RedirectResponse(f"/lots/{number}", 303)

    async def end(request: Request) -> Response:
        number = int(request.path_params["n"])
        house.end(number)
        return RedirectResponse(f"/lots/{number}", 303)

    async def paid(request: Request) -> Response:
        number = int(request.path_params["n"])
        if request.method == "POST":  # from the page: the Payment Request's answer
            answer = json.loads(await request.body())
            return PlainTextResponse(house.paid(number, answer["result"], answer["paymentRequest"]))
        token = request.query_params.get("obolo_result")  # from the hosted page
        if token:
            house.paid(number, token, request.query_params.get("obolo_payment_request", ""))
        return RedirectResponse(f"/lots/{number}", 303)

    async def seller(request: Request) -> Response:
        sold = [lot for lot in house.lots.values() if lot.paid]
        rows = "".join(
            f"<li>{html.escape(lot.title)} to {html.escape(lot.winner or '')}: {money(lot.price)} EUR "
            + ("(shipped)" if lot.shipped else f'<form method=post action="/lots/{lot.number}/shipped">'
               "<button>Mark shipped</button></form>")
            + "</li>"
            for lot in sold
        )  # fmt: skip
        return _page("Seller", f"<ul>{rows or '<li>nothing sold yet</li>'}</ul>", server)

    async def shipped(request: Request) -> Response:
        house.ship(int(request.path_params["n"]))
        return RedirectResponse("/seller", 303)

    async def health(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/", index),
            Route("/healthz", health),
            Route("/seller", seller),
            Route("/lots/{n:int}", lot_page),
            Route("/lots/{n:int}/bids", bid, methods=["POST"]),
            Route("/lots/{n:int}/end", end, methods=["POST"]),
            Route("/lots/{n:int}/paid", paid, methods=["GET", "POST"]),
            Route("/lots/{n:int}/shipped", shipped, methods=["POST"]),
        ]
    )
