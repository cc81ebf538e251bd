"""The ledger against a naive reference: the same random operations, the same answers.

A hypothesis state machine drives the real `Ledger` and `tests.reference_ledger` side by
side: accounts of two assets with and without limit flags, batches of one to six
transfers of every kind (posted, pending with and without timeout, post, void,
balancing, linked chains open and broken, retries, invalid input), clock moves, expiry
and closing accounts. After every step both give the same result codes and the same four
totals on every account, and each asset's books balance; at the end `check_ledger` finds
nothing and every account's balance history ends at its totals.

Each example gets a fresh database: a new SQLite file, or a new PostgreSQL schema.
`OBOLO_FUZZ=1` runs many more examples, and longer ones.
"""

from __future__ import annotations

import functools
import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from obolo.ledger import Account, AccountFlags, Ledger, Transfer, TransferFlags, TransferResult
from obolo.ledger.check import check_ledger
from tests.fakes import NS, FakeClock
from tests.reference_ledger import ReferenceLedger

F = TransferFlags
DMNEC = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
CMNED = AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS

#: Whether a batch may end inside a linked chain.
OPEN_CHAINS = True
STEPS = 100 if os.environ.get("OBOLO_FUZZ") else 35
# Each example builds a database: `make test` runs 30 lives of 35 steps on each database,
# `make fuzz` its profile's count (2,000) of 100 steps.
LIVES = None if os.environ.get("OBOLO_FUZZ") else 30
ACCOUNT_IDS = st.integers(1, 8)
AMOUNTS = st.one_of(st.integers(1, 200), st.integers(1, 12))
CODES = st.integers(1, 2)
METADATA = st.sampled_from([None, None, None, {"note": "a"}, {"note": "b"}])
#: Every clock move adds a millisecond to whole seconds, so the clock never lands within
#: a few nanoseconds of a timeout (the engine stamps events a nanosecond apart).
SECONDS = st.sampled_from([1, 0, 1, 2, 3, 7])

NewDatabase = Callable[[], tuple[str, Callable[[], None]]]


@contextmanager
def _sqlite_databases(directory: Path) -> Iterator[NewDatabase]:
    numbers = itertools.count()

    def new() -> tuple[str, Callable[[], None]]:
        path = directory / f"example-{next(numbers)}.db"
        return f"sqlite:///{path}", lambda: None

    yield new


@contextmanager
def _postgres_databases(url: str) -> Iterator[NewDatabase]:
    """Fresh schemas on the server `url` points at (its own search_path is dropped)."""
    server = make_url(url).difference_update_query(["options"])
    admin = create_engine(server, isolation_level="AUTOCOMMIT")

    def new() -> tuple[str, Callable[[], None]]:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))

        def drop() -> None:
            with admin.connect() as connection:
                connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))

        scoped = server.update_query_dict({"options": f"-csearch_path={schema}"})
        return scoped.render_as_string(hide_password=False), drop

    try:
        yield new
    finally:
        admin.dispose()


def _step(method: Callable[..., None]) -> Callable[..., None]:
    """Mark the machine unsettled while a step runs, so teardown only checks the books
    after steps that finished (a failed step already reports what went wrong)."""

    @functools.wraps(method)
    def wrapper(self: LedgerAgainstReference, *args: object, **kwargs: object) -> None:
        self.settled = False
        method(self, *args, **kwargs)
        self.settled = True

    return wrapper


class LedgerAgainstReference(RuleBasedStateMachine):
    new_database: NewDatabase  # set per backend by the test

    def __init__(self) -> None:
        super().__init__()
        url, self.drop_database = type(self).new_database()
        self.clock = FakeClock()
        self.ledger = Ledger.connect(url, clock=self.clock)
        self.ref = ReferenceLedger()
        self.sent: list[Transfer] = []
        self.fresh_ids = itertools.count(1)
        self.settled = True

    # -- drawing transfers that fit the current state ----------------------------------
    # Each choice is drawn as a number whose smallest values mean "the usual case", so
    # hypothesis shrinks a failure towards well-formed transfers between known accounts.
    def _debit_account(self, data: st.DataObject) -> int:
        known = sorted(self.ref.accounts)
        if known and data.draw(st.integers(0, 9), label="unknown debit?") < 9:
            return data.draw(st.sampled_from(known), label="debit")
        return data.draw(ACCOUNT_IDS, label="debit")

    def _credit_account(self, data: st.DataObject, debit: int) -> int:
        asset = self._asset_of(debit)
        partners = sorted(i for i, a in self.ref.accounts.items() if a.asset == asset and i != debit)
        roll = data.draw(st.integers(0, 19), label="credit kind")
        if partners and roll < 17:
            return data.draw(st.sampled_from(partners), label="credit")
        return debit if roll == 19 else data.draw(ACCOUNT_IDS, label="credit")

    def _asset_of(self, account_id: int | None) -> str:
        account = self.ref.accounts.get(account_id) if account_id is not None else None
        return account.asset if account is not None else "EUR"

    def _transfer_id(self, data: st.DataObject) -> int:
        """Mostly a new id; sometimes one sent before, whatever became of it."""
        if self.sent and data.draw(st.integers(0, 9), label="reuse id?") == 9:
            return data.draw(st.sampled_from(sorted({t.id for t in self.sent})), label="reused id")
        return next(self.fresh_ids)

    def _movement(self, data: st.DataObject) -> Transfer:
        """A posted, pending or balancing transfer, mostly well formed."""
        debit = self._debit_account(data)
        credit = self._credit_account(data, debit)
        kind = _weighted(
            data,
            "kind of move",
            posted=5,
            pending=2,
            expiring=4,
            balancing_debit=2,
            balancing_credit=2,
            balancing_both=1,
        )
        flags = {
            "posted": F.NONE,
            "pending": F.PENDING,
            "expiring": F.PENDING,
            "balancing_debit": F.BALANCING_DEBIT | data.draw(st.sampled_from([F.NONE, F.PENDING])),
            "balancing_credit": F.BALANCING_CREDIT,
            "balancing_both": F.BALANCING_DEBIT | F.BALANCING_CREDIT,
        }[kind]
        asset = self._asset_of(debit)
        if data.draw(st.integers(0, 19), label="other asset?") == 19:
            asset = "USD" if asset == "EUR" else "EUR"
        return Transfer(
            id=self._transfer_id(data),
            debit_account_id=debit,
            credit_account_id=credit,
            amount=data.draw(AMOUNTS, label="amount"),
            asset=asset,
            code=data.draw(CODES, label="code"),
            flags=flags,
            timeout=data.draw(st.sampled_from([1, 1, 2, 5]), label="timeout") if kind == "expiring" else 0,
            metadata=data.draw(METADATA, label="metadata"),
        )

    def _resolution(self, data: st.DataObject) -> Transfer:
        """A post or void of a pending transfer (or of something else), leaving out the
        fields it may leave out, or giving them right or wrong."""
        applied = sorted(self.ref.transfers)
        pendings = sorted(self.ref.pending_status)
        target = _weighted(data, "target", pending=8, sent=1, not_pending=1, unknown=1)
        if target == "pending" and pendings:
            pending_id = data.draw(st.sampled_from(pendings), label="pending id")
        elif target in ("pending", "sent") and any(t.flags & F.PENDING for t in self.sent):
            pending_id = data.draw(st.sampled_from([t.id for t in self.sent if t.flags & F.PENDING]))
        elif target == "not_pending" and applied:
            pending_id = data.draw(st.sampled_from(applied), label="pending id")
        else:
            pending_id = next(self.fresh_ids)
        held = self.ref.transfers.get(pending_id)
        full = held.amount if held is not None else 10
        posting = data.draw(st.booleans(), label="void?") is False
        amount = (
            data.draw(st.sampled_from([None, None, full, max(1, full - 1), 1, full + 1]), label="amount")
            if posting
            else data.draw(st.sampled_from([None, None, None, full, full + 1]), label="amount")
        )
        debit = credit = asset = None
        code = 0
        if held is not None and data.draw(st.integers(0, 3), label="spell out?") == 3:
            debit, credit, asset, code = held.debit_account_id, held.credit_account_id, held.asset, held.code
        wrong = _weighted(data, "wrong field", none=12, debit=1, credit=1, asset=1, code=1)
        if wrong == "debit":
            debit = self._debit_account(data)
        elif wrong == "credit":
            credit = self._debit_account(data)
        elif wrong == "asset":
            asset = data.draw(st.sampled_from(["EUR", "USD"]))
        elif wrong == "code":
            code = data.draw(CODES)
        return Transfer(
            id=self._transfer_id(data),
            debit_account_id=debit,
            credit_account_id=credit,
            amount=amount,
            asset=asset,
            code=code,
            flags=F.POST_PENDING_TRANSFER if posting else F.VOID_PENDING_TRANSFER,
            pending_id=pending_id,
            metadata=data.draw(METADATA, label="metadata"),
        )

    def _retry(self, data: st.DataObject) -> Transfer:
        """A transfer sent before, again: as it was, or with one field changed."""
        if not self.sent:
            return self._movement(data)
        original = data.draw(st.sampled_from(self.sent[-12:]), label="retry of")
        change = _weighted(
            data, "change", same=6, amount=1, credit=1, code=1, metadata=1, linked=1, timeout=1, asset=1
        )
        if change == "same":
            return original
        if change == "amount":
            return replace(original, amount=None if original.amount == 1 else (original.amount or 0) + 1)
        if change == "credit":
            return replace(original, credit_account_id=self._debit_account(data))
        if change == "code":
            return replace(original, code=3 - original.code if original.code in (1, 2) else 1)
        if change == "metadata":
            return replace(original, metadata=None if original.metadata else {"note": "c"})
        if change == "linked":
            return replace(original, flags=original.flags ^ F.LINKED)
        if change == "asset":
            return replace(original, asset="USD" if original.asset == "EUR" else "EUR")
        return replace(original, timeout=original.timeout + 1)

    def _invalid(self, data: st.DataObject) -> Transfer:
        """A transfer broken in one way."""
        base = self._movement(data)
        post = replace(base, flags=F.POST_PENDING_TRANSFER, debit_account_id=None, credit_account_id=None)
        pending_id = data.draw(st.sampled_from(sorted({t.id for t in self.sent} | {1})), label="pending id")
        broken = {
            "zero_id": replace(base, id=0),
            "zero_amount": replace(base, amount=0),
            "negative_amount": replace(base, amount=-5),
            "no_amount": replace(base, amount=None),
            "no_asset": replace(base, asset=None),
            "no_debit": replace(base, debit_account_id=None),
            "no_credit": replace(base, credit_account_id=None),
            "same_account": replace(base, credit_account_id=base.debit_account_id),
            "timeout_not_pending": replace(base, flags=base.flags & ~F.PENDING, timeout=3),
            "pending_id_on_move": replace(base, pending_id=pending_id),
            "pending_and_post": replace(base, flags=F.PENDING | F.POST_PENDING_TRANSFER),
            "post_and_void": replace(post, flags=F.POST_PENDING_TRANSFER | F.VOID_PENDING_TRANSFER),
            "pending_and_void": replace(base, flags=F.PENDING | F.VOID_PENDING_TRANSFER),
            "balancing_post": replace(post, flags=F.POST_PENDING_TRANSFER | F.BALANCING_DEBIT),
            "balancing_void": replace(post, flags=F.VOID_PENDING_TRANSFER | F.BALANCING_CREDIT),
            "post_without_pending_id": post,
            "post_of_itself": replace(post, pending_id=post.id),
            "post_zero": replace(post, pending_id=pending_id, amount=0),
        }
        return broken[data.draw(st.sampled_from(sorted(broken)), label="flaw")]

    def _batch(self, data: st.DataObject, linked: int, **kinds: int) -> list[Transfer]:
        """One to six transfers of the kinds given (with their weights); each but a retry
        is LINKED with probability `linked` percent."""
        size = data.draw(st.integers(1, 6), label="size")
        batch = []
        for _ in range(size):
            kind = _weighted(data, "kind", **kinds)
            if kind == "retry":
                batch.append(self._retry(data))  # keeps its own LINKED flag, to match exactly
                continue
            t = {"move": self._movement, "resolve": self._resolution, "invalid": self._invalid}[kind](data)
            chained = data.draw(st.integers(0, 99), label="linked?") >= 100 - linked
            batch.append(replace(t, flags=t.flags | F.LINKED) if chained else t)
        if not OPEN_CHAINS and batch[-1].flags & F.LINKED:
            batch[-1] = replace(batch[-1], flags=batch[-1].flags & ~F.LINKED)
        return batch

    def _send(self, data: st.DataObject, batch: list[Transfer]) -> None:
        """Let some time pass (nothing expires until touched), then send `batch` to both."""
        pause = data.draw(st.sampled_from([0, 0, 0, 1, 2, 5]), label="seconds before")
        if pause:
            self.clock.advance(pause, ns=NS // 1000)
        now = self.clock()
        expected = self.ref.create_transfers(batch, now)
        actual = self.ledger.create_transfers(batch)
        self.sent.extend(batch)
        assert [str(r) for r in actual] == [str(r) for r in expected], _describe(batch, expected, actual)

    # -- rules ------------------------------------------------------------------------
    @initialize(
        extra=st.lists(
            st.builds(
                Account,
                id=st.integers(3, 8),
                asset=st.sampled_from(["EUR", "USD"]),
                code=CODES,
                flags=st.sampled_from([DMNEC, AccountFlags.NONE, DMNEC, CMNED]),
            ),
            min_size=3,
            max_size=6,
            unique_by=lambda account: account.id,
        )
    )
    @_step
    def open_books(self, extra: list[Account]) -> None:
        # One account per asset without limits, to fund the others from.
        accounts = [Account(1, "EUR", 1), Account(2, "USD", 1), *extra]
        assert self.ledger.create_accounts(accounts) == self.ref.create_accounts(accounts)

    @rule(
        accounts=st.lists(
            st.builds(
                Account,
                id=st.one_of(ACCOUNT_IDS, st.just(0)),
                asset=st.sampled_from(["EUR", "EUR", "USD", "GBP"]),
                code=CODES,
                flags=st.sampled_from([AccountFlags.NONE, DMNEC, CMNED, DMNEC | CMNED]),
            ),
            min_size=1,
            max_size=3,
        )
    )
    @_step
    def create_accounts(self, accounts: list[Account]) -> None:
        assert self.ledger.create_accounts(accounts) == self.ref.create_accounts(accounts)

    @rule(data=st.data())
    @_step
    def send_mixed_batch(self, data: st.DataObject) -> None:
        self._send(data, self._batch(data, 25, move=6, resolve=4, retry=2, invalid=1))

    @rule(data=st.data())
    @_step
    def send_linked_batch(self, data: st.DataObject) -> None:
        self._send(data, self._batch(data, 70, move=4, resolve=2, retry=1, invalid=1))

    @rule(data=st.data())
    @_step
    def settle_pendings(self, data: st.DataObject) -> None:
        self._send(data, self._batch(data, 15, resolve=4, move=2, retry=1))

    @rule(data=st.data())
    @_step
    def retry_earlier_transfers(self, data: st.DataObject) -> None:
        self._send(data, self._batch(data, 10, retry=4, move=2))

    @rule(seconds=SECONDS)
    @_step
    def advance_clock_and_sweep(self, seconds: int) -> None:
        self.clock.advance(seconds, ns=NS // 1000)
        assert self.ledger.expire_pending() == self.ref.expire(self.clock())

    @rule(seconds=SECONDS)
    @_step
    def advance_clock_only(self, seconds: int) -> None:
        # Nothing expires until a batch touches the pending transfer's accounts, or a sweep.
        self.clock.advance(seconds, ns=NS // 1000)

    @rule()
    @_step
    def sweep_expired(self) -> None:
        assert self.ledger.expire_pending() == self.ref.expire(self.clock())

    @rule(ids=st.lists(ACCOUNT_IDS, max_size=1))
    @_step
    def close_accounts(self, ids: list[int]) -> None:
        assert self.ledger.close_accounts(ids) == self.ref.close_accounts(ids)

    # -- what must hold after every step ------------------------------------------------
    @invariant()
    @_step
    def same_totals_and_balanced_books(self) -> None:
        ids = sorted(self.ref.accounts)
        found = {a.id: a for a in self.ledger.lookup_accounts(ids)}
        assert sorted(found) == ids
        for account_id in ids:
            real, ref = found[account_id], self.ref.accounts[account_id]
            totals = (real.debits_posted, real.credits_posted, real.debits_pending, real.credits_pending)
            assert (totals, real.flags) == (ref.totals(), ref.flags), f"account {account_id}"
        for asset, (
            debits_posted,
            credits_posted,
            debits_pending,
            credits_pending,
        ) in self.ref.totals_by_asset().items():
            assert debits_posted == credits_posted, asset
            assert debits_pending == credits_pending, asset

    def teardown(self) -> None:
        try:
            if self.settled:
                self._check_the_books()
        finally:
            self.ledger.close()
            self.drop_database()

    def _check_the_books(self) -> None:
        assert check_ledger(self.ledger.engine) == []
        for account_id, ref in self.ref.accounts.items():
            history = self.ledger.account_balances(account_id)
            last = history[-1] if history else None
            got = (
                (last.debits_posted, last.credits_posted, last.debits_pending, last.credits_pending)
                if last
                else (0, 0, 0, 0)
            )
            assert got == ref.totals(), f"account {account_id}: history ends at {got}"
        ids = sorted({t.id for t in self.sent} - {0})
        stored = {
            t.id: (t.debit_account_id, t.credit_account_id, t.amount, t.asset, t.code, t.pending_id)
            for t in self.ledger.lookup_transfers(ids)
        }
        assert stored == {
            i: (t.debit_account_id, t.credit_account_id, t.amount, t.asset, t.code, t.request.pending_id)
            for i, t in self.ref.transfers.items()
        }
        for pending_id, status in self.ref.pending_status.items():
            assert self.ledger.pending_status(pending_id) == status, f"pending {pending_id}"


def _weighted(data: st.DataObject, label: str, **weights: int) -> str:
    """One of the names, drawn with the given weights; shrinks towards the first."""
    return data.draw(
        st.sampled_from([name for name, weight in weights.items() for _ in range(weight)]), label=label
    )


def _describe(batch: list[Transfer], expected: list, actual: list) -> str:
    lines = ["batch results differ (reference vs ledger):"]
    for t, e, a in zip(batch, expected, actual, strict=False):
        mark = "  " if str(e) == str(a) else "!!"
        lines.append(f"{mark} {e!s:<32} {a!s:<32} {t}")
    return "\n".join(lines)


def _machine_for(new_database: NewDatabase) -> type[LedgerAgainstReference]:
    return type(
        "LedgerAgainstReference", (LedgerAgainstReference,), {"new_database": staticmethod(new_database)}
    )


def test_the_ledger_answers_as_the_reference_model_does(db_url, tmp_path):
    """Any sequence of accounts, batches, clock moves, expiries and closings gives the same
    result codes and totals as the reference, and the books balance throughout."""
    databases = _sqlite_databases(tmp_path) if db_url.startswith("sqlite") else _postgres_databases(db_url)
    with databases as new_database:
        lives = settings(stateful_step_count=STEPS, max_examples=LIVES or settings.default.max_examples)
        run_state_machine_as_test(_machine_for(new_database), settings=lives)


# -- where the ledger and the rules part ways ---------------------------------------------
# The rules (and TigerBeetle) refuse the last transfer of a batch that ends inside a chain
# with `linked_event_chain_open` without looking at it. The ledger looks at it first: if
# it fails, it answers that failure (and keeps a state-dependent one against the id), and
# if an earlier member failed, it answers `linked_event_failed`.
R = TransferResult


@pytest.fixture
def two_euro_accounts(ledger: Ledger) -> Ledger:
    ledger.create_accounts([Account(1, "EUR", 1), Account(2, "EUR", 1), Account(3, "EUR", 1, DMNEC)])
    return ledger


def test_the_last_of_an_open_chain_is_refused_as_open_even_when_invalid(two_euro_accounts):
    """A batch ending inside a chain: the last answers linked_event_chain_open, whatever it holds."""
    batch = [
        Transfer(10, 1, 2, 5, "EUR", 1, flags=F.LINKED),
        Transfer(11, 1, 1, 5, "EUR", 1, flags=F.LINKED),  # same account
    ]
    assert two_euro_accounts.create_transfers(batch) == [R.LINKED_EVENT_FAILED, R.LINKED_EVENT_CHAIN_OPEN]


def test_an_open_chain_that_broke_earlier_still_ends_in_chain_open(two_euro_accounts):
    """When a member of an open chain fails, it keeps its code and the last is still chain_open."""
    batch = [
        Transfer(10, 1, 1, 5, "EUR", 1, flags=F.LINKED),  # same account
        Transfer(11, 1, 2, 5, "EUR", 1, flags=F.LINKED),
    ]
    assert two_euro_accounts.create_transfers(batch) == [R.SAME_ACCOUNT, R.LINKED_EVENT_CHAIN_OPEN]


def test_the_last_of_an_open_chain_leaves_its_id_free(two_euro_accounts):
    """A transfer refused as the open end of a chain was never tried: resent closed, it applies."""
    ledger = two_euro_accounts
    spend = Transfer(20, 3, 1, 5, "EUR", 1)  # from a wallet that holds nothing yet
    assert ledger.create_transfers([replace(spend, flags=F.LINKED)]) == [R.LINKED_EVENT_CHAIN_OPEN]
    assert ledger.create_transfers([Transfer(21, 1, 3, 5, "EUR", 1), spend]) == [R.OK, R.OK]
