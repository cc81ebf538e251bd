"""For terminals and readers: check a tap receipt or an offline kit signed by the
platform, name a card the way a kit does, and sign requests with a terminal's key.

Imports only the standard library, `cryptography` and `obolo.money`; the platform's
public keys come from `/.well-known/obolo-keys` (`{kid: Ed25519PublicKey}`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from obolo.money import DEFAULT_ASSETS, format_units
from obolo.sdk.encoding import b64url, unb64url


class TapTokenRefused(Exception):
    """A receipt or kit that is malformed, signed by an unknown key, or forged."""


_b64 = b64url


def _unb64(text: str) -> bytes:
    try:
        return unb64url(text)
    except ValueError as error:
        raise TapTokenRefused("not base64url") from error


def canonical(fields: dict[str, Any]) -> bytes:
    """The bytes that are signed: JSON with sorted keys and no spaces."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def sign_token(fields: dict[str, Any], key: Ed25519PrivateKey) -> str:
    message = canonical(fields)
    return _b64(message) + "." + _b64(key.sign(message))


def _open(token: str, keys: dict[str, Ed25519PublicKey]) -> dict[str, Any]:
    body, _, signature = token.partition(".")
    message = _unb64(body)
    try:
        fields = json.loads(message)
    except ValueError as error:
        raise TapTokenRefused("not JSON") from error
    if not isinstance(fields, dict):
        raise TapTokenRefused("not an object")
    key = keys.get(str(fields.get("kid")))
    if key is None:
        raise TapTokenRefused("signed by a key this verifier does not know")
    try:
        key.verify(_unb64(signature), message)
    except InvalidSignature as error:
        raise TapTokenRefused("the signature does not match") from error
    return fields


@dataclass(frozen=True, slots=True)
class TapReceipt:
    tap_id: str
    terminal_id: str
    merchant_id: str
    card_id: str
    asset: str
    amount: int
    charged: int
    capped: bool
    balance_band: str
    tapped_at: int
    kid: str

    def charged_text(self) -> str:
        asset = DEFAULT_ASSETS.get(self.asset)
        return f"{format_units(self.charged, asset)} {self.asset}" if asset else f"{self.charged} units"


def verify_receipt(token: str, keys: dict[str, Ed25519PublicKey]) -> TapReceipt:
    """The receipt if the platform signed it; TapTokenRefused otherwise."""
    fields = _open(token, keys)
    try:
        return TapReceipt(**fields)
    except TypeError as error:
        raise TapTokenRefused("not a tap receipt") from error


@dataclass(frozen=True, slots=True)
class OfflineKit:
    terminal_id: str
    merchant_id: str
    asset: str
    version: int
    issued_at: int
    expires_at: int
    offline_limit: int
    max_loss_per_card: int
    tag_key: str
    deny: list[str]
    kid: str

    def valid_at(self, now_seconds: float | None = None) -> bool:
        now = time.time() if now_seconds is None else now_seconds
        return self.issued_at - 300 <= now < self.expires_at

    def allows(self, uid: bytes, spent_offline: int, amount: int) -> bool:
        """May this terminal accept a tap of `amount` offline from this card, which already
        spent `spent_offline` here under this kit?"""
        return (
            card_tag(bytes.fromhex(self.tag_key), uid) not in set(self.deny)
            and spent_offline + amount <= self.offline_limit
        )


def verify_kit(token: str, keys: dict[str, Ed25519PublicKey]) -> OfflineKit:
    """The kit if the platform signed it; TapTokenRefused otherwise."""
    fields = _open(token, keys)
    try:
        return OfflineKit(**fields)
    except TypeError as error:
        raise TapTokenRefused("not an offline kit") from error


def card_tag(tag_key: bytes, uid: bytes) -> str:
    """A card's name in an offline kit's deny list."""
    return hmac.new(tag_key, uid, hashlib.sha256).hexdigest()[:32]


def sign_request(
    method: str, path: str, timestamp: int, body: bytes, key: Ed25519PrivateKey
) -> dict[str, str]:
    """The headers of a request from a terminal that holds an Ed25519 key: a signature over
    SHA-256 of `METHOD PATH\\nTIMESTAMP\\n` and the exact body (which names the terminal and
    a unique tap id), and the timestamp (unix seconds; the platform allows five minutes)."""
    message = f"{method} {path}\n{timestamp}\n".encode() + body
    return {
        "Obolo-Terminal-Signature": _b64(key.sign(hashlib.sha256(message).digest())),
        "Obolo-Timestamp": str(timestamp),
    }


def public_keys(published: list[dict[str, str]]) -> dict[str, Ed25519PublicKey]:
    """`/.well-known/obolo-keys` JSON (its `keys` list) as verification keys."""
    return {k["kid"]: Ed25519PublicKey.from_public_bytes(_unb64(k["public_key"])) for k in published}
