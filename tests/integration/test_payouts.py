"""Payouts: a provider is paid what its wallet holds less the payout fee, held while the
bank works and posted on success, with a statement of what the period earned; the daily
job pays each person once a day above their minimum; a failed payout gives everything back."""

from __future__ import annotations

import pytest

from obolo.adapters.cards import Card
from obolo.identity.model import Role
from obolo.money import EUR, Amount
from obolo.paywall.model import Claim
from obolo.sdk.payword import HashChain, b64
from obolo.settings import FeeRule, Settings
from obolo.settlement.payouts import InvalidPayoutSettings, NoPayoutAccount
from obolo.wallets.errors import InvalidIban
from tests.factories import PAYOUT_KILL_POINTS, Killed, checked_platform, kill_payout_once
from tests.fakes import NS

CARD = Card("4242424242424242", 12, 2031, "123")
PAYS = "DE89 3704 0044 0532 0130 00"
FAILS = "DE40 3704 0044 0532 0100 02"  # the sandbox bank fails IBANs ending 0002
DAY = 86_400


@pytest.fixture
def platform(db_url, clock):
    settings = Settings(fees={"paywall": FeeRule(basis_points=200), "withdrawal": FeeRule(fixed=250_000)})
    yield from checked_platform(settings, url=db_url, clock=clock, migrate=True)


@pytest.fixture
def earning(platform):
    """A publisher who earned 10 views at 1.00 EUR on a channel (0.20 EUR fee)."""
    reader = platform.identity.sign_up("reader@example.com", "reader password", "Reader").id
    publisher = platform.identity.sign_up("pub@example.com", "publisher password", "Pub").id
    platform.identity.add_role(publisher, Role.PROVIDER)
    platform.wallets.top_up(reader, Amount.parse("20.00", EUR), CARD)
    provider = platform.paywall.register_provider(publisher, "Mag", "https://mag.example")
    chain = HashChain.generate(10)
    channel, _ = platform.paywall.open_channel(
        reader, provider.id, Amount.parse("1.00", EUR), 10, b64(chain.root)
    )
    platform.paywall.settle_claims(publisher, [Claim(channel, 10, chain.token(10))])
    return reader, publisher


def available(platform, user_id) -> int:
    return {b.asset: b.available for b in platform.wallets.balances(user_id)}.get("EUR", 0)


def test_an_on_demand_payout_pays_the_balance_less_the_fee_with_a_statement(platform, earning):
    """9.80 earned: 9.55 paid, 0.25 fee, the wallet empty, the statement exact."""
    _, publisher = earning
    platform.payouts.set_account(publisher, PAYS, "EUR", "manual", Amount(0, EUR))
    paid = platform.payouts.pay_out(publisher, idempotency_key="now")
    assert (paid.status, paid.amount, paid.payout_fee) == ("succeeded", 9_550_000, 250_000)
    assert (paid.earned, paid.fees, paid.topped_up, paid.refunds) == (10_000_000, 200_000, 0, 0)
    assert available(platform, publisher) == 0
    again = platform.payouts.pay_out(publisher, idempotency_key="now")
    assert again == paid  # the same key: the same payout, nothing more moved
    assert platform.payouts.statements(publisher) == [paid]


def test_statements_follow_each_other_and_count_only_their_period(platform, earning, clock):
    """A second payout, after 3.00 more earned, states only those 3.00 and starts where the
    first statement ended."""
    reader, publisher = earning
    platform.payouts.set_account(publisher, PAYS, "EUR", "manual", Amount(0, EUR))
    first = platform.payouts.pay_out(publisher, idempotency_key="one")
    clock.advance(60)
    platform.wallets.pay(reader, "pub@example.com", Amount.parse("3.00", EUR))
    second = platform.payouts.pay_out(publisher, idempotency_key="two")
    assert second.period_start == first.period_end
    assert (second.earned, second.fees, second.amount) == (3_000_000, 0, 2_750_000)


def test_nothing_is_paid_below_the_minimum(platform, earning):
    """A 20.00 minimum: 9.80 held stays in the wallet and no statement is made."""
    _, publisher = earning
    platform.payouts.set_account(publisher, PAYS, "EUR", "daily", Amount.parse("20.00", EUR))
    assert platform.payouts.pay_out(publisher) is None
    assert platform.payouts.pay_out_due() == 0
    assert available(platform, publisher) == 9_800_000
    assert platform.payouts.statements(publisher) == []


def test_the_daily_job_pays_once_a_day(platform, earning, clock):
    """Two runs on one day pay once; the next day, with nothing new earned, nothing."""
    _, publisher = earning
    platform.payouts.set_account(publisher, PAYS, "EUR", "daily", Amount(0, EUR))
    assert platform.payouts.pay_out_due() == 1
    assert platform.payouts.pay_out_due() == 0
    clock.advance(DAY)
    assert platform.payouts.pay_out_due() == 0
    assert len(platform.payouts.statements(publisher)) == 1


def paid_by_the_bank(platform) -> list[tuple[str, int, str]]:
    """What the bank was asked to pay: (the withdrawal's id, amount, status) each."""
    from sqlalchemy import select

    from obolo.adapters.db.schema import sandbox_bank_payouts as bank

    with platform.engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(select(bank.c.idempotency_key, bank.c.amount, bank.c.status))
        ]


def assert_paid_once(platform, publisher) -> None:
    """9.80 earned, paid out once as an unkilled payout is (see the first test): one
    statement, its period ending at its own hold, one bank payout, the wallet empty."""
    (paid,) = platform.payouts.statements(publisher)
    assert (paid.status, paid.amount, paid.payout_fee) == ("succeeded", 9_550_000, 250_000)
    assert (paid.earned, paid.fees, paid.topped_up, paid.refunds, paid.period_start) == (
        10_000_000,
        200_000,
        0,
        0,
        0,
    )
    (hold,) = platform.ledger.lookup_transfers([platform.wallets.transfer_id_of(paid.id, "principal")])
    assert paid.period_end == hold.timestamp == platform.payouts.account(publisher).last_payout_at
    assert paid_by_the_bank(platform) == [(paid.id, 9_550_000, "paid")]
    assert available(platform, publisher) == 0
    assert [(b.available, b.reserved) for b in platform.wallets.balances(publisher)] == [(0, 0)]


@pytest.mark.parametrize("later", [3_600, DAY], ids=["later that day", "the next day"])
@pytest.mark.parametrize("point", PAYOUT_KILL_POINTS)
def test_a_daily_payout_killed_between_its_commits_is_finished_by_the_jobs_next_run(
    platform, earning, clock, monkeypatch, point, later
):
    """The job killed after the payout's withdrawal committed, before its statement: its
    next run, that day or the next, finishes that payout rather than paying out what is
    left, and the statement exists once; no run after it pays again."""
    _, publisher = earning
    platform.payouts.set_account(publisher, PAYS, "EUR", "daily", Amount(0, EUR))
    kill_payout_once(monkeypatch, platform, point)
    with pytest.raises(Killed):
        platform.payouts.pay_out_due()
    clock.advance(later)
    assert platform.payouts.pay_out_due() == 1
    assert_paid_once(platform, publisher)
    clock.advance(DAY)
    assert platform.payouts.pay_out_due() == 0
    assert_paid_once(platform, publisher)


def test_an_on_demand_payout_first_finishes_a_killed_daily_one(platform, earning, monkeypatch):
    """The job killed with the payout's money held, before the bank: a payout on demand
    finishes the job's first (its statement, then nothing left to pay), and so does the
    job's next run; the money moved once."""
    _, publisher = earning
    platform.payouts.set_account(publisher, PAYS, "EUR", "daily", Amount(0, EUR))
    kill_payout_once(monkeypatch, platform, "before the bank")
    with pytest.raises(Killed):
        platform.payouts.pay_out_due()
    assert platform.payouts.pay_out(publisher, idempotency_key="now") is None
    assert_paid_once(platform, publisher)
    platform.payouts.pay_out_due()
    assert_paid_once(platform, publisher)


def test_a_failed_payout_gives_the_money_back(platform, earning):
    """The bank refuses: the statement says failed and the wallet holds everything again."""
    _, publisher = earning
    platform.payouts.set_account(publisher, FAILS, "EUR", "manual", Amount(0, EUR))
    failed = platform.payouts.pay_out(publisher)
    assert failed.status == "failed"
    assert available(platform, publisher) == 9_800_000
    assert platform.payouts.account(publisher).last_payout_at is None


@pytest.mark.parametrize(
    ("iban", "schedule", "minimum", "error"),
    [
        ("DE89 3704 0044 0532 0130 01", "daily", "0", InvalidIban),
        (PAYS, "hourly", "0", InvalidPayoutSettings),
        (PAYS, "daily", "-1", InvalidPayoutSettings),
    ],
)
def test_bad_payout_settings_are_refused_and_change_nothing(
    platform, earning, iban, schedule, minimum, error
):
    """A bad IBAN, schedule or minimum: refused with its code, no account saved, no money moved."""
    _, publisher = earning
    with pytest.raises(error):
        platform.payouts.set_account(publisher, iban, "EUR", schedule, Amount.parse(minimum, EUR))
    assert platform.payouts.account(publisher) is None
    with pytest.raises(NoPayoutAccount):
        platform.payouts.pay_out(publisher)
    assert available(platform, publisher) == 9_800_000


def test_the_iban_is_stored_sealed(platform, earning):
    """Only the masked IBAN is readable; the stored one is ciphertext."""
    from sqlalchemy import select

    from obolo.adapters.db.schema_settlement import payout_accounts

    _, publisher = earning
    account = platform.payouts.set_account(publisher, PAYS, "EUR", "daily", Amount(0, EUR))
    assert account.iban_masked == "DE89 **** 3000"
    with platform.engine.connect() as connection:
        sealed = connection.execute(select(payout_accounts.c.iban_sealed)).scalar_one()
    assert "3704" not in sealed
    assert NS  # the clock helper stays imported for readers of this module


def test_payouts_over_http(platform, earning):
    """Set the account (IBAN shown masked), pay out on demand with an idempotency key (a
    retry replays), list statements; nothing to pay answers 409 and moves nothing."""
    from fastapi.testclient import TestClient

    from obolo.entrypoints.api.app import create_app

    _, publisher = earning
    with TestClient(create_app(platform), raise_server_exceptions=False) as http:
        token = http.post(
            "/v1/sessions", json={"email": "pub@example.com", "password": "publisher password"}
        ).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        bad = http.put("/v1/payout-account", json={"iban": "DE89 3704 0044 0532 0130 01"}, headers=auth)
        assert (bad.status_code, bad.json()["code"]) == (422, "invalid_iban")
        assert http.get("/v1/payout-account", headers=auth).json()["code"] == "no_payout_account"
        account = http.put("/v1/payout-account", json={"iban": PAYS, "schedule": "manual"}, headers=auth)
        assert account.json() == {
            "asset": "EUR",
            "iban": "DE89 **** 3000",
            "schedule": "manual",
            "minimum": "0.000000",
        }
        paid = http.post("/v1/payouts", json={}, headers={**auth, "Idempotency-Key": "p1"})
        again = http.post("/v1/payouts", json={}, headers={**auth, "Idempotency-Key": "p1"})
        assert paid.status_code == again.status_code == 201
        assert paid.json() == again.json()
        assert (paid.json()["amount"], paid.json()["earned"]) == ("9.550000", "10.000000")
        empty = http.post("/v1/payouts", json={}, headers={**auth, "Idempotency-Key": "p2"})
        assert (empty.status_code, empty.json()["code"]) == (409, "nothing_to_pay_out")
        assert [s["id"] for s in http.get("/v1/payouts", headers=auth).json()] == [paid.json()["id"]]
    assert available(platform, publisher) == 0


def test_a_client_key_cannot_name_the_daily_jobs_payout(platform, earning):
    """The job's payout keys hold spaces, which no Idempotency-Key may: a withdrawal sent
    under the key the job will use next is refused (422) and moves nothing, so the job's
    payout can never be taken for a client's withdrawal."""
    from fastapi.testclient import TestClient

    from obolo.entrypoints.api.app import create_app
    from obolo.settlement.payouts import _daily_key

    _, publisher = earning
    platform.payouts.set_account(publisher, PAYS, "EUR", "daily", Amount(0, EUR))
    job_key = _daily_key(platform.payouts._account_row(publisher))
    assert " " in job_key
    before = available(platform, publisher)
    with TestClient(create_app(platform), raise_server_exceptions=False) as http:
        token = http.post(
            "/v1/sessions", json={"email": "pub@example.com", "password": "publisher password"}
        ).json()["token"]
        sent = http.post(
            "/v1/withdrawals",
            json={"amount": "1.00", "asset": "EUR", "iban": PAYS},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": job_key},
        )
    assert (sent.status_code, sent.json()["code"]) == (422, "validation_error")
    assert available(platform, publisher) == before
    assert platform.payouts.pay_out_due() == 1


@pytest.mark.parametrize("point", ["before the bank", "after the bank"])
def test_a_killed_payout_settled_by_the_resume_job_gets_its_statement_on_the_next_run(
    platform, earning, clock, monkeypatch, point
):
    """The payouts job killed between its withdrawal's commits: the withdrawals' resume
    job settles the withdrawal after its grace period (the money paid once, nothing left
    reserved, no statement yet), and the payouts job's next run only writes the statement."""
    _, publisher = earning
    platform.payouts.set_account(publisher, PAYS, "EUR", "daily", Amount(0, EUR))
    kill_payout_once(monkeypatch, platform, point)
    with pytest.raises(Killed):
        platform.payouts.pay_out_due()
    clock.advance(platform.settings.withdrawal_resume_after_seconds + 1)
    assert platform.wallets.resume_withdrawals() == 1
    assert [(b.available, b.reserved) for b in platform.wallets.balances(publisher)] == [(0, 0)]
    assert platform.payouts.statements(publisher) == []
    (paid_id, _, _) = paid_by_the_bank(platform)[0]
    settled_at = platform.wallets.movement(publisher, paid_id).updated_at
    clock.advance(3_600)
    assert platform.payouts.pay_out_due() == 1
    assert_paid_once(platform, publisher)
    assert platform.payouts.statements(publisher)[0].created_at == settled_at  # dated by the settle
    assert platform.wallets.resume_withdrawals() == 0
