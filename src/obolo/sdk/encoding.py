"""base64url without padding: how tokens, keys, receipts and cursors are written on the wire."""

from __future__ import annotations

import base64


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    """The bytes of `text`, padded or not; ValueError when it is not base64url."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except TypeError as error:
        raise ValueError("not base64url") from error
