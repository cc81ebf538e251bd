"""PayWord channels: a provider verifies payments offline with one hash each, and
refuses replays, gaps, forgeries, other providers' channels and expired ones."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from obolo.sdk.payword import (
    BAD_PREIMAGE,
    BAD_SIGNATURE,
    BEYOND_CHANNEL,
    EXPIRED,
    GAP_TOO_LARGE,
    REPLAYED,
    UNKNOWN_KEY,
    WRONG_PROVIDER,
    Certificate,
    ChannelState,
    HashChain,
    PaymentRefused,
    accept_payment,
    b64,
    verify_certificate,
)

KEY = Ed25519PrivateKey.generate()
KEYS = {"k1": KEY.public_key()}


def certificate(chain: HashChain, **changes) -> Certificate:
    fields = dict(
        channel_id="ch_1", provider="magazine", asset="EUR", price=100_000, length=chain.length,
        root=b64(chain.root), expires_at=2_000_000_000, key_id="k1",
    )  # fmt: skip
    fields.update(changes)
    return Certificate(**fields)


def refused(reason, call, *args, **kwargs):
    with pytest.raises(PaymentRefused) as raised:
        call(*args, **kwargs)
    assert raised.value.reason == reason


def test_payments_in_order_each_cost_one_hash_and_add_up():
    """Ten payments in order are all accepted; the provider earned ten prices."""
    chain = HashChain.generate(10)
    state = ChannelState.open(certificate(chain))
    assert [accept_payment(state, k, chain.token(k)) for k in range(1, 11)] == [1] * 10
    assert state.earned == 10 * 100_000


@given(st.lists(st.integers(1, 50), min_size=1, max_size=10, unique=True))
def test_skipped_payments_are_covered_by_a_later_proof(indexes):
    """Any rising sequence of proofs is accepted, each covering the payments since the last."""
    chain = HashChain.generate(50)
    state = ChannelState.open(certificate(chain))
    covered = sum(accept_payment(state, k, chain.token(k)) for k in sorted(indexes))
    assert covered == state.index == max(indexes)


def test_replays_gaps_and_forgeries_are_refused_with_distinct_reasons():
    """Replay, past the end, too big a jump, and a made-up token are each named."""
    chain = HashChain.generate(20_000)
    state = ChannelState.open(certificate(chain))
    accept_payment(state, 3, chain.token(3))
    refused(REPLAYED, accept_payment, state, 3, chain.token(3))
    refused(REPLAYED, accept_payment, state, 2, chain.token(2))
    refused(BEYOND_CHANNEL, accept_payment, state, 20_001, b"x" * 32)
    refused(GAP_TOO_LARGE, accept_payment, state, 15_000, chain.token(15_000))
    refused(BAD_PREIMAGE, accept_payment, state, 4, b"\0" * 32)
    other = HashChain.generate(20)
    refused(BAD_PREIMAGE, accept_payment, state, 4, other.token(4))
    assert state.index == 3


def test_certificates_are_checked_offline():
    """The platform's signature, the provider, the key id and the expiry all matter."""
    chain = HashChain.generate(5)
    cert = certificate(chain)
    signature = cert.sign(KEY)
    verify_certificate(cert, signature, KEYS, provider="magazine", now=1_900_000_000)
    refused(WRONG_PROVIDER, verify_certificate, cert, signature, KEYS, provider="other", now=1)
    refused(EXPIRED, verify_certificate, cert, signature, KEYS, provider="magazine", now=2_000_000_000)
    refused(
        UNKNOWN_KEY, verify_certificate, certificate(chain, key_id="k9"), signature, KEYS, provider="magazine"
    )
    forged = certificate(chain, price=1)  # the payer tries to lower the price
    refused(BAD_SIGNATURE, verify_certificate, forged, signature, KEYS, provider="magazine", now=1)
    refused(
        BAD_SIGNATURE,
        verify_certificate,
        cert,
        Ed25519PrivateKey.generate().sign(b"x").hex(),
        KEYS,
        provider="magazine",
        now=1,
    )


def test_a_certificate_travels_as_one_token():
    """encode/decode round-trips exactly, and the signature still verifies."""
    chain = HashChain.generate(5)
    cert = certificate(chain)
    decoded, signature = Certificate.decode(cert.encode(cert.sign(KEY)))
    assert decoded == cert
    verify_certificate(decoded, signature, KEYS, provider="magazine", now=1)
