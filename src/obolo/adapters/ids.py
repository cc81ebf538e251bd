"""New ids: UUIDv7 (RFC 9562), time-ordered so indexes stay append-mostly."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


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


_unused: ContextVar[tuple[str, str] | None] = ContextVar("obolo_unused_key", default=None)


@contextmanager
def unused_key(owner: str, key: str) -> Iterator[None]:
    """Say, for the block, that nothing was ever made with `owner`'s idempotency `key`: the
    transaction the block runs in has looked the key up and found it unused (the API's
    write route, which stores every keyed answer in the transaction of its work)."""
    token = _unused.set((owner, key))
    try:
        yield
    finally:
        _unused.reset(token)


def maybe_used(owner: str, key: str | None) -> bool:
    """Could something made with this key (a `keyed_id`) exist already? Not without a key
    (each id is new), nor for a key found unused (`unused_key`); else it could, and a use
    case looks for what a first request made before making it again."""
    return key is not None and _unused.get() != (owner, key)
