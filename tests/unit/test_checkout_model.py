"""Checkout's pure rules: origins, return URLs, fees, refunds, and the signed result's
verifier refusing forgeries, other requests, stale and replayed results."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from obolo.adapters.signing import key_id
from obolo.checkout.errors import InvalidRefund, InvalidReturnUrl
from obolo.checkout.model import (
    Accounts,
    Status,
    check_refund,
    check_return_url,
    fee_of,
    origin_of,
    payment_transfers,
    result_fields,
)
from obolo.ledger import TransferFlags
from obolo.sdk.checkout import MemoryReplayGuard, ResultRefused, ResultReplayed, sign_result, verify_result
from obolo.settings import FeeRule

KEY = Ed25519PrivateKey.generate()
KEYS = {key_id(KEY.public_key()): KEY.public_key()}
NOW = 1_800_000_000


def result(**change) -> str:
    fields = result_fields(kid=key_id(KEY.public_key()), request_id="r1", merchant_id="m1", reference="o1",
                           amount=20_000_000, asset="EUR", status=Status.PAID, payer_id="p1", nonce="n1",
                           issued_at=NOW * 1_000_000_000) | change  # fmt: skip
    return sign_result(fields, KEY)


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Shop.Example/x", "https://shop.example"),
        ("https://shop.example:443/x", "https://shop.example"),
        ("http://localhost:8002/lots/1", "http://localhost:8002"),
        ("https://user@shop.example/x", None),
        ("javascript:alert(1)", None),
        ("//shop.example/x", None),
        ("https://shop.example\\@evil.example/", None),
        ("https://shop.example:99999/", None),
    ],
)
def test_origin_of_names_scheme_host_and_port_or_nothing(url, origin):
    """Only plain http(s) URLs without credentials have an origin here."""
    assert origin_of(url) == origin


def test_a_return_url_must_be_on_a_registered_origin():
    """Same scheme, host and port as the merchant's site; anything else is refused."""
    assert check_return_url("https://shop.example/done?x=1", {"https://shop.example"})
    for url in ("http://shop.example/done", "https://shop.example:8443/", "https://evil.example/"):
        with pytest.raises(InvalidReturnUrl):
            check_return_url(url, {"https://shop.example"})


@given(st.integers(1, 10**12), st.integers(0, 10_000), st.integers(0, 10**9))
def test_a_fee_never_exceeds_the_payment(amount, basis_points, fixed):
    """Whatever the rule, the seller never pays more fee than the sale brought."""
    assert 0 <= fee_of(amount, FeeRule(basis_points, fixed)) <= amount


def test_a_payment_and_its_fee_are_one_linked_chain():
    """The amount to the merchant and the fee from it: both or neither."""
    pay, fee = payment_transfers((1, 2), Accounts("EUR", 10, 20, 30), 100, 1)
    assert pay.flags & TransferFlags.LINKED
    assert not fee.flags & TransferFlags.LINKED
    assert (fee.debit_account_id, fee.credit_account_id) == (20, 30)


@given(st.integers(1, 10**9), st.integers(0, 10**9), st.integers(-10, 10**9))
def test_refunds_never_exceed_what_is_left(paid, refunded, amount):
    """A refund is accepted only for 1..(paid - refunded) units."""
    refunded = min(refunded, paid)
    try:
        check_refund(Status.PAID, amount, paid, refunded)
    except InvalidRefund:
        assert amount <= 0 or amount > paid - refunded
    else:
        assert 0 < amount <= paid - refunded


def test_the_verifier_refuses_forgeries_other_requests_and_stale_results():
    """Each wrong result names why; a good one is accepted once with a guard."""
    good = result()
    signature = good.partition(".")[2]
    forged = result(amount=1).partition(".")[0] + "." + signature
    cases = [
        (forged, {}),
        (good, {"amount": 1}),
        (good, {"asset": "USD"}),
        (good, {"merchant_id": "m2"}),
        (result(status="refunded"), {}),
        ("not.a-result", {}),
    ]
    for token, expected in cases:
        with pytest.raises(ResultRefused):
            verify_result(token, KEYS, request_id="r1", now=NOW, **expected)
    with pytest.raises(ResultRefused):
        verify_result(good, KEYS, request_id="r2", now=NOW)
    with pytest.raises(ResultRefused):
        verify_result(good, KEYS, request_id="r1", now=NOW + 2 * 86_400)
    guard = MemoryReplayGuard()
    assert verify_result(good, KEYS, request_id="r1", now=NOW, seen=guard).payer == "p1"
    with pytest.raises(ResultReplayed):
        verify_result(good, KEYS, request_id="r1", now=NOW, seen=guard)
