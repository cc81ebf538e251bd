"""For merchants: check the signed result of a payment request before shipping.

After a payment (hosted checkout page, the browser's Payment Request, the API or SMS)
the platform hands the payer's browser a result signed with its Ed25519 key; the page
passes it to the merchant's server, which verifies it here, offline, against
`/.well-known/obolo-keys`:

    result = verify_result(token, keys, request_id=order.payment_request_id,
                           amount=order.amount_units, asset="EUR", seen=replay_guard)

The result is bound to one payment request (its id, amount, asset and merchant) and
usable once: `seen` remembers each result's nonce, and a second presentation (a
reloaded return page, a copied link) raises ResultReplayed. Imports only the standard
library, `cryptography` and `obolo.money`.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from obolo.sdk.payword import PaymentRefused, b64, unb64

RESULT_TYPE = "obolo.checkout.result"
#: A result older than this is refused: the payer's browser carries it back in seconds.
MAX_AGE_SECONDS = 24 * 3600


class ResultRefused(Exception):
    """A result that is malformed, forged, for another request or amount, or stale."""


class ResultReplayed(ResultRefused):
    """A genuine result presented a second time: the order was already handled."""


class ReplayGuard(Protocol):
    def first_use(self, nonce: str, expires_at: int) -> bool:
        """True the first time a nonce is seen (and remember it until `expires_at`)."""


class MemoryReplayGuard:
    """Nonces remembered in this process: for one server; several servers share a table."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def first_use(self, nonce: str, expires_at: int) -> bool:
        now = int(time.time())
        with self._lock:
            for old in [n for n, until in self._seen.items() if until < now]:
                del self._seen[old]
            if nonce in self._seen:
                return False
            self._seen[nonce] = expires_at
            return True


@dataclass(frozen=True, slots=True)
class CheckoutResult:
    request_id: str
    merchant_id: str
    reference: str
    amount: int
    asset: str
    #: "paid", or "held" under buyer protection (the money reaches the merchant later).
    status: str
    payer: str
    nonce: str
    iat: int
    kid: str


def _unb64(text: str) -> bytes:
    try:
        return unb64(text)
    except PaymentRefused as error:
        raise ResultRefused("not base64url") from error


def sign_result(fields: dict[str, Any], key: Ed25519PrivateKey) -> str:
    """The platform's side: `base64url(JSON).base64url(signature)`."""
    message = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    return b64(message) + "." + b64(key.sign(message))


def open_result(token: str, keys: dict[str, Ed25519PublicKey]) -> CheckoutResult:
    """The result if the platform signed it (nothing else checked); ResultRefused otherwise."""
    body, dot, signature = token.strip().partition(".")
    if not dot or len(token) > 4_000:
        raise ResultRefused("not a checkout result")
    message = _unb64(body)
    try:
        fields = json.loads(message)
    except ValueError as error:
        raise ResultRefused("not JSON") from error
    if not isinstance(fields, dict) or fields.get("typ") != RESULT_TYPE:
        raise ResultRefused("not a checkout result")
    key = keys.get(str(fields.get("kid")))
    if key is None:
        raise ResultRefused("signed by a key this verifier does not know")
    try:
        key.verify(_unb64(signature), message)
    except InvalidSignature as error:
        raise ResultRefused("the signature does not match") from error
    fields.pop("typ")
    try:
        return CheckoutResult(**fields)
    except TypeError as error:
        raise ResultRefused("not a checkout result") from error


def verify_result(
    token: str,
    keys: dict[str, Ed25519PublicKey],
    *,
    request_id: str,
    amount: int | None = None,
    asset: str | None = None,
    merchant_id: str | None = None,
    seen: ReplayGuard | None = None,
    now: float | None = None,
    max_age_seconds: int = MAX_AGE_SECONDS,
) -> CheckoutResult:
    """The result, once it proves that `request_id` was paid (and for `amount` of `asset`
    to `merchant_id`, when given). Raises ResultRefused, or ResultReplayed when `seen`
    has met this result before."""
    result = open_result(token, keys)
    if result.request_id != request_id:
        raise ResultRefused("the result is for another payment request")
    if amount is not None and result.amount != amount:
        raise ResultRefused("the result is for another amount")
    if asset is not None and result.asset != asset:
        raise ResultRefused("the result is in another asset")
    if merchant_id is not None and result.merchant_id != merchant_id:
        raise ResultRefused("the result is for another merchant")
    if result.status not in ("paid", "held"):
        raise ResultRefused("the payment request was not paid")
    current = time.time() if now is None else now
    if not result.iat - 300 <= current <= result.iat + max_age_seconds:
        raise ResultRefused("the result is stale")
    if seen is not None and not seen.first_use(result.nonce, result.iat + max_age_seconds):
        raise ResultReplayed("this result was already used")
    return result


def public_keys(published: list[dict[str, str]]) -> dict[str, Ed25519PublicKey]:
    """`/.well-known/obolo-keys` JSON (its `keys` list) as verification keys."""
    return {k["kid"]: Ed25519PublicKey.from_public_bytes(_unb64(k["public_key"])) for k in published}
