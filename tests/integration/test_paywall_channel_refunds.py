"""Refunds of channel payments: the reader shows the provider's view receipt within the
window; nothing moves then, the channel's settlement pays the provider less (or a credit
note carries it to the next settlement); every refusal moves nothing and records nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from obolo.adapters.cards import Card
from obolo.adapters.db.schema import channel_refunds, credit_notes
from obolo.identity.model import Role
from obolo.money import EUR, Amount
from obolo.paywall.errors import ChannelNotFound, InvalidViewReceipt, NotRefundable
from obolo.paywall.model import Claim, ClaimStatus
from obolo.sdk.payword import HashChain, b64
from obolo.sdk.views import ViewReceipt
from obolo.settings import FeeRule, Settings
from tests.factories import checked_platform
from tests.fakes import NS

CARD = Card("4242424242424242", 12, 2031, "123")
PRICE = 100_000  # 0.10 EUR


@pytest.fixture
def platform(db_url, clock):
    settings = Settings(fees={"paywall": FeeRule(basis_points=200)}, refunds_per_day=3)
    yield from checked_platform(settings, url=db_url, clock=clock, migrate=True)


@pytest.fixture
def shop(platform):
    """A reader with 20 EUR, a provider with a view-receipt key, and a 10-view channel."""
    reader = platform.identity.sign_up("reader@example.com", "reader password", "Reader").id
    publisher = platform.identity.sign_up("publisher@example.com", "publisher password", "Publisher").id
    platform.identity.add_role(publisher, Role.PROVIDER)
    platform.wallets.top_up(reader, Amount.parse("20.00", EUR), CARD)
    provider = platform.paywall.register_provider(publisher, "Magazine", "https://magazine.example")
    key = platform.channel_refunds.issue_receipt_key(publisher, provider.id)
    chain = HashChain.generate(10)
    channel_id, _ = platform.paywall.open_channel(
        reader, provider.id, Amount(PRICE, EUR), 10, b64(chain.root)
    )
    return reader, publisher, provider.id, key, chain, channel_id


def available(platform, user_id) -> int:
    return {b.asset: b.available for b in platform.wallets.balances(user_id)}.get("EUR", 0)


def view(platform, channel_id, index, key, *, seconds_ago=0, path="/articles/1") -> str:
    at = platform.clock() // NS - seconds_ago
    return ViewReceipt(channel_id, index, path, at).sign(key)


def refunds_recorded(platform) -> int:
    with platform.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(channel_refunds)).scalar_one()


def test_a_refunded_view_is_netted_from_the_channels_settlement(platform, shop):
    """3 views used, 1 refunded: nothing moves at refund time; the settlement pays 2 views
    less the 2% fee and the reader gets the other 8 back."""
    reader, publisher, _, key, chain, channel_id = shop
    before = available(platform, reader)
    refund = platform.channel_refunds.refund_view(reader, channel_id, view(platform, channel_id, 2, key))
    assert (refund.index, refund.amount, refund.netted) == (2, PRICE, "settlement")
    assert available(platform, reader) == before  # no transfer of its own
    (result,) = platform.paywall.settle_claims(publisher, [Claim(channel_id, 3, chain.token(3))])
    assert (result.status, result.paid, result.fee, result.refunded) == (
        ClaimStatus.SETTLED,
        2 * PRICE,
        4_000,
        PRICE,
    )
    assert available(platform, reader) == 20_000_000 - 2 * PRICE
    assert available(platform, publisher) == 2 * PRICE - 4_000
    (again,) = platform.paywall.settle_claims(publisher, [Claim(channel_id, 3, chain.token(3))])
    assert (again.status, again.paid, again.refunded) == (ClaimStatus.ALREADY_SETTLED, 2 * PRICE, PRICE)


def test_a_refund_after_settlement_is_a_credit_note_for_the_next_settlement(platform, shop):
    """The channel settled already: the refund becomes a credit note, and the provider's next
    channel with this reader pays that much less, the reader getting it back then."""
    reader, publisher, provider_id, key, chain, channel_id = shop
    platform.paywall.settle_claims(publisher, [Claim(channel_id, 3, chain.token(3))])
    paid_before = available(platform, publisher)
    refund = platform.channel_refunds.refund_view(reader, channel_id, view(platform, channel_id, 3, key))
    assert refund.netted == "credit_note"
    assert available(platform, publisher) == paid_before
    second = HashChain.generate(5)
    next_id, _ = platform.paywall.open_channel(reader, provider_id, Amount(PRICE, EUR), 5, b64(second.root))
    (result,) = platform.paywall.settle_claims(publisher, [Claim(next_id, 4, second.token(4))])
    assert (result.paid, result.refunded) == (3 * PRICE, PRICE)
    assert available(platform, reader) == 20_000_000 - 3 * PRICE - 3 * PRICE
    with platform.engine.connect() as connection:
        assert connection.execute(select(credit_notes.c.remaining)).scalar_one() == 0


def test_a_view_the_provider_never_claimed_is_not_refunded_again(platform, shop):
    """Settled at index 2: view 5 came back to the reader at settlement, so it cannot be refunded."""
    reader, publisher, _, key, chain, channel_id = shop
    platform.paywall.settle_claims(publisher, [Claim(channel_id, 2, chain.token(2))])
    before = (available(platform, reader), available(platform, publisher))
    with pytest.raises(NotRefundable):
        platform.channel_refunds.refund_view(reader, channel_id, view(platform, channel_id, 5, key))
    assert (available(platform, reader), available(platform, publisher)) == before
    assert refunds_recorded(platform) == 0


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("forged", InvalidViewReceipt),
        ("other_channel", InvalidViewReceipt),
        ("beyond_channel", InvalidViewReceipt),
        ("future", InvalidViewReceipt),
        ("malformed", InvalidViewReceipt),
        ("late", NotRefundable),
        ("someone_else", ChannelNotFound),
        ("rotated_key", InvalidViewReceipt),
    ],
)
def test_refusals_move_nothing_and_record_nothing(platform, shop, case, error):
    """Each bad refund answers its own code; balances and the refund book are unchanged."""
    reader, publisher, provider_id, key, _, channel_id = shop
    asker = reader
    token = view(platform, channel_id, 1, key)
    if case == "forged":
        token = view(platform, channel_id, 1, b"\x00" * 32)
    elif case == "other_channel":
        token = view(platform, "00000000-0000-0000-0000-000000000001", 1, key)
    elif case == "beyond_channel":
        token = view(platform, channel_id, 11, key)
    elif case == "future":
        token = view(platform, channel_id, 1, key, seconds_ago=-3600)
    elif case == "malformed":
        token = "not-a-receipt.at-all"
    elif case == "late":
        token = view(platform, channel_id, 1, key, seconds_ago=601)
    elif case == "someone_else":
        asker = platform.identity.sign_up("other@example.com", "other password!", "Other").id
    elif case == "rotated_key":
        platform.channel_refunds.issue_receipt_key(publisher, provider_id)
    before = (available(platform, reader), available(platform, publisher))
    with pytest.raises(error):
        platform.channel_refunds.refund_view(asker, channel_id, token)
    assert (available(platform, reader), available(platform, publisher)) == before
    assert refunds_recorded(platform) == 0


def test_a_view_is_refunded_once(platform, shop):
    """The same receipt twice: the second answers not_refundable and records nothing more."""
    reader, _, _, key, _, channel_id = shop
    token = view(platform, channel_id, 1, key)
    platform.channel_refunds.refund_view(reader, channel_id, token)
    with pytest.raises(NotRefundable):
        platform.channel_refunds.refund_view(reader, channel_id, token)
    assert refunds_recorded(platform) == 1


def test_the_daily_limit_counts_every_kind_of_refund(platform, shop):
    """refunds_per_day=3: a charge and two channel views refunded, the fourth refund in a day
    is refused; a day later it goes through."""
    reader, _, provider_id, key, _, channel_id = shop
    platform.tabs.set_consent(reader, provider_id, Amount(PRICE, EUR), Amount(10 * PRICE, EUR))
    platform.tabs.charge(reader, provider_id, "/articles/9", Amount(PRICE, EUR), "charge-1")
    platform.tabs.refund(reader, provider_id, "charge-1")
    for index in (1, 2):
        platform.channel_refunds.refund_view(reader, channel_id, view(platform, channel_id, index, key))
    with pytest.raises(NotRefundable):
        platform.channel_refunds.refund_view(reader, channel_id, view(platform, channel_id, 3, key))
    assert refunds_recorded(platform) == 2
    platform.clock.advance(24 * 3600 + 1)
    platform.channel_refunds.refund_view(reader, channel_id, view(platform, channel_id, 3, key))
    assert refunds_recorded(platform) == 3


def test_a_provider_without_a_receipt_key_issues_no_refundable_views(platform, shop):
    """Receipts of a provider that never asked for a key cannot be checked: refused."""
    reader, publisher, _, _, _, _ = shop
    other = platform.paywall.register_provider(publisher, "Second", "https://second.example")
    chain = HashChain.generate(3)
    channel_id, _ = platform.paywall.open_channel(reader, other.id, Amount(PRICE, EUR), 3, b64(chain.root))
    with pytest.raises(InvalidViewReceipt):
        platform.channel_refunds.refund_view(reader, channel_id, view(platform, channel_id, 1, b"k" * 32))
    assert refunds_recorded(platform) == 0
