"""The platform's Ed25519 signing keys (channel certificates, receipts). The private key
comes from OBOLO_SIGNING_KEY (base64url of the 32-byte seed) or, for local runs, a key
file beside the SQLite database; public keys are published with their ids so keys can
rotate while old certificates still verify."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return "ed25519-" + hashlib.sha256(_raw_public(key)).hexdigest()[:12]


@dataclass(frozen=True)
class SigningKeys:
    current: Ed25519PrivateKey
    #: Older public keys still accepted for verification, by key id.
    retired: tuple[Ed25519PublicKey, ...] = ()

    @property
    def current_id(self) -> str:
        return key_id(self.current.public_key())

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        keys = {key_id(k): k for k in self.retired}
        keys[self.current_id] = self.current.public_key()
        return keys

    def published(self) -> list[dict[str, str]]:
        """The JSON for /.well-known/obolo-keys."""
        return [
            {"kid": kid, "alg": "Ed25519", "public_key": _b64(_raw_public(key))}
            for kid, key in self.public_keys().items()
        ]

    @classmethod
    def from_environment(cls, fallback_file: Path | None = None) -> SigningKeys:
        seed = os.environ.get("OBOLO_SIGNING_KEY")
        if seed:
            raw = base64.urlsafe_b64decode(seed + "=" * (-len(seed) % 4))
            return cls(Ed25519PrivateKey.from_private_bytes(raw))
        if fallback_file is None:
            return cls(Ed25519PrivateKey.generate())
        if not fallback_file.exists():
            key = Ed25519PrivateKey.generate()
            fallback_file.write_bytes(
                key.private_bytes(
                    serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
                )
            )
            fallback_file.chmod(0o600)
        return cls(Ed25519PrivateKey.from_private_bytes(fallback_file.read_bytes()))
