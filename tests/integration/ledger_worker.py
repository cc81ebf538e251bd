"""Hammer a ledger from other processes: the workers behind the concurrency and crash tests.

Run as `python -m tests.integration.ledger_worker MODE URL ...` (from the repository root):

    hammer URL WORKER WORKERS BATCHES SEED   run worker WORKER's share of `hammer_plan`
    spend URL THREADS FIRST_ID WALLET MERCHANT AMOUNT
                                             one single-transfer batch per thread, all
                                             released together
    crash URL FIRST_BATCH PAUSE              write `crash_batch(k)` for k = FIRST_BATCH, ...
                                             until killed; PAUSE=1: after the first batch,
                                             stop once a batch's transfer rows are written
    hold URL ID DEBIT CREDIT                 write one transfer, keep the transaction open
                                             until a line arrives on stdin, then commit

`hammer` and `spend` connect, print `ready`, wait for a line on stdin (the start signal,
so every process begins at once) and print their results as one JSON line. `crash`
prints `txn K` once batch K's transaction has begun, `commit K` just before it commits
and `done K {counts}` once it returned (and `inserted K` at the pause); the test kills it
somewhere in between.

Everything a worker submits is a pure function of its arguments, so the test rebuilds the
same plan and checks the ledger against exactly what each worker was told.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event

from obolo.ledger import Account, AccountFlags, Ledger, Transfer, TransferFlags, TransferResult
from obolo.ledger import store as store_module

ROOT = Path(__file__).resolve().parents[2]
ASSET = "EUR"
GUARD = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
LINKED = TransferFlags.LINKED
PENDING = TransferFlags.PENDING
POST = TransferFlags.POST_PENDING_TRANSFER
VOID = TransferFlags.VOID_PENDING_TRANSFER
#: account id -> [debits_posted, credits_posted, debits_pending, credits_pending]
Totals = dict[int, list[int]]

# -- the hammer: a few guarded wallets and a guarded merchant, shared by every worker ---
BANK = 1  # unguarded: where the money comes from, once, before the workers start
MERCHANT = 2
WALLETS = (11, 12, 13, 14)
GUARDED = (MERCHANT, *WALLETS)
FUNDING = {11: 1_000, 12: 2_000, 13: 3_000, 14: 4_000}
TOTAL = sum(FUNDING.values())
_SHARED_BASE = 90 * 10**9


def setup_hammer(ledger: Ledger) -> list[Transfer]:
    """Create the accounts and fund the wallets; returns the funding transfers."""
    accounts = [Account(BANK, ASSET, 1), Account(MERCHANT, ASSET, 2, GUARD)]
    accounts += [Account(w, ASSET, 3, GUARD) for w in WALLETS]
    assert set(ledger.create_accounts(accounts)) == {"ok"}
    funding = [Transfer(100 + i, BANK, w, FUNDING[w], ASSET, 1) for i, w in enumerate(WALLETS)]
    assert set(ledger.create_transfers(funding)) == {"ok"}
    return funding


def hammer_plan(workers: int, batches: int, seed: int) -> list[list[list[Transfer]]]:
    """plan[w]: the batches worker w submits, in order.

    Batches mix wallet-to-wallet payments in both directions, spends and refunds,
    pending transfers posted (fully or partly) or voided in a later batch while a
    neighbour races to resolve the same pending transfer the other way, linked chains
    (some bound to fail), transfers no wallet can ever afford, transfers a pair of
    workers both submit with the same id in the same round, and resubmissions of a
    whole batch (a client retrying after a timeout).
    """
    rng = random.Random(seed)
    counters = [0] * workers
    shared = 0
    plan: list[list[list[Transfer]]] = [[] for _ in range(workers)]
    open_holds: list[list[Transfer]] = [[] for _ in range(workers)]

    def new_id(w: int) -> Callable[[], int]:
        def make() -> int:
            counters[w] += 1
            return (w + 1) * 10**9 + counters[w]

        return make

    for _ in range(batches):
        # Each worker's batch is a list of groups: a single transfer, or a whole chain.
        groups: list[list[list[Transfer]]] = [[] for _ in range(workers)]
        for w in range(workers):
            make = new_id(w)
            for _ in range(rng.randint(4, 8)):
                kind = rng.choice(
                    ["pay", "pay", "spend", "refund", "hold", "resolve", "resolve"] * 2 + ["overdraft"]
                )
                kind = "chain" if rng.random() < 0.2 else kind
                if kind == "pay":
                    a, b = rng.sample(WALLETS, 2)
                    groups[w].append([Transfer(make(), a, b, rng.randint(1, 300), ASSET, 10)])
                    if rng.random() < 0.6:  # and back again, in the same batch
                        groups[w].append([Transfer(make(), b, a, rng.randint(1, 300), ASSET, 10)])
                elif kind == "spend":
                    t = Transfer(make(), rng.choice(WALLETS), MERCHANT, rng.randint(1, 400), ASSET, 11)
                    groups[w].append([t])
                elif kind == "refund":
                    t = Transfer(make(), MERCHANT, rng.choice(WALLETS), rng.randint(1, 400), ASSET, 12)
                    groups[w].append([t])
                elif kind == "hold":
                    a, b = rng.sample(WALLETS, 2)
                    credit = rng.choice([MERCHANT, b])
                    hold = Transfer(make(), a, credit, rng.randint(1, 500), ASSET, 13, PENDING)
                    groups[w].append([hold])
                    open_holds[w].append(hold)
                elif kind == "resolve" and open_holds[w]:
                    hold = open_holds[w].pop(rng.randrange(len(open_holds[w])))
                    way = rng.choice(["post", "part", "void"])
                    if way == "post":
                        groups[w].append([Transfer(make(), flags=POST, pending_id=hold.id)])
                    elif way == "part":
                        part = rng.randint(1, hold.amount or 1)
                        groups[w].append([Transfer(make(), amount=part, flags=POST, pending_id=hold.id)])
                    else:
                        groups[w].append([Transfer(make(), flags=VOID, pending_id=hold.id)])
                    if rng.random() < 0.6:  # a neighbour resolves it the other way, at once
                        n = (w + 1) % workers
                        other = POST if way == "void" else VOID
                        groups[n].append([Transfer(new_id(n)(), flags=other, pending_id=hold.id)])
                elif kind == "chain":
                    groups[w].append(_chain(rng, make))
                elif kind == "overdraft":  # no wallet can ever afford this
                    a, b = rng.sample(WALLETS, 2)
                    groups[w].append([Transfer(make(), a, b, TOTAL + 1, ASSET, 14)])
        for w in range(0, workers - 1, 2):  # the pair submits these ids concurrently
            for _ in range(rng.randint(1, 3)):
                shared += 1
                debit, credit = rng.sample([*WALLETS, MERCHANT], 2)
                t = Transfer(_SHARED_BASE + shared, debit, credit, rng.randint(1, 400), ASSET, 15)
                for mate in (w, w + 1):
                    groups[mate].insert(rng.randint(0, len(groups[mate])), [t])
        for w in range(workers):
            batch = [t for group in groups[w] for t in group]
            plan[w].append(batch)
            if rng.random() < 0.15:
                plan[w].append(list(batch))  # the client resubmits the whole batch
    return plan


def _chain(rng: random.Random, make: Callable[[], int]) -> list[Transfer]:
    a, b, c = rng.sample(WALLETS, 3)
    shape = rng.randrange(4)
    if shape == 0:  # a -> b -> c -> merchant, all or nothing
        return [
            Transfer(make(), a, b, rng.randint(1, 600), ASSET, 20, LINKED),
            Transfer(make(), b, c, rng.randint(1, 600), ASSET, 20, LINKED),
            Transfer(make(), c, MERCHANT, rng.randint(1, 600), ASSET, 20),
        ]
    if shape == 1:  # hold and post part of it, in one chain
        hold = Transfer(make(), a, MERCHANT, rng.randint(1, 500), ASSET, 21, PENDING | LINKED)
        return [
            hold,
            Transfer(make(), amount=rng.randint(1, hold.amount or 1), flags=POST, pending_id=hold.id),
        ]
    if shape == 2:  # bound to fail: the second leg can never be afforded
        return [
            Transfer(make(), a, b, rng.randint(1, 100), ASSET, 22, LINKED),
            Transfer(make(), b, a, TOTAL + 1, ASSET, 22),
        ]
    hold = Transfer(make(), a, b, rng.randint(1, 300), ASSET, 23, PENDING | LINKED)
    return [
        hold,
        Transfer(make(), flags=VOID | LINKED, pending_id=hold.id),
        Transfer(make(), a, c, rng.randint(1, 300), ASSET, 23),
    ]


def linked_ids(plan: Iterable[Sequence[Transfer]]) -> set[int]:
    """Ids of every transfer that is part of a linked chain."""
    found: set[int] = set()
    for batch in plan:
        for i, t in enumerate(batch):
            if t.flags & LINKED or (i and batch[i - 1].flags & LINKED):
                found.add(t.id)
    return found


# -- running batches -------------------------------------------------------------------
def run_batches(ledger: Ledger, batches: Sequence[Sequence[Transfer]]) -> list[list[str] | str]:
    """Submit each batch; per batch its results, or the text of the error it raised."""
    out: list[list[str] | str] = []
    for batch in batches:
        try:
            out.append([str(r) for r in ledger.create_transfers(batch)])
        except Exception as error:  # report, never hide: an escaping error is a finding
            out.append(f"{type(error).__name__}: {error}")
    return out


def expected_totals(
    start: Totals, submitted: Iterable[tuple[Transfer, str]], holds: dict[int, Transfer]
) -> Totals:
    """Account totals after applying, once each, the transfers whose result was `ok`.

    `holds` maps every pending transfer id to the pending transfer as submitted."""
    totals = {k: list(v) for k, v in start.items()}
    for t, result in submitted:
        if result != TransferResult.OK:
            continue
        if t.flags & (POST | VOID):
            assert t.pending_id is not None
            hold = holds[t.pending_id]
            held = _known(hold.amount)
            debit, credit = totals[_known(hold.debit_account_id)], totals[_known(hold.credit_account_id)]
            debit[2] -= held
            credit[3] -= held
            if t.flags & POST:
                amount = held if t.amount is None else t.amount
                debit[0] += amount
                credit[1] += amount
            continue
        debit, credit = totals[_known(t.debit_account_id)], totals[_known(t.credit_account_id)]
        column = 2 if t.flags & PENDING else 0
        debit[column] += _known(t.amount)
        credit[column + 1] += _known(t.amount)
    return totals


def _known(value: int | None) -> int:
    assert value is not None
    return value


def totals_of(accounts: Iterable[Account]) -> Totals:
    return {a.id: [a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending] for a in accounts}


# -- the crash batches -----------------------------------------------------------------
CRASH_BATCH = 8_000
CRASH_BANK, CRASH_SINK, CRASH_WALLET, CRASH_EMPTY = 1, 2, 3, 4
CRASH_ACCOUNTS = (CRASH_BANK, CRASH_SINK, CRASH_WALLET, CRASH_EMPTY)
_CRASH_STRIDE = 10_000


def setup_crash(ledger: Ledger) -> None:
    accounts = [
        Account(CRASH_BANK, ASSET, 1),
        Account(CRASH_SINK, ASSET, 2),
        Account(CRASH_WALLET, ASSET, 3, GUARD),
        Account(CRASH_EMPTY, ASSET, 3, GUARD),  # never funded: every debit of it fails
    ]
    assert set(ledger.create_accounts(accounts)) == {"ok"}


def crash_ids(k: int) -> tuple[int, int]:
    """The first and last transfer id of crash batch k."""
    return k * _CRASH_STRIDE + 1, k * _CRASH_STRIDE + CRASH_BATCH


def crash_batch(k: int) -> list[Transfer]:
    """8,000 transfers with ids in `crash_ids(k)`: 7,600 succeed and 400 fail with
    exceeds_credits (kept as failed ids); 1,200 write pending records."""
    first, _ = crash_ids(k)
    out: list[Transfer] = []
    for i in range(CRASH_BATCH):
        tid, slot = first + i, i % 20
        if slot in (0, 2, 7):  # holds: 0 is posted in part, 2 voided, 7 left pending
            out.append(Transfer(tid, CRASH_BANK, CRASH_SINK, 3, ASSET, 2, PENDING))
        elif slot == 1:
            out.append(Transfer(tid, amount=2, flags=POST, pending_id=tid - 1))
        elif slot == 3:
            out.append(Transfer(tid, flags=VOID, pending_id=tid - 1))
        elif slot == 4:
            out.append(Transfer(tid, CRASH_EMPTY, CRASH_SINK, 1, ASSET, 3))
        elif slot == 5:
            out.append(Transfer(tid, CRASH_BANK, CRASH_WALLET, 2, ASSET, 4, LINKED))
        elif slot == 6:
            out.append(Transfer(tid, CRASH_WALLET, CRASH_SINK, 2, ASSET, 4))
        else:
            out.append(Transfer(tid, CRASH_BANK, CRASH_SINK, 1, ASSET, 1))
    return out


CRASH_COUNTS = {"transfers": 7_600, "failed": 400, "pending": 1_200}
#: What `done K` reports: a first run, or a retry of a batch that had already committed.
CRASH_FRESH = {"ok": 7_600, "exceeds_credits": 400}
CRASH_RETRY = {"exists": 7_600, "id_already_failed": 400}


def crash_fresh_results(k: int) -> list[tuple[Transfer, str]]:
    return [(t, "exceeds_credits" if t.debit_account_id == CRASH_EMPTY else "ok") for t in crash_batch(k)]


def crash_holds(k: int) -> dict[int, Transfer]:
    return {t.id: t for t in crash_batch(k) if t.flags & PENDING}


# -- process plumbing ------------------------------------------------------------------
def start(mode: str, *args: object) -> subprocess.Popen[str]:
    """Start a worker process (it prints `ready` once connected, for `hammer`/`spend`)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.ledger_worker", mode, *map(str, args)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )


def run_together(processes: Sequence[subprocess.Popen[str]], timeout: float = 60) -> list[object]:
    """Wait until every worker is ready, start them all at once, return their JSON outputs."""
    for p in processes:
        line = p.stdout.readline()  # type: ignore[union-attr]
        if line.strip() != "ready":
            _, err = p.communicate(timeout=timeout)
            raise AssertionError(f"worker failed to start: {line!r}\n{err}")
    for p in processes:
        p.stdin.write("go\n")  # type: ignore[union-attr]
        p.stdin.flush()  # type: ignore[union-attr]
    outputs = []
    for p in processes:
        out, err = p.communicate(timeout=timeout)
        if p.returncode != 0:
            raise AssertionError(f"worker exited with {p.returncode}:\n{err}")
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    return outputs


def cli_check(url: str) -> subprocess.CompletedProcess[str]:
    """`obolo ledger check --db URL`, as an operator would run it."""
    obolo = Path(sys.executable).parent / "obolo"
    return subprocess.run(
        [str(obolo), "ledger", "check", "--db", url], capture_output=True, text=True, timeout=60, check=False
    )


def _ready_then_wait() -> None:
    print("ready", flush=True)
    sys.stdin.readline()


def _hammer(url: str, worker: int, workers: int, batches: int, seed: int) -> None:
    mine = hammer_plan(workers, batches, seed)[worker]
    ledger = Ledger.connect(url, migrate=False)
    _ready_then_wait()
    print(json.dumps(run_batches(ledger, mine)), flush=True)
    ledger.close()


def spend_transfer(tid: int, wallet: int, merchant: int, amount: int) -> Transfer:
    return Transfer(tid, wallet, merchant, amount, ASSET, 30)


def spend_concurrently(ledger: Ledger, transfers: Sequence[Transfer]) -> dict[int, str]:
    """Submit each transfer as its own batch, all from separate threads released together."""
    gate = threading.Barrier(len(transfers))
    results: dict[int, str] = {}

    def one(t: Transfer) -> None:
        gate.wait()
        try:
            results[t.id] = str(ledger.create_transfers([t])[0])
        except Exception as error:
            results[t.id] = f"{type(error).__name__}: {error}"

    threads = [threading.Thread(target=one, args=(t,)) for t in transfers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _spend(url: str, threads: int, first_id: int, wallet: int, merchant: int, amount: int) -> None:
    ledger = Ledger.connect(url, migrate=False)
    transfers = [spend_transfer(first_id + i, wallet, merchant, amount) for i in range(threads)]
    # Warm the pool so every thread already holds a connection when the race starts.
    warm = [ledger.engine.connect() for _ in range(threads)]
    for connection in warm:
        connection.close()
    _ready_then_wait()
    print(json.dumps(spend_concurrently(ledger, transfers)), flush=True)
    ledger.close()


def _crash(url: str, first_batch: int, pause_after_insert: int = 0) -> None:
    ledger = Ledger.connect(url, migrate=False)
    current = [first_batch]

    @event.listens_for(ledger.engine, "begin")
    def _began(_connection: object) -> None:  # runs after the engine's own BEGIN IMMEDIATE
        print(f"txn {current[0]}", flush=True)

    @event.listens_for(ledger.engine, "commit")
    def _committing(_connection: object) -> None:
        print(f"commit {current[0]}", flush=True)

    if pause_after_insert:
        # A fixed crash point: every transfer row of the batch written, nothing committed.
        for store_class in (store_module.SqliteStore, store_module.PostgresStore):
            _pause_after(store_class, "insert_transfers", current, first_batch)
        _pause_after_streamed_rows(current, first_batch)

    k = first_batch
    while True:
        batch = crash_batch(k)
        current[0] = k
        results = ledger.create_transfers(batch)
        print(f"done {k} {json.dumps(dict(Counter(map(str, results))))}", flush=True)
        k += 1


def _pause_after(store_class: type, method: str, current: list[int], first_batch: int) -> None:
    original = getattr(store_class, method)

    def paused(self: object, *args: object) -> None:
        original(self, *args)
        _inserted(current, first_batch)

    setattr(store_class, method, paused)


def _pause_after_streamed_rows(current: list[int], first_batch: int) -> None:
    """On PostgreSQL a large batch's rows go into a COPY as they are decided: they are all
    written once that block ends."""
    original = store_module.PostgresStore.writing_transfers

    @contextmanager
    def paused(self: store_module.PostgresStore, count: int, now: int) -> Iterator[object]:
        with original(self, count, now) as decided:
            yield decided
        if decided is not None:
            _inserted(current, first_batch)

    store_module.PostgresStore.writing_transfers = paused  # type: ignore[assignment,method-assign]


def _inserted(current: list[int], first_batch: int) -> None:
    if current[0] > first_batch:
        print(f"inserted {current[0]}", flush=True)
        time.sleep(10)  # the test kills us here


def _hold(url: str, tid: int, debit: int, credit: int) -> None:
    """Write one transfer inside a transaction and keep it open until told to commit."""
    ledger = Ledger.connect(url, migrate=False)
    try:
        with ledger.transaction() as session:
            (result,) = session.create_transfers([Transfer(tid, debit, credit, 5, ASSET, 40)])
            print(json.dumps({"result": str(result)}), flush=True)
            sys.stdin.readline()
        print(json.dumps({"committed": True}), flush=True)
    except Exception as error:  # the commit lost: say so, the test decides
        print(json.dumps({"committed": False, "error": f"{type(error).__name__}: {error}"}), flush=True)
    ledger.close()


def main(argv: Sequence[str]) -> None:
    mode, url, *rest = argv
    numbers = [int(x) for x in rest]
    if mode == "hammer":
        _hammer(url, *numbers)
    elif mode == "spend":
        _spend(url, *numbers)
    elif mode == "crash":
        _crash(url, *numbers)
    elif mode == "hold":
        _hold(url, *numbers)
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
