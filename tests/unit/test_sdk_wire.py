"""The x402 and IETF encodings, pure: what they accept and, with which reason, what they refuse."""

from __future__ import annotations

import base64
import json

import pytest

from obolo.sdk import mpp, x402
from obolo.sdk.payword import PaymentRefused

SECRET = b"s" * 32
OFFER = {
    "scheme": "obolo-channel",
    "amount": "1000",
    "price": "0.001000",
    "asset": "EUR",
    "payTo": "p1",
    "resource": "/a/1",
    "server": "https://o",
    "channels": "https://o/v1/channels",
    "keys": "https://o/k",
}
PROOF = {"scheme": "obolo-channel", "certificate": "c", "index": 1, "token": "t"}
NOW = 1_800_000_000.0


def credential(**changes: str) -> str:
    echo = mpp.decode_challenge(mpp.challenges(SECRET, "p1", [OFFER], NOW)[0])
    return mpp.credential({**echo, **changes}, PROOF)


def read(header: str, *, resource: str = "/a/1", amount: int = 1000, now: float = NOW) -> dict:
    return mpp.proof(
        header, secret=SECRET, realm="p1", resource=resource, amount=amount, asset="EUR", now=now
    )


def test_a_credential_answering_this_providers_challenge_gives_the_proof():
    """The proof comes back untouched; the challenge names method obolo, intent charge, the price."""
    assert read(credential()) == PROOF
    challenge = mpp.decode_challenge(mpp.challenges(SECRET, "p1", [OFFER], NOW)[0])
    request = mpp.decode_request(challenge["request"])
    assert (challenge["method"], challenge["intent"], request["amount"], request["resource"]) == (
        "obolo", "charge", "1000", "/a/1",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("header", "expected", "reason"),
    [
        (lambda: credential(id="A" * 43), {}, "challenge_invalid"),
        (lambda: credential(realm="p2"), {}, "challenge_invalid"),
        (lambda: credential(), {"resource": "/a/2"}, "challenge_invalid"),
        (lambda: credential(), {"amount": 999}, "challenge_invalid"),
        (lambda: credential(), {"now": NOW + mpp.CHALLENGE_SECONDS + 1}, "expired"),
        (lambda: "Payment not-base64-json", {}, "malformed"),
        (lambda: "Bearer x", {}, "malformed"),
    ],
)
def test_forged_altered_transplanted_or_late_credentials_are_refused(header, expected, reason):
    """Another id, another realm, another page or price (even after a good one was checked), a
    late answer, garbage: refused with a stable reason."""
    read(credential())  # a good one first: what is remembered of it opens nothing else
    with pytest.raises(PaymentRefused) as refused:
        read(header(), **expected)
    assert refused.value.reason == reason


def test_an_altered_request_in_a_credential_is_refused():
    """The request echoed with a lower amount no longer matches the id."""
    echo = mpp.decode_challenge(mpp.challenges(SECRET, "p1", [OFFER], NOW)[0])
    request = mpp.decode_request(echo["request"]) | {"amount": "1"}
    altered = base64.urlsafe_b64encode(json.dumps(request, sort_keys=True, separators=(",", ":")).encode())
    header = mpp.credential({**echo, "request": altered.decode().rstrip("=")}, PROOF)
    with pytest.raises(PaymentRefused) as refused:
        read(header, amount=1)
    assert refused.value.reason == "challenge_invalid"


def test_x402_headers_are_standard_base64_and_name_obolos_network():
    """PAYMENT-REQUIRED decodes with the standard alphabet and padding; the channel accept is
    batch-settlement on obolo:eur; a payload for another network or scheme is refused."""
    header = x402.encode(x402.payment_required("https://m/a/1", [OFFER], "payment_required"))
    assert len(header) % 4 == 0
    decoded = json.loads(base64.b64decode(header, validate=True))
    assert decoded["accepts"][0] | {"extra": None} == {
        "scheme": "batch-settlement", "network": "obolo:eur", "amount": "1000", "asset": "EUR",
        "payTo": "p1", "maxTimeoutSeconds": 300, "extra": None,
    }  # fmt: skip
    good = {"x402Version": 2, "accepted": decoded["accepts"][0], "payload": PROOF}
    assert x402.proof(x402.encode(good)) == PROOF
    for bad in (
        good | {"x402Version": 1},
        good | {"accepted": decoded["accepts"][0] | {"network": "eip155:8453"}},
        good | {"accepted": decoded["accepts"][0] | {"scheme": "exact"}},
        good | {"payload": {"signature": "0x"}},
    ):
        with pytest.raises(PaymentRefused) as refused:
            x402.proof(x402.encode(bad))
        assert refused.value.reason == "malformed"
    with pytest.raises(PaymentRefused):
        x402.decode(base64.urlsafe_b64encode(b'{"a":"\xff\xfe"}').decode().rstrip("="))
