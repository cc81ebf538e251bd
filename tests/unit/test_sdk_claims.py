"""The background claim sender: finished channels are claimed each round, every channel
on stop, and a failed round is simply tried again."""

from __future__ import annotations

import json

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from obolo.sdk.claims import ClaimSender
from obolo.sdk.paywall import ChannelBook
from obolo.sdk.payword import Certificate, HashChain, b64

KEY = Ed25519PrivateKey.generate()


def paid_channel(book: ChannelBook, channel_id: str, length: int, used: int) -> None:
    chain = HashChain.generate(length)
    certificate = Certificate(channel_id, "mag", "EUR", 1_000, length, b64(chain.root), 2**40, "k1")
    book.reserve(certificate, used, chain.token(used))
    book.commit(certificate)


def platform(received: list[list[dict]], *, fail: bool = False) -> httpx.Client:
    def answer(request: httpx.Request) -> httpx.Response:
        if fail:
            raise httpx.ConnectError("down")
        claims = json.loads(request.content)["claims"]
        received.append(claims)
        return httpx.Response(
            200, json=[{"channel_id": c["channel_id"], "status": "settled"} for c in claims]
        )

    return httpx.Client(transport=httpx.MockTransport(answer))


def test_a_round_claims_finished_channels_and_stop_claims_the_rest(tmp_path):
    """The used-up channel goes in the first round; the active one only on stop."""
    book = ChannelBook(tmp_path / "book.db")
    paid_channel(book, "done", length=3, used=3)
    paid_channel(book, "active", length=10, used=4)
    received: list[list[dict]] = []
    sender = ClaimSender(book, "http://obolo", "key", every=3600, http=platform(received))
    sender.send()
    assert [[c["channel_id"] for c in claims] for claims in received] == [["done"]]
    sender.stop()
    assert [c["channel_id"] for c in received[-1]] == ["active"]
    assert book.unclaimed() == []


def test_a_failed_round_leaves_the_claims_for_the_next(tmp_path):
    """The platform unreachable: nothing is marked claimed; the next round sends it."""
    book = ChannelBook(tmp_path / "book.db")
    paid_channel(book, "done", length=2, used=2)
    assert ClaimSender(book, "http://obolo", "key", http=platform([], fail=True)).send() == []
    assert len(book.unclaimed()) == 1
    received: list[list[dict]] = []
    assert len(ClaimSender(book, "http://obolo", "key", http=platform(received)).send()) == 1
    assert book.unclaimed() == []
