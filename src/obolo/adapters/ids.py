"""New ids: UUIDv7 (RFC 9562), time-ordered so indexes stay append-mostly."""

from __future__ import annotations

import secrets
import time
import uuid


def uuid7(now_ns: int | None = None) -> uuid.UUID:
    ms = (time.time_ns() if now_ns is None else now_ns) // 1_000_000
    value = (ms & ((1 << 48) - 1)) << 80 | secrets.randbits(80)
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return uuid.UUID(int=value)


def new_id() -> str:
    """A new product id, as text."""
    return str(uuid7())


def derived_id(namespace: str, *parts: str) -> int:
    """A stable 128-bit id for a name: the same parts always give the same id (used for
    platform accounts and for ledger transfer ids derived from idempotency keys)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, "obolo:" + namespace + ":" + ":".join(parts)).int


def keyed_id(idempotency_key: str | None, namespace: str, *parts: str) -> str:
    """A product id, as text: a new one, or with an idempotency key the one that key always
    gives (`derived_id(namespace, *parts, key)`), so a retry finds what its first request made."""
    if idempotency_key is None:
        return new_id()
    return str(uuid.UUID(int=derived_id(namespace, *parts, idempotency_key)))
