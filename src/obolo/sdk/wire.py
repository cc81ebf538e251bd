"""Three encodings on the wire, one verifier underneath: what PaywallMiddleware (and the
gate) answer and accept besides Obolo's own `Payment` header.

- A 402 carries `PAYMENT-REQUIRED` in x402 v2's form (which also lists Obolo's own
  `offers`) and `WWW-Authenticate: Payment …` challenges (IETF draft).
- A paid request may carry x402's `PAYMENT-SIGNATURE` or `Authorization: Payment …`
  instead of `Payment`; either holds the same Obolo proof, which is handed to the same
  checks as if it had come in `Payment`.
- The answer then speaks the request's encoding: `PAYMENT-RESPONSE` as an x402
  SettleResponse (success, or the refusal's reason), or a `Payment-Receipt`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from obolo.sdk import mpp, x402
from obolo.sdk.payword import MALFORMED, PaymentRefused, b64, unb64

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
X402, IETF = "x402", "ietf"


def challenge_headers(
    scope: MutableMapping[str, Any],
    offers: list[dict[str, Any]],
    refused: PaymentRefused | None,
    *,
    secret: bytes,
    realm: str,
    now: float,
) -> list[tuple[bytes, bytes]]:
    """The 402's `PAYMENT-REQUIRED` (x402 v2, with Obolo's offers inside) and
    `WWW-Authenticate` (IETF `Payment` challenges, when a channel is on offer)."""
    error = refused.reason if refused is not None else "payment_required"
    required = x402.payment_required(resource_url(scope), offers, error)
    headers = [(b"payment-required", x402.encode(required).encode())]
    headers += [(b"www-authenticate", value.encode()) for value in mpp.challenges(secret, realm, offers, now)]
    return headers


def resource_url(scope: MutableMapping[str, Any]) -> str:
    host = _header(scope, b"host") or str((scope.get("server") or ("localhost", 80))[0])
    query = bytes(scope.get("query_string") or b"").decode("latin-1")
    return f"{scope.get('scheme', 'http')}://{host}{scope.get('path', '')}" + (f"?{query}" if query else "")


@dataclass
class ForeignProof:
    """A proof that came in x402's or the IETF encoding: `header` is the same proof as
    Obolo's own `Payment` header would carry (None when `refused`)."""

    wire: str
    header: str | None
    asset: str
    units: int
    refused: PaymentRefused | None = None
    now: float = 0.0

    def wrap(self, send: Send) -> Send:
        """`send`, turning the answer's Obolo receipt into this encoding's receipt."""

        async def send_in_kind(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = self._headers(int(message["status"]), list(message.get("headers", [])))
            await send(message)

        return send_in_kind

    def _headers(self, status: int, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        own = next((value for name, value in headers if name.lower() == b"payment-response"), None)
        if status == 402 and self.wire == X402:
            required = next((value for name, value in headers if name.lower() == b"payment-required"), b"")
            try:
                reason = str(x402.decode(required.decode()).get("error", "payment_required"))
            except PaymentRefused:
                reason = "payment_required"
            failed = x402.settlement(success=False, asset=self.asset, error=reason)
            return [*headers, (b"payment-response", x402.encode(failed).encode())]
        if status >= 400 or own is None:
            return headers
        receipt = _receipt(own)
        # Capped views and re-access receipts pay nothing; a pass was paid when bought.
        free = receipt.get("capped") or receipt.get("reaccess") or "pass" in receipt
        paid = "0" if free else str(self.units)
        transaction = x402.transaction_of(receipt)
        if self.wire == X402:
            settled = x402.settlement(success=True, asset=self.asset, transaction=transaction, amount=paid,
                                      extra=receipt)  # fmt: skip
            kept = [(name, value) for name, value in headers if name.lower() != b"payment-response"]
            return [*kept, (b"payment-response", x402.encode(settled).encode())]
        return [*headers, (b"payment-receipt", mpp.receipt(transaction, self.now, receipt).encode())]


def foreign_proof(
    scope: MutableMapping[str, Any],
    *,
    secret: bytes,
    realm: str,
    units: int | None,
    asset: str,
    now: float,
) -> ForeignProof | None:
    """The proof of a request paying in x402's or the IETF encoding; None when it carries
    neither. `units`/`asset` are the resource's price (None: sold by pass only)."""
    signature = _header(scope, b"payment-signature")
    if signature is not None:
        try:
            inner = x402.proof(signature)
        except PaymentRefused as refused:
            return ForeignProof(X402, None, asset, units or 0, refused, now)
        return ForeignProof(X402, _legacy(inner), asset, units or 0, now=now)
    authorization = _header(scope, b"authorization")
    if authorization is None or authorization[:8].lower() != "payment ":
        return None
    try:
        if units is None:
            raise PaymentRefused(MALFORMED, "this resource is sold by pass only")
        path = str(scope.get("path", ""))
        inner = mpp.proof(authorization, secret=secret, realm=realm, resource=path, amount=units,
                          asset=asset, now=now)  # fmt: skip
    except PaymentRefused as refused:
        return ForeignProof(IETF, None, asset, units or 0, refused, now)
    return ForeignProof(IETF, _legacy(inner), asset, units, now=now)


def _legacy(proof: dict[str, Any]) -> str:
    return b64(json.dumps(proof, separators=(",", ":"), sort_keys=True).encode())


def _receipt(value: bytes) -> dict[str, Any]:
    try:
        decoded = json.loads(unb64(value.decode("latin-1")))
    except (ValueError, PaymentRefused):
        return {}
    return decoded if isinstance(decoded, dict) else {}


def _header(scope: MutableMapping[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None
