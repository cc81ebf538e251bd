"""Webhook signatures: `Obolo-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
"<t>.<raw body>". Verify before trusting a webhook; the timestamp tolerance stops
replays of an old delivery."""

from __future__ import annotations

import hashlib
import hmac
import time


class InvalidSignature(Exception):
    """The header is missing or malformed, the signature does not match, or the
    timestamp is outside the tolerance."""


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The `Obolo-Signature` header value for `body` sent at `timestamp`."""
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify_signature(
    secret: str, body: bytes, header: str, *, tolerance: int = 300, now: int | None = None
) -> None:
    """Raise InvalidSignature unless `header` signs `body` with `secret` within
    `tolerance` seconds of `now`. Several v1= values are accepted (secret rotation)."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise InvalidSignature("the header needs t=<timestamp> and at least one v1=<signature>")
    current = int(time.time()) if now is None else now
    if abs(current - timestamp) > tolerance:
        raise InvalidSignature("the timestamp is outside the tolerance")
    expected = _mac(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise InvalidSignature("the signature does not match")
