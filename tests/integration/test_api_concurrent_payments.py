"""Many people paying at once through the API: their payments are group-committed (one
commit for what arrives together), a payment refused in a group fails alone, and the
books balance to the unit afterwards."""

from __future__ import annotations

import threading

import pytest

from obolo.ledger.check import check_ledger
from tests.fakes import FakeClock
from tests.integration.api_world import api_client, new_key, person

PAYERS = 8
ROUNDS = 6


@pytest.fixture
def client(db_url):
    yield from api_client(db_url, FakeClock())


def available(client, headers) -> str:
    (wallet,) = [w for w in client.get("/v1/wallets", headers=headers).json() if w["asset"] == "EUR"]
    return wallet["available"]


def test_concurrent_payments_commit_in_groups_and_a_refused_one_fails_alone(client):
    """Eight payers each pay 0.50 six times at once, and each also asks for more than they
    hold: every payment of 0.50 succeeds, every oversized one is refused, nothing else moves."""
    platform = client.app.state.platform
    payee = person(client, "payee@example.com")
    payee_email = "payee@example.com"
    payers = [person(client, f"payer{n}@example.com", top_up="5.00") for n in range(PAYERS)]
    batches_before, units_before = platform.writer.batches, platform.writer.units
    answers: list[tuple[int, int]] = []
    lock = threading.Lock()

    def pay(headers) -> None:
        for round_ in range(ROUNDS + 1):
            amount = "99.00" if round_ == ROUNDS // 2 else "0.50"
            body = {"to": payee_email, "amount": amount, "asset": "EUR"}
            answer = client.post("/v1/payments", json=body, headers={**headers, "Idempotency-Key": new_key()})
            with lock:
                answers.append((answer.status_code, 422 if amount == "99.00" else 201))

    threads = [threading.Thread(target=pay, args=(headers,)) for headers in payers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [got for got, _ in answers] == [wanted for _, wanted in answers]
    assert all(available(client, headers) == "2.000000" for headers in payers)
    assert available(client, payee) == f"{PAYERS * ROUNDS // 2}.000000"  # payments carry no fee here
    assert check_ledger(platform.engine) == []
    units = platform.writer.units - units_before
    assert units >= PAYERS * (ROUNDS + 1)  # every payment was a unit of the writer
    assert 0 < platform.writer.batches - batches_before <= units
