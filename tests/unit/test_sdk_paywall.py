"""The SDK middleware, in-process: 402 with offers, offline verification, replays
refused across restarts, charge only on delivery."""

from __future__ import annotations

import asyncio
import time

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from obolo.sdk.passes import Pass, PassOffer
from obolo.sdk.paywall import (
    PASS_SCHEME,
    RECEIPT_SCHEME,
    SCHEME,
    PaywallMiddleware,
    Price,
    decode_header,
    encode_header,
)
from obolo.sdk.payword import Certificate, HashChain, b64
from obolo.sdk.proofs import prove_capped, prove_reread, public_key_text

KEY = Ed25519PrivateKey.generate()
KEYS = {"k1": KEY.public_key()}
READER = Ed25519PrivateKey.generate()


async def page(request):
    return PlainTextResponse("paid content")


async def broken(request):
    return PlainTextResponse("oops", status_code=503)


def site(store) -> PaywallMiddleware:
    app = Starlette(routes=[Route("/a/{n}", page), Route("/b/{n}", broken), Route("/free", page)])
    prices = [Price("/a/*", 1_000), Price("/b/*", 1_000)]
    return PaywallMiddleware(
        app, provider_id="mag", prices=prices, keys=KEYS, server="http://obolo", store=store
    )


def channel(provider="mag", price=1_000, length=10):
    chain = HashChain.generate(length)
    cert = Certificate("ch1", provider, "EUR", price, length, b64(chain.root), 2**40, "k1")
    return chain, cert.encode(cert.sign(KEY))


def get(app, path, chain=None, certificate=None, index=None, token=None, proof=None):
    headers = {}
    if chain is not None:
        payment = {
            "scheme": SCHEME,
            "certificate": certificate,
            "index": index,
            "token": b64(token or chain.token(index)),
        }
        headers["Payment"] = encode_header(payment | ({"proof": proof} if proof is not None else {}))

    async def call():
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://site"
        ) as client:
            return await client.get(path, headers=headers)

    return asyncio.run(call())


def test_unpaid_requests_get_402_with_offers_and_free_paths_pass(tmp_path):
    """A priced path answers 402 with a machine-readable offer; others are untouched."""
    app = site(tmp_path / "p.db")
    unpaid = get(app, "/a/1")
    assert unpaid.status_code == 402
    offer = decode_header(unpaid.headers["Payment-Required"])["offers"][0]
    assert (offer["scheme"], offer["amount"], offer["payTo"]) == (SCHEME, "1000", "mag")
    assert get(app, "/free").status_code == 200


def test_a_payment_is_served_with_a_receipt_and_cannot_be_replayed_after_a_restart(tmp_path):
    """Payment 1 is accepted once; the same proof is refused even by a new middleware."""
    chain, certificate = channel()
    app = site(tmp_path / "p.db")
    paid = get(app, "/a/1", chain, certificate, 1)
    assert paid.status_code == 200
    assert decode_header(paid.headers["Payment-Response"])["index"] == 1
    assert get(app, "/a/2", chain, certificate, 1).json()["refused"] == "replayed"
    restarted = site(tmp_path / "p.db")
    assert get(restarted, "/a/2", chain, certificate, 1).json()["refused"] == "replayed"
    assert get(restarted, "/a/2", chain, certificate, 2).status_code == 200
    assert restarted.book.unclaimed() == [{"channel_id": "ch1", "index": 2, "token": b64(chain.token(2))}]


def test_refusals_are_named(tmp_path):
    """Forged token, another provider's channel, wrong price, bad header: 402 with a reason."""
    app = site(tmp_path / "p.db")
    chain, certificate = channel()
    assert get(app, "/a/1", chain, certificate, 1, token=b"\0" * 32).json()["refused"] == "bad_preimage"
    other_chain, other = channel(provider="someone-else")
    assert get(app, "/a/1", other_chain, other, 1).json()["refused"] == "wrong_provider"
    cheap_chain, cheap = channel(price=1)
    assert get(app, "/a/1", cheap_chain, cheap, 1).json()["refused"] == "wrong_price"
    tampered = certificate[:-4] + ("AAAA" if not certificate.endswith("AAAA") else "BBBB")
    assert get(app, "/a/1", chain, tampered, 1).json()["refused"] == "bad_signature"


def test_a_failed_response_does_not_consume_the_payment(tmp_path):
    """When the handler fails, the same proof pays for the retry."""
    app = site(tmp_path / "p.db")
    chain, certificate = channel()
    assert get(app, "/b/1", chain, certificate, 1).status_code == 503
    assert get(app, "/a/1", chain, certificate, 1).status_code == 200
    assert app.book.earned() == {"EUR": 1_000}


TEN_VISITS = PassOffer("10 visits", "/a/*", 1_000_000, visits=10)


def pass_token(**changes) -> str:
    fields = dict(pass_id="p1", provider="mag", pattern="/a/*", price=1_000_000, asset="EUR", visits=10,
                  expires_at=2**40, key_id="k1")  # fmt: skip
    fields.update(changes)
    return Pass(**fields).encode(KEY)


def with_pass(app, path, token):
    async def call():
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://site"
        ) as client:
            header = encode_header({"scheme": PASS_SCHEME, "pass": token})
            return await client.get(path, headers={"Payment": header})

    return asyncio.run(call())


def pass_site(store) -> PaywallMiddleware:
    app = Starlette(routes=[Route("/a/{n}", page), Route("/b/{n}", broken)])
    return PaywallMiddleware(
        app, provider_id="mag", prices=[Price("/a/*", 1_000)], keys=KEYS, server="http://obolo", store=store,
        passes=[TEN_VISITS, PassOffer("errors", "/b/*", 1, visits=1)],
    )  # fmt: skip


def test_ten_visits_then_the_eleventh_is_priced_again(tmp_path):
    """A 10-visit pass opens ten pages; the eleventh answers 402 used_up, with the offers."""
    app = pass_site(tmp_path / "p.db")
    token = pass_token()
    remaining = [decode_header(with_pass(app, f"/a/{n}", token).headers["Payment-Response"])["remaining"]
                 for n in range(10)]  # fmt: skip
    assert remaining == list(range(9, -1, -1))
    eleventh = with_pass(app, "/a/11", token)
    assert (eleventh.status_code, eleventh.json()["refused"]) == (402, "used_up")
    assert {o["scheme"] for o in eleventh.json()["offers"]} == {SCHEME, PASS_SCHEME}
    # The count survives a restart of the provider.
    assert with_pass(pass_site(tmp_path / "p.db"), "/a/12", token).json()["refused"] == "used_up"


def test_passes_on_terms_not_on_sale_or_for_others_are_refused(tmp_path):
    """A cheaper pass than the one sold, another provider's, or an expired one: 402 with the reason."""
    app = pass_site(tmp_path / "p.db")
    assert with_pass(app, "/a/1", pass_token(price=1)).json()["refused"] == "not_on_sale"
    assert with_pass(app, "/a/1", pass_token(visits=1000)).json()["refused"] == "not_on_sale"
    assert with_pass(app, "/a/1", pass_token(provider="other")).json()["refused"] == "wrong_provider"
    assert with_pass(app, "/a/1", pass_token(expires_at=1)).json()["refused"] == "expired"
    forged = Pass("p1", "mag", "/a/*", 1_000_000, "EUR", 10, 2**40, "k1").encode(Ed25519PrivateKey.generate())
    assert with_pass(app, "/a/1", forged).json()["refused"] == "bad_signature"


def test_a_failed_page_gives_the_visit_back(tmp_path):
    """Charge only on delivery applies to passes too."""
    app = pass_site(tmp_path / "p.db")
    token = pass_token(pattern="/b/*", price=1, visits=1)
    assert with_pass(app, "/b/1", token).status_code == 503
    assert with_pass(app, "/b/1", token).status_code == 503  # still not used up


def test_the_wsgi_twin_applies_the_same_rules(tmp_path):
    """A plain WSGI app behind WsgiPaywall: 402 unpaid, served and receipted when paid, replay refused."""
    from wsgiref.util import setup_testing_defaults

    from obolo.sdk.wsgi import WsgiPaywall

    def wsgi_app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"paid content"]

    app = WsgiPaywall(
        wsgi_app, provider_id="mag", prices=[Price("/a/*", 1_000)], keys=KEYS, server="http://obolo",
        store=tmp_path / "w.db",
    )  # fmt: skip
    chain, certificate = channel()

    def call(index=None):
        environ = {"PATH_INFO": "/a/1"}
        setup_testing_defaults(environ)
        if index is not None:
            environ["HTTP_PAYMENT"] = encode_header(
                {
                    "scheme": SCHEME,
                    "certificate": certificate,
                    "index": index,
                    "token": b64(chain.token(index)),
                }
            )
        seen = {}
        body = b"".join(
            app(environ, lambda status, headers: seen.update(status=status, headers=dict(headers)))
        )
        return seen["status"], seen["headers"], body

    assert call()[0].startswith("402")
    status, headers, body = call(1)
    assert (status, body) == ("200 OK", b"paid content")
    assert "payment-response" in headers
    assert call(1)[0].startswith("402")


def reader_channel(reader=READER, length=20):
    """A channel whose certificate names the reader's key, as PayingClient opens them."""
    chain = HashChain.generate(length)
    cert = Certificate(
        "ch1", "mag", "EUR", 1_000, length, b64(chain.root), 2**40, "k1", payer="reader-1",
        reader_key=public_key_text(reader),
    )  # fmt: skip
    return chain, cert, cert.encode(cert.sign(KEY))


def test_a_reader_past_the_daily_cap_pays_exactly_the_cap(tmp_path):
    """Price 1,000, daily cap 5,000: eight pages cost 5,000; the next day charging resumes."""
    now = [1_800_000_000.0]
    capped = capped_site(tmp_path, now, cap=5_000)
    chain, cert, certificate = reader_channel()
    index = 1
    for n in range(8):
        proof = prove_capped(READER, cert, f"/a/{n}", int(now[0]))
        response = get(capped, f"/a/{n}", chain, certificate, index, proof=proof)
        assert response.status_code == 200
        if not decode_header(response.headers["Payment-Response"]).get("capped"):
            index += 1
    assert capped.book.earned() == {"EUR": 5_000}
    now[0] += 86_400
    assert get(capped, "/a/9", chain, certificate, index).status_code == 200
    assert capped.book.earned() == {"EUR": 6_000}


def test_paid_once_read_again_until_the_receipt_expires(tmp_path):
    """A paid page's receipt, with its holder's proof, reopens that page free for a day, not
    another page, not after."""
    now = [1_800_000_000.0]
    app = Starlette(routes=[Route("/a/{n}", page)])
    again = PaywallMiddleware(
        app, provider_id="mag", prices=[Price("/a/*", 1_000)], keys=KEYS, server="http://obolo",
        store=tmp_path / "r.db", clock=lambda: now[0],
    )  # fmt: skip
    chain, certificate = channel()
    answer = decode_header(get(again, "/a/1", chain, certificate, 1).headers["Payment-Response"])
    receipt, key = answer["receipt"], answer["receipt_key"]

    def with_receipt(path, token, proof_for=None):
        proof = prove_reread(key, proof_for or path, int(now[0]))
        return reread(again, path, {"receipt": token, "proof": proof})

    assert with_receipt("/a/1", receipt).status_code == 200
    assert with_receipt("/a/2", receipt).json()["refused"] == "receipt_invalid"
    assert with_receipt("/a/1", receipt[:-2] + "xx").json()["refused"] == "receipt_invalid"
    now[0] += 24 * 3600 + 1
    assert with_receipt("/a/1", receipt).status_code == 402
    assert again.book.earned() == {"EUR": 1_000}


def test_only_used_up_or_expiring_channels_are_closed_for_claims(tmp_path):
    """close_due takes a channel used to its end or expiring within the margin, leaves an
    active one running, and a payment on a closed channel is refused as closed, also after
    a restart."""
    app = site(tmp_path / "p.db")
    chain, certificate = channel(length=2)
    assert get(app, "/a/1", chain, certificate, 1).status_code == 200
    assert app.book.close_due(now=2**40 - 3600, margin=600) == []  # active, an hour left
    assert get(app, "/a/2", chain, certificate, 2).status_code == 200  # now used up
    (claim,) = app.book.close_due(now=2**40 - 3600, margin=600)
    assert (claim["channel_id"], claim["index"]) == ("ch1", 2)
    app.book.mark_claimed("ch1", 2)
    restarted = site(tmp_path / "p.db")
    fresh_chain, fresh = channel(length=5)  # the same channel id, shown again
    assert get(restarted, "/a/3", fresh_chain, fresh, 3).json()["refused"] == "closed"


def test_a_channel_near_its_expiry_is_closed_and_refuses_further_payments(tmp_path):
    """Within the margin of expiry the channel is claimed; the next payment answers closed."""
    app = site(tmp_path / "p.db")
    chain, certificate = channel(length=10)
    assert get(app, "/a/1", chain, certificate, 1).status_code == 200
    (claim,) = app.book.close_due(now=2**40 - 300, margin=600)
    assert claim["index"] == 1
    assert get(app, "/a/2", chain, certificate, 2).json()["refused"] == "closed"
    assert app.book.unclaimed() == [claim]  # still to send: closing is not claiming


def capped_site(tmp_path, now, cap=3_000) -> PaywallMiddleware:
    app = Starlette(routes=[Route("/a/{n}", page)])
    return PaywallMiddleware(
        app, provider_id="mag", prices=[Price("/a/*", 1_000, daily_cap=cap)], keys=KEYS,
        server="http://obolo", store=tmp_path / "c.db", clock=lambda: now[0],
    )  # fmt: skip


def test_past_the_cap_a_captured_certificate_alone_opens_nothing(tmp_path):
    """The certificate travels in every payment header: past the cap, a stranger sending it
    with any index and token gets 402, and nothing is earned."""
    now = [1_800_000_000.0]
    capped = capped_site(tmp_path, now)
    chain = HashChain.generate(20)
    cert = Certificate("ch1", "mag", "EUR", 1_000, 20, b64(chain.root), 2**40, "k1", payer="reader-1")
    certificate = cert.encode(cert.sign(KEY))
    for index in (1, 2, 3):
        assert get(capped, f"/a/{index}", chain, certificate, index).status_code == 200
    for index, token in ((4, b"\0" * 32), (999, b"x" * 32), (1, chain.token(1))):
        stranger = get(capped, "/a/9", chain, certificate, index, token=token)
        assert stranger.status_code == 402, (index, stranger.text)
    assert capped.book.earned() == {"EUR": 3_000}


def reread(app, path, payload):
    async def call():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as client:
            return await client.get(
                path, headers={"Payment": encode_header({"scheme": RECEIPT_SCHEME, **payload})}
            )

    return asyncio.run(call())


def test_a_captured_read_again_receipt_alone_opens_nothing(tmp_path):
    """A read-again receipt travels in request headers: on its own, without the reader's
    proof, it opens nothing."""
    app = site(tmp_path / "p.db")
    chain, certificate = channel()
    receipt = decode_header(get(app, "/a/1", chain, certificate, 1).headers["Payment-Response"])["receipt"]
    assert reread(app, "/a/1", {"receipt": receipt}).status_code == 402


def test_past_the_cap_only_the_readers_fresh_proof_for_that_page_opens_it(tmp_path):
    """At and past the cap a view needs the reader's signature, for that page, recent, once:
    no proof, another key's, the reader's for another page, a used or a stale one, or a
    channel naming no reader key get 402 with the reason; the reader's own opens the page
    for nothing."""
    now = [1_800_000_000.0]
    capped = capped_site(tmp_path, now)
    chain, cert, certificate = reader_channel()
    at = int(now[0])
    for index in (1, 2, 3):
        proof = prove_capped(READER, cert, f"/a/{index}", at)
        assert get(capped, f"/a/{index}", chain, certificate, index, proof=proof).status_code == 200

    def refused(path, proof, index=4, cert_token=certificate):
        answer = get(capped, path, chain, cert_token, index, token=b"\0" * 32, proof=proof)
        assert answer.status_code == 402, answer.text
        return answer.json()["refused"]

    mine = prove_capped(READER, cert, "/a/4", at)
    assert refused("/a/4", None) == "capped_proof_required"
    assert refused("/a/4", prove_capped(Ed25519PrivateKey.generate(), cert, "/a/4", at)) == "bad_proof"
    assert refused("/a/5", mine) == "bad_proof"  # the reader's proof, for another page
    assert refused("/a/4", {**mine, "at": at + 1}) == "bad_proof"
    assert refused("/a/4", prove_capped(READER, cert, "/a/4", at - 3_600)) == "expired"
    assert refused("/a/4", {"at": "now", "nonce": "n"}) == "malformed"
    served = get(capped, "/a/4", chain, certificate, 999, token=b"x" * 32, proof=mine)
    assert served.status_code == 200
    assert decode_header(served.headers["Payment-Response"]) == {
        "channel": "ch1",
        "capped": True,
        "paid": "0",
    }
    assert refused("/a/4", mine) == "proof_used"  # captured on its way: opens nothing again
    past = prove_capped(READER, cert, "/a/6", at)
    assert get(capped, "/a/6", chain, certificate, 4, proof=past).status_code == 200
    assert refused("/a/7", None) == "capped_proof_required"
    keyless = Certificate("ch2", "mag", "EUR", 1_000, 20, b64(chain.root), 2**40, "k1", payer="reader-1")
    assert refused("/a/7", mine, cert_token=keyless.encode(keyless.sign(KEY))) == "capped_proof_required"
    assert capped.book.earned() == {"EUR": 3_000}


def test_a_read_again_receipt_opens_its_page_only_with_its_holders_fresh_proof(tmp_path):
    """A captured receipt, with no proof, a proof by another key, one for another page, a
    used or a stale one, gets 402; the holder's fresh proof opens the page, once per proof."""
    app = site(tmp_path / "p.db")
    chain, certificate = channel()
    answer = decode_header(get(app, "/a/1", chain, certificate, 1).headers["Payment-Response"])
    receipt, key = answer["receipt"], answer["receipt_key"]
    at = int(time.time())

    def refused(path, proof):
        response = reread(app, path, {"receipt": receipt, "proof": proof})
        assert response.status_code == 402, response.text
        return response.json()["refused"]

    mine = prove_reread(key, "/a/1", at)
    assert refused("/a/1", None) == "bad_proof"
    assert refused("/a/1", prove_reread(b64(b"k" * 32), "/a/1", at)) == "bad_proof"
    assert refused("/a/1", prove_reread(key, "/a/2", at)) == "bad_proof"
    assert refused("/a/1", prove_reread(key, "/a/1", at - 3_600)) == "expired"
    assert reread(app, "/a/1", {"receipt": receipt, "proof": mine}).text == "paid content"
    assert refused("/a/1", mine) == "proof_used"
    assert (
        reread(app, "/a/1", {"receipt": receipt, "proof": prove_reread(key, "/a/1", at)}).status_code == 200
    )
    assert app.book.earned() == {"EUR": 1_000}
