"""Proofs only the reader can make, each for one page: what opens a page for nothing.

Two things open a priced page without a payment, and neither may be a bearer token,
because both travel in request headers (logs, proxies, shared machines):

- **Past a daily cap** the channel certificate alone is not enough: it is in every
  payment header. The certificate names the reader's Ed25519 public key (`reader_key`,
  chosen by the reader when opening the channel, signed by the platform with the rest);
  a capped view carries the reader's signature over the provider, the channel, the page,
  the time and a nonce. Only the holder of the private key can make one.
- **Read-again receipts** are MACed by the provider with its own secret, and come with a
  holder key (an HMAC of the receipt under that secret) handed once, in the response to
  the request that paid, never in a request. A re-read carries an HMAC by the holder key
  over the page, the time and a nonce.

Each proof is good once (the provider remembers its nonce) and only within
`PROOF_SECONDS` of its time, so a captured header opens nothing for anyone else.

Messages are lines joined by "\\n": the purpose, the fixed fields, the time (digits),
the nonce (base64url characters) and last the page, so no two field lists give the same
bytes (nothing before the page may hold a newline).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from obolo.sdk.payword import EXPIRED, MALFORMED, Certificate, PaymentRefused, b64, unb64

#: How far a proof's time may be from the provider's clock, either way.
PROOF_SECONDS = 600
#: Refusals a provider names in its 402.
CAPPED_PROOF_REQUIRED = "capped_proof_required"
BAD_PROOF = "bad_proof"
RECEIPT_INVALID = "receipt_invalid"
PROOF_USED = "proof_used"
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def public_key_text(key: Ed25519PrivateKey) -> str:
    """The reader key as a channel certificate names it: base64url of the 32 raw bytes."""
    return b64(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def capped_message(certificate: Certificate, resource: str, at: int, nonce: str) -> bytes:
    fields = ["obolo-capped", certificate.provider, certificate.channel_id, str(at), nonce, resource]
    return "\n".join(fields).encode()


def prove_capped(
    key: Ed25519PrivateKey, certificate: Certificate, resource: str, at: int, nonce: str | None = None
) -> dict[str, Any]:
    """The reader's proof for one view of `resource` past the cap (the `proof` member of
    an obolo-channel Payment header)."""
    nonce = nonce or new_nonce()
    signature = key.sign(capped_message(certificate, resource, at, nonce))
    return {"at": at, "nonce": nonce, "signature": b64(signature)}


def _fresh(proof: object, now: float) -> tuple[int, str, dict[str, Any]]:
    if not isinstance(proof, dict):
        raise PaymentRefused(MALFORMED, "the proof is an object with at, nonce and its signature or mac")
    at, nonce = proof.get("at"), proof.get("nonce")
    if (
        not isinstance(at, int)
        or isinstance(at, bool)
        or not isinstance(nonce, str)
        or not _NONCE.match(nonce)
    ):
        raise PaymentRefused(MALFORMED, "at is an integer, nonce 16-64 base64url characters")
    if abs(at - now) > PROOF_SECONDS:
        raise PaymentRefused(EXPIRED, f"a proof is good within {PROOF_SECONDS} seconds of its time")
    return at, nonce, proof


def check_capped(certificate: Certificate, proof: object, resource: str, now: float) -> str:
    """The nonce of a valid capped proof (to remember as used); PaymentRefused otherwise:
    capped_proof_required (no proof, or the channel names no reader key), malformed,
    expired, bad_proof."""
    if proof is None or not certificate.reader_key:
        raise PaymentRefused(
            CAPPED_PROOF_REQUIRED,
            "past the cap a view needs the reader's signature (a channel with reader_key)",
        )
    at, nonce, fields = _fresh(proof, now)
    try:
        key = Ed25519PublicKey.from_public_bytes(unb64(certificate.reader_key))
        key.verify(unb64(str(fields.get("signature", ""))), capped_message(certificate, resource, at, nonce))
    except (ValueError, InvalidSignature, PaymentRefused) as error:
        raise PaymentRefused(BAD_PROOF, "not the reader's signature for this page") from error
    return nonce


def _mac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _holder_key(secret: bytes, body: str) -> bytes:
    return _mac(secret, b"obolo-reread-holder\n" + body.encode())


def issue_reread(secret: bytes, resource: str, expires_at: int) -> tuple[str, str]:
    """(receipt, holder key) reopening `resource` until `expires_at`: the receipt goes in
    later requests, the holder key never does (it MACs each of them)."""
    claims = {"path": resource, "exp": expires_at, "n": new_nonce()}
    body = b64(json.dumps(claims, sort_keys=True, separators=(",", ":")).encode())
    receipt = body + "." + b64(_mac(secret, body.encode()))
    return receipt, b64(_holder_key(secret, body))


def reread_message(resource: str, at: int, nonce: str) -> bytes:
    return "\n".join(["obolo-reread", str(at), nonce, resource]).encode()


def prove_reread(holder_key: str, resource: str, at: int, nonce: str | None = None) -> dict[str, Any]:
    """The reader's proof for reading `resource` again (the `proof` member of an
    obolo-receipt Payment header)."""
    nonce = nonce or new_nonce()
    return {
        "at": at,
        "nonce": nonce,
        "mac": b64(_mac(unb64(holder_key), reread_message(resource, at, nonce))),
    }


def check_reread(secret: bytes, receipt: str, proof: object, resource: str, now: float) -> str:
    """The use to remember (the receipt's MAC and the nonce) if `receipt` is this
    provider's, for `resource`, unexpired, and `proof` is its holder's for `resource`;
    PaymentRefused otherwise (receipt_invalid, malformed, expired, bad_proof)."""
    body, _, mac = receipt.partition(".")
    if not hmac.compare_digest(b64(_mac(secret, body.encode())), mac):
        raise PaymentRefused(RECEIPT_INVALID, "the receipt is forged")
    try:
        claims = json.loads(unb64(body))
    except ValueError as error:
        raise PaymentRefused(RECEIPT_INVALID, "the receipt is malformed") from error
    if not isinstance(claims, dict) or claims.get("path") != resource:
        raise PaymentRefused(RECEIPT_INVALID, "the receipt is for another page")
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= now:
        raise PaymentRefused(RECEIPT_INVALID, "the receipt expired")
    if proof is None:
        raise PaymentRefused(BAD_PROOF, "a read-again receipt needs its holder's proof")
    at, nonce, fields = _fresh(proof, now)
    expected = b64(_mac(_holder_key(secret, body), reread_message(resource, at, nonce)))
    if not hmac.compare_digest(expected, str(fields.get("mac", ""))):
        raise PaymentRefused(BAD_PROOF, "not the receipt holder's proof for this page")
    return f"{mac}:{nonce}"


__all__ = [
    "BAD_PROOF",
    "CAPPED_PROOF_REQUIRED",
    "PROOF_SECONDS",
    "PROOF_USED",
    "RECEIPT_INVALID",
    "check_capped",
    "check_reread",
    "issue_reread",
    "prove_capped",
    "prove_reread",
    "public_key_text",
]
