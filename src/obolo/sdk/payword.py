"""PayWord channels, provider side and payer side: pure and offline.

The payer makes a hash chain w_n → … → w_0 (w_i = SHA-256(w_{i+1})) and the platform
signs a certificate binding its root w_0 to one provider, price, length and expiry
(after reserving n * price in the payer's wallet). Payment k reveals w_k. A provider
checks it against the highest w_j it has seen: hashing w_k k-j times must give w_j —
one SHA-256 for each payment in order, no network, no database. Only the payer knows
the preimages, so a claim for more than was paid cannot be forged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from obolo.sdk.encoding import b64url, unb64url

#: Why a payment or certificate was refused; stable strings providers can log and count.
REPLAYED = "replayed"
BEYOND_CHANNEL = "beyond_channel"
BAD_PREIMAGE = "bad_preimage"
EXPIRED = "expired"
WRONG_PROVIDER = "wrong_provider"
BAD_SIGNATURE = "bad_signature"
UNKNOWN_KEY = "unknown_key"
MALFORMED = "malformed"
GAP_TOO_LARGE = "gap_too_large"
CLOSED = "closed"  # the provider settled the channel: open a new one
#: Most payments one proof may cover: a bound on the hashing a stranger can make us do.
MAX_SKIP = 10_000


class PaymentRefused(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


b64 = b64url


def unb64(text: str) -> bytes:
    try:
        return unb64url(text)
    except ValueError as error:
        raise PaymentRefused(MALFORMED, "not base64url") from error


class HashChain:
    """The payer's secret chain. `token(k)` is the k-th payment (w_k); `root` is w_0."""

    def __init__(self, seed: bytes, length: int) -> None:
        if length < 1:
            raise ValueError("a chain has at least one payment")
        tokens = [seed]
        for _ in range(length):
            tokens.append(_sha256(tokens[-1]))
        tokens.reverse()  # tokens[i] is w_i
        self._tokens = tokens
        self.length = length
        self.seed = seed

    @classmethod
    def generate(cls, length: int) -> HashChain:
        return cls(secrets.token_bytes(32), length)

    @property
    def root(self) -> bytes:
        return self._tokens[0]

    def token(self, k: int) -> bytes:
        if not 1 <= k <= self.length:
            raise ValueError(f"payment {k} is outside this chain of {self.length}")
        return self._tokens[k]


@dataclass(frozen=True, slots=True)
class Certificate:
    """What the platform vouches for: `length` payments of `price` units of `asset` to
    `provider`, each revealing the next preimage of `root`, until `expires_at` (unix s)."""

    channel_id: str
    provider: str
    asset: str
    price: int
    length: int
    root: str  # base64url of w_0
    expires_at: int
    key_id: str
    #: A pseudonym of the payer, the same for every channel to this provider (and only
    #: this provider), so it can apply caps per reader without learning who they are.
    payer: str = ""
    #: The reader's Ed25519 public key (base64url, 32 bytes): past a cap, a view needs a
    #: signature by it (obolo.sdk.proofs), since this certificate is no secret.
    reader_key: str = ""

    def message(self) -> bytes:
        """The exact bytes signed: canonical JSON (sorted keys, no spaces). A certificate
        without a reader key signs the fields it had before there was one, so those
        issued earlier still verify."""
        fields = asdict(self)
        if not self.reader_key:
            del fields["reader_key"]
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    def sign(self, key: Ed25519PrivateKey) -> str:
        return b64(key.sign(self.message()))

    def encode(self, signature: str) -> str:
        """A portable token: base64url(JSON) "." signature."""
        return b64(self.message()) + "." + signature

    @classmethod
    def decode(cls, token: str) -> tuple[Certificate, str]:
        body, _, signature = token.partition(".")
        try:
            fields = json.loads(unb64(body))
            certificate = cls(**fields)
        except (ValueError, TypeError) as error:
            raise PaymentRefused(MALFORMED, "not a channel certificate") from error
        if not (isinstance(certificate.price, int) and isinstance(certificate.length, int)):
            raise PaymentRefused(MALFORMED, "price and length are integers")
        return certificate, signature


def verify_certificate(
    certificate: Certificate,
    signature: str,
    keys: dict[str, Ed25519PublicKey],
    *,
    provider: str,
    now: float | None = None,
) -> None:
    """Raise PaymentRefused unless the platform signed this certificate, for this
    provider, and it has not expired."""
    key = keys.get(certificate.key_id)
    if key is None:
        raise PaymentRefused(UNKNOWN_KEY, f"no platform key {certificate.key_id!r}")
    try:
        key.verify(unb64(signature), certificate.message())
    except InvalidSignature as error:
        raise PaymentRefused(BAD_SIGNATURE) from error
    if certificate.provider != provider:
        raise PaymentRefused(WRONG_PROVIDER, f"this channel pays {certificate.provider!r}")
    if (time.time() if now is None else now) >= certificate.expires_at:
        raise PaymentRefused(EXPIRED)


@dataclass(slots=True)
class ChannelState:
    """The provider's view of one channel: the highest payment seen and its token."""

    certificate: Certificate
    index: int
    token: bytes

    @classmethod
    def open(cls, certificate: Certificate) -> ChannelState:
        return cls(certificate, 0, unb64(certificate.root))

    @property
    def earned(self) -> int:
        return self.index * self.certificate.price


def accept_payment(state: ChannelState, index: int, token: bytes, *, max_skip: int = MAX_SKIP) -> int:
    """Check payment `index` revealing `token`; on success advance `state` and return how
    many payments it covered (more than one when some were skipped: each hash proves the
    one before it). Raises PaymentRefused: replayed, beyond_channel, gap_too_large,
    bad_preimage."""
    if index <= state.index:
        raise PaymentRefused(REPLAYED, f"payment {index} was already received")
    if index > state.certificate.length:
        raise PaymentRefused(BEYOND_CHANNEL, f"the channel holds {state.certificate.length} payments")
    steps = index - state.index
    if steps > max_skip:
        raise PaymentRefused(GAP_TOO_LARGE, f"one proof covers at most {max_skip} payments")
    value = token
    for _ in range(steps):
        value = _sha256(value)
    if not hmac.compare_digest(value, state.token):
        raise PaymentRefused(BAD_PREIMAGE)
    state.index = index
    state.token = token
    return steps
