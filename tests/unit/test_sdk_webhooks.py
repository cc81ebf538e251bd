"""The provider SDK's webhook signature check."""

import pytest

from obolo.sdk import InvalidSignature, sign, verify_signature

SECRET = "whsec_test"
BODY = b'{"type":"payment.received"}'


def test_a_signature_round_trips():
    """What Obolo signs, the SDK accepts."""
    verify_signature(SECRET, BODY, sign(SECRET, BODY, 1_000), now=1_010)


@pytest.mark.parametrize(
    ("secret", "body", "now"),
    [
        ("whsec_other", BODY, 1_010),  # wrong secret
        (SECRET, BODY + b" ", 1_010),  # tampered body
        (SECRET, BODY, 1_000 + 301),  # too old: a replay
        (SECRET, BODY, 1_000 - 301),  # from the future
    ],
)
def test_forgeries_and_replays_are_refused(secret, body, now):
    """A wrong secret, a changed body or a timestamp outside the tolerance is refused."""
    with pytest.raises(InvalidSignature):
        verify_signature(secret, body, sign(SECRET, BODY, 1_000), now=now)


@pytest.mark.parametrize("header", ["", "t=1000", "v1=abc", "t=abc,v1=00", "garbage"])
def test_malformed_headers_are_refused(header):
    """A header without a timestamp and a v1 signature is refused, not crashed on."""
    with pytest.raises(InvalidSignature):
        verify_signature(SECRET, BODY, header, now=1_000)


def test_any_of_several_signatures_may_match_during_rotation():
    """While a secret rotates, a header may carry one v1 per secret."""
    header = sign("whsec_old", BODY, 1_000) + "," + sign(SECRET, BODY, 1_000).split(",")[1]
    verify_signature(SECRET, BODY, header, now=1_000)
