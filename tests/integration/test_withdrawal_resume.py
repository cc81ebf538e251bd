"""Withdrawals whose request died between the hold and the settle, never retried: the
resume job, once the grace period is over, finishes each as its request would have (the
bank asked again under the same id, the holds posted or voided, the event recorded), and
touches nothing before then nor any withdrawal that finished."""

from __future__ import annotations

import threading
from collections import Counter
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from obolo.adapters.cards import Card
from obolo.adapters.db.schema import events, movements
from obolo.adapters.db.schema import sandbox_bank_payouts as bank_payouts
from obolo.entrypoints.workers import platform_jobs, run_once
from obolo.ledger.check import check_ledger
from obolo.money import EUR, Amount
from obolo.settings import FeeRule, Settings
from obolo.wallets.model import MovementStatus
from tests.factories import Killed, checked_platform, kill_payout_once

CARD = Card("4242424242424242", 12, 2031, "123")
PAYS = "DE89 3704 0044 0532 0130 00"
FAILS = "DE40 3704 0044 0532 0100 02"  # the sandbox bank fails IBANs ending 0002
GRACE = 300
TOPPED_UP = 20_000_000
AMOUNT, FEE = 5_000_000, 250_000


@pytest.fixture
def platform(db_url, clock):
    settings = Settings(fees={"withdrawal": FeeRule(fixed=FEE)}, withdrawal_resume_after_seconds=GRACE)
    yield from checked_platform(settings, url=db_url, clock=clock, migrate=True)


@pytest.fixture
def person(platform):
    user_id = platform.identity.sign_up("ann@example.com", "ann's password", "Ann").id
    platform.wallets.top_up(user_id, Amount(TOPPED_UP, EUR), CARD)
    return user_id


@pytest.fixture
def asked(platform, monkeypatch) -> Counter[str]:
    """How many times the bank was asked for each withdrawal id."""
    calls: Counter[str] = Counter()
    bank = platform.wallets.bank

    def payout(idempotency_key: str, amount: int, asset: str, iban: str) -> Any:
        calls[idempotency_key] += 1
        return bank.payout(idempotency_key, amount, asset, iban)

    monkeypatch.setattr(
        platform.wallets, "bank", SimpleNamespace(payout=payout, settlement_report=bank.settlement_report)
    )
    return calls


def balance(platform, user_id) -> tuple[int, int]:
    """(available, reserved) in EUR."""
    (found,) = [(b.available, b.reserved) for b in platform.wallets.balances(user_id) if b.asset == "EUR"]
    return found


def bank_record(platform) -> list[tuple[str, int, str]]:
    with platform.engine.connect() as connection:
        rows = connection.execute(
            select(bank_payouts.c.idempotency_key, bank_payouts.c.amount, bank_payouts.c.status)
        )
        return [tuple(row) for row in rows]


def withdrawal_events(platform, user_id) -> list[str]:
    with platform.engine.connect() as connection:
        query = select(events.c.type).where(events.c.user_id == user_id, events.c.type.like("withdrawal.%"))
        return sorted(connection.execute(query).scalars())


def only_withdrawal(platform) -> Any:
    with platform.engine.connect() as connection:
        (row,) = connection.execute(select(movements).where(movements.c.kind == "withdrawal")).all()
        return row


def killed_withdrawal(platform, monkeypatch, person, iban, point) -> str:
    kill_payout_once(monkeypatch, platform, point)
    with pytest.raises(Killed):
        platform.wallets.withdraw(person, Amount(AMOUNT, EUR), iban, idempotency_key="w1")
    movement = only_withdrawal(platform)
    assert movement.status == "pending"
    assert balance(platform, person) == (TOPPED_UP - AMOUNT - FEE, AMOUNT + FEE)
    return movement.id


@pytest.mark.parametrize("point", ["before the bank", "after the bank"])
@pytest.mark.parametrize("iban", [PAYS, FAILS], ids=["bank pays", "bank refuses"])
def test_a_withdrawal_killed_between_its_commits_is_finished_after_the_grace_period(
    platform, person, clock, monkeypatch, asked, point, iban
):
    """Killed before or after the bank was asked: before the grace period the job moves
    nothing; after it, the money is paid once (or given back), nothing stays reserved, the
    event is recorded once, and neither a rerun nor the client's retry moves more."""
    movement_id = killed_withdrawal(platform, monkeypatch, person, iban, point)
    held = balance(platform, person)
    paid = iban == PAYS
    clock.advance(GRACE - 1)
    assert platform.wallets.resume_withdrawals() == 0
    assert balance(platform, person) == held
    assert only_withdrawal(platform).status == "pending"
    assert withdrawal_events(platform, person) == ["withdrawal.created"]
    assert len(bank_record(platform)) == (0 if point == "before the bank" else 1)

    clock.advance(2)
    assert platform.wallets.resume_withdrawals() == 1
    settled = only_withdrawal(platform)
    assert settled.status == ("succeeded" if paid else "failed")
    assert settled.iban_sealed is None  # the bank account is not kept once settled
    assert settled.external_ref is not None
    assert balance(platform, person) == ((TOPPED_UP - AMOUNT - FEE) if paid else TOPPED_UP, 0)
    assert bank_record(platform) == [(movement_id, AMOUNT, "paid" if paid else "failed")]
    assert asked[movement_id] <= 2
    assert withdrawal_events(platform, person) == sorted(
        ["withdrawal.created", "withdrawal.paid" if paid else "withdrawal.failed"]
    )
    assert check_ledger(platform.engine) == []

    clock.advance(GRACE)
    assert platform.wallets.resume_withdrawals() == 0
    retried = platform.wallets.withdraw(person, Amount(AMOUNT, EUR), iban, idempotency_key="w1")
    assert retried.status is (MovementStatus.SUCCEEDED if paid else MovementStatus.FAILED)
    assert len(bank_record(platform)) == 1
    assert len(withdrawal_events(platform, person)) == 2
    assert balance(platform, person) == ((TOPPED_UP - AMOUNT - FEE) if paid else TOPPED_UP, 0)


def test_a_withdrawal_that_finished_is_not_touched(platform, person, clock, asked):
    """A withdrawal settled by its own request: the job, however late, finds nothing."""
    done = platform.wallets.withdraw(person, Amount(AMOUNT, EUR), PAYS, idempotency_key="w1")
    assert done.status is MovementStatus.SUCCEEDED
    clock.advance(GRACE * 10)
    assert platform.wallets.resume_withdrawals() == 0
    assert asked == Counter({done.id: 1})
    assert balance(platform, person) == (TOPPED_UP - AMOUNT - FEE, 0)
    assert withdrawal_events(platform, person) == ["withdrawal.created", "withdrawal.paid"]


def test_a_client_retry_while_the_job_asks_the_bank_settles_once(platform, person, clock, monkeypatch, asked):
    """The client retries the killed withdrawal while the job waits on the bank: the
    retry settles it, and the job, finding it settled, records nothing more."""
    movement_id = killed_withdrawal(platform, monkeypatch, person, PAYS, "before the bank")
    clock.advance(GRACE + 1)
    counting = platform.wallets.bank
    retried: list[Any] = []

    def payout(idempotency_key: str, amount: int, asset: str, iban: str) -> Any:
        answer = counting.payout(idempotency_key, amount, asset, iban)
        if not retried:  # the job's call: the client's retry runs to its end meanwhile
            monkeypatch.setattr(platform.wallets, "bank", counting)
            retried.append(platform.wallets.withdraw(person, Amount(AMOUNT, EUR), PAYS, idempotency_key="w1"))
        return answer

    monkeypatch.setattr(
        platform.wallets, "bank", SimpleNamespace(payout=payout, settlement_report=counting.settlement_report)
    )
    assert platform.wallets.resume_withdrawals() == 1
    assert retried[0].status is MovementStatus.SUCCEEDED
    assert asked[movement_id] == 2
    assert bank_record(platform) == [(movement_id, AMOUNT, "paid")]
    assert withdrawal_events(platform, person) == ["withdrawal.created", "withdrawal.paid"]
    assert balance(platform, person) == (TOPPED_UP - AMOUNT - FEE, 0)


def test_the_resume_job_is_registered_and_runs_with_the_others(platform, person, clock, monkeypatch):
    """`withdrawals_resume` is one of the platform's jobs: a worker's run finishes a
    killed withdrawal once its grace period is over."""
    killed_withdrawal(platform, monkeypatch, person, FAILS, "after the bank")
    with httpx.Client() as client:
        assert "withdrawals_resume" in {job.name for job in platform_jobs(platform, client)}
        assert run_once(platform, client)["withdrawals_resume"] == 0
        clock.advance(GRACE + 1)
        assert run_once(platform, client)["withdrawals_resume"] == 1
    assert only_withdrawal(platform).status == "failed"
    assert balance(platform, person) == (TOPPED_UP, 0)


def test_the_grace_period_is_read_from_the_environment(monkeypatch):
    """OBOLO_WITHDRAWAL_RESUME_AFTER_SECONDS sets it; 300 seconds by default."""
    monkeypatch.delenv("OBOLO_WITHDRAWAL_RESUME_AFTER_SECONDS", raising=False)
    assert Settings.from_environment().withdrawal_resume_after_seconds == 300
    monkeypatch.setenv("OBOLO_WITHDRAWAL_RESUME_AFTER_SECONDS", "60")
    assert Settings.from_environment().withdrawal_resume_after_seconds == 60


def test_the_job_and_a_retry_settling_at_the_same_moment_settle_once(platform, person, clock, monkeypatch):
    """The job and the client's retry both reach the settle together (after the bank
    answered): the movement's row is locked before its status is read, so one settles and
    the other finds it settled; without the lock, on PostgreSQL, both read `pending` and
    the event is recorded twice."""
    killed_withdrawal(platform, monkeypatch, person, PAYS, "after the bank")
    clock.advance(GRACE + 1)
    bank = platform.wallets.bank
    payout = bank.payout
    meet = threading.Barrier(2, timeout=10)

    def answers_then_meets_the_other(*args: Any, **kwargs: Any) -> Any:
        # Each has the bank's answer, outside any transaction; neither settles before the
        # other is ready to, so the two settles start together.
        answer = payout(*args, **kwargs)
        meet.wait()
        return answer

    monkeypatch.setattr(bank, "payout", answers_then_meets_the_other)
    answers: list[Any] = []

    def retry() -> None:
        answers.append(platform.wallets.withdraw(person, Amount(AMOUNT, EUR), PAYS, idempotency_key="w1"))

    client = threading.Thread(target=retry)
    client.start()
    resumed = platform.wallets.resume_withdrawals()
    client.join()
    assert resumed == 1
    assert answers[0].status is MovementStatus.SUCCEEDED
    assert withdrawal_events(platform, person) == ["withdrawal.created", "withdrawal.paid"]
    assert balance(platform, person) == (TOPPED_UP - AMOUNT - FEE, 0)
    assert len(bank_record(platform)) == 1
