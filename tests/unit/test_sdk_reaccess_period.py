"""The middleware's own read-again receipts last the provider's re-access period
(`reaccess_seconds`), the one it sets on the platform: a page reopens before the period
ends and not after; 0 gives no receipt at all; a period out of bounds is refused at start."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from obolo.paywall import model
from obolo.sdk import paywall as sdk_paywall
from obolo.sdk.paywall import PaywallMiddleware, Price, decode_header
from obolo.sdk.proofs import prove_reread
from tests.unit.test_sdk_paywall import KEYS, channel, get, page, reread

START = 1_800_000_000.0


def timed_site(tmp_path, now: list[float], seconds: int) -> PaywallMiddleware:
    return PaywallMiddleware(
        Starlette(routes=[Route("/a/{n}", page)]), provider_id="mag", prices=[Price("/a/*", 1_000)],
        keys=KEYS, server="http://obolo", store=tmp_path / "p.db", clock=lambda: now[0],
        reaccess_seconds=seconds,
    )  # fmt: skip


def test_a_read_again_receipt_lasts_the_providers_period_and_no_longer(tmp_path):
    """Ten minutes set: the holder's fresh proof reopens the page at 9:59 for nothing, and
    at 10:01 the receipt has expired (402), as the platform's re-access would be."""
    now = [START]
    app = timed_site(tmp_path, now, 600)
    chain, certificate = channel()
    answer = decode_header(get(app, "/a/1", chain, certificate, 1).headers["Payment-Response"])
    receipt, key = answer["receipt"], answer["receipt_key"]

    now[0] = START + 599
    proof = prove_reread(key, "/a/1", int(now[0]))
    assert reread(app, "/a/1", {"receipt": receipt, "proof": proof}).text == "paid content"
    now[0] = START + 601
    late = reread(app, "/a/1", {"receipt": receipt, "proof": prove_reread(key, "/a/1", int(now[0]))})
    assert (late.status_code, late.json()["refused"]) == (402, "receipt_invalid")
    assert app.book.earned() == {"EUR": 1_000}


def test_with_no_period_every_view_is_paid_and_no_receipt_is_given(tmp_path):
    """0 seconds: the paid answer carries no read-again receipt, so the next view pays."""
    app = timed_site(tmp_path, [START], 0)
    chain, certificate = channel()
    answer = decode_header(get(app, "/a/1", chain, certificate, 1).headers["Payment-Response"])
    assert "receipt" not in answer
    assert "receipt_key" not in answer
    assert get(app, "/a/1", chain, certificate, 2).status_code == 200
    assert app.book.earned() == {"EUR": 2_000}


@pytest.mark.parametrize("seconds", [-1, 365 * 86_400 + 1, 1.5, "600", True])
def test_a_period_out_of_bounds_or_not_whole_seconds_is_refused_at_start(tmp_path, seconds):
    """The middleware starts only with a period the platform would accept."""
    with pytest.raises(ValueError, match="reaccess_seconds"):
        timed_site(tmp_path, [START], seconds)


def test_the_sdk_and_the_platform_agree_on_the_default_and_the_bound():
    """The SDK cannot import the platform: its copies of the numbers must be the same."""
    assert sdk_paywall.DEFAULT_REACCESS_SECONDS == model.DEFAULT_REACCESS_SECONDS == 24 * 3600
    assert sdk_paywall.MAX_REACCESS_SECONDS == model.MAX_REACCESS_SECONDS
