"""Reconciliation: when the processor, the bank and the ledger agree there is nothing to
report; each way they can disagree (a crash between the card charge and the credit, a
hold never sent, a payout paid but not posted, a credit the processor never saw) is named."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import delete
from typer.testing import CliRunner

from obolo.adapters.bank import Payout
from obolo.adapters.cards import Card
from obolo.adapters.db.schema import sandbox_card_charges
from obolo.bootstrap import build
from obolo.entrypoints.cli import app
from obolo.money import EUR, Amount
from obolo.settlement.model import MismatchKind
from obolo.settlement.reconciliation import Reconciler
from tests.fakes import NS

GOOD = Card("4242424242424242", 12, 2031, "123")
DECLINED = Card("4000000000000002", 12, 2031, "123")
PAYS = "DE89 3704 0044 0532 0130 00"
FAILS = "DE40 3704 0044 0532 0100 02"  # valid, ends in 0002: the sandbox bank fails it


class BankThatCrashesAfterPaying:
    """The bank pays, then the process dies before the ledger hears of it."""

    def __init__(self, bank):
        self.bank = bank

    def payout(self, idempotency_key, amount, asset, iban) -> Payout:
        self.bank.payout(idempotency_key, amount, asset, iban)
        raise ConnectionError("the process died")

    def settlement_report(self, since, until):
        return self.bank.settlement_report(since, until)


class BankThatIsNeverReached:
    def payout(self, idempotency_key, amount, asset, iban) -> Payout:
        raise ConnectionError("the process died before calling the bank")


@pytest.fixture
def platform(db_url, clock):
    built = build(url=db_url, clock=clock, migrate=True)
    built.identity.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield built
    built.close()


@pytest.fixture
def ann(platform):
    return platform.identity.sign_up("ann@example.com", "ann's password", "Ann").id


def run(platform):
    return Reconciler(platform.engine, platform.ledger, platform.cards, platform.bank).run(
        0, platform.clock() + 1
    )


def kinds(result):
    return sorted(m.kind for m in result.mismatches)


def test_books_that_agree_have_no_mismatch(platform, ann):
    """Top-ups (one declined) and withdrawals (one failed): all accounted for."""
    platform.wallets.top_up(ann, Amount.parse("50.00", EUR), GOOD)
    with pytest.raises(Exception, match="declined"):
        platform.wallets.top_up(ann, Amount.parse("5.00", EUR), DECLINED)
    platform.wallets.withdraw(ann, Amount.parse("10.00", EUR), PAYS)
    platform.wallets.withdraw(ann, Amount.parse("1.00", EUR), FAILS)
    result = run(platform)
    assert (result.charges, result.payouts, result.mismatches) == (2, 2, [])


def test_a_card_charged_but_never_credited_is_found(platform, ann):
    """The processor charged under a key the ledger never credited (a crash in between)."""
    platform.wallets.top_up(ann, Amount.parse("20.00", EUR), GOOD)
    platform.cards.charge("lost-topup", 5_000_000, "EUR", GOOD)
    assert [(m.kind, m.key) for m in run(platform).mismatches] == [
        (MismatchKind.CHARGED_NOT_CREDITED, "lost-topup")
    ]


def test_a_credit_without_a_charge_is_found(platform, ann):
    """A top-up in the ledger whose charge is not in the processor's report."""
    movement = platform.wallets.top_up(ann, Amount.parse("20.00", EUR), GOOD)
    with platform.engine.begin() as connection:
        connection.execute(delete(sandbox_card_charges))
    assert [(m.kind, m.key) for m in run(platform).mismatches] == [
        (MismatchKind.CREDITED_NOT_CHARGED, movement.id)
    ]


def test_payouts_the_ledger_did_not_finish_are_found(platform, ann):
    """A hold never sent to the bank, and a payout paid whose hold was never posted."""
    platform.wallets.top_up(ann, Amount.parse("50.00", EUR), GOOD)
    real_bank = platform.wallets.bank
    platform.wallets.bank = BankThatIsNeverReached()
    with pytest.raises(ConnectionError):
        platform.wallets.withdraw(ann, Amount.parse("5.00", EUR), PAYS)
    platform.wallets.bank = BankThatCrashesAfterPaying(real_bank)
    with pytest.raises(ConnectionError):
        platform.wallets.withdraw(ann, Amount.parse("7.00", EUR), PAYS)
    platform.wallets.bank = real_bank
    assert kinds(run(platform)) == [MismatchKind.HELD_NOT_SENT, MismatchKind.PAID_NOT_POSTED]


def test_a_day_is_judged_with_its_neighbours_in_view(platform, ann, clock):
    """A top-up one second after midnight whose charge fell before it reconciles with
    either day; an unknown charge is reported only on its own day."""
    midnight = (clock() // (86400 * NS) + 1) * 86400 * NS
    clock.advance(ns=midnight - clock() - NS)
    platform.cards.charge("stray", 1_000_000, "EUR", GOOD)
    platform.wallets.top_up(ann, Amount.parse("20.00", EUR), GOOD)
    reconciler = Reconciler(platform.engine, platform.ledger, platform.cards, platform.bank)
    before, after = (
        reconciler.run(midnight - 86400 * NS, midnight),
        reconciler.run(midnight, midnight + 86400 * NS),
    )
    assert [m.key for m in before.mismatches] == ["stray"]
    assert after.mismatches == []


def test_the_cli_exits_1_on_a_mismatch(platform, ann, db_url):
    """`obolo reconcile` lists the mismatch and exits 1; 0 when the books agree."""
    platform.wallets.top_up(ann, Amount.parse("20.00", EUR), GOOD)
    runner = CliRunner()
    assert runner.invoke(app, ["reconcile", "--db", db_url]).exit_code == 0
    platform.cards.charge("lost-topup", 5_000_000, "EUR", GOOD)
    result = runner.invoke(app, ["reconcile", "--db", db_url])
    assert result.exit_code == 1
    assert "charged_not_credited" in result.output
