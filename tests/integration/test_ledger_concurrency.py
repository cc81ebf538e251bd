"""Many writers at once: every batch is applied exactly once or not at all, guarded
wallets never go below zero, and the books still balance to the unit.

The workers are separate processes (`tests.integration.ledger_worker`) started together;
each returns its results, and the test rebuilds exactly what each one submitted.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict

import pytest

from obolo.ledger import Ledger, Transfer, TransferFlags, TransferResult
from obolo.ledger.check import check_ledger
from obolo.ledger.model import STATE_DEPENDENT_FAILURES
from tests.integration import ledger_worker as lw

WORKERS, BATCHES, SEED = 8, 30, 20_240_611
R = TransferResult


class _Watch:
    """Polls the guarded accounts while the workers run; remembers anything negative."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.seen: list[str] = []
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            for a in self.ledger.lookup_accounts(lw.GUARDED):
                if a.available < 0 or a.balance < 0:
                    self.seen.append(f"{a.id}: {a}")
            self.polls += 1

    def __enter__(self) -> _Watch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _verify_hammer(ledger: Ledger, url: str, plan: list[list[list[Transfer]]], outputs: list) -> None:
    errors = [
        f"worker {w} batch {b}: {out}"
        for w, worker_out in enumerate(outputs)
        for b, out in enumerate(worker_out)
        if isinstance(out, str)
    ]
    assert errors == [], "batches raised instead of answering"

    submitted: list[tuple[Transfer, str]] = []
    for w, worker_out in enumerate(outputs):
        assert len(worker_out) == len(plan[w])
        for batch, results in zip(plan[w], worker_out, strict=True):
            assert len(results) == len(batch)
            submitted.extend(zip(batch, results, strict=True))
    by_id: dict[int, list[str]] = defaultdict(list)
    for t, result in submitted:
        by_id[t.id].append(result)

    # Each id applies at most once, however often and from however many processes it came.
    twice = {tid: results for tid, results in by_id.items() if results.count(R.OK) > 1}
    assert twice == {}, "transfers applied more than once"

    # A single (unlinked) id: the first submission decides, every other one echoes it.
    chained = lw.linked_ids(batch for worker_plan in plan for batch in worker_plan)
    for tid, results in by_id.items():
        if tid in chained:
            continue
        first = [r for r in results if r not in (R.EXISTS, R.ID_ALREADY_FAILED)]
        assert len(first) == 1, (tid, results)
        assert first[0] == R.OK or first[0] in STATE_DEPENDENT_FAILURES, (tid, results)
        echo = R.EXISTS if first[0] == R.OK else R.ID_ALREADY_FAILED
        assert results.count(echo) == len(results) - 1, (tid, results)

    # A pending transfer is resolved (posted or voided) at most once, and only if it exists.
    holds = {t.id: t for t, _ in submitted if t.flags & TransferFlags.PENDING}
    ok_ids = {t.id for t, result in submitted if result == R.OK}
    resolutions = Counter(t.pending_id for t, r in submitted if r == R.OK and t.flags & (lw.POST | lw.VOID))
    assert {pid: n for pid, n in resolutions.items() if n > 1} == {}
    assert set(resolutions) <= ok_ids & set(holds)

    # What is stored is exactly what answered `ok`; everything else moved nothing.
    all_ids = sorted(by_id)
    stored = {t.id: t for t in ledger.lookup_transfers(all_ids)}
    assert set(stored) == ok_ids
    first_ok = {t.id: t for t, r in submitted if r == R.OK}
    for tid, t in first_ok.items():
        if not t.flags & (lw.POST | lw.VOID):
            assert (stored[tid].debit_account_id, stored[tid].credit_account_id, stored[tid].amount) == (
                t.debit_account_id,
                t.credit_account_id,
                t.amount,
            )

    # Exact totals: the funding plus every `ok`, applied once.
    start = {a: [0, 0, 0, 0] for a in (lw.BANK, *lw.GUARDED)}
    start = lw.expected_totals(start, [(t, R.OK) for t in _funding()], {})
    expected = lw.expected_totals(start, submitted, holds)
    actual = lw.totals_of(ledger.lookup_accounts([lw.BANK, *lw.GUARDED]))
    assert actual == expected

    # No money created or destroyed; no guarded account ever below zero, at any event.
    accounts = ledger.lookup_accounts([lw.BANK, *lw.GUARDED])
    assert sum(a.balance for a in accounts) == 0
    assert sum(a.balance for a in accounts if a.id in lw.GUARDED) == lw.TOTAL
    for account_id in lw.GUARDED:
        history = ledger.account_balances(account_id)
        negative = [h for h in history if h.debits_posted + h.debits_pending > h.credits_posted]
        assert negative == [], f"account {account_id} went below zero"
        last = history[-1]
        assert [last.debits_posted, last.credits_posted, last.debits_pending, last.credits_pending] == (
            actual[account_id]
        )

    assert check_ledger(ledger.engine) == []
    cli = lw.cli_check(url)
    assert cli.returncode == 0, cli.stdout + cli.stderr

    # The run exercised what it claims to.
    seen = Counter(r for _, r in submitted)
    for wanted in (R.OK, R.EXISTS, R.EXCEEDS_CREDITS, R.ID_ALREADY_FAILED, R.LINKED_EVENT_FAILED):
        assert seen[wanted] > 0, (wanted, seen)
    assert seen[R.PENDING_ALREADY_POSTED] + seen[R.PENDING_ALREADY_VOIDED] > 0, seen


def _funding() -> list[Transfer]:
    return [Transfer(100 + i, lw.BANK, w, lw.FUNDING[w], lw.ASSET, 1) for i, w in enumerate(lw.WALLETS)]


def test_many_processes_hammering_the_same_wallets_apply_each_transfer_exactly_once(db_url):
    """8 processes at once: each `ok` applies exactly once, nothing else moves, no wallet dips below 0."""
    ledger = Ledger.connect(db_url)
    assert lw.setup_hammer(ledger) == _funding()
    plan = lw.hammer_plan(WORKERS, BATCHES, SEED)
    workers = [lw.start("hammer", db_url, w, WORKERS, BATCHES, SEED) for w in range(WORKERS)]
    with _Watch(ledger) as watch:
        outputs = lw.run_together(workers)
    assert watch.polls > 0
    assert watch.seen == [], "a guarded account was seen below zero"
    _verify_hammer(ledger, db_url, plan, outputs)
    ledger.close()


def test_threads_sharing_one_ledger_apply_each_transfer_exactly_once(db_url):
    """8 threads sharing one Ledger: each `ok` applies exactly once, no wallet dips below 0."""
    ledger = Ledger.connect(db_url)
    lw.setup_hammer(ledger)
    plan = lw.hammer_plan(WORKERS, BATCHES, SEED + 1)
    outputs: list = [None] * WORKERS
    gate = threading.Barrier(WORKERS)

    def work(w: int) -> None:
        gate.wait()
        outputs[w] = lw.run_batches(ledger, plan[w])

    threads = [threading.Thread(target=work, args=(w,)) for w in range(WORKERS)]
    with _Watch(ledger) as watch:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert watch.polls > 0
    assert watch.seen == [], "a guarded account was seen below zero"
    _verify_hammer(ledger, db_url, plan, outputs)
    ledger.close()


SPENDERS, PROCESSES, PRICE, AFFORDABLE = 20, 5, 10, 7


def test_twenty_concurrent_spends_from_a_wallet_that_affords_seven(db_url):
    """20 concurrent spends from a wallet that affords 7: exactly 7 ok, 13 exceeds_credits, balance 0."""
    ledger = Ledger.connect(db_url)
    lw.setup_hammer(ledger)
    wallet, merchant = lw.WALLETS[0], lw.MERCHANT
    # Leave the wallet exactly 7 spends: move the rest of its funding to another wallet.
    extra = lw.FUNDING[wallet] - AFFORDABLE * PRICE
    assert ledger.create_transfers([Transfer(500, wallet, lw.WALLETS[1], extra, lw.ASSET, 1)]) == [R.OK]
    per = SPENDERS // PROCESSES
    workers = [
        lw.start("spend", db_url, per, 1_000 + p * per, wallet, merchant, PRICE) for p in range(PROCESSES)
    ]
    outputs = lw.run_together(workers)
    results = {int(tid): r for out in outputs for tid, r in out.items()}  # type: ignore[union-attr]
    assert sorted(results) == list(range(1_000, 1_000 + SPENDERS))
    assert Counter(results.values()) == {R.OK: AFFORDABLE, R.EXCEEDS_CREDITS: SPENDERS - AFFORDABLE}

    (after,) = ledger.lookup_accounts([wallet])
    assert (after.balance, after.available, after.debits_posted) == (0, 0, lw.FUNDING[wallet])
    paid = {t.id for t in ledger.lookup_transfers(sorted(results))}
    assert paid == {tid for tid, r in results.items() if r == R.OK}
    assert check_ledger(ledger.engine) == []
    ledger.close()


# Two processes race on one new transfer id: the first holds its transaction open after
# writing, the other submits meanwhile. (debit, credit) of each; 98 and 99 do not exist.
SAME_ID_RACES = {
    "same_id_different_accounts": ((11, 12), (13, 14)),
    "same_id_both_fail": ((98, 99), (98, 99)),
    "same_id_one_fails_one_applies": ((11, 99), (13, 14)),
}
_ECHOES = {R.EXISTS, R.EXISTS_WITH_DIFFERENT_FIELDS, R.ID_ALREADY_FAILED}


@pytest.mark.parametrize("race", SAME_ID_RACES)
def test_a_transfer_id_raced_by_two_processes_is_decided_once(db_url, race):
    """One transfer id raced by two processes is decided once and echoed to the other, never raised."""
    ledger = Ledger.connect(db_url)
    lw.setup_hammer(ledger)
    (d1, c1), (d2, c2) = SAME_ID_RACES[race]
    tid = 7_000
    holder = lw.start("hold", db_url, tid, d1, c1)
    held = json.loads(holder.stdout.readline() or "{}")  # type: ignore[union-attr]
    assert "result" in held, holder.communicate(timeout=30)[1]

    answer: dict[str, str] = {}

    def contend() -> None:
        try:
            answer["result"] = str(ledger.create_transfers([Transfer(tid, d2, c2, 5, lw.ASSET, 40)])[0])
        except Exception as error:  # an escaping database error is the finding
            answer["error"] = f"{type(error).__module__}.{type(error).__name__}: {error}"

    contender = threading.Thread(target=contend)
    contender.start()
    contender.join(timeout=0.5)  # on SQLite it waits for the holder's write lock
    out, err = holder.communicate("commit\n", timeout=30)
    contender.join(timeout=30)
    assert out.strip(), err
    committed = json.loads(out.strip().splitlines()[-1])

    assert "error" not in answer, answer.get("error")
    answers = [answer["result"]] + ([held["result"]] if committed["committed"] else [])
    decisions = [a for a in answers if a not in _ECHOES]
    assert len(decisions) == 1, f"holder {held} (committed: {committed}), contender {answer}"
    stored = ledger.lookup_transfers([tid])
    with ledger.engine.connect() as connection:
        mark = "?" if ledger.engine.dialect.name == "sqlite" else "%(id)s"
        params = (tid.to_bytes(16, "big"),) if mark == "?" else {"id": tid.to_bytes(16, "big")}
        failed = connection.exec_driver_sql(
            f"SELECT failure FROM ledger_transfers WHERE id = {mark} AND failure IS NOT NULL", params
        ).fetchall()
    assert len(stored) + len(failed) == 1, f"id {tid}: stored {stored}, failed {failed}"
    assert (decisions[0] == R.OK) == bool(stored)
    assert check_ledger(ledger.engine) == []
    ledger.close()
