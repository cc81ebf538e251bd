"""The wallet history is the ledger's: every transfer on a person's wallet appears once,
with its exact signed amount and a description from the product it belongs to."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from obolo.adapters.cards import Card
from obolo.entrypoints.api.app import create_app
from obolo.entrypoints.web.i18n import translator
from obolo.errors import InvalidRequest
from obolo.identity.model import Role
from obolo.money import EUR, Amount
from obolo.paywall.model import Claim
from obolo.sdk.payword import HashChain, b64
from obolo.settings import FeeRule, Settings
from obolo.tasks.model import Terms
from obolo.tasks.service import Decision
from tests.factories import checked_platform, make_user

CARD = Card("4242424242424242", 12, 2031, "123")
HOUR = 3600


def eur(text: str) -> Amount:
    return Amount.parse(text, EUR)


@pytest.fixture
def platform(db_url, clock):
    settings = Settings(fees={"paywall": FeeRule(basis_points=200)})
    yield from checked_platform(settings, url=db_url, clock=clock, migrate=True)


def everything(platform, user_id, **filters):
    """Every history entry of the person, following the cursor to the end."""
    entries, cursor = platform.wallets.activity(user_id, 200, **filters)
    while cursor:
        more, cursor = platform.wallets.activity(user_id, 200, cursor, **filters)
        entries += more
    return entries


def lines(entries):
    return [(e.status, e.amount, e.reserved, e.description) for e in entries]


def balance(platform, user_id):
    (b,) = [b for b in platform.wallets.balances(user_id) if b.asset == "EUR"]
    return b.available, b.reserved


@pytest.fixture
def reading(platform, clock):
    """A reader who topped up, paid a friend, used a channel and a tab, and bought a pass."""
    reader = platform.identity.sign_up("reader@example.com", "reader password", "Reader").id
    friend = platform.identity.sign_up("friend@example.com", "friend password", "Friend").id
    publisher = platform.identity.sign_up("publisher@example.com", "publisher password", "Publisher").id
    platform.identity.add_role(publisher, Role.PROVIDER)
    provider = platform.paywall.register_provider(publisher, "The Magazine", "https://magazine.example").id
    platform.wallets.top_up(reader, eur("20.00"), CARD)
    platform.wallets.pay(reader, "friend@example.com", eur("1.50"), "lunch")
    chain = HashChain.generate(10)
    channel, _ = platform.paywall.open_channel(reader, provider, eur("0.10"), 10, b64(chain.root))
    platform.paywall.settle_claims(publisher, [Claim(channel, 4, chain.token(4))])
    platform.tabs.set_consent(reader, provider, eur("0.10"), eur("5.00"))
    for n in range(10):
        platform.tabs.charge(reader, provider, f"/a/{n}", eur("0.10"), f"c{n}")
    platform.tabs.refund(reader, provider, "c3")
    platform.tabs.charge(reader, provider, "/a/10", eur("0.10"), "c10")
    platform.tabs.charge(reader, provider, "/a/11", eur("0.10"), "c11")  # settles the full tab
    offer = {"name": "10 visits", "pattern": "/articles/*", "price": "1.00", "asset": "EUR", "visits": 10}
    platform.paywall.set_price_rules(publisher, provider, {"prices": [], "passes": [offer]})
    platform.paywall.buy_pass(reader, provider, "/articles/*", eur("1.00"), visits=10)
    return reader, friend, publisher


def test_a_readers_history_shows_every_movement_and_sums_to_the_balance(platform, reading):
    """Top-up, payment, channel hold and settlement, tab hold and settlement, pass: each
    once with its exact signed amount; the amounts sum to the balance, the reserves to
    what is reserved."""
    reader, _, _ = reading
    every = everything(platform, reader)
    entries = [e for e in every if e.status not in ("charged", "refunded")]  # the ledger's
    assert lines(entries) == [
        ("posted", -1_000_000, 0, "Payment to Publisher: pass: 10 visits"),
        ("reserved", 0, 1_000_000, "Reserved for The Magazine"),  # the next tab
        ("settled", -1_000_000, -1_000_000, "The Magazine — 11 views, 1 refunded"),
        ("reserved", 0, 1_000_000, "Reserved for The Magazine"),
        ("settled", -400_000, -1_000_000, "The Magazine — 4 views"),
        ("reserved", 0, 1_000_000, "Reserved for The Magazine"),
        ("posted", -1_500_000, 0, "Payment to Friend: lunch"),
        ("posted", 20_000_000, 0, "Top-up by Visa 4242"),
    ]
    assert entries[4].released == 600_000  # six of the channel's ten views were never used
    italian = translator("it")
    assert [entries[n].text.render(italian) for n in (2, 4)] == [
        "The Magazine — 11 letture, 1 rimborsata",  # one refund: the word agrees with it
        "The Magazine — 4 letture",
    ]
    assert [e.direction for e in entries] == ["out"] * 7 + ["in"]
    available, reserved = balance(platform, reader)
    assert sum(e.amount for e in entries) == available + reserved
    assert sum(e.reserved for e in entries) == reserved
    assert sum(e.available for e in entries) == available
    # Each view shows too, when charged (and its refund when refunded), changing no
    # balance: what they add up to is what the settled tab posted plus what the open one used.
    bought = [e for e in every if e.status in ("charged", "refunded")]
    assert sorted((e.status, e.description, e.spent) for e in bought) == sorted(
        [("charged", f"The Magazine — /a/{n}", 100_000) for n in range(12)]
        + [("refunded", "Refunded: The Magazine — /a/3", -100_000)]
    )
    assert all((e.amount, e.reserved) == (0, 0) for e in bought)
    assert sum(e.spent for e in bought) == 1_000_000 + 100_000


def test_a_providers_history_shows_settlements_with_their_fees(platform, reading):
    """The publisher sees each settlement credited in full and the 2% fee on it as its own line."""
    _, _, publisher = reading
    entries = everything(platform, publisher)
    assert lines(entries) == [
        ("posted", 1_000_000, 0, "Payment from Reader: pass: 10 visits"),
        ("pending", 0, 0, "Incoming, pending: 1 view"),  # the open tab: not the publisher's yet
        ("posted", -20_000, 0, "Fee: The Magazine — 11 views, 1 refunded"),
        ("settled", 1_000_000, 0, "Settlement: 11 views, 1 refunded"),
        ("pending", 0, 0, "Incoming, pending: 11 views, 1 refunded"),
        ("posted", -8_000, 0, "Fee: The Magazine — 4 views"),
        ("settled", 400_000, 0, "Settlement: 4 views"),
        ("pending", 0, 0, "Incoming, pending: 4 views"),
    ]
    assert [e.kind for e in entries if e.status == "posted"] == ["payment", "fee", "fee"]
    available, reserved = balance(platform, publisher)
    assert sum(e.amount for e in entries) == available + reserved


def test_nobody_sees_anothers_transfers(platform, reading):
    """The friend sees only the payment received; the reader's other lines are not theirs."""
    reader, friend, _ = reading
    theirs = everything(platform, friend)
    assert lines(theirs) == [("posted", 1_500_000, 0, "Payment from Reader: lunch")]
    mine = {e.id for e in everything(platform, reader)}
    assert mine & {e.id for e in theirs} == {theirs[0].id}  # one transfer, seen from both ends
    assert theirs[0].direction == "in"


def test_filters_by_kind_direction_asset_and_dates(platform, reading, clock):
    """Each filter keeps exactly the matching entries, and a cursor not ours is refused."""
    reader, _, _ = reading
    assert [e.description for e in everything(platform, reader, kind="topup")] == ["Top-up by Visa 4242"]
    incoming = everything(platform, reader, direction="in")
    assert sorted((e.status, e.amount, e.spent) for e in incoming) == [
        ("posted", 20_000_000, 0),
        ("refunded", 0, -100_000),  # the refunded view: in, as spending taken back
    ]
    paywall = everything(platform, reader, kind="paywall")
    assert (len(paywall), len([e for e in paywall if e.status in ("charged", "refunded")])) == (18, 13)
    assert everything(platform, reader, asset="USD") == []
    clock.advance(10)
    now = clock()
    platform.wallets.top_up(reader, eur("3.00"), CARD)
    recent = everything(platform, reader, start=now)
    assert lines(recent) == [("posted", 3_000_000, 0, "Top-up by Visa 4242")]
    assert len(everything(platform, reader, end=now)) == 8 + 13  # the ledger's, the views and the refund
    with pytest.raises(InvalidRequest):
        platform.wallets.activity(reader, 10, "not-a-cursor")


def test_pagination_over_250_entries_returns_each_once(platform, clock):
    """Pages of 7 over 250 transfers list every one exactly once, newest first."""
    payer = make_user(platform.engine, "payer@example.com")
    make_user(platform.engine, "payee@example.com")
    platform.wallets.top_up(payer, eur("10.00"), CARD)
    for n in range(249):
        platform.wallets.pay(payer, "payee@example.com", Amount(n + 1, EUR))
    seen, cursor, pages = [], None, 0
    while True:
        page, cursor = platform.wallets.activity(payer, 7, cursor)
        seen += page
        pages += 1
        if cursor is None:
            break
    assert pages == 36
    assert len(seen) == len({e.id for e in seen}) == 250
    assert [e.timestamp for e in seen] == sorted((e.timestamp for e in seen), reverse=True)
    assert [-e.amount for e in seen[:249]] == list(range(249, 0, -1))
    assert sum(e.amount for e in seen) == balance(platform, payer)[0]
    outgoing = everything(platform, payer, direction="out")
    assert len(outgoing) == 249


def test_a_workers_history_shows_rewards_and_bonuses(platform, clock):
    """The worker sees the reward and the bonus by the task's title; the employer the
    holds, their settlement and release, and the bonus with its fee."""
    employer = make_user(platform.engine, "employer@example.com")
    worker = make_user(platform.engine, "worker@example.com")
    platform.wallets.top_up(employer, eur("5.00"), CARD)
    terms = Terms(
        title="Label images", instructions="Is there a cat?", reward=500_000, assignments=2,
        time_allowed_seconds=600, deadline=clock() + 24 * HOUR * 1_000_000_000,
        auto_approve_seconds=72 * HOUR,
    )  # fmt: skip
    task = platform.tasks.post_task(employer, terms, "EUR")
    taken = platform.tasks.accept(worker, task.id)
    clock.advance(60)
    platform.tasks.submit(worker, taken.id, "yes")
    platform.tasks.review(employer, task.id, [Decision(taken.id, True)])
    platform.tasks.bonus(employer, taken.id, eur("0.20"), "great")
    assert lines(everything(platform, worker)) == [
        ("posted", 200_000, 0, "Bonus: Label images"),
        ("posted", 500_000, 0, "Reward: Label images"),
    ]
    entries = everything(platform, employer)
    assert lines(entries) == [
        ("posted", -20_000, 0, "Fee: bonus for Label images"),
        ("posted", -200_000, 0, "Bonus: Label images"),
        ("settled", -550_000, -550_000, "Task paid: Label images"),  # reward and the 10% fee
        ("reserved", 0, 550_000, "Reserved for task: Label images"),
        ("reserved", 0, 550_000, "Reserved for task: Label images"),
        ("posted", 5_000_000, 0, "Top-up by Visa 4242"),
    ]
    available, reserved = balance(platform, employer)
    assert sum(e.amount for e in entries) == available + reserved
    assert sum(e.reserved for e in entries) == reserved


def test_a_hold_that_expires_is_shown_released_and_the_sums_still_hold(platform, clock):
    """An expiry writes no transfer: the history shows it from the ledger's pending record,
    the money back in the available balance, on both ends, and pages list it once."""
    reader = platform.identity.sign_up("reader@example.com", "reader password", "Reader").id
    publisher = platform.identity.sign_up("publisher@example.com", "publisher password", "Publisher").id
    platform.identity.add_role(publisher, Role.PROVIDER)
    provider = platform.paywall.register_provider(publisher, "The Magazine", "https://magazine.example").id
    platform.wallets.top_up(reader, eur("20.00"), CARD)
    for _ in range(3):  # three unused channels, each outliving its holds between payments
        chain = HashChain.generate(10)
        platform.paywall.open_channel(reader, provider, eur("0.10"), 10, b64(chain.root), ttl_seconds=60)
        platform.wallets.pay(reader, "publisher@example.com", eur("0.01"))
        clock.advance(3 * 86400)
        assert platform.ledger.expire_pending() == 1
    entries = everything(platform, reader)
    assert lines(entries)[:3] == [
        ("expired", 0, -1_000_000, "Hold expired: The Magazine — 0 views"),
        ("posted", -10_000, 0, "Payment to Publisher"),
        ("reserved", 0, 1_000_000, "Reserved for The Magazine"),
    ]
    assert [e.status for e in entries].count("expired") == 3
    assert [e.timestamp for e in entries] == sorted((e.timestamp for e in entries), reverse=True)
    available, reserved = balance(platform, reader)
    assert (available, reserved) == (20_000_000 - 30_000, 0)
    assert sum(e.amount for e in entries) == available + reserved
    assert sum(e.reserved for e in entries) == reserved == 0
    paged, cursor = [], None
    while True:
        page, cursor = platform.wallets.activity(reader, 2, cursor)
        paged += page
        if cursor is None:
            break
    assert [(e.id, e.status) for e in paged] == [(e.id, e.status) for e in entries]
    with TestClient(create_app(platform)) as client:
        token = client.post(
            "/v1/sessions", json={"email": "reader@example.com", "password": "reader password"}
        )
        answer = client.get(
            "/v1/transactions?limit=1", headers={"Authorization": f"Bearer {token.json()['token']}"}
        )
    assert answer.status_code == 200
    (first,) = answer.json()["data"]
    assert (first["status"], first["reserved"], first["available"]) == ("expired", "-1.000000", "1.000000")
    theirs = everything(platform, publisher, kind="paywall") + everything(
        platform, publisher, kind="settlement"
    )
    assert sorted(e.status for e in theirs) == ["expired"] * 3 + ["pending"] * 3
    assert sum(e.amount for e in theirs) == 0
