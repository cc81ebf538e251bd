"""Wallet use cases on SQLite and PostgreSQL: every balance change is a ledger transfer,
bad input changes nothing, retries never move money twice."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from obolo.adapters.bank import SandboxBank
from obolo.adapters.cards import Card, SandboxCardProcessor
from obolo.adapters.db.engine import make_engine
from obolo.adapters.db.migrate import upgrade
from obolo.adapters.db.schema import events, movements, sandbox_card_charges
from obolo.ledger import Ledger
from obolo.ledger.check import check_ledger
from obolo.money import EUR, USD, Amount
from obolo.settings import FeeRule, Settings
from obolo.wallets.errors import (
    AmountOutOfLimits,
    CannotPayYourself,
    CardDeclined,
    InsufficientFunds,
    InvalidAmount,
    InvalidCard,
    InvalidIban,
    RecipientNotFound,
)
from obolo.wallets.model import MovementStatus, PlatformAccount
from obolo.wallets.service import WalletService
from tests.factories import make_user

GOOD_CARD = Card("4242 4242 4242 4242", 12, 2031, "123")
GOOD_IBAN = "DE89 3704 0044 0532 0130 00"


def eur(text: str) -> Amount:
    return Amount.parse(text, EUR)


@pytest.fixture
def wallets(db_url, clock):
    engine = make_engine(db_url)
    upgrade(engine)
    ledger = Ledger(engine, clock=clock)
    ledger.register_assets_defaults()
    settings = Settings(
        fees={"payment": FeeRule(basis_points=100), "topup": FeeRule(), "withdrawal": FeeRule(fixed=250_000)}
    )
    service = WalletService(
        engine, ledger, clock, SandboxCardProcessor(engine, clock), SandboxBank(engine, clock), settings
    )
    yield service
    assert check_ledger(engine) == []
    engine.dispose()


@pytest.fixture
def alice(wallets):
    return make_user(wallets.engine, "alice@example.com", phone="+393331234567")


@pytest.fixture
def bob(wallets):
    return make_user(wallets.engine, "bob@example.com", display_name="Bob")


def available(wallets, user_id, asset="EUR") -> int:
    return {b.asset: b.available for b in wallets.balances(user_id)}.get(asset, 0)


def ledger_totals(wallets) -> list[tuple[int, int, int, int]]:
    accounts = wallets.ledger.engine
    with accounts.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT debits_posted, credits_posted, debits_pending, credits_pending "
            "FROM ledger_accounts ORDER BY id"
        ).all()
    return [tuple(row) for row in rows]


def test_top_up_credits_the_wallet_from_card_funding(wallets, alice):
    """A successful card charge credits exactly the amount, from the card-funding account."""
    movement = wallets.top_up(alice, eur("10.00"), GOOD_CARD)
    assert movement.status is MovementStatus.SUCCEEDED
    assert available(wallets, alice) == 10_000_000
    (funding,) = wallets.ledger.lookup_accounts([PlatformAccount.CARD_FUNDING.account_id("EUR")])
    assert funding.debits_posted == 10_000_000


def test_top_up_retry_with_the_same_key_charges_and_credits_once(wallets, alice):
    """The idempotency key fixes the charge and the transfer: a retry returns the first."""
    first = wallets.top_up(alice, eur("10.00"), GOOD_CARD, idempotency_key="k")
    again = wallets.top_up(alice, eur("10.00"), GOOD_CARD, idempotency_key="k")
    assert again.id == first.id
    assert available(wallets, alice) == 10_000_000
    with wallets.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(sandbox_card_charges)).scalar_one() == 1


@pytest.mark.parametrize(
    ("number", "code"),
    [("4000 0000 0000 0002", "card_declined"), ("4000 0000 0000 9995", "insufficient_funds")],
)
def test_declined_cards_move_nothing(wallets, alice, number, code):
    """A declined card raises card_declined with the processor's reason; no money moves."""
    before = ledger_totals(wallets)
    with pytest.raises(CardDeclined) as raised:
        wallets.top_up(alice, eur("10.00"), Card(number, 12, 2031, "123"))
    assert raised.value.data["decline_code"] == code
    assert ledger_totals(wallets) == before
    assert available(wallets, alice) == 0


def test_a_retried_declined_top_up_is_declined_again_the_same_way(wallets, alice):
    """A retry that reaches the service after the decline was recorded (the server died
    before the answer was stored) is told the same: declined, the same movement, no new
    charge and no money moved."""
    declined = Card("4000 0000 0000 0002", 12, 2031, "123")
    before = ledger_totals(wallets)
    with pytest.raises(CardDeclined) as first:
        wallets.top_up(alice, eur("10.00"), declined, idempotency_key="k")
    with pytest.raises(CardDeclined) as again:
        wallets.top_up(alice, eur("10.00"), declined, idempotency_key="k")
    assert again.value.data == first.value.data
    assert again.value.data["decline_code"] == "card_declined"
    assert ledger_totals(wallets) == before
    with wallets.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(sandbox_card_charges)).scalar_one() == 1


@pytest.mark.parametrize(
    "card",
    [
        Card("4242 4242 4242 4241", 12, 2031, "123"),  # Luhn fails
        Card("4242 4242 4242 4242", 1, 2020, "123"),  # expired
        Card("4242 4242 4242 4242", 13, 2031, "123"),  # no such month
        Card("4242 4242 4242 4242", 12, 2031, "12"),  # short CVC
    ],
)
def test_invalid_cards_are_refused_before_any_charge(wallets, alice, card):
    """Luhn, expiry and CVC are checked before the processor is asked; nothing moves."""
    with pytest.raises(InvalidCard):
        wallets.top_up(alice, eur("10.00"), card)
    with wallets.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(sandbox_card_charges)).scalar_one() == 0
    assert available(wallets, alice) == 0


@pytest.mark.parametrize("text", ["0.99", "500.000001"])
def test_top_up_outside_limits_is_refused(wallets, alice, text):
    """Top-ups below the minimum or above the maximum are refused; nothing is charged."""
    with pytest.raises(AmountOutOfLimits):
        wallets.top_up(alice, eur(text), GOOD_CARD)
    assert available(wallets, alice) == 0


def test_payment_moves_amount_and_fee_atomically(wallets, alice, bob):
    """The recipient gets the amount; the sender pays it plus the fee; the fee lands on fee revenue."""
    wallets.top_up(alice, eur("10.00"), GOOD_CARD)
    movement = wallets.pay(alice, "bob@example.com", eur("1.50"), note="pizza")
    assert (movement.amount, movement.fee) == (1_500_000, 15_000)
    assert available(wallets, bob) == 1_500_000
    assert available(wallets, alice) == 10_000_000 - 1_515_000
    (fees,) = wallets.ledger.lookup_accounts([PlatformAccount.FEE_REVENUE.account_id("EUR")])
    assert fees.credits_posted == 15_000


def test_sub_cent_payments_are_exact(wallets, alice, bob):
    """A tenth of a cent is 1,000 units, paid exactly; a fee on it rounds half to even."""
    wallets.top_up(alice, eur("1.00"), GOOD_CARD)
    for _ in range(10):
        wallets.pay(alice, bob, eur("0.001"))
    assert available(wallets, bob) == 10_000
    assert available(wallets, alice) == 1_000_000 - 10 * (1_000 + 10)


def test_payment_by_phone_number_reaches_the_owner(wallets, alice, bob):
    """`to` may be an E.164 phone number."""
    wallets.top_up(alice, eur("5.00"), GOOD_CARD)
    wallets.pay(alice, bob, eur("1.00"))
    wallets.pay(bob, "+393331234567", eur("0.50"))
    assert available(wallets, alice) == 5_000_000 - 1_010_000 + 500_000


@pytest.mark.parametrize(
    ("to", "amount", "error"),
    [
        ("+15555550100", "1.00", RecipientNotFound),  # not a number that exists
        ("not-an-id", "1.00", RecipientNotFound),
        ("nobody@example", "1.00", RecipientNotFound),  # not an email address
        ("0190a3d2-0000-7000-8000-000000000000", "1.00", RecipientNotFound),  # an id nobody has
        ("alice@example.com", "1.00", CannotPayYourself),
        ("bob@example.com", "9.00", InsufficientFunds),
        ("bob@example.com", "1000.000001", AmountOutOfLimits),
    ],
)
def test_bad_payments_move_nothing(wallets, alice, bob, to, amount, error):
    """A `to` that names nobody, paying yourself, too little money, too much: refused, nothing
    moved. (A valid email or number without an account is invited: see test_invitations.)"""
    wallets.top_up(alice, eur("5.00"), GOOD_CARD)
    before = ledger_totals(wallets)
    with pytest.raises(error):
        wallets.pay(alice, to, eur(amount))
    assert ledger_totals(wallets) == before
    with wallets.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(movements)).scalar_one() == 1


def test_zero_and_negative_amounts_are_refused(wallets, alice, bob):
    """A payment of zero or less is not a payment."""
    wallets.top_up(alice, eur("5.00"), GOOD_CARD)
    before = ledger_totals(wallets)
    for units in (0, -1):
        with pytest.raises(InvalidAmount):
            wallets.pay(alice, bob, Amount(units, EUR))
    assert ledger_totals(wallets) == before


def test_wrong_asset_wallet_is_a_separate_empty_wallet(wallets, alice, bob):
    """EUR money cannot pay a USD payment: the USD wallet is empty, so it is refused."""
    wallets.top_up(alice, eur("5.00"), GOOD_CARD)
    before = ledger_totals(wallets)
    with pytest.raises(InsufficientFunds):
        wallets.pay(alice, bob, Amount.parse("1.00", USD))
    assert available(wallets, alice) == 5_000_000
    assert len(ledger_totals(wallets)) >= len(before)


def test_payment_retry_with_the_same_key_pays_once(wallets, alice, bob):
    """Retrying a payment with its idempotency key returns the first and moves nothing."""
    wallets.top_up(alice, eur("5.00"), GOOD_CARD)
    first = wallets.pay(alice, bob, eur("1.00"), idempotency_key="pay-1")
    second = wallets.pay(alice, bob, eur("1.00"), idempotency_key="pay-1")
    assert first.id == second.id
    assert available(wallets, bob) == 1_000_000


def test_concurrent_payments_spend_only_what_is_there(wallets, alice, bob):
    """20 concurrent payments from a wallet affording 7: exactly 7 succeed, 13 are insufficient_funds."""
    wallets.top_up(alice, eur("7.07"), GOOD_CARD)  # seven payments of 1.00 plus a 1% fee each

    def pay(index: int) -> str:
        try:
            wallets.pay(alice, bob, eur("1.00"), idempotency_key=f"c-{index}")
            return "ok"
        except InsufficientFunds:
            return "insufficient_funds"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(pay, range(20)))
    assert outcomes.count("ok") == 7
    assert outcomes.count("insufficient_funds") == 13
    assert available(wallets, bob) == 7_000_000
    assert available(wallets, alice) == 0


def test_withdrawal_holds_then_posts_when_the_bank_pays(wallets, alice):
    """A paid withdrawal debits amount and fee; the bank-payouts account is credited."""
    wallets.top_up(alice, eur("10.00"), GOOD_CARD)
    movement = wallets.withdraw(alice, eur("2.00"), GOOD_IBAN)
    assert movement.status is MovementStatus.SUCCEEDED
    assert movement.details["iban"] == "DE89 **** 3000"
    assert available(wallets, alice) == 10_000_000 - 2_250_000
    (bank,) = wallets.ledger.lookup_accounts([PlatformAccount.BANK_PAYOUTS.account_id("EUR")])
    assert (bank.credits_posted, bank.credits_pending) == (2_000_000, 0)


def test_failed_payout_releases_the_hold(wallets, alice):
    """When the bank refuses the payout, the held money returns to the wallet in full."""
    wallets.top_up(alice, eur("10.00"), GOOD_CARD)
    # A valid IBAN that the sandbox bank fails ends in 0002.
    failing_iban = next(_ibans_ending_0002())
    movement = wallets.withdraw(alice, eur("2.00"), failing_iban)
    assert movement.status is MovementStatus.FAILED
    assert available(wallets, alice) == 10_000_000
    (account,) = wallets.ledger.lookup_accounts([PlatformAccount.BANK_PAYOUTS.account_id("EUR")])
    assert (account.credits_posted, account.credits_pending) == (0, 0)


def _ibans_ending_0002():
    """Valid German IBANs whose account number ends in 0002 (check digits computed)."""
    bban = "370400440532010002"
    numeric = "".join(str(int(c, 36)) for c in bban + "DE00")
    check = 98 - int(numeric) % 97
    yield f"DE{check:02d}{bban}"


@pytest.mark.parametrize("iban", ["DE89 3704 0044 0532 0130 01", "XX00 1234", "DE89370400440532013"])
def test_invalid_ibans_are_refused_and_nothing_is_held(wallets, alice, iban):
    """IBAN country, length and checksum are validated before anything is held."""
    wallets.top_up(alice, eur("10.00"), GOOD_CARD)
    before = ledger_totals(wallets)
    with pytest.raises(InvalidIban):
        wallets.withdraw(alice, eur("1.00"), iban)
    assert ledger_totals(wallets) == before


def test_withdrawal_beyond_balance_is_refused(wallets, alice):
    """Withdrawing more than the wallet holds (fee included) is insufficient_funds, nothing held."""
    wallets.top_up(alice, eur("2.00"), GOOD_CARD)
    before = ledger_totals(wallets)
    with pytest.raises(InsufficientFunds):
        wallets.withdraw(alice, eur("2.00"), GOOD_IBAN)
    assert ledger_totals(wallets) == before


def test_history_pages_newest_first_with_counterparties(wallets, alice, bob):
    """History is newest first, paginated by cursor, with the other party's name."""
    wallets.top_up(alice, eur("5.00"), GOOD_CARD)
    for cents in ("0.10", "0.20", "0.30"):
        wallets.pay(alice, bob, eur(cents))
    page, cursor = wallets.history(alice, limit=2)
    assert [e.movement.amount for e in page] == [300_000, 200_000]
    assert all(e.counterparty == "Bob" and e.direction == "out" for e in page)
    rest, end = wallets.history(alice, limit=2, cursor=cursor)
    assert [e.movement.amount for e in rest] == [100_000, 5_000_000]
    assert end is None
    incoming, _ = wallets.history(bob)
    assert {e.direction for e in incoming} == {"in"}


def test_statement_running_balance_matches_the_wallet(wallets, alice, bob):
    """Each statement line carries the balance after it; the last equals the wallet's balance."""
    wallets.top_up(alice, eur("5.00"), GOOD_CARD)
    wallets.pay(alice, bob, eur("1.00"), note="lunch")
    wallets.withdraw(alice, eur("1.00"), GOOD_IBAN)
    lines = wallets.statement(alice, "EUR", 0, 2**62)
    assert [line.amount for line in lines] == [5_000_000, -1_000_000, -10_000, -1_000_000, -250_000]
    running = 0
    for line in lines:
        running += line.amount
        assert line.balance == running
    assert lines[-1].balance == available(wallets, alice)


def test_events_are_written_with_the_money_and_only_then(wallets, alice, bob):
    """A payment writes payment.sent and payment.received; a refused one writes nothing."""
    wallets.top_up(alice, eur("2.00"), GOOD_CARD)
    with pytest.raises(InsufficientFunds):
        wallets.pay(alice, bob, eur("5.00"))
    wallets.pay(alice, bob, eur("1.00"))
    with wallets.engine.connect() as connection:
        types = sorted(connection.execute(select(events.c.type)).scalars())
    assert types == ["payment.received", "payment.sent", "topup.succeeded"]
