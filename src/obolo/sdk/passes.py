"""Passes: "10 visits for 1.00" or "24 hours for 0.50" — paid once to the platform, then
a portable token the platform signs, which the provider checks offline and counts down.

The token states its own terms (provider, paths, visits or hours, price); the provider
accepts it only if those are terms it offers, so nobody can sign up for a cheaper pass
than the one on sale.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from obolo.sdk.payword import (
    BAD_SIGNATURE,
    EXPIRED,
    MALFORMED,
    UNKNOWN_KEY,
    WRONG_PROVIDER,
    PaymentRefused,
    b64,
    unb64,
)

USED_UP = "used_up"
NOT_ON_SALE = "not_on_sale"


@dataclass(frozen=True, slots=True)
class PassOffer:
    """What a provider sells: `visits` uses, or `hours` of access, to paths matching
    `pattern`, for `price` units of `asset`."""

    name: str
    pattern: str
    price: int
    asset: str = "EUR"
    visits: int | None = None
    hours: int | None = None


@dataclass(frozen=True, slots=True)
class Pass:
    pass_id: str
    provider: str
    pattern: str
    price: int
    asset: str
    visits: int | None
    expires_at: int  # unix seconds
    key_id: str

    def message(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()

    def encode(self, key: Ed25519PrivateKey) -> str:
        return b64(self.message()) + "." + b64(key.sign(self.message()))

    @classmethod
    def decode(cls, token: str) -> tuple[Pass, bytes, bytes]:
        body, _, signature = token.partition(".")
        message = unb64(body)
        try:
            value = cls(**json.loads(message))
        except (ValueError, TypeError) as error:
            raise PaymentRefused(MALFORMED, "not a pass") from error
        return value, message, unb64(signature)

    def matches(self, offer: PassOffer) -> bool:
        return (self.pattern, self.price, self.asset, self.visits) == (
            offer.pattern,
            offer.price,
            offer.asset,
            offer.visits,
        )


def verify_pass(
    token: str,
    keys: dict[str, Ed25519PublicKey],
    *,
    provider: str,
    offers: list[PassOffer],
    now: float | None = None,
) -> Pass:
    """The pass, if the platform signed it for this provider, it is one of the provider's
    offers and has not expired; otherwise PaymentRefused."""
    value, message, signature = Pass.decode(token)
    key = keys.get(value.key_id)
    if key is None:
        raise PaymentRefused(UNKNOWN_KEY)
    try:
        key.verify(signature, message)
    except InvalidSignature as error:
        raise PaymentRefused(BAD_SIGNATURE) from error
    if value.provider != provider:
        raise PaymentRefused(WRONG_PROVIDER)
    if not any(value.matches(offer) for offer in offers):
        raise PaymentRefused(NOT_ON_SALE, "these pass terms are not on sale here")
    if (time.time() if now is None else now) >= value.expires_at:
        raise PaymentRefused(EXPIRED)
    return value


class PassBook:
    """Visits used per pass, durable in SQLite, so a pass cannot be reused past its count
    after a restart."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("CREATE TABLE IF NOT EXISTS passes (id TEXT PRIMARY KEY, used INTEGER NOT NULL)")
        self._lock = threading.Lock()

    def use(self, value: Pass) -> int:
        """Count one visit; returns the visits left (-1: unlimited). Raises used_up."""
        with self._lock:
            row = self._db.execute("SELECT used FROM passes WHERE id = ?", (value.pass_id,)).fetchone()
            used = row[0] if row else 0
            if value.visits is not None and used >= value.visits:
                raise PaymentRefused(USED_UP, f"all {value.visits} visits are used")
            self._db.execute(
                "INSERT INTO passes (id, used) VALUES (?, 1) ON CONFLICT(id) DO UPDATE SET used = used + 1",
                (value.pass_id,),
            )
            return -1 if value.visits is None else value.visits - used - 1

    def give_back(self, value: Pass) -> None:
        """Undo one visit (the response failed: charge only on delivery)."""
        with self._lock:
            self._db.execute("UPDATE passes SET used = used - 1 WHERE id = ? AND used > 0", (value.pass_id,))
