"""View receipts: what the provider MACs survives a round trip; anything altered, or checked
with another key, is refused."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from obolo.sdk.payword import b64, unb64
from obolo.sdk.views import InvalidViewReceipt, ViewReceipt

KEY = b"k" * 32


@given(
    channel=st.uuids().map(str),
    index=st.integers(1, 1_000_000),
    path=st.text(max_size=200),
    at=st.integers(0, 2**40),
)
def test_a_receipt_verifies_as_issued(channel, index, path, at):
    """Whatever the fields, the receipt verifies to exactly what was signed."""
    receipt = ViewReceipt(channel, index, path, at)
    token = receipt.sign(KEY)
    assert ViewReceipt.verify(token, KEY) == receipt
    assert ViewReceipt.channel_of(token) == channel


def test_another_key_is_refused():
    """A receipt MACed with one provider's key does not verify under another's."""
    token = ViewReceipt("c", 1, "/a", 10).sign(KEY)
    with pytest.raises(InvalidViewReceipt, match="not issued"):
        ViewReceipt.verify(token, b"x" * 32)


def test_an_altered_receipt_is_refused():
    """Changing the index in the body breaks the MAC."""
    body, _, mac = ViewReceipt("c", 1, "/a", 10).sign(KEY).partition(".")
    altered = b64(unb64(body).replace(b'"i":1', b'"i":9'))
    with pytest.raises(InvalidViewReceipt):
        ViewReceipt.verify(altered + "." + mac, KEY)


@pytest.mark.parametrize("token", ["", ".", "abc", "abc.def", "!!!.???"])
def test_garbage_is_refused_not_crashed_on(token):
    """Malformed tokens raise InvalidViewReceipt, never another error."""
    with pytest.raises(InvalidViewReceipt):
        ViewReceipt.verify(token, KEY)


def test_a_well_macd_body_with_wrong_types_is_malformed():
    """A MAC over a body whose index is not an integer is still refused."""
    body = b64(b'{"c":"c","i":"1","p":"/a","t":10}')
    mac = b64(hmac.new(KEY, body.encode(), hashlib.sha256).digest())
    with pytest.raises(InvalidViewReceipt, match="malformed"):
        ViewReceipt.verify(body + "." + mac, KEY)
