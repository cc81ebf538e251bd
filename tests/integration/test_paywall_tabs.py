"""Charges on a tab under the reader's consent: limits per item and per day, exactly
once per charge id, one settlement per tab, receipts the provider checks offline."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from obolo.adapters.cards import Card
from obolo.identity.model import Role
from obolo.money import EUR, Amount
from obolo.paywall.tabs import ChargeIdReused, NoConsent, NotRefundable, OverLimit
from obolo.sdk.paywall import CHARGE_SCHEME, PaywallMiddleware, Price, encode_header
from tests.factories import checked_platform


def eur(text):
    return Amount.parse(text, EUR)


@pytest.fixture
def platform(db_url, clock):
    yield from checked_platform(url=db_url, clock=clock, migrate=True)


@pytest.fixture
def people(platform):
    reader = platform.identity.sign_up("reader@example.com", "reader password", "Reader").id
    publisher = platform.identity.sign_up("publisher@example.com", "publisher password", "Publisher").id
    platform.identity.add_role(publisher, Role.PROVIDER)
    platform.wallets.top_up(reader, eur("20.00"), Card("4242424242424242", 12, 2031, "123"))
    provider = platform.paywall.register_provider(publisher, "Magazine", "https://magazine.example")
    return reader, publisher, provider.id


def available(platform, user_id) -> int:
    return {b.asset: b.available for b in platform.wallets.balances(user_id)}.get("EUR", 0)


def test_without_consent_nothing_is_charged(platform, people):
    """A provider the reader has not allowed cannot charge them."""
    reader, _, provider_id = people
    with pytest.raises(NoConsent):
        platform.tabs.charge(reader, provider_id, "/a/1", eur("0.10"), "c1")
    assert available(platform, reader) == 20_000_000


def test_charges_accrue_on_a_tab_and_settle_once_full(platform, people):
    """Ten charges of 0.10 fill a 1.00 tab; the eleventh settles it as one transfer and opens the next."""
    reader, publisher, provider_id = people
    platform.tabs.set_consent(reader, provider_id, eur("0.10"), eur("5.00"))
    for n in range(10):
        platform.tabs.charge(reader, provider_id, f"/a/{n}", eur("0.10"), f"c{n}")
    assert platform.tabs.tab_of(reader, provider_id) == (1_000_000, 1_000_000)
    assert available(platform, publisher) == 0  # reserved, not yet paid
    platform.tabs.charge(reader, provider_id, "/a/10", eur("0.10"), "c10")
    assert available(platform, publisher) == 1_000_000
    assert platform.tabs.tab_of(reader, provider_id) == (1_000_000, 100_000)
    assert available(platform, reader) == 20_000_000 - 2_000_000  # one paid, one held


def test_limits_per_item_and_per_day(platform, clock, people):
    """Over the per-item or the per-day consent is refused; the next day the budget is back."""
    reader, _, provider_id = people
    platform.tabs.set_consent(reader, provider_id, eur("0.10"), eur("0.25"))
    with pytest.raises(OverLimit):
        platform.tabs.charge(reader, provider_id, "/a/1", eur("0.11"), "big")
    platform.tabs.charge(reader, provider_id, "/a/1", eur("0.10"), "c1")
    platform.tabs.charge(reader, provider_id, "/a/2", eur("0.10"), "c2")
    with pytest.raises(OverLimit):
        platform.tabs.charge(reader, provider_id, "/a/3", eur("0.10"), "c3")
    clock.advance(24 * 3600 + 1)
    platform.tabs.charge(reader, provider_id, "/a/3", eur("0.10"), "c3")


def test_a_charge_id_charges_once(platform, people):
    """The same charge again charges nothing more; a different charge under that id is refused."""
    reader, _, provider_id = people
    platform.tabs.set_consent(reader, provider_id, eur("0.10"), eur("5.00"))
    platform.tabs.charge(reader, provider_id, "/a/1", eur("0.10"), "c1")
    platform.tabs.charge(reader, provider_id, "/a/1", eur("0.10"), "c1")
    assert platform.tabs.tab_of(reader, provider_id)[1] == 100_000
    with pytest.raises(ChargeIdReused):
        platform.tabs.charge(reader, provider_id, "/a/2", eur("0.10"), "c1")


def test_due_tabs_settle_at_the_end_of_the_period(platform, clock, people):
    """A tab left open a day settles what it accrued and releases the rest."""
    reader, publisher, provider_id = people
    platform.tabs.set_consent(reader, provider_id, eur("0.10"), eur("5.00"))
    platform.tabs.charge(reader, provider_id, "/a/1", eur("0.10"), "c1")
    clock.advance(24 * 3600 + 1)
    assert platform.tabs.settle_due_tabs() == 1
    assert available(platform, publisher) == 100_000
    assert available(platform, reader) == 20_000_000 - 100_000


def test_the_provider_accepts_a_charge_receipt_once_offline(platform, people, tmp_path):
    """The SDK checks the platform's signature, the page and the price, and refuses a replay."""
    reader, _, provider_id = people
    platform.tabs.set_consent(reader, provider_id, eur("0.10"), eur("5.00"))
    receipt = platform.tabs.charge(reader, provider_id, "/a/1", eur("0.10"), "c1")

    async def page(request):
        return PlainTextResponse("article")

    site = PaywallMiddleware(
        Starlette(routes=[Route("/a/{n}", page)]), provider_id=provider_id, prices=[Price("/a/*", 100_000)],
        keys=platform.keys.public_keys(), server="http://obolo", store=tmp_path / "s.db",
    )  # fmt: skip

    def get(path):
        async def call():
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=site), base_url="http://s"
            ) as client:
                header = encode_header({"scheme": CHARGE_SCHEME, "receipt": receipt})
                return await client.get(path, headers={"Payment": header})

        return asyncio.run(call())

    assert get("/a/1").status_code == 200
    assert get("/a/1").json()["refused"] == "replayed"
    assert get("/a/2").json()["refused"] == "wrong_price"


def test_a_refund_on_an_open_tab_is_netted_not_transferred(platform, people):
    """A refunded view lowers the open tab; settlement pays the provider the rest only."""
    reader, _, provider_id = people
    platform.tabs.set_consent(reader, provider_id, eur("0.10"), eur("5.00"))
    platform.tabs.charge(reader, provider_id, "/a/1", eur("0.10"), "c1")
    platform.tabs.charge(reader, provider_id, "/a/2", eur("0.10"), "c2")
    transfers_before = len(
        platform.ledger.account_transfers(platform.wallets.wallet_of(reader, "EUR").account_id)
    )
    assert platform.tabs.refund(reader, provider_id, "c1") == 100_000
    assert platform.tabs.tab_of(reader, provider_id) == (1_000_000, 100_000)
    after = len(platform.ledger.account_transfers(platform.wallets.wallet_of(reader, "EUR").account_id))
    assert after == transfers_before  # no ledger transfer for a refund
    with pytest.raises(NotRefundable):
        platform.tabs.refund(reader, provider_id, "c1")  # once


def test_refunds_close_after_the_window_and_are_limited_per_day(platform, clock, people):
    """After 10 minutes a view is no longer refundable; at most 5 refunds a day."""
    reader, _, provider_id = people
    platform.tabs.set_consent(reader, provider_id, eur("0.10"), eur("5.00"))
    platform.tabs.charge(reader, provider_id, "/a/0", eur("0.10"), "late")
    clock.advance(601)
    with pytest.raises(NotRefundable):
        platform.tabs.refund(reader, provider_id, "late")
    for n in range(6):
        platform.tabs.charge(reader, provider_id, f"/a/{n + 1}", eur("0.10"), f"c{n}")
    for n in range(5):
        platform.tabs.refund(reader, provider_id, f"c{n}")
    with pytest.raises(NotRefundable):
        platform.tabs.refund(reader, provider_id, "c5")


def test_someone_elses_charge_is_not_refundable(platform, people):
    """Only the reader who was charged can take it back."""
    reader, publisher, provider_id = people
    platform.tabs.set_consent(reader, provider_id, eur("0.10"), eur("5.00"))
    platform.tabs.charge(reader, provider_id, "/a/1", eur("0.10"), "c1")
    with pytest.raises(NotRefundable):
        platform.tabs.refund(publisher, provider_id, "c1")


def test_a_refund_after_settlement_is_a_credit_note_netted_next_time(platform, people):
    """The tab already settled: the next settlement pays the provider that much less."""
    reader, publisher, provider_id = people
    platform.tabs.set_consent(reader, provider_id, eur("0.10"), eur("5.00"))
    for n in range(11):  # the eleventh settles the first full tab
        platform.tabs.charge(reader, provider_id, f"/a/{n}", eur("0.10"), f"c{n}")
    assert available(platform, publisher) == 1_000_000
    platform.tabs.refund(reader, provider_id, "c0")  # its tab is settled: a credit note
    for n in range(11, 21):  # fills the second tab; the 21st charge settles it
        platform.tabs.charge(reader, provider_id, f"/a/{n}", eur("0.10"), f"c{n}")
    assert available(platform, publisher) == 1_000_000 + 1_000_000 - 100_000
    assert available(platform, reader) == 20_000_000 - 1_000_000 - 900_000 - 1_000_000
