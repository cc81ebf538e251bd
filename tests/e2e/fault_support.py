"""What the fault drills share: start and kill `obolo serve`, people with money, a client
that records every request it sends and retries (same Idempotency-Key, same body) each
one whose answer it did not get, and the checks made once the dust settles."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func, select

from obolo.adapters.db.schema import movements, transfers
from obolo.ledger.check import check_ledger
from obolo.settings import FeeRule
from obolo.wallets.model import PlatformAccount, fee_for

PASSWORD = "a long enough password"
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}
DECLINED = {"number": "4000000000000002", "exp_month": 12, "exp_year": 2031, "cvc": "123"}
IBAN = "DE89 3704 0044 0532 0130 00"  # the sandbox bank pays it
PAYMENTS, TOPUPS, WITHDRAWALS = "/v1/payments", "/v1/topups", "/v1/withdrawals"
UNIT = 1_000_000  # EUR has 6 decimals
PAYMENT_FEE = FeeRule(basis_points=100)  # 1 % on payments, so fees are part of the sums
SERVER_ENV = {"OBOLO_FEES": "payment=100:0"}
PEOPLE = 6
CLIENTS = 4
START_BALANCE = 5 * UNIT  # low enough that some payments meet insufficient funds


def euros(units: int) -> str:
    return f"{units // UNIT}.{units % UNIT:06d}"


# -- the server ---------------------------------------------------------------------------
class Server:
    """`obolo serve` in its own process; killed and started again on the same database."""

    def __init__(
        self,
        url: str,
        port: int,
        log_dir: Path,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.url = url
        self.args = args
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log_dir = log_dir
        self.env = {**os.environ, **SERVER_ENV, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, env: dict[str, str] | None = None) -> None:
        self.starts += 1
        log = (self.log_dir / f"serve-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "obolo.entrypoints.cli",
                "serve",
                "--db",
                self.url,
                "--port",
                str(self.port),
                *self.args,
            ],
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"obolo serve exited: {self.log_tail()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"obolo serve did not start: {self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, requests in flight are cut off where they are."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def api_processes(self) -> list[int]:
        """With --workers N: the pids of the N API processes (children of `obolo serve`)."""
        assert self.process is not None
        pids = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            for pid in (task / "children").read_text().split():
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
                    pids.append(int(pid))
        return pids

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def log_tail(self) -> str:
        path = self.log_dir / f"serve-{self.starts}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


# -- people -------------------------------------------------------------------------------
@dataclass
class Person:
    id: str
    email: str
    headers: dict[str, str]


def sign_up_people(base: str, count: int, tag: str = "p") -> list[Person]:
    """`count` people, each with START_BALANCE on their EUR wallet (one top-up each)."""
    people = []
    with httpx.Client(base_url=base, timeout=30) as http:
        for n in range(count):
            email = f"{tag}{n}@example.com"
            user = http.post(
                "/v1/users", json={"email": email, "password": PASSWORD, "display_name": f"P{n}"}
            )
            assert user.status_code == 201, user.text
            session = http.post("/v1/sessions", json={"email": email, "password": PASSWORD})
            assert session.status_code == 201, session.text
            person = Person(user.json()["id"], email, {"Authorization": f"Bearer {session.json()['token']}"})
            topup = http.post(
                "/v1/topups",
                json={"amount": euros(START_BALANCE), "asset": "EUR", "card": CARD},
                headers=person.headers,
            )
            assert topup.status_code == 201, topup.text
            people.append(person)
    return people


# -- requests, answers, retries -----------------------------------------------------------
def retryable(status: int, body: dict[str, Any]) -> bool:
    """An answer that says "not done, ask again": any 5xx, or the key's first request
    still running."""
    return status >= 500 or (status == 409 and body.get("code") == "idempotency_key_in_use")


@dataclass
class Sent:
    """One request the way a client keeps it: key and body, and every answer it got."""

    key: str
    path: str
    body: dict[str, Any]
    payer: Person
    payee: Person | None
    amount: int
    answers: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    lost: int = 0  # sends that got no answer at all (connection cut or refused, timeout)

    @property
    def final(self) -> tuple[int, dict[str, Any]] | None:
        """The first answer that is not "ask again"."""
        return next(((s, b) for s, b in self.answers if not retryable(s, b)), None)

    @property
    def attempts(self) -> int:
        return len(self.answers) + self.lost


class Recorder:
    """Every request sent by every client thread, and counts of what happened to them."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.lock = threading.Lock()
        self.finals = 0
        self.errors: list[BaseException] = []  # what went wrong in a client thread

    def send_once(self, http: httpx.Client, sent: Sent, body: dict[str, Any] | None = None) -> bool:
        """One attempt; True when it got a final answer."""
        headers = {**sent.payer.headers, "Idempotency-Key": sent.key}
        try:
            response = http.post(sent.path, json=body or sent.body, headers=headers)
        except httpx.HTTPError:
            sent.lost += 1
            return False
        answer = response.json()
        if response.status_code >= 400:
            assert response.headers["content-type"].startswith("application/problem+json"), response.text
            assert answer.get("code"), response.text
        first = sent.final is None
        sent.answers.append((response.status_code, answer))
        done = not retryable(response.status_code, answer)
        if done and first:
            with self.lock:
                self.finals += 1
        return done

    def send_until_answered(self, http: httpx.Client, sent: Sent, give_up_after: float = 60.0) -> None:
        """What a careful client does: the same key and body again until a final answer."""
        with self.lock:
            self.sent.append(sent)
        deadline = time.monotonic() + give_up_after
        pause = 0.02
        while not self.send_once(http, sent):
            assert time.monotonic() < deadline, f"no final answer for {sent.key}: {sent.answers[-3:]}"
            time.sleep(pause)
            pause = min(0.5, pause * 2)

    def counts(self) -> Counter[str]:
        """Figures for the record: answers by status, retries, requests cut off."""
        counted: Counter[str] = Counter()
        for sent in self.sent:
            counted["requests"] += 1
            counted["retried"] += sent.attempts > 1
            counted["lost sends"] += sent.lost
            counted["5xx answers"] += sum(s >= 500 for s, _ in sent.answers)
            counted["in-use answers"] += sum(s == 409 for s, _ in sent.answers)
            final = sent.final
            if final is not None:
                counted[f"final {final[0]}"] += 1
        return counted


def load(base: str, people: list[Person], recorder: Recorder, stop: threading.Event, seed: int) -> None:
    """One client: payments between random people (70%), top-ups (20%, a few declined) and
    withdrawals to a bank (10%), each with its own key, sent until answered, until `stop`
    is set."""
    try:
        _load(base, people, recorder, stop, random.Random(seed))
    except BaseException as error:
        recorder.errors.append(error)
        raise


def _load(
    base: str, people: list[Person], recorder: Recorder, stop: threading.Event, rng: random.Random
) -> None:
    with httpx.Client(base_url=base, timeout=15) as http:
        while not stop.is_set():
            payer = rng.choice(people)
            kind = rng.random()
            if kind < 0.7:
                payee = rng.choice([p for p in people if p is not payer])
                amount = rng.randint(1, 400) * 10_000  # 0.01 to 4.00
                body = {"to": payee.email, "amount": euros(amount), "asset": "EUR", "note": "drill"}
                sent = Sent(str(uuid.uuid4()), PAYMENTS, body, payer, payee, amount)
            elif kind < 0.9:
                amount = rng.randint(1, 5) * UNIT
                card = DECLINED if rng.random() < 0.1 else CARD
                body = {"amount": euros(amount), "asset": "EUR", "card": card}
                sent = Sent(str(uuid.uuid4()), TOPUPS, body, payer, None, amount)
            else:  # held, the bank asked, then posted: a kill can fall between the steps
                amount = rng.randint(1, 200) * 10_000  # 0.01 to 2.00
                body = {"amount": euros(amount), "asset": "EUR", "iban": IBAN}
                sent = Sent(str(uuid.uuid4()), WITHDRAWALS, body, payer, None, amount)
            recorder.send_until_answered(http, sent)


def start_load(
    base: str, people: list[Person], recorder: Recorder, clients: int
) -> tuple[threading.Event, list[threading.Thread]]:
    stop = threading.Event()
    threads = [
        threading.Thread(target=load, args=(base, people, recorder, stop, n), daemon=True)
        for n in range(clients)
    ]
    for thread in threads:
        thread.start()
    return stop, threads


def stop_load(stop: threading.Event, threads: list[threading.Thread], recorder: Recorder) -> None:
    stop.set()
    for thread in threads:
        thread.join(timeout=90)
    assert not recorder.errors, recorder.errors
    assert not any(thread.is_alive() for thread in threads)


def wait_for_finals(recorder: Recorder, count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while recorder.finals < count:
        assert not recorder.errors, recorder.errors
        assert time.monotonic() < deadline, f"only {recorder.finals} answers of {count}"
        time.sleep(0.01)


# -- after the dust settles ----------------------------------------------------------------
def snapshot(engine: Engine) -> tuple[Any, ...]:
    """Every account's totals, and the number of movements and transfers."""
    with engine.connect() as connection:
        accounts = connection.exec_driver_sql(
            "SELECT id, debits_posted, credits_posted, debits_pending, credits_pending FROM ledger_accounts"
            " ORDER BY id"
        ).all()
        moved = connection.execute(select(func.count()).select_from(movements)).scalar_one()
        posted = connection.execute(select(func.count()).select_from(transfers)).scalar_one()
    return tuple(map(tuple, accounts)), moved, posted


def verify(base: str, engine: Engine, people: list[Person], recorder: Recorder) -> dict[str, int]:
    """Every key answered once and the same way every time; the money exactly as the
    answers say; nothing doubled, nothing lost; the books check. Returns figures."""
    figures = dict(recorder.counts())
    # 1. every request has a final answer, and every final answer of a key is the same
    for sent in recorder.sent:
        final = sent.final
        assert final is not None, f"{sent.key} never answered: {sent.answers}"
        for status, body in sent.answers:
            if not retryable(status, body):
                assert (status, body) == final, f"{sent.key}: {status} {body} after {final}"
    # 2. every key once more, as a client unsure of its answer would: the same answer
    with httpx.Client(base_url=base, timeout=15) as http:
        for sent in recorder.sent:
            assert recorder.send_once(http, sent), sent.answers[-1]
            assert sent.answers[-1] == sent.final, (sent.key, sent.answers[-1], sent.final)
    figures["replayed at the end"] = len(recorder.sent)
    # 3. predict every balance from the final answers alone
    expected_movements: set[str] = set()
    balance = {person.id: START_BALANCE for person in people}
    fees = topped = withdrawn = 0
    posted_transfers = len(people)  # the opening top-ups
    for sent in recorder.sent:
        status, body = sent.final  # type: ignore[misc]
        if status == 201:
            assert (body["amount"], body["status"]) == (euros(sent.amount), "succeeded"), body
            expected_movements.add(body["id"])
            if sent.path == TOPUPS:
                balance[sent.payer.id] += sent.amount
                topped += sent.amount
                posted_transfers += 1
            elif sent.path == WITHDRAWALS:
                balance[sent.payer.id] -= sent.amount
                withdrawn += sent.amount
                posted_transfers += 2  # the hold, then its posting
            else:
                fee = fee_for(sent.amount, PAYMENT_FEE)
                assert body["fee"] == euros(fee), body
                balance[sent.payer.id] -= sent.amount + fee
                balance[sent.payee.id] += sent.amount
                fees += fee
                posted_transfers += 1 + (fee > 0)
        elif status == 402:
            assert (body["code"], sent.body["card"]) == ("card_declined", DECLINED), body
            expected_movements.add(body["movement_id"])  # a failed top-up is recorded, moves nothing
        else:
            assert (status, body["code"]) == (422, "insufficient_funds"), body
    with httpx.Client(base_url=base, timeout=15) as http:
        for person in people:
            wallets = http.get("/v1/wallets", headers=person.headers).json()
            assert wallets == [
                {"asset": "EUR", "available": euros(balance[person.id]), "reserved": "0.000000"}
            ]
    # 4. each key made exactly one movement, and each movement its transfers, no more
    with engine.connect() as connection:
        in_db = set(connection.execute(select(movements.c.id)).scalars())
        posted = connection.execute(
            select(func.count()).select_from(transfers).where(transfers.c.failure.is_(None))
        ).scalar_one()
        fee_account = PlatformAccount.FEE_REVENUE.account_id("EUR").to_bytes(16, "big")
        fee_revenue = connection.exec_driver_sql(
            "SELECT credits_posted - debits_posted FROM ledger_accounts WHERE id = ?"
            if engine.dialect.name == "sqlite"
            else "SELECT credits_posted - debits_posted FROM ledger_accounts WHERE id = %s",
            (fee_account,),
        ).scalar_one_or_none()
    assert len(in_db) == len(people) + len(expected_movements)
    assert expected_movements <= in_db
    assert posted == posted_transfers
    # 5. money is conserved: what came in by card is in wallets, fee revenue or paid out
    assert sum(balance.values()) + fees + withdrawn == len(people) * START_BALANCE + topped
    with engine.connect() as connection:  # and no withdrawal was left half done
        pending = connection.execute(
            select(func.count()).select_from(movements).where(movements.c.status == "pending")
        ).scalar_one()
    assert pending == 0
    assert (fee_revenue or 0) == fees
    # 6. the same key with another body is refused and moves nothing
    paid = next(s for s in recorder.sent if s.payee is not None and s.final and s.final[0] == 201)
    before = snapshot(engine)
    with httpx.Client(base_url=base, timeout=15) as http:
        other = {**paid.body, "amount": euros(paid.amount + 10_000)}
        assert recorder.send_once(http, paid, body=other)
        status, body = paid.answers.pop()
        assert (status, body["code"]) == (422, "idempotency_key_reused")
    assert snapshot(engine) == before
    # 7. the books
    assert check_ledger(engine) == []
    figures.update(movements=len(expected_movements), transfers=posted, fees=fees, withdrawn=withdrawn)
    return figures


def drill_under_load(
    server: Server, engine: Engine, fault: Callable[[], None], faults: int, answers_per_fault: int
) -> tuple[dict[str, int], Recorder]:
    """PEOPLE people, CLIENTS clients paying and topping up; `fault` is done `faults`
    times, each after `answers_per_fault` more final answers, and the load runs on until
    as many again came after the last one (the server recovered). Then every check of
    `verify`; returns its figures and the record of what was sent."""
    people = sign_up_people(server.base, PEOPLE)
    recorder = Recorder()
    stop, threads = start_load(server.base, people, recorder, CLIENTS)
    for n in range(faults):
        wait_for_finals(recorder, (n + 1) * answers_per_fault)
        fault()
    wait_for_finals(recorder, (faults + 1) * answers_per_fault)
    stop_load(stop, threads, recorder)
    figures = verify(server.base, engine, people, recorder)
    figures.update(faults=faults, clients=CLIENTS)
    return figures, recorder
