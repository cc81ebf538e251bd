"""Manual adjustments: only operators, only with a reason, only as a ledger transfer
against the adjustments account, each with its audit entry; a debit never overdraws;
refusals move nothing and write nothing to the trail."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from obolo.adapters.cards import Card
from obolo.adapters.db.schema import audit_log
from obolo.audit import service as audit
from obolo.entrypoints.api.app import create_app
from obolo.entrypoints.cli import app as cli
from obolo.identity.model import Role
from obolo.money import EUR, Amount
from obolo.wallets.adjustments import Direction, ReasonRequired, adjust
from obolo.wallets.errors import InsufficientFunds, RecipientNotFound
from obolo.wallets.model import PlatformAccount
from tests.factories import checked_platform

CARD = Card("4242424242424242", 12, 2031, "123")
PASSWORD = "a long enough password"


@pytest.fixture
def platform(db_url, clock):
    yield from checked_platform(url=db_url, clock=clock, migrate=True)


@pytest.fixture
def people(platform):
    operator = platform.identity.sign_up("op@example.com", PASSWORD, "Olga").id
    platform.identity.grant_role("op@example.com", Role.OPERATOR)
    ann = platform.identity.sign_up("ann@example.com", PASSWORD, "Ann").id
    platform.wallets.top_up(ann, Amount.parse("10.00", EUR), CARD)
    return operator, ann


def available(platform, user_id) -> int:
    return {b.asset: b.available for b in platform.wallets.balances(user_id)}.get("EUR", 0)


def adjustments_account(platform) -> int:
    (account,) = platform.ledger.lookup_accounts([PlatformAccount.ADJUSTMENTS.account_id("EUR")])
    return account.credits_posted - account.debits_posted


def trail(platform):
    with platform.engine.connect() as connection:
        return connection.execute(
            select(audit_log.c.action, audit_log.c.actor, audit_log.c.subject, audit_log.c.details).where(
                audit_log.c.action == "ledger.adjusted"
            )
        ).all()


def test_a_credit_and_a_debit_are_transfers_with_their_audit_entries(platform, people):
    """+2.50 then -1.00: the wallet and the adjustments account move by exactly that, two
    audit entries name the operator, the reason and the amount; the chain verifies."""
    operator, ann = people
    adjust(platform.wallets, operator, "ann@example.com", Amount.parse("2.50", EUR), Direction.CREDIT,
           "goodwill for a failed page")  # fmt: skip
    adjust(platform.wallets, operator, ann, Amount.parse("1.00", EUR), Direction.DEBIT, "duplicate credit")
    assert available(platform, ann) == 11_500_000
    assert adjustments_account(platform) == -1_500_000
    entries = trail(platform)
    assert [(e.actor, e.subject) for e in entries] == [(operator, ann), (operator, ann)]
    assert '"reason": "goodwill for a failed page"' in entries[0].details
    assert '"amount": "2.500000"' in entries[0].details
    assert audit.verify(platform.engine) == []


@pytest.mark.parametrize(
    ("who", "amount", "direction", "reason", "error"),
    [
        ("ann@example.com", "1.00", Direction.CREDIT, "  ", ReasonRequired),
        ("nobody@example.com", "1.00", Direction.CREDIT, "a fine reason", RecipientNotFound),
        ("ann@example.com", "10.01", Direction.DEBIT, "too much taken", InsufficientFunds),
    ],
)
def test_refused_adjustments_move_nothing_and_leave_no_entry(
    platform, people, who, amount, direction, reason, error
):
    """No reason, nobody, an overdraft: refused with the code; balances and trail unchanged."""
    operator, ann = people
    with pytest.raises(error):
        adjust(platform.wallets, operator, who, Amount.parse(amount, EUR), direction, reason)
    assert available(platform, ann) == 10_000_000
    assert adjustments_account(platform) == 0
    assert trail(platform) == []


def test_over_http_only_operators_adjust_and_a_retry_moves_money_once(platform, people):
    """A consumer gets 403; the operator's adjustment replays on the same key; no reason is 422."""
    _, ann = people
    with TestClient(create_app(platform), raise_server_exceptions=False) as http:

        def token(email: str) -> dict[str, str]:
            answer = http.post("/v1/sessions", json={"email": email, "password": PASSWORD})
            return {"Authorization": f"Bearer {answer.json()['token']}"}

        body = {"user": "ann@example.com", "asset": "EUR", "amount": "0.50", "direction": "credit",
                "reason": "refund of a double charge"}  # fmt: skip
        refused = http.post("/v1/admin/adjustments", json=body, headers=token("ann@example.com"))
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
        operator = {**token("op@example.com"), "Idempotency-Key": "adj-1"}
        first = http.post("/v1/admin/adjustments", json=body, headers=operator)
        again = http.post("/v1/admin/adjustments", json=body, headers=operator)
        assert first.status_code == again.status_code == 201
        assert first.json()["id"] == again.json()["id"]
        blank = http.post(
            "/v1/admin/adjustments",
            json={**body, "reason": " "},
            headers={**operator, "Idempotency-Key": "adj-2"},
        )
        assert (blank.status_code, blank.json()["code"]) == (422, "reason_required")
    assert available(platform, ann) == 10_500_000
    assert len(trail(platform)) == 1


def test_the_cli_refuses_someone_who_is_not_an_operator(platform, people, db_url):
    """`obolo ledger adjust --as` a consumer exits 2 and moves nothing; as the operator it credits."""
    _, ann = people
    runner = CliRunner()
    args = ["ledger", "adjust", "ann@example.com", "1.00", "--reason", "test credit", "--db", db_url]
    assert runner.invoke(cli, [*args, "--as", "ann@example.com"]).exit_code == 2
    assert available(platform, ann) == 10_000_000
    assert runner.invoke(cli, [*args, "--as", "op@example.com"]).exit_code == 0
    assert available(platform, ann) == 11_000_000
