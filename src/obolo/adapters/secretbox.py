"""Encryption for secrets Obolo must be able to read back (webhook signing secrets):
Fernet (AES-128-CBC + HMAC-SHA256) with a key from OBOLO_SECRET_KEY.

Passwords, API keys and session tokens are never stored this way: they are hashed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        # web: keys for other purposes (CSRF tokens) are derived, so there is one secret to keep.
        self._root = hashlib.sha256(b"obolo-derive\0" + key).digest()

    @classmethod
    def from_environment(cls, fallback_file: Path | None = None) -> SecretBox:
        """The key from OBOLO_SECRET_KEY; else, for local development, one kept in
        `fallback_file` (created with mode 0600 on first use)."""
        key = os.environ.get("OBOLO_SECRET_KEY")
        if key:
            return cls(key.encode())
        if fallback_file is None:
            return cls(Fernet.generate_key())
        if not fallback_file.exists():
            fallback_file.write_bytes(Fernet.generate_key())
            fallback_file.chmod(0o600)
        return cls(fallback_file.read_bytes().strip())

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as error:
            raise ValueError("secret cannot be decrypted with this key") from error

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for `purpose` (e.g. "web-csrf"), stable for this secret key and
        unrelated to the encryption key and to other purposes' keys."""
        return hmac.new(self._root, purpose.encode(), hashlib.sha256).digest()
