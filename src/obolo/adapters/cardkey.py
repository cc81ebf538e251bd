"""The server's card key: the HMAC key under which card UIDs are stored (never raw). It
comes from OBOLO_CARD_KEY (base64url of at least 32 bytes) or, for local runs, a key file
beside the SQLite database. Losing it unlinks every card; rotating it means re-linking."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path


def card_key_from_environment(fallback_file: Path | None = None) -> bytes:
    text = os.environ.get("OBOLO_CARD_KEY")
    if text:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        if len(key) < 32:
            raise ValueError("OBOLO_CARD_KEY must be base64url of at least 32 bytes")
        return key
    if fallback_file is None:
        return secrets.token_bytes(32)
    if not fallback_file.exists():
        fallback_file.write_bytes(secrets.token_bytes(32))
        fallback_file.chmod(0o600)
    return fallback_file.read_bytes()
