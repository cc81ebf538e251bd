"""One client of `obolo bench load`: its own people, the weighted mix of operations it
runs against the server, and the book of what each successful answer says moved.

A client signs up its people over HTTP (an employer who also pays, two workers who also
pay, and a provider who is a merchant with two terminals), tops them up, links cards,
and then, until its time is up, draws operations by weight: sign-ups, top-ups, payments
between its people, channels opened and claimed, retail taps, and the steps of a task
(post, accept, submit, approve). Every request that moves money carries an
`Idempotency-Key` (a tap its own id); an answer of 5xx or a lost connection is retried
with the same key until it is definite, so the client always knows what happened.

From the answers alone (amounts and fees as the API reports them; the tap fee, which a
tap's answer does not show, by the published rule) the client predicts each person's
balance and reserve, the platform's fee revenue and the money brought in by cards.
"""

from __future__ import annotations

import random
import secrets
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from obolo.money import EUR, format_units, parse_units
from obolo.sdk.payword import HashChain, b64
from obolo.settings import FeeRule
from obolo.wallets.model import fee_for

PASSWORD = "a load bench password"  # noqa: S105 -- the bench's own throwaway people
CARD = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2035, "cvc": "123"}
RETRY_SECONDS = 30.0  # how long a money request is retried with its key before it counts as unresolved
DOUBLE_TAP_SECONDS = (
    3.5  # a card is not tapped at the same terminal again sooner (the server's window is 3 s)
)
CHANNEL_LENGTH = 100
HEALTHZ = "GET /healthz"
REPLAY = "replay (same key)"
REPLAY_SHARE = 0.05  # of keyed requests, sent again with their key after the answer
# Operation, weight in the mix. Each task step is one request; the client does the step
# its task is waiting for.
MIX = {"sign-up": 1, "top-up": 3, "payment": 6, "channel": 4, "tap": 6, "task": 6}
OPERATIONS = (
    "sign-up",
    "sign-in",
    "top-up",
    "payment",
    "channel open",
    "channel claim",
    "tap",
    "task post",
    "task accept",
    "task submit",
    "task approve",
    REPLAY,
)


def units(text: str) -> int:
    return parse_units(text, EUR)


def money(amount: int) -> str:
    return format_units(amount, EUR)


@dataclass
class Person:
    user_id: str
    token: str
    total: int = 0  # predicted available + reserved
    reserved: int = 0
    cards: list[str] = field(default_factory=list)

    @property
    def available(self) -> int:
        return self.total - self.reserved

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Channel:
    channel_id: str
    payer: Person
    price: int
    chain: HashChain
    reserved: int


@dataclass
class TaskState:
    task_id: str
    hold: int  # per assignment, reward + the employer's fee
    slots: int
    accepted: dict[str, Person] = field(default_factory=dict)  # assignment id -> worker
    submitted: dict[str, Person] = field(default_factory=dict)
    takers: set[str] = field(default_factory=set)


@dataclass
class ClientResult:
    """What one client did and predicts, in plain values (it crosses a process boundary)."""

    client: int
    latencies: dict[str, list[float]]  # operation -> milliseconds of every answered request
    errors: dict[str, dict[str, int]]  # operation -> "status code" -> count
    people: dict[str, tuple[str, int, int]]  # user id -> (token, predicted total, predicted reserved)
    topped_up: int  # units brought in by successful top-ups
    fees: int  # units of fee revenue the answers imply
    moved: dict[str, int]  # operation -> successful money-moving requests
    unresolved: list[str]  # money requests whose outcome stayed unknown
    surprises: list[str]  # answers that contradict what the request asked for
    baseline_seconds: float = 0.0
    load_seconds: float = 0.0


class LoadClient:
    def __init__(self, number: int, base_url: str, fees: dict[str, FeeRule], seed: int | None = None) -> None:
        self.number = number
        self.http = httpx.Client(base_url=base_url, timeout=60.0)
        self.fees = fees
        self.rng = random.Random(seed)
        self.tag = secrets.token_hex(4)
        self.measuring = False
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, Counter[str]] = defaultdict(Counter)
        self.moved: Counter[str] = Counter()
        self.unresolved: list[str] = []
        self.surprises: list[str] = []
        self.people: list[Person] = []
        self.topped_up = 0
        self.fee_revenue = 0
        self.channels: list[Channel] = []
        self.task: TaskState | None = None
        self.last_tap: dict[tuple[str, str], float] = {}
        self.signups = 0
        self.replay_next = False

    # -- HTTP ------------------------------------------------------------------------------------
    def call(
        self,
        op: str,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        key: str | None = None,
    ) -> httpx.Response | None:
        """The definite answer (below 500, not 'key in use'), or None. With a key, lost
        connections and 5xx are retried with it for up to RETRY_SECONDS."""
        sent = dict(headers or {})
        if key is not None:
            sent["Idempotency-Key"] = key
        deadline = time.monotonic() + RETRY_SECONDS
        while True:
            started = time.perf_counter()
            try:
                answered = self.http.request(method, path, json=body, headers=sent)
            except httpx.TransportError as error:
                self._count(op, None, type(error).__name__)
            else:
                code = self._code(answered)
                self._count(op, (time.perf_counter() - started) * 1000, code)
                if answered.status_code < 500 and code != "409 idempotency_key_in_use":
                    return answered
            if key is None or time.monotonic() > deadline:
                if key is not None:
                    self.unresolved.append(f"{op} {method} {path} key {key}")
                return None
            time.sleep(0.05)

    @staticmethod
    def _code(response: httpx.Response) -> str | None:
        if response.status_code < 400:
            return None
        try:
            code = response.json().get("code", "")
        except ValueError:
            code = ""
        return f"{response.status_code} {code}".strip()

    def _count(self, op: str, milliseconds: float | None, error: str | None) -> None:
        if not self.measuring:
            return
        if milliseconds is not None:
            self.latencies[op].append(milliseconds)
        if error is not None:
            self.errors[op][error] += 1

    def answer(
        self,
        op: str,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        key: str | None = None,
    ) -> Any:
        """The JSON of a successful answer, else None (the failure is already counted).
        A share of keyed requests is sent a second time with the same key, as a client that
        lost the answer would: the replay must answer the same and move nothing more."""
        response = self.call(op, method, path, body, headers, key)
        if response is None or response.status_code >= 300:
            return None
        first = response.json()
        replay = self.replay_next or self.rng.random() < REPLAY_SHARE
        if key is not None and op != "channel claim" and self.measuring and replay:
            self.replay_next = False
            again = self.call(REPLAY, method, path, body, headers, key)
            if again is not None and (again.status_code != response.status_code or again.json() != first):
                self.surprises.append(
                    f"{op} replayed with key {key} answered {again.status_code} {again.text}"
                )
        return first

    # -- people --------------------------------------------------------------------------------
    def sign_up(self, name: str, *roles: str) -> Person | None:
        email = f"{name}.{self.tag}.{self.number}@load.example"
        body = {"email": email, "password": PASSWORD, "display_name": name}
        if self.answer("sign-up", "POST", "/v1/users", body) is None:
            return None
        session = self.answer("sign-in", "POST", "/v1/sessions", {"email": email, "password": PASSWORD})
        if session is None:
            return None
        person = Person(session["user"]["id"], session["token"])
        for role in roles:
            self.call("setup", "POST", "/v1/me/roles", {"role": role}, person.headers)
        self.people.append(person)
        return person

    def top_up(self, person: Person, amount: int) -> None:
        answer = self.answer(
            "top-up",
            "POST",
            "/v1/topups",
            {"amount": money(amount), "asset": "EUR", "card": CARD},
            person.headers,
            key=str(uuid.uuid4()),
        )
        if answer is None:
            return
        got, fee = units(answer["amount"]), units(answer["fee"])
        if got != amount:
            self.surprises.append(f"top-up of {money(amount)} answered {answer['amount']}")
        person.total += got - fee
        self.topped_up += got
        self.fee_revenue += fee
        self.moved["top-up"] += 1

    def setup(self) -> None:
        """The client's cast, their money, the provider's site, shop and terminals, cards."""
        employer = self.sign_up("employer", "employer")
        workers = [self.sign_up("worker", "worker"), self.sign_up("helper", "worker")]
        provider = self.sign_up("provider", "provider")
        if employer is None or provider is None or None in workers:
            raise RuntimeError("the load client could not sign its people up")
        self.employer, self.provider = employer, provider
        self.workers = [w for w in workers if w is not None]
        for payer in (employer, *self.workers):
            self.top_up(payer, units("300.00"))
            for _ in range(3):
                uid = "04" + secrets.token_hex(6).upper()
                linked = self.answer(
                    "setup", "POST", "/v1/cards", {"uid": uid}, payer.headers, str(uuid.uuid4())
                )
                if linked is None:
                    raise RuntimeError("the load client could not link a card")
                payer.cards.append(uid)
        site = self.answer(
            "setup",
            "POST",
            "/v1/providers",
            {"name": "Site", "origin": "https://site.load.example"},
            provider.headers,
        )
        shop = self.answer(
            "setup",
            "POST",
            "/v1/merchants",
            {"name": "Shop", "origin": "https://shop.load.example", "kind": "retail"},
            provider.headers,
            key=str(uuid.uuid4()),
        )
        if site is None or shop is None:
            raise RuntimeError("the load client could not register its provider and shop")
        self.site_id = site["id"]
        self.terminals: list[tuple[str, str]] = []
        for name in ("till 1", "till 2"):
            made = self.answer(
                "setup",
                "POST",
                f"/v1/merchants/{shop['id']}/terminals",
                {"name": name, "mode": "retail"},
                provider.headers,
            )
            if made is None:
                raise RuntimeError("the load client could not register a terminal")
            self.terminals.append((made["id"], made["api_key"]))

    # -- the mix -------------------------------------------------------------------------------
    def payers(self, needed: int) -> list[Person]:
        return [p for p in self.people if p is not self.provider and p.available >= needed]

    def step(self) -> None:
        op = self.rng.choices(list(MIX), weights=list(MIX.values()))[0]
        getattr(self, "do_" + op.replace("-", "_"))()

    def do_sign_up(self) -> None:
        self.signups += 1
        self.sign_up(f"person{self.signups}")

    def do_top_up(self) -> None:
        poorest = sorted(self.people, key=lambda p: p.available)[:3]
        self.top_up(self.rng.choice(poorest), units("1.00") + self.rng.randrange(0, units("49.00"), 10_000))

    def do_payment(self) -> None:
        amount = self.rng.randint(1_000, units("2.00"))
        cost = amount + fee_for(amount, self.fees.get("payment", FeeRule()))
        payers = self.payers(cost)
        if not payers:
            return self.do_top_up()
        payer = self.rng.choice(payers)
        payee = self.rng.choice([p for p in self.people if p is not payer])
        body = {"to": payee.user_id, "amount": money(amount), "asset": "EUR", "note": "load"}
        answer = self.answer("payment", "POST", "/v1/payments", body, payer.headers, key=str(uuid.uuid4()))
        if answer is None:
            return None
        paid, fee = units(answer["amount"]), units(answer["fee"])
        if paid != amount:
            self.surprises.append(f"payment of {money(amount)} answered {answer['amount']}")
        payer.total -= paid + fee
        payee.total += paid
        self.fee_revenue += fee
        self.moved["payment"] += 1
        return None

    def do_channel(self) -> None:
        if len(self.channels) >= 3 or (self.channels and self.rng.random() < 0.5):
            return self.claim(self.channels.pop(self.rng.randrange(len(self.channels))))
        price = self.rng.randint(1_000, 10_000)
        payers = self.payers(price * CHANNEL_LENGTH)
        if not payers:
            return self.do_top_up()
        payer = self.rng.choice(payers)
        chain = HashChain.generate(CHANNEL_LENGTH)
        body = {
            "provider_id": self.site_id,
            "asset": "EUR",
            "price": money(price),
            "length": CHANNEL_LENGTH,
            "root": b64(chain.root),
        }
        answer = self.answer(
            "channel open", "POST", "/v1/channels", body, payer.headers, key=str(uuid.uuid4())
        )
        if answer is None:
            return None
        reserved = units(answer["reserved"])
        if reserved != price * CHANNEL_LENGTH:
            self.surprises.append(
                f"channel of {CHANNEL_LENGTH} x {money(price)} reserved {answer['reserved']}"
            )
        payer.reserved += reserved
        self.channels.append(Channel(answer["channel_id"], payer, price, chain, reserved))
        self.moved["channel open"] += 1
        return None

    def claim(self, channel: Channel) -> None:
        index = self.rng.randint(1, CHANNEL_LENGTH)
        claim = {"channel_id": channel.channel_id, "index": index, "token": b64(channel.chain.token(index))}
        answers = self.answer(
            "channel claim",
            "POST",
            "/v1/channels/claims",
            {"claims": [claim]},
            self.provider.headers,
            key=str(uuid.uuid4()),
        )
        if answers is None:
            self.channels.append(channel)  # refused: still open, still reserved
            return
        (answer,) = answers
        paid = units(answer["paid"])
        if answer["status"] == "settled":
            fee = units(answer["fee"])
        elif answer["status"] == "already_settled":  # a retry after a lost answer: the fee is not repeated
            fee = min(paid, fee_for(paid, self.fees.get("paywall", FeeRule())))
        else:
            self.surprises.append(f"claim on {channel.channel_id} answered {answer['status']}")
            return
        if paid != index * channel.price:
            self.surprises.append(f"claim of {index} x {money(channel.price)} paid {answer['paid']}")
        channel.payer.total -= paid
        channel.payer.reserved -= channel.reserved
        self.provider.total += paid - fee
        self.fee_revenue += fee
        self.moved["channel claim"] += 1

    def do_tap(self) -> None:
        amount = self.rng.randint(units("0.10"), units("3.00"))
        payers = [p for p in self.payers(amount) if p.cards]
        if not payers:
            return self.do_top_up()
        now = time.monotonic()
        pairs = [
            (p, uid, t)
            for p in payers
            for uid in p.cards
            for t in self.terminals
            if now - self.last_tap.get((uid, t[0]), -1e9) > DOUBLE_TAP_SECONDS
        ]
        if not pairs:
            return self.do_payment()
        payer, uid, (terminal_id, api_key) = self.rng.choice(pairs)
        self.last_tap[(uid, terminal_id)] = now
        tap_id = str(uuid.uuid4())
        body = {"tap_id": tap_id, "terminal_id": terminal_id, "card_uid": uid, "amount": money(amount)}
        answer = self.answer(
            "tap", "POST", "/v1/taps", body, {"Authorization": f"Bearer {api_key}"}, key=tap_id
        )
        if answer is None:
            return None
        charged = units(answer["charged"])
        if answer["status"] != "approved" or charged != amount:
            self.surprises.append(
                f"tap of {money(amount)} answered {answer['status']} ({answer['reason']}), "
                f"charged {answer['charged']}"
            )
        fee = min(charged, fee_for(charged, self.fees.get("tap", FeeRule())))
        payer.total -= charged
        self.provider.total += charged - fee
        self.fee_revenue += fee
        self.moved["tap"] += charged > 0
        return None

    def do_task(self) -> None:
        task = self.task
        if task and task.submitted:
            return self.approve(task)
        if task and task.accepted:
            assignment_id, worker = next(iter(task.accepted.items()))
            done = self.answer(
                "task submit",
                "POST",
                f"/v1/tasks/assignments/{assignment_id}/submit",
                {"answer": "yes"},
                worker.headers,
                key=str(uuid.uuid4()),
            )
            if done is not None:
                task.submitted[assignment_id] = task.accepted.pop(assignment_id)
            return None
        free = [w for w in self.workers if task and w.user_id not in task.takers]
        if task and free and len(task.takers) < task.slots:
            worker = self.rng.choice(free)
            taken = self.answer(
                "task accept",
                "POST",
                f"/v1/tasks/{task.task_id}/accept",
                None,
                worker.headers,
                key=str(uuid.uuid4()),
            )
            if taken is not None:
                task.accepted[taken["id"]] = worker
                task.takers.add(worker.user_id)
            return None
        return self.post_task()

    def post_task(self) -> None:
        reward = self.rng.randint(units("0.01"), units("0.50"))
        slots = len(self.workers)
        deadline = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {
            "title": "Check an address",
            "instructions": "Does this street exist?",
            "reward": money(reward),
            "asset": "EUR",
            "assignments": slots,
            "time_allowed_seconds": 600,
            "deadline": deadline,
        }
        if self.employer.available < 2 * reward * slots:
            return self.top_up(self.employer, units("100.00"))
        answer = self.answer(
            "task post", "POST", "/v1/tasks", body, self.employer.headers, key=str(uuid.uuid4())
        )
        if answer is None:
            return None
        hold = units(answer["employer_pays"])
        if units(answer["held"]) != hold * slots:
            self.surprises.append(f"task of {slots} x {money(hold)} holds {answer['held']}")
        self.employer.reserved += hold * slots
        self.task = TaskState(answer["id"], hold, slots)
        self.moved["task post"] += 1
        return None

    def approve(self, task: TaskState) -> None:
        assignment_id, worker = next(iter(task.submitted.items()))
        body = {"items": [{"assignment_id": assignment_id, "decision": "approve"}]}
        answer = self.answer(
            "task approve",
            "POST",
            f"/v1/tasks/{task.task_id}/reviews",
            body,
            self.employer.headers,
            key=str(uuid.uuid4()),
        )
        if answer is None:
            return
        del task.submitted[assignment_id]
        paid = units(answer[0]["paid"])
        self.employer.total -= task.hold
        self.employer.reserved -= task.hold
        worker.total += paid
        self.fee_revenue += task.hold - paid
        self.moved["task approve"] += 1

    # -- phases ----------------------------------------------------------------------------------
    def healthz_until(self, end: float) -> None:
        while time.time() < end:
            self.call(HEALTHZ, "GET", "/healthz")

    def cover(self) -> None:
        """Every operation once (and one replay), so that even a short run reports each."""
        self.replay_next = True
        self.do_top_up()
        self.do_payment()
        self.do_tap()
        self.do_channel()  # none is open yet: this opens one
        if self.channels:
            self.claim(self.channels.pop())
        for _ in range(4):  # post, accept, submit, approve
            self.do_task()
        self.do_sign_up()

    def mix_until(self, end: float) -> None:
        self.cover()
        while time.time() < end:
            self.step()

    def result(self, baseline_seconds: float, load_seconds: float) -> ClientResult:
        return ClientResult(
            client=self.number,
            latencies=dict(self.latencies),
            errors={op: dict(counts) for op, counts in self.errors.items()},
            people={p.user_id: (p.token, p.total, p.reserved) for p in self.people},
            topped_up=self.topped_up,
            fees=self.fee_revenue,
            moved=dict(self.moved),
            unresolved=self.unresolved,
            surprises=self.surprises,
            baseline_seconds=baseline_seconds,
            load_seconds=load_seconds,
        )


def run_client(
    number: int,
    base_url: str,
    fees: dict[str, tuple[int, int]],
    baseline_seconds: float,
    seconds: float,
    ready: Any,
    start: Any,
    results: Any,
) -> None:
    """A client process: set up, say so on `ready`, wait for the start time from `start`,
    load /healthz alone for `baseline_seconds`, then the mix for `seconds`; put the result."""
    try:
        client = LoadClient(number, base_url, {kind: FeeRule(*rule) for kind, rule in fees.items()})
        client.setup()
        ready.put(number)
        begin = start.get()
        time.sleep(max(0.0, begin - time.time()))
        client.measuring = True
        client.healthz_until(begin + baseline_seconds)
        mix_started = time.time()
        client.mix_until(mix_started + seconds)
        load_seconds = time.time() - mix_started
        client.measuring = False
        results.put(client.result(baseline_seconds, load_seconds))
    except Exception as error:  # the parent reports it; a silent death would hang it
        ready.put(number)
        results.put(f"client {number}: {type(error).__name__}: {error}")
