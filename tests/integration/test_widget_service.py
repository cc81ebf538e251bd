"""Paying through the wallet's popup: offers checked against the provider's registered
origin and published prices, consent asked once, daily caps answered with receipts for
nothing, anonymous trial tabs up to a limit and carried over whole on sign-up."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from obolo.adapters.cards import Card
from obolo.adapters.db.schema import charges
from obolo.adapters.db.schema_widget import anonymous_charges, anonymous_tabs
from obolo.identity.model import Role
from obolo.money import EUR, Amount
from obolo.paywall.anonymous import TooManyTrials, TrialClaimed, TrialLimitReached
from obolo.paywall.errors import ProviderNotFound
from obolo.paywall.widget import NoPrice, WrongOrigin
from obolo.sdk.paywall import (
    CHARGE_SCHEME,
    RECEIPT_SCHEME,
    PaywallMiddleware,
    Price,
    decode_header,
    encode_header,
)
from obolo.sdk.proofs import prove_reread
from obolo.settings import Settings
from obolo.wallets.errors import InsufficientFunds
from tests.factories import checked_platform

SITE = "https://magazine.example"
RULES = {
    "prices": [{"pattern": "/articles/*", "price": "0.10", "asset": "EUR", "daily_cap": "0.30"}],
    "passes": [],
}


def eur(text):
    return Amount.parse(text, EUR)


@pytest.fixture
def platform(db_url, clock):
    yield from checked_platform(Settings(anonymous_tab_limit=250_000), url=db_url, clock=clock, migrate=True)


@pytest.fixture
def people(platform):
    reader = platform.identity.sign_up("reader@example.com", "reader password", "Reader").id
    publisher = platform.identity.sign_up("publisher@example.com", "publisher password", "Publisher").id
    platform.identity.add_role(publisher, Role.PROVIDER)
    platform.wallets.top_up(reader, eur("20.00"), Card("4242424242424242", 12, 2031, "123"))
    provider = platform.paywall.register_provider(publisher, "Magazine", SITE)
    platform.paywall.set_price_rules(publisher, provider.id, RULES)
    return reader, publisher, provider.id


def available(platform, user_id) -> int:
    return {b.asset: b.available for b in platform.wallets.balances(user_id)}.get("EUR", 0)


def rows(platform, table) -> int:
    with platform.engine.connect() as connection:
        return len(connection.execute(table.select()).all())


def serve(
    middleware: PaywallMiddleware, path: str, receipt: str, scheme: str = CHARGE_SCHEME, proof=None
) -> httpx.Response:
    header = encode_header({"scheme": scheme, "receipt": receipt} | ({"proof": proof} if proof else {}))

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=middleware)
        async with httpx.AsyncClient(transport=transport, base_url=SITE) as client:
            return await client.get(path, headers={"Payment": header})

    return asyncio.run(go())


def site(platform, provider_id, cap=300_000) -> PaywallMiddleware:
    async def article(request):
        return PlainTextResponse("the article")

    return PaywallMiddleware(
        Starlette(routes=[Route("/articles/{n}", article)]),
        provider_id=provider_id,
        prices=[Price("/articles/*", 100_000, "EUR", daily_cap=cap)],
        keys=platform.keys.public_keys(),
        server="https://obolo.example",
    )


def test_offer_refused_to_a_page_of_another_origin(platform, people):
    """The popup serves only the provider's registered origin: another page gets wrong_origin."""
    _, _, provider_id = people
    for origin in ("https://evil.example", "http://magazine.example", "https://magazine.example:444", ""):
        with pytest.raises(WrongOrigin) as refused:
            platform.widget.offer(provider_id, "/articles/1", "0.10", "EUR", origin)
        assert refused.value.code == "wrong_origin"


def test_offer_takes_the_published_price_over_the_markup(platform, people):
    """A page cannot lower the price: the rule the provider published wins over data-obolo-price."""
    _, _, provider_id = people
    offer = platform.widget.offer(provider_id, "/articles/1", "0.01", "EUR", SITE + "/articles/1")
    assert (offer.price, offer.daily_cap) == (eur("0.10"), 300_000)
    unpublished = platform.widget.offer(provider_id, "/other/1", "0.02", "EUR", SITE)
    assert (unpublished.price, unpublished.daily_cap) == (eur("0.02"), None)


def test_bad_offers_are_refused(platform, people):
    """Unknown providers, bad prices, unknown assets and non-path resources are named errors."""
    _, _, provider_id = people
    with pytest.raises(ProviderNotFound):
        platform.widget.offer("00000000-0000-0000-0000-000000000000", "/a", "0.10", "EUR", SITE)
    for price, asset, resource in (("-1", "EUR", "/x"), ("0.1234567", "EUR", "/x"), ("1", "XYZ", "/x"),
                                   ("0.10", "EUR", "https://x/y"), ("abc", "EUR", "/x")):  # fmt: skip
        with pytest.raises(NoPrice) as refused:
            platform.widget.offer(provider_id, resource, price, asset, SITE)
        assert refused.value.code == "no_price"


def test_first_click_asks_then_consent_pays_without_asking(platform, people):
    """Without consent nothing is charged until the reader confirms; after that, clicks go through."""
    reader, _, provider_id = people
    offer = platform.widget.offer(provider_id, "/articles/1", "0.10", "EUR", SITE)
    assert platform.widget.pay(reader, offer, "k1", confirmed=False) is None
    assert rows(platform, charges) == 0
    assert available(platform, reader) == 20_000_000
    first = platform.widget.pay(reader, offer, "k1", confirmed=True)
    assert first is not None
    assert first.paid == 100_000
    other = platform.widget.offer(provider_id, "/articles/2", "0.10", "EUR", SITE)
    second = platform.widget.pay(reader, other, "k2", confirmed=False)
    assert second is not None
    assert second.paid == 100_000
    assert serve(site(platform, provider_id), "/articles/2", second.receipt).status_code == 200
    # The consent's one daily limit is the site's cap (0.30): the tab holds that much.
    assert platform.tabs.tab_of(reader, provider_id) == (300_000, 200_000)


def test_daily_cap_gives_free_receipts_the_middleware_accepts(platform, people):
    """Past the provider's daily cap a click costs nothing and the page opens; a refund makes room again."""
    reader, _, provider_id = people

    def offer(n):
        return platform.widget.offer(provider_id, f"/articles/{n}", "0.10", "EUR", SITE)

    paid = [platform.widget.pay(reader, offer(n), f"k{n}", confirmed=True) for n in range(3)]
    assert [p.paid for p in paid if p] == [100_000] * 3
    free = platform.widget.pay(reader, offer(3), "k3", confirmed=True)
    assert free is not None
    assert free.capped
    assert free.paid == 0
    assert platform.tabs.tab_of(reader, provider_id) == (300_000, 300_000)
    middleware = site(platform, provider_id)
    response = serve(middleware, "/articles/3", free.receipt)
    assert response.status_code == 200
    assert response.text == "the article"
    platform.tabs.refund(reader, provider_id, "k0")
    again = platform.widget.pay(reader, offer(4), "k4", confirmed=True)
    assert again is not None
    assert not again.capped
    assert again.paid == 100_000


def test_capped_receipt_refused_by_a_page_with_another_cap(platform, people):
    """A receipt for nothing opens only a page whose own daily cap is the one it names."""
    reader, _, provider_id = people
    for n in range(4):
        offer = platform.widget.offer(provider_id, f"/articles/{n}", "0.10", "EUR", SITE)
        last = platform.widget.pay(reader, offer, f"k{n}", confirmed=True)
    assert last is not None
    assert last.capped
    assert serve(site(platform, provider_id, cap=500_000), "/articles/3", last.receipt).status_code == 402
    assert serve(site(platform, provider_id, cap=None), "/articles/3", last.receipt).status_code == 402


def test_anonymous_tab_stops_at_the_limit(platform, people):
    """A trial tab accrues up to the limit; the click past it is refused and changes nothing."""
    _, _, provider_id = people
    offer = platform.widget.offer(provider_id, "/other/1", "0.10", "EUR", SITE)
    tab, first = platform.anonymous.pay(None, offer, "a1")
    assert serve(site(platform, provider_id), "/articles/1", first.receipt).status_code == 402  # other page
    _, second = platform.anonymous.pay(tab, offer, "a2")
    with pytest.raises(TrialLimitReached) as refused:
        platform.anonymous.pay(tab, offer, "a3")
    assert refused.value.code == "trial_limit_reached"
    trial = platform.anonymous.tab(tab)
    assert trial is not None
    assert (trial.accrued, trial.limit) == (200_000, 250_000)
    assert rows(platform, anonymous_charges) == 2
    assert platform.anonymous.pay(tab, offer, "a2")[1].receipt == second.receipt  # same click again


def test_anonymous_receipt_opens_the_page(platform, people):
    """A trial charge is an ordinary platform-signed charge receipt: the provider serves it
    offline, once, and answers a read-again token for that page, which opens it again with
    its holder's proof and not without."""
    _, _, provider_id = people
    offer = platform.widget.offer(provider_id, "/articles/9", "0.10", "EUR", SITE)
    _, payment = platform.anonymous.pay(None, offer, "a1")
    middleware = site(platform, provider_id)
    response = serve(middleware, "/articles/9", payment.receipt)
    assert response.text == "the article"
    assert serve(middleware, "/articles/9", payment.receipt).status_code == 402  # once only
    answer = decode_header(response.headers["payment-response"])
    reread = answer["receipt"]
    assert serve(middleware, "/articles/9", reread, RECEIPT_SCHEME).status_code == 402
    proof = prove_reread(answer["receipt_key"], "/articles/9", int(time.time()))
    assert serve(middleware, "/articles/9", reread, RECEIPT_SCHEME, proof).text == "the article"


def test_cookie_token_is_signed(platform):
    """Only a token the platform signed names a tab; a changed id or signature names none."""
    token = platform.anonymous.token("tab-1")
    assert platform.anonymous.tab_id_from(token) == "tab-1"
    assert platform.anonymous.tab_id_from("tab-2" + token[5:]) is None
    assert platform.anonymous.tab_id_from(token[:-2] + "AA") is None
    assert platform.anonymous.tab_id_from(None) is None


def test_claim_carries_every_charge_over(platform, people):
    """On sign-up the trial's charges become the reader's own, same ids and amounts, held on their wallet."""
    reader, publisher, provider_id = people
    offer = platform.widget.offer(provider_id, "/other/1", "0.10", "EUR", SITE)
    tab, _ = platform.anonymous.pay(None, offer, "a1")
    platform.anonymous.pay(tab, offer, "a2")
    assert platform.anonymous.claim(tab, reader, EUR) == 200_000
    with platform.engine.connect() as connection:
        carried = connection.execute(charges.select().order_by(charges.c.charge_id)).all()
    assert [(c.charge_id, c.amount, c.reader_id) for c in carried] == [
        ("a1", 100_000, reader),
        ("a2", 100_000, reader),
    ]
    assert platform.tabs.tab_of(reader, provider_id) == (1_000_000, 200_000)
    assert available(platform, reader) == 19_000_000
    assert available(platform, publisher) == 0
    with pytest.raises(TrialClaimed):
        platform.anonymous.claim(tab, reader, EUR)
    with pytest.raises(TrialClaimed):
        platform.anonymous.pay(tab, offer, "a3")
    assert platform.tabs.tab_of(reader, provider_id) == (1_000_000, 200_000)


def test_claim_without_funds_changes_nothing(platform, people):
    """A reader who cannot cover the tab's hold claims nothing: the trial stays theirs to settle later."""
    _, _, provider_id = people
    poor = platform.identity.sign_up("poor@example.com", "poor password!", "Poor").id
    offer = platform.widget.offer(provider_id, "/other/1", "0.10", "EUR", SITE)
    tab, _ = platform.anonymous.pay(None, offer, "a1")
    with pytest.raises(InsufficientFunds):
        platform.anonymous.claim(tab, poor, EUR)
    assert rows(platform, charges) == 0
    assert available(platform, poor) == 0
    trial = platform.anonymous.tab(tab)
    assert trial is not None
    assert trial.claimed_by is None


def test_racing_trial_clicks_never_pass_the_limit(platform, people):
    """Clicks racing on one trial tab accrue at most the limit (one conditional update decides)."""
    _, _, provider_id = people
    offer = platform.widget.offer(provider_id, "/other/1", "0.05", "EUR", SITE)
    tab, _ = platform.anonymous.pay(None, offer, "seed")
    outcomes: list[str] = []

    def click(n: int) -> None:
        try:
            platform.anonymous.pay(tab, offer, f"r{n}")
            outcomes.append("ok")
        except TrialLimitReached:
            outcomes.append("full")

    threads = [threading.Thread(target=click, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    trial = platform.anonymous.tab(tab)
    assert trial is not None
    assert trial.accrued == 250_000
    assert outcomes.count("ok") == 4
    assert rows(platform, anonymous_charges) == 5


def test_new_trial_tabs_per_address_are_limited(platform, clock, people):
    """One address opens at most three trial tabs a day; the fourth is refused and nothing is
    created; another address, or the next day, may open one."""
    _, _, provider_id = people
    offer = platform.widget.offer(provider_id, "/other/1", "0.10", "EUR", SITE)
    for n in range(3):
        platform.anonymous.pay(None, offer, f"t{n}", "192.0.2.7")
    with pytest.raises(TooManyTrials) as refused:
        platform.anonymous.pay(None, offer, "t3", "192.0.2.7")
    assert refused.value.code == "too_many_trials"
    assert rows(platform, anonymous_tabs) == 3
    assert rows(platform, anonymous_charges) == 3
    platform.anonymous.pay(None, offer, "t4", "192.0.2.8")
    clock.advance(24 * 3600 + 1)
    platform.anonymous.pay(None, offer, "t5", "192.0.2.7")
    assert rows(platform, anonymous_tabs) == 5
    with platform.engine.connect() as connection:
        stored = {row.address_hash for row in connection.execute(anonymous_tabs.select())}
    assert not any("192.0.2" in (value or "") for value in stored)  # only keyed hashes are kept
