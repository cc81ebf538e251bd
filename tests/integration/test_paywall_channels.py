"""Channels end to end: a reader reserves, pays a provider 1,000 times offline, the
provider settles once; every refusal moves nothing; claims pay once."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from obolo.adapters.cards import Card
from obolo.identity.model import Role
from obolo.money import EUR, Amount
from obolo.paywall.errors import InvalidChannel, InvalidPass, NotAProvider, ProviderNotFound
from obolo.paywall.model import Claim, ClaimStatus
from obolo.sdk.payword import Certificate, ChannelState, HashChain, accept_payment, b64, verify_certificate
from obolo.settings import FeeRule, Settings
from obolo.wallets.errors import InsufficientFunds
from tests.factories import checked_platform

CARD = Card("4242424242424242", 12, 2031, "123")


@pytest.fixture
def platform(db_url, clock):
    settings = Settings(fees={"paywall": FeeRule(basis_points=200)})
    yield from checked_platform(settings, url=db_url, clock=clock, migrate=True)


@pytest.fixture
def people(platform):
    reader = platform.identity.sign_up("reader@example.com", "reader password", "Reader").id
    publisher = platform.identity.sign_up("publisher@example.com", "publisher password", "Publisher").id
    platform.identity.add_role(publisher, Role.PROVIDER)
    platform.wallets.top_up(reader, Amount.parse("20.00", EUR), CARD)
    provider = platform.paywall.register_provider(publisher, "Magazine", "https://magazine.example")
    return reader, publisher, provider.id


def available(platform, user_id) -> int:
    return {b.asset: b.available for b in platform.wallets.balances(user_id)}.get("EUR", 0)


def test_a_thousand_page_views_settle_as_one_transfer(platform, people):
    """1,000 views at 0.001 EUR: one hold, one settlement; the provider gets 1.00 less 2%."""
    reader, publisher, provider_id = people
    chain = HashChain.generate(2_000)
    channel_id, token = platform.paywall.open_channel(
        reader, provider_id, Amount.parse("0.001", EUR), 2_000, b64(chain.root)
    )
    assert available(platform, reader) == 20_000_000 - 2_000_000
    certificate, signature = Certificate.decode(token)
    verify_certificate(certificate, signature, platform.keys.public_keys(), provider=provider_id)
    state = ChannelState.open(certificate)
    for k in range(1, 1_001):  # offline: no database, no network
        accept_payment(state, k, chain.token(k))
    before = platform.ledger.account_transfers(
        platform.wallets.wallet_of(reader, "EUR").account_id, limit=1000
    )
    (result,) = platform.paywall.settle_claims(publisher, [Claim(channel_id, state.index, state.token)])
    assert (result.status, result.paid, result.fee, result.released) == (
        ClaimStatus.SETTLED,
        1_000_000,
        20_000,
        1_000_000,
    )
    assert available(platform, reader) == 19_000_000
    assert available(platform, publisher) == 980_000
    after = platform.ledger.account_transfers(
        platform.wallets.wallet_of(reader, "EUR").account_id, limit=1000
    )
    assert len(after) - len(before) == 1  # one settlement for the whole channel


def test_a_claim_sent_twice_pays_once(platform, people):
    """The second claim answers already_settled and moves nothing."""
    reader, publisher, provider_id = people
    chain = HashChain.generate(10)
    channel_id, _ = platform.paywall.open_channel(
        reader, provider_id, Amount.parse("0.10", EUR), 10, b64(chain.root)
    )
    claim = Claim(channel_id, 4, chain.token(4))
    platform.paywall.settle_claims(publisher, [claim])
    (again,) = platform.paywall.settle_claims(publisher, [claim])
    assert again.status is ClaimStatus.ALREADY_SETTLED
    assert available(platform, publisher) == 400_000 - 8_000


@pytest.mark.parametrize(
    ("index", "token_of", "status"),
    [
        (5, 6, ClaimStatus.BAD_PREIMAGE),
        (11, None, ClaimStatus.BEYOND_CHANNEL),
        (3, "forged", ClaimStatus.BAD_PREIMAGE),
    ],
)
def test_claims_without_a_valid_preimage_pay_nothing(platform, people, index, token_of, status):
    """A token that does not hash to the root, or an index past the channel, is refused."""
    reader, publisher, provider_id = people
    chain = HashChain.generate(10)
    channel_id, _ = platform.paywall.open_channel(
        reader, provider_id, Amount.parse("0.10", EUR), 10, b64(chain.root)
    )
    token = b"\0" * 32 if token_of in (None, "forged") else chain.token(token_of)
    (result,) = platform.paywall.settle_claims(publisher, [Claim(channel_id, index, token)])
    assert result.status is status
    assert available(platform, publisher) == 0
    assert available(platform, reader) == 19_000_000


def test_nobody_claims_another_providers_channel(platform, people):
    """A claim from someone who does not own the channel's provider is not_found."""
    reader, _, provider_id = people
    chain = HashChain.generate(10)
    channel_id, _ = platform.paywall.open_channel(
        reader, provider_id, Amount.parse("0.10", EUR), 10, b64(chain.root)
    )
    (result,) = platform.paywall.settle_claims(reader, [Claim(channel_id, 3, chain.token(3))])
    assert result.status is ClaimStatus.NOT_FOUND
    assert available(platform, reader) == 19_000_000


def test_unclaimed_channels_release_everything_after_the_grace_period(platform, clock, people):
    """Past expiry plus grace the hold expires: the reader has it all back, a late claim pays nothing."""
    reader, publisher, provider_id = people
    chain = HashChain.generate(10)
    channel_id, _ = platform.paywall.open_channel(
        reader, provider_id, Amount.parse("0.10", EUR), 10, b64(chain.root), ttl_seconds=60
    )
    clock.advance(60 + 3600 + 1)
    platform.ledger.expire_pending()
    assert available(platform, reader) == 20_000_000
    (late,) = platform.paywall.settle_claims(publisher, [Claim(channel_id, 3, chain.token(3))])
    assert late.status is ClaimStatus.EXPIRED
    assert available(platform, publisher) == 0


def test_a_claim_within_the_grace_period_still_pays(platform, clock, people):
    """After the certificate expired but before the grace ends, the claim settles."""
    reader, publisher, provider_id = people
    chain = HashChain.generate(10)
    channel_id, _ = platform.paywall.open_channel(
        reader, provider_id, Amount.parse("0.10", EUR), 10, b64(chain.root), ttl_seconds=60
    )
    clock.advance(120)
    (result,) = platform.paywall.settle_claims(publisher, [Claim(channel_id, 2, chain.token(2))])
    assert result.status is ClaimStatus.SETTLED


def test_bad_channels_are_refused_and_reserve_nothing(platform, people):
    """No provider role, unknown provider, too long, bad root, unaffordable: refused, nothing held."""
    reader, publisher, provider_id = people
    with pytest.raises(NotAProvider):
        platform.paywall.register_provider(reader, "Not me", "https://reader.example")
    root = b64(HashChain.generate(1).root)
    for call, error in [
        (lambda: platform.paywall.open_channel(reader, "00000000-0000-0000-0000-000000000000",
                                               Amount.parse("0.10", EUR), 10, root), ProviderNotFound),
        (lambda: platform.paywall.open_channel(reader, provider_id, Amount.parse("0.10", EUR), 10, "short"),
         InvalidChannel),
        (lambda: platform.paywall.open_channel(reader, provider_id, Amount.parse("0.10", EUR), 0, root),
         InvalidChannel),
        (lambda: platform.paywall.open_channel(reader, provider_id, Amount.parse("1.00", EUR), 21, root),
         InsufficientFunds),
        (lambda: platform.paywall.open_channel(publisher, provider_id, Amount.parse("0.10", EUR), 1, root),
         InvalidChannel),
    ]:  # fmt: skip
        with pytest.raises(error):
            call()
    assert available(platform, reader) == 20_000_000


def test_a_pass_is_paid_once_to_the_provider_and_verifies_offline(platform, people):
    """Buying the published 10 visits for 1.00 pays the provider 1.00 now; the token verifies
    with the published keys."""
    from obolo.sdk.passes import PassOffer, verify_pass

    reader, publisher, provider_id = people
    published = {"name": "10 visits", "pattern": "/articles/*", "price": "1.00", "asset": "EUR", "visits": 10}
    platform.paywall.set_price_rules(publisher, provider_id, {"prices": [], "passes": [published]})
    token = platform.paywall.buy_pass(
        reader, provider_id, "/articles/*", Amount.parse("1.00", EUR), visits=10
    )
    assert available(platform, publisher) == 1_000_000
    assert available(platform, reader) == 19_000_000
    offer = PassOffer("10 visits", "/articles/*", 1_000_000, visits=10)
    value = verify_pass(token, platform.keys.public_keys(), provider=provider_id, offers=[offer])
    assert value.visits == 10
    with pytest.raises(InvalidPass):  # neither visits nor hours
        platform.paywall.buy_pass(reader, provider_id, "/articles/*", Amount.parse("1.00", EUR))
    assert available(platform, reader) == 19_000_000


def test_a_batch_of_claims_is_one_transaction_and_a_bad_claim_is_refused_alone(platform, clock, people):
    """N claims commit once; an expired claim and a bad preimage answer their codes and move
    nothing, the good claims around them settle, and the refused channel can still settle."""
    reader, publisher, provider_id = people
    price = Amount.parse("0.10", EUR)
    expired_chain = HashChain.generate(10)
    expired_id, _ = platform.paywall.open_channel(
        reader, provider_id, price, 10, b64(expired_chain.root), ttl_seconds=60
    )
    clock.advance(60 + 3600 + 1)  # past the grace: the ledger refuses to post this hold
    chains = [HashChain.generate(10) for _ in range(3)]
    first, refused, last = (
        platform.paywall.open_channel(reader, provider_id, price, 10, b64(chain.root))[0] for chain in chains
    )
    reader_before = available(platform, reader)
    commits: list[object] = []
    listen = lambda connection: commits.append(connection)  # noqa: E731
    event.listen(platform.engine, "commit", listen)
    try:
        results = platform.paywall.settle_claims(
            publisher,
            [
                Claim(first, 4, chains[0].token(4)),
                Claim(expired_id, 3, expired_chain.token(3)),
                Claim(refused, 5, chains[1].token(6)),
                Claim(last, 2, chains[2].token(2)),
            ],
        )
    finally:
        event.remove(platform.engine, "commit", listen)
    assert [r.status for r in results] == [
        ClaimStatus.SETTLED,
        ClaimStatus.EXPIRED,
        ClaimStatus.BAD_PREIMAGE,
        ClaimStatus.SETTLED,
    ]
    assert len(commits) == 1
    # 0.40 + 0.20 paid less 2%; the rest of those two channels back to the reader, the
    # refused channel's hold untouched.
    assert available(platform, publisher) == 600_000 - 12_000
    assert available(platform, reader) == reader_before + 600_000 + 800_000
    (later,) = platform.paywall.settle_claims(publisher, [Claim(refused, 5, chains[1].token(5))])
    assert later.status is ClaimStatus.SETTLED
