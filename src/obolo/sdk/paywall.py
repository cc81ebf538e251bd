"""A paywall for any ASGI app (FastAPI, Starlette): priced paths answer 402 with offers;
requests carrying a channel payment are verified offline — one SHA-256, no network —
and served; the provider settles later from what it remembered.

    app = PaywallMiddleware(app, provider_id="...", prices=[Price("/articles/*", 1_000, "EUR")],
                            keys=public_keys, server="https://obolo.example", store="paywall.db")

Headers (see docs/protocol.md):
    402 response    Payment-Required: base64url(JSON {"offers": [...]}) and the same JSON body
    request         Payment: base64url(JSON {"scheme": "obolo-channel", "certificate", "index", "token",
                                         "proof"?})
    response        Payment-Response: base64url(JSON {"channel", "index", "paid", "remaining",
                                                      "receipt", "receipt_key"})

Past a daily cap a view is free but needs `proof`, the reader's signature for that page;
a read-again receipt needs its holder's proof too (obolo.sdk.proofs): neither the
certificate nor the receipt is a secret.

A payment is consumed only when the protected handler answers below 400; after an error
the same proof pays for the retry.
"""

from __future__ import annotations

import fnmatch
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from obolo.money import Asset, format_units, parse_units
from obolo.sdk.book import ChannelBook as ChannelBook
from obolo.sdk.passes import PassBook, PassOffer, verify_pass
from obolo.sdk.payword import (
    BAD_SIGNATURE,
    EXPIRED,
    MALFORMED,
    REPLAYED,
    UNKNOWN_KEY,
    WRONG_PROVIDER,
    Certificate,
    PaymentRefused,
    b64,
    unb64,
    verify_certificate,
)
from obolo.sdk.proofs import PROOF_SECONDS, PROOF_USED, check_capped, check_reread, issue_reread
from obolo.sdk.views import ViewReceipt
from obolo.sdk.wire import challenge_headers, foreign_proof

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SCHEME = "obolo-channel"
PASS_SCHEME = "obolo-pass"  # noqa: S105 -- a scheme name, not a password
RECEIPT_SCHEME = "obolo-receipt"
CHARGE_SCHEME = "obolo-charge"
_VERIFIED_CACHE = 10_000
#: How long a paid page reopens unless the provider chose otherwise, and the most it may
#: choose (a year): the platform's own bounds (obolo.paywall.model), which the SDK cannot import.
DEFAULT_REACCESS_SECONDS = 24 * 3600
MAX_REACCESS_SECONDS = 365 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Price:
    """`pattern` is a glob on the path ("/articles/*"); `units` at the asset's scale."""

    pattern: str
    units: int
    asset: str = "EUR"
    #: Once a reader has paid this much to this provider in the UTC day (month), further
    #: views that day (month) are free: never more than a subscription would cost.
    daily_cap: int | None = None
    monthly_cap: int | None = None

    def periods(self, now: float) -> list[tuple[str, int]]:
        day = time.strftime("%Y-%m-%d", time.gmtime(now))
        caps = [("D" + day, self.daily_cap), ("M" + day[:7], self.monthly_cap)]
        return [(period, cap) for period, cap in caps if cap is not None]


def encode_header(value: dict[str, Any]) -> str:
    return b64(json.dumps(value, separators=(",", ":"), sort_keys=True).encode())


def decode_header(text: str) -> dict[str, Any]:
    try:
        value = json.loads(unb64(text))
    except ValueError as error:
        raise PaymentRefused(MALFORMED, "the Payment header is base64url of a JSON object") from error
    if not isinstance(value, dict):
        raise PaymentRefused(MALFORMED, "the Payment header is base64url of a JSON object")
    return value


class PaywallMiddleware:
    #: A payment is kept when the handler answers below this status (the gate: only 2xx).
    keep_below = 400

    def __init__(
        self,
        app: ASGIApp,
        *,
        provider_id: str,
        prices: list[Price],
        keys: dict[str, Ed25519PublicKey],
        server: str,
        store: str | Path = ":memory:",
        assets: dict[str, Asset] | None = None,
        passes: list[PassOffer] | None = None,
        clock: Callable[[], float] = time.time,
        reaccess_seconds: int = DEFAULT_REACCESS_SECONDS,
        receipt_key: bytes | None = None,
        payment_page: Callable[[str, list[dict[str, Any]]], str] | None = None,
        title_of: Callable[[str], str | None] | None = None,
    ) -> None:
        """`payment_page(path, offers)`, when given, is the HTML a browser (a request
        accepting text/html) gets with its 402, e.g. a page with the Obolo widget.
        `title_of(path)`, when given, names what a path sells (an article's title): its 402
        offers and view receipts carry it, and the reader's history shows it instead of
        the path (one line, at most 200 characters, or the platform refuses it).
        `reaccess_seconds` is how long a paid page reopens for its reader without paying
        (0: every view is paid): give the period set on the platform
        (PUT /v1/providers/{id}/reaccess-period), so this device and the reader's others agree."""
        whole = isinstance(reaccess_seconds, int) and not isinstance(reaccess_seconds, bool)
        if not whole or not 0 <= reaccess_seconds <= MAX_REACCESS_SECONDS:
            raise ValueError(f"reaccess_seconds is a whole number of seconds, 0 to {MAX_REACCESS_SECONDS}")
        self.app = app
        self.title_of = title_of
        # Shared with the platform (POST /v1/providers/{id}/receipt-key): with it, every paid
        # channel view carries a view receipt the reader can take back within the window.
        self.receipt_key = receipt_key
        self.provider_id = provider_id
        self.prices = prices
        self.keys = keys
        self.server = server.rstrip("/")
        self.book = ChannelBook(store)
        self.pass_offers = passes or []
        self.pass_book = PassBook(store)
        self.clock = clock
        self.reaccess_seconds = reaccess_seconds
        self.payment_page = payment_page
        self._verified: dict[str, Certificate] = {}
        self.assets = assets or {"EUR": Asset("EUR", 6), "USD": Asset("USD", 6)}

    def price_of(self, path: str) -> Price | None:
        for price in self.prices:
            if fnmatch.fnmatchcase(path, price.pattern):
                return price
        return None

    def read_again_receipt(self, path: str, until: int | None = None) -> dict[str, str]:
        """Payment-Response members reopening `path` without paying until they expire:
        the receipt (MACed with the provider's own secret: only this provider issues and
        checks it) and its holder key, which only this response carries (see proofs). It
        lasts `reaccess_seconds`, never past `until` (a re-access ends with its purchase's
        period, not a new one); nothing when every view is paid (`reaccess_seconds` 0)."""
        expires_at = int(self.clock()) + self.reaccess_seconds
        if until is not None:
            expires_at = min(expires_at, until)
        if not self.reaccess_seconds or expires_at <= self.clock():
            return {}
        receipt, key = issue_reread(self.book.secret, path, expires_at)
        return {"receipt": receipt, "receipt_key": key}

    def _use(self, proof_id: str) -> None:
        if not self.book.use_proof(proof_id, self.clock() + 2 * PROOF_SECONDS):
            raise PaymentRefused(PROOF_USED, "this proof was already used; make a new one")

    def _view_receipt(self, certificate: Certificate, index: int, path: str) -> dict[str, str]:
        if self.receipt_key is None:
            return {}
        view = ViewReceipt(certificate.channel_id, index, path, int(self.clock()), self.title(path))
        return {"view": view.sign(self.receipt_key)}

    def title(self, path: str) -> str | None:
        """What the provider calls what `path` sells (None: it did not say)."""
        return self.title_of(path) if self.title_of is not None else None

    def passes_for(self, path: str) -> list[PassOffer]:
        return [offer for offer in self.pass_offers if fnmatch.fnmatchcase(path, offer.pattern)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        price = self.price_of(path) if path else None
        passes = self.passes_for(path) if path else []
        if price is None and not passes:
            await self.app(scope, receive, send)
            return
        header = _header(scope, b"payment")
        if header is None:
            # x402's PAYMENT-SIGNATURE or the IETF `Authorization: Payment`: the same proof,
            # answered in the request's own encoding.
            foreign = foreign_proof(
                scope, secret=self.book.secret, realm=self.provider_id, now=self.clock(),
                units=price.units if price else None, asset=price.asset if price else "EUR",
            )  # fmt: skip
            if foreign is not None:
                send = foreign.wrap(send)
                header = foreign.header
            if header is None:
                await self._payment_required(scope, send, price, passes, foreign.refused if foreign else None)
                return
        try:
            payload = decode_header(header)
        except PaymentRefused as refused:
            await self._payment_required(scope, send, price, passes, refused)
            return
        if payload.get("scheme") == RECEIPT_SCHEME:
            try:
                receipt, proof = str(payload.get("receipt", "")), payload.get("proof")
                self._use(check_reread(self.book.secret, receipt, proof, path, self.clock()))
            except PaymentRefused as refused:
                await self._payment_required(scope, send, price, passes, refused)
                return
            await self.app(scope, receive, send)
            return
        if payload.get("scheme") == CHARGE_SCHEME and price is not None:
            await self._serve_with_charge(scope, receive, send, payload, price, passes)
            return
        if payload.get("scheme") == PASS_SCHEME:
            await self._serve_with_pass(scope, receive, send, payload, price, passes)
            return
        if price is None:
            only_passes = PaymentRefused(MALFORMED, "this resource is sold by pass only")
            await self._payment_required(scope, send, price, passes, only_passes)
            return
        try:
            certificate, index, token = self._check(header, price)
        except PaymentRefused as refused:
            await self._payment_required(scope, send, price, passes, refused)
            return
        periods = price.periods(self.clock()) if certificate.payer else []
        if periods and not self.book.charge_within_caps(certificate.payer, periods, price.units):
            try:
                # The certificate is in every payment header: a free view needs the reader.
                nonce = check_capped(certificate, payload.get("proof"), path, self.clock())
                self._use(f"{certificate.channel_id}:{nonce}")
            except PaymentRefused as refused:
                await self._payment_required(scope, send, price, passes, refused)
                return
            await self._serve_capped(scope, receive, send, certificate)
            return
        try:
            before = self.book.reserve(certificate, index, token)
        except PaymentRefused as refused:
            self.book.refund_caps(certificate.payer, periods, price.units)
            await self._payment_required(scope, send, price, passes, refused)
            return
        status: list[int] = []
        receipt = encode_header(
            {
                "channel": certificate.channel_id,
                "index": index,
                "paid": format_units(index * certificate.price, self.assets[certificate.asset]),
                "remaining": certificate.length - index,
                **self.read_again_receipt(path),
                **self._view_receipt(certificate, index, path),
            }
        )

        send_with_receipt = _receipted(send, receipt.encode(), status)

        try:
            await self.app(scope, receive, send_with_receipt)
        finally:
            if status and status[0] < self.keep_below:
                self.book.commit(certificate)
            else:
                self.book.release(certificate, index, before)
                self.book.refund_caps(certificate.payer, periods, price.units)

    async def _serve_capped(
        self, scope: Scope, receive: Receive, send: Send, certificate: Certificate
    ) -> None:
        """The reader reached a cap: serve without consuming the payment."""
        receipt = encode_header({"channel": certificate.channel_id, "capped": True, "paid": "0"}).encode()

        await self.app(scope, receive, _receipted(send, receipt, []))

    async def _serve_with_charge(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        payload: dict[str, Any],
        price: Price,
        passes: list[PassOffer],
    ) -> None:
        """A charge receipt the platform signed after charging the reader's tab."""
        try:
            charge = self._verify_charge(str(payload.get("receipt", "")), scope.get("path", ""), price)
            if not self.book.use_charge(charge["charge_id"]):
                raise PaymentRefused(REPLAYED, "this charge was already used")
        except PaymentRefused as refused:
            await self._payment_required(scope, send, price, passes, refused)
            return
        status: list[int] = []
        free = "capped" if charge.get("capped") is not None else "reaccess" if "reaccess" in charge else ""
        paid = 0 if free else price.units
        receipt = encode_header(
            {
                "charge": charge["charge_id"],
                "paid": format_units(paid, self.assets[price.asset]),
                **self.read_again_receipt(scope.get("path", ""), charge.get("reaccess")),
            }
            | ({free: True} if free else {})
        )
        try:
            await self.app(scope, receive, _receipted(send, receipt.encode(), status))
        finally:
            if not status or status[0] >= self.keep_below:
                self.book.unuse_charge(charge["charge_id"])

    def _verify_charge(self, token: str, path: str, price: Price) -> dict[str, Any]:
        body, _, signature = token.partition(".")
        message = unb64(body)
        try:
            charge = json.loads(message)
        except ValueError as error:
            raise PaymentRefused(MALFORMED, "not a charge receipt") from error
        key = self.keys.get(str(charge.get("key_id")))
        if key is None:
            raise PaymentRefused(UNKNOWN_KEY)
        try:
            key.verify(unb64(signature), message)
        except InvalidSignature as error:
            raise PaymentRefused(BAD_SIGNATURE) from error
        if charge.get("provider") != self.provider_id:
            raise PaymentRefused(WRONG_PROVIDER)
        if charge.get("resource") != path:
            raise PaymentRefused("wrong_price", "this charge paid for another resource or price")
        if self.clock() >= charge.get("expires_at", 0):
            raise PaymentRefused(EXPIRED)
        if "reaccess" in charge:
            # A re-access receipt pays nothing: the platform signs that this reader bought
            # this very page within its re-access period (on another device, maybe). It
            # lives minutes and is used once, like any charge receipt.
            until = charge.get("reaccess")
            if charge.get("amount") != 0 or not isinstance(until, int) or self.clock() >= until:
                raise PaymentRefused(EXPIRED, "this purchase's re-access period is over")
            return dict(charge)
        # A capped receipt pays nothing: the platform signs that this reader already paid
        # this provider the daily cap today; it is accepted only for the cap this page has.
        capped = charge.get("capped")
        expected = (0, price.asset) if capped is not None else (price.units, price.asset)
        if capped is not None and (price.daily_cap is None or capped != price.daily_cap):
            raise PaymentRefused("wrong_price", "this receipt is capped at another amount than this page")
        if (charge.get("amount"), charge.get("asset")) != expected:
            raise PaymentRefused("wrong_price", "this charge paid for another resource or price")
        return dict(charge)

    async def _serve_with_pass(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        payload: dict[str, Any],
        price: Price | None,
        passes: list[PassOffer],
    ) -> None:
        try:
            value = verify_pass(
                str(payload.get("pass", "")), self.keys, provider=self.provider_id, offers=passes
            )
            remaining = self.pass_book.use(value)
        except PaymentRefused as refused:
            await self._payment_required(scope, send, price, passes, refused)
            return
        receipt = encode_header(
            {
                "pass": value.pass_id,
                "remaining": remaining,
                **self.read_again_receipt(scope.get("path", "")),
            }
        ).encode()
        status: list[int] = []

        send_with_receipt = _receipted(send, receipt, status)

        try:
            await self.app(scope, receive, send_with_receipt)
        finally:
            if not status or status[0] >= self.keep_below:
                self.pass_book.give_back(value)

    def _check(self, header: str, price: Price) -> tuple[Certificate, int, bytes]:
        payload = decode_header(header)
        if payload.get("scheme") != SCHEME:
            raise PaymentRefused(MALFORMED, f"only {SCHEME} payments are accepted here")
        token = str(payload.get("certificate", ""))
        certificate = self._verified.get(token)
        if certificate is None:
            # The signature is checked once per channel; every later payment costs a hash.
            certificate, signature = Certificate.decode(token)
            verify_certificate(certificate, signature, self.keys, provider=self.provider_id, now=self.clock())
            if len(self._verified) >= _VERIFIED_CACHE:
                self._verified.clear()
            self._verified[token] = certificate
        elif self.clock() >= certificate.expires_at:
            raise PaymentRefused(EXPIRED)
        if certificate.asset != price.asset or certificate.price != price.units:
            raise PaymentRefused("wrong_price", "this channel pays another price than this resource costs")
        index = payload.get("index")
        if not isinstance(index, int):
            raise PaymentRefused(MALFORMED, "index is an integer")
        return certificate, index, unb64(str(payload.get("token", "")))

    async def _payment_required(
        self,
        scope: Scope,
        send: Send,
        price: Price | None,
        passes: list[PassOffer],
        refused: PaymentRefused | None,
    ) -> None:
        listed: list[dict[str, Any]] = []
        if price is not None:
            listed.append(
                {
                    "scheme": SCHEME,
                    "amount": str(price.units),
                    "price": format_units(price.units, self.assets[price.asset]),
                    "asset": price.asset,
                    "payTo": self.provider_id,
                    "resource": scope.get("path", ""),
                    "server": self.server,
                    "channels": f"{self.server}/v1/channels",
                    "keys": f"{self.server}/.well-known/obolo-keys",
                }
            )
            title = self.title(scope.get("path", ""))
            if title:
                listed[-1]["title"] = title
        for offer in passes:
            listed.append(
                {
                    "scheme": PASS_SCHEME,
                    "name": offer.name,
                    "amount": str(offer.price),
                    "price": format_units(offer.price, self.assets[offer.asset]),
                    "asset": offer.asset,
                    "visits": offer.visits,
                    "hours": offer.hours,
                    "pattern": offer.pattern,
                    "payTo": self.provider_id,
                    "buy": f"{self.server}/v1/passes",
                }
            )
        offers = {"offers": listed}
        body: dict[str, Any] = {"error": "payment_required", **offers}
        if refused is not None:
            body["refused"] = refused.reason
        data = json.dumps(body).encode()
        content_type = b"application/json"
        accept = _header(scope, b"accept") or ""
        if self.payment_page is not None and "text/html" in accept:
            data = self.payment_page(scope.get("path", ""), listed).encode()
            content_type = b"text/html; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 402,
                "headers": [
                    (b"content-type", content_type),
                    *challenge_headers(
                        scope,
                        listed,
                        refused,
                        secret=self.book.secret,
                        realm=self.provider_id,
                        now=self.clock(),
                    ),
                    (b"content-length", str(len(data)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})


def _receipted(send: Send, receipt: bytes, status: list[int]) -> Send:
    """`send`, adding the Payment-Response receipt to successful responses and noting
    the status in `status` (a payment is kept only when it is below 400)."""

    async def send_with_receipt(message: Message) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
            if message["status"] < 400:
                message = dict(message)
                message["headers"] = [*message.get("headers", []), (b"payment-response", receipt)]
        await send(message)

    return send_with_receipt


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def send_claims(
    book: ChannelBook,
    http: Any,
    server: str,
    api_key: str,
    *,
    close_all: bool = False,
    now: float | None = None,
    margin: float = 600,
) -> list[dict[str, Any]]:
    """Close the channels due for settlement (used up, or expiring within `margin`
    seconds; every channel with `close_all`) and post their highest payments to the
    platform in one request, remembering which settled. Run it every few minutes: a claim
    after expiry still pays within the platform's grace hour. `http` is an httpx.Client (or
    anything with .post). Safe to repeat: a channel settles once, and a repeated claim
    answers already_settled."""
    claims = book.close_all() if close_all else book.close_due(time.time() if now is None else now, margin)
    if not claims:
        return []
    response = http.post(
        f"{server.rstrip('/')}/v1/channels/claims",
        json={"claims": claims},
        headers={"Authorization": f"Bearer {api_key}"},
    )
    response.raise_for_status()
    results: list[dict[str, Any]] = response.json()
    sent = {c["channel_id"]: c["index"] for c in claims}
    for result in results:
        if result["status"] in ("settled", "already_settled"):
            book.mark_claimed(result["channel_id"], sent[result["channel_id"]])
    return results


def price_rules_from(
    rules: dict[str, Any], assets: dict[str, Asset] | None = None
) -> tuple[list[Price], list[PassOffer]]:
    """Prices and passes from the JSON the platform publishes at
    /v1/providers/{id}/prices (amounts there are decimal strings)."""
    known = assets or {"EUR": Asset("EUR", 6), "USD": Asset("USD", 6)}

    def units(text: str | None, asset: str) -> int | None:
        return None if text is None else parse_units(text, known[asset])

    prices = [
        Price(
            r["pattern"],
            units(r["price"], r["asset"]) or 0,
            r["asset"],
            daily_cap=units(r.get("daily_cap"), r["asset"]),
            monthly_cap=units(r.get("monthly_cap"), r["asset"]),
        )
        for r in rules.get("prices", [])
    ]
    passes = [
        PassOffer(
            p["name"],
            p["pattern"],
            units(p["price"], p["asset"]) or 0,
            p["asset"],
            p.get("visits"),
            p.get("hours"),
        )
        for p in rules.get("passes", [])
    ]
    return prices, passes


def fetch_price_rules(http: Any, server: str, provider_id: str) -> tuple[list[Price], list[PassOffer]]:
    """What the provider published on the platform, ready for PaywallMiddleware."""
    response = http.get(f"{server.rstrip('/')}/v1/providers/{provider_id}/prices")
    response.raise_for_status()
    return price_rules_from(response.json())


def fetch_reaccess_period(http: Any, server: str, provider_id: str) -> int:
    """The re-access period the provider set on the platform, for
    PaywallMiddleware(reaccess_seconds=...): the site's read-again receipts then end when
    the platform's re-access does. A platform without the setting answers 404: it gave
    every provider a day."""
    response = http.get(f"{server.rstrip('/')}/v1/providers/{provider_id}/reaccess-period")
    if response.status_code == 404 and response.json().get("code") != "provider_not_found":
        return DEFAULT_REACCESS_SECONDS
    response.raise_for_status()
    return int(response.json()["seconds"])
