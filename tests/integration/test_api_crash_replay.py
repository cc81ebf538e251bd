"""A request whose work committed but whose answer was never stored (the server was
killed in between) is run again by its retry, which takes the dead process's key over.
Routes that call the outside world mid-way (claim, work, store) can leave that state; a
one-unit route cannot (its answer commits with its work: asserted below), but a claim
left by an earlier version's process is still taken over and must answer the same.
The product must find its own earlier work and answer exactly as the first run did: the
same status and body, no money moved, nothing recorded twice. One row per route that
takes Idempotency-Key and per outcome it can have, success and each refusal; a new route
is a new row."""

from __future__ import annotations

import hashlib
import itertools
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from obolo.adapters.clock import iso
from obolo.adapters.db.schema import idempotency_keys, metadata
from obolo.adapters.db.schema_invitations import email_outbox
from obolo.bootstrap import Platform
from obolo.entrypoints.api import write_route
from obolo.entrypoints.api.app import create_app
from obolo.entrypoints.api.idempotency import fingerprint
from obolo.identity.model import Role
from obolo.ledger.check import check_ledger
from obolo.sdk.payword import b64
from obolo.settings import FeeRule, Settings
from obolo.sms import undo_requests
from obolo.sms.service import Inbound
from obolo.wallets.model import MovementKind
from tests.e2e.fault_support import snapshot
from tests.factories import (
    PAYOUT_KILL_POINTS,
    Killed,
    claimed_by_the_dead,
    dead_owner,
    kill_payout_once,
    unfinished,
)
from tests.fakes import FakeClock
from tests.integration.sms_helpers import CARD as SERVICE_CARD
from tests.integration.sms_helpers import eur, ref_in, sms_platform
from tests.web_support import iban

PASSWORD = "a long enough password"
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}
DECLINED = {**CARD, "number": "4000000000000002"}
NO_FUNDS_ON_CARD = {**CARD, "number": "4000000000009995"}
PAYS = "DE89 3704 0044 0532 0130 00"
BANK_FAILS = iban("DE", "370400440532010002")  # the sandbox bank fails it: account_closed
DAY = 86_400
# Fees on, so that every money movement also has a fee leg a re-run could post twice.
SETTINGS = Settings(
    fees={
        "payment": FeeRule(basis_points=100),
        "topup": FeeRule(),
        "withdrawal": FeeRule(fixed=250_000),
        "sms": FeeRule(fixed=50_000),
    }
)


@dataclass
class Person:
    headers: dict[str, str]
    email: str


@dataclass(frozen=True)
class Call:
    """The request whose answer is lost: a POST by `by`, with or without a body."""

    path: str
    by: dict[str, str]
    body: Any = None


@dataclass
class Scene:
    """One platform for the module; each case makes its own people, so cases share nothing."""

    client: TestClient
    platform: Platform
    clock: FakeClock
    dead_owner: str
    names: Iterator[int]

    def person(self, *roles: str, top_up: str | None = None, operator: bool = False) -> Person:
        email = f"p{next(self.names)}@example.com"
        created = self.client.post(
            "/v1/users", json={"email": email, "password": PASSWORD, "display_name": email[:5]}
        )
        assert created.status_code == 201, created.text
        if operator:
            self.platform.identity.grant_role(email, Role.OPERATOR)
        signed_in = self.client.post("/v1/sessions", json={"email": email, "password": PASSWORD}).json()
        person = Person({"Authorization": f"Bearer {signed_in['token']}"}, email)
        for role in roles:
            assert self.post("/v1/me/roles", person, {"role": role}).status_code == 201
        if top_up:
            self.ok("/v1/topups", person, {"amount": top_up, "asset": "EUR", "card": CARD})
        return person

    def post(self, path: str, who: Person, body: Any = None) -> Any:
        return self.client.post(path, json=body, headers=who.headers)

    def ok(self, path: str, who: Person, body: Any = None) -> Any:
        answer = self.post(path, who, body)
        assert answer.is_success, answer.text
        return answer.json()


@pytest.fixture(scope="module")
def scene(module_db_url) -> Iterator[Scene]:
    clock = FakeClock()
    platform, _gateway = sms_platform(module_db_url, clock, SETTINGS)
    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        yield Scene(client, platform, clock, dead_owner(), itertools.count())
    platform.close()


def recorded(engine: Engine) -> tuple[Any, ...]:
    """The ledger's snapshot and how many rows every table holds, but the key's own:
    a re-run that wrote anything again (a movement, an audit entry, an SMS, an event,
    a second merchant) shows here."""
    with engine.connect() as connection:
        counts = {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables
            if table.name != "idempotency_keys"
        }
    return snapshot(engine), counts


# -- the scenes: each makes its people and what they need, and returns the call ------------------


def topup(card: dict[str, Any]) -> Callable[[Scene], Call]:
    def arrange(s: Scene) -> Call:
        return Call("/v1/topups", s.person().headers, {"amount": "5.00", "asset": "EUR", "card": card})

    return arrange


def payment(amount: str) -> Callable[[Scene], Call]:
    def arrange(s: Scene) -> Call:
        payer, payee = s.person(top_up="10.00"), s.person()
        body = {"to": payee.email, "amount": amount, "asset": "EUR", "note": "lunch"}
        return Call("/v1/payments", payer.headers, body)

    return arrange


def payment_to_invitee(s: Scene) -> Call:
    """A payment to an address without an account: held, the address invited."""
    body = {"to": f"invitee{next(s.names)}@example.com", "amount": "1.00", "asset": "EUR"}
    return Call("/v1/payments", s.person(top_up="10.00").headers, body)


def invitation_claim(s: Scene) -> Call:
    """The invitee, signed up with the address, claims with the code mailed to it."""
    address = f"invitee{next(s.names)}@example.com"
    s.ok("/v1/payments", s.person(top_up="10.00"), {"to": address, "amount": "1.00", "asset": "EUR"})
    with s.platform.engine.connect() as connection:
        body = connection.execute(
            select(email_outbox.c.body).where(email_outbox.c.address == address)
        ).scalar_one()
    code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", body)
    assert code is not None
    s.client.post("/v1/users", json={"email": address, "password": PASSWORD, "display_name": "Invitee"})
    token = s.client.post("/v1/sessions", json={"email": address, "password": PASSWORD}).json()["token"]
    return Call("/v1/invitations/claim", {"Authorization": f"Bearer {token}"}, {"code": code.group(0)})


def withdrawal(amount: str, to: str) -> Callable[[Scene], Call]:
    def arrange(s: Scene) -> Call:
        body = {"amount": amount, "asset": "EUR", "iban": to}
        return Call("/v1/withdrawals", s.person(top_up="10.00").headers, body)

    return arrange


def payout(to: str, top_up: str | None = "10.00") -> Callable[[Scene], Call]:
    def arrange(s: Scene) -> Call:
        who = s.person(top_up=top_up)
        account = {"iban": to, "asset": "EUR", "schedule": "manual"}
        assert s.client.put("/v1/payout-account", json=account, headers=who.headers).status_code == 200
        return Call("/v1/payouts", who.headers, {})

    return arrange


def adjustment(direction: str, amount: str) -> Callable[[Scene], Call]:
    def arrange(s: Scene) -> Call:
        target, operator = s.person(top_up="10.00"), s.person(operator=True)
        body = {"user": target.email, "asset": "EUR", "amount": amount, "direction": direction,
                "reason": "goodwill after an outage"}  # fmt: skip
        return Call("/v1/admin/adjustments", operator.headers, body)

    return arrange


def undo_decision(decision: str, spent: bool = False) -> Callable[[Scene], Call]:
    """A sender paid 5.00 by SMS and asked UNDO after the window; an operator rules."""

    def arrange(s: Scene) -> Call:
        platform, n = s.platform, next(s.names)
        sender_phone, recipient_phone = f"+3933300{n:05d}", f"+3933400{n:05d}"

        def text(phone: str, body: str) -> str:
            inbound = Inbound(f"SM{uuid.uuid4().hex}", phone, "+15005550006", body)
            return str(platform.sms.receive(inbound).text)

        sender = platform.identity.sign_up(f"sender{n}@example.com", PASSWORD, "Sender", sender_phone).id
        platform.wallets.top_up(sender, eur("20.00"), SERVICE_CARD)
        code, _ = platform.sms.link_code(sender)
        text(sender_phone, f"JOIN {code}")
        text(sender_phone, "PIN 2468")
        text(recipient_phone, "JOIN Bob Rossi")
        text(recipient_phone, "PIN 1357")
        s.clock.advance(DAY + 1)
        text(sender_phone, f"SEND 5 {recipient_phone}")
        ref = ref_in(text(sender_phone, "2468"))
        s.clock.advance(601)
        assert "Request recorded" in text(sender_phone, f"UNDO {ref}")
        (request,) = [r for r in undo_requests.open_requests(platform.sms, 500) if r.ref == ref]
        if spent:  # the recipient spent most of it: a reversal cannot take it back
            platform.wallets.pay(request.recipient_id, sender, eur("4.00"))
        operator = s.person(operator=True)
        body = {"decision": decision, "note": "checked with both"}
        return Call(f"/v1/admin/sms/undo-requests/{request.send_id}/decision", operator.headers, body)

    return arrange


def merchant(s: Scene) -> Call:
    body = {"name": "Metro", "origin": "https://metro.example", "kind": "transit", "offline_limit": "5.00",
            "fare": "2.00", "daily_cap": "5.00", "weekly_cap": "15.00"}  # fmt: skip
    return Call("/v1/merchants", s.person("provider").headers, body)


def uid(s: Scene) -> str:
    return hashlib.sha256(str(next(s.names)).encode()).hexdigest()[:14].upper()


def card(s: Scene) -> Call:
    return Call("/v1/cards", s.person().headers, {"uid": uid(s), "label": "blue"})


def tap(amount: str) -> Callable[[Scene], Call]:
    """A shop's till charges a rider's card. The tap id is the tap's own idempotency key:
    there is no stored answer to reset, every retry runs the tap again."""

    def arrange(s: Scene) -> Call:
        rider, owner = s.person(top_up="10.00"), s.person("provider")
        card_uid = uid(s)
        s.ok("/v1/cards", rider, {"uid": card_uid})
        shop = {"name": "Cafe", "origin": "https://cafe.example", "kind": "retail", "offline_limit": "5.00"}
        shop_id = s.ok("/v1/merchants", owner, shop)["id"]
        till = s.ok(f"/v1/merchants/{shop_id}/terminals", owner, {"name": "till", "mode": "retail"})
        body = {"terminal_id": till["id"], "tap_id": str(uuid.uuid4()), "card_uid": card_uid,
                "amount": amount, "asset": "EUR"}  # fmt: skip
        return Call("/v1/taps", {"Authorization": f"Bearer {till['api_key']}"}, body)

    return arrange


def channel(length: int) -> Callable[[Scene], Call]:
    def arrange(s: Scene) -> Call:
        reader, site = s.person(top_up="10.00"), s.person("provider")
        provider = s.ok("/v1/providers", site, {"name": "Site", "origin": "https://site.example"})
        root = hashlib.sha256(reader.email.encode()).digest()
        body = {"provider_id": provider["id"], "asset": "EUR", "price": "0.01", "length": length,
                "root": b64(root)}  # fmt: skip
        return Call("/v1/channels", reader.headers, body)

    return arrange


def buy_pass(price: str, top_up: str = "10.00") -> Callable[[Scene], Call]:
    """A provider publishes a 10-visit pass at 0.50; a reader buys one at `price`."""

    def arrange(s: Scene) -> Call:
        reader, site = s.person(top_up=top_up), s.person("provider")
        provider = s.ok("/v1/providers", site, {"name": "Site", "origin": "https://site.example"})
        offer = {"name": "10", "pattern": "/a/*", "price": "0.50", "asset": "EUR", "visits": 10}
        answer = s.client.put(
            f"/v1/providers/{provider['id']}/prices", json={"passes": [offer]}, headers=site.headers
        )
        assert answer.status_code == 204, answer.text
        body = {
            "provider_id": provider["id"],
            "pattern": "/a/*",
            "asset": "EUR",
            "price": price,
            "visits": 10,
        }
        return Call("/v1/passes", reader.headers, body)

    return arrange


def register_provider(s: Scene) -> Call:
    site = s.person("provider")
    return Call("/v1/providers", site.headers, {"name": "Site", "origin": "https://site.example"})


def task_body(s: Scene, assignments: int = 2) -> dict[str, Any]:
    return {
        "title": "Check an address",
        "instructions": "Does this street exist?",
        "reward": "0.50",
        "asset": "EUR",
        "assignments": assignments,
        "time_allowed_seconds": 600,
        "deadline": iso(s.clock() + DAY * 1_000_000_000),
    }


@dataclass
class TaskScene:
    boss: Person
    task_id: str
    workers: list[Person]
    assignments: list[str]


def task_with(s: Scene, *, taken: int = 0, submitted: int = 0, top_up: str = "10.00") -> TaskScene:
    """A task of three assignments; `taken` workers accepted one each, the first
    `submitted` of them handed in an answer."""
    boss = s.person("employer", top_up=top_up)
    task_id = s.ok("/v1/tasks", boss, task_body(s, assignments=3))["id"]
    workers = [s.person("worker") for _ in range(taken)]
    assignments = [s.ok(f"/v1/tasks/{task_id}/accept", w)["id"] for w in workers]
    s.clock.advance(30)
    for worker, assignment in list(zip(workers, assignments, strict=True))[:submitted]:
        s.ok(f"/v1/tasks/assignments/{assignment}/submit", worker, {"answer": "yes"})
    return TaskScene(boss, task_id, workers, assignments)


def rejected(s: Scene, *, disputed: bool, top_up: str = "10.00") -> TaskScene:
    job = task_with(s, taken=1, submitted=1, top_up=top_up)
    items = [{"assignment_id": job.assignments[0], "decision": "reject", "reason": "the street exists"}]
    s.ok(f"/v1/tasks/{job.task_id}/reviews", job.boss, {"items": items})
    if disputed:
        message = {"message": "it does not"}
        s.ok(f"/v1/tasks/assignments/{job.assignments[0]}/dispute", job.workers[0], message)
    return job


def post_task(top_up: str) -> Callable[[Scene], Call]:
    def arrange(s: Scene) -> Call:
        return Call("/v1/tasks", s.person("employer", top_up=top_up).headers, task_body(s))

    return arrange


def accept(s: Scene) -> Call:
    job = task_with(s)
    return Call(f"/v1/tasks/{job.task_id}/accept", s.person("worker").headers)


def submit(s: Scene) -> Call:
    job = task_with(s, taken=1)
    answer = {"answer": {"exists": True}}
    return Call(f"/v1/tasks/assignments/{job.assignments[0]}/submit", job.workers[0].headers, answer)


def review(s: Scene) -> Call:
    job = task_with(s, taken=2, submitted=2)
    items = [
        {"assignment_id": job.assignments[0], "decision": "approve"},
        {"assignment_id": job.assignments[1], "decision": "reject", "reason": "the street exists"},
    ]
    return Call(f"/v1/tasks/{job.task_id}/reviews", job.boss.headers, {"items": items})


def bonus(amount: str) -> Callable[[Scene], Call]:
    def arrange(s: Scene) -> Call:
        job = task_with(s, taken=1, submitted=1)
        body = {"amount": amount, "asset": "EUR", "reason": "fast"}
        return Call(f"/v1/tasks/assignments/{job.assignments[0]}/bonus", job.boss.headers, body)

    return arrange


def dispute(s: Scene) -> Call:
    job = rejected(s, disputed=False)
    body = {"message": "it does not"}
    return Call(f"/v1/tasks/assignments/{job.assignments[0]}/dispute", job.workers[0].headers, body)


def dispute_decision(decision: str, spent: bool = False) -> Callable[[Scene], Call]:
    def arrange(s: Scene) -> Call:
        job = rejected(s, disputed=True, top_up="2.00")
        if spent:  # what is left cannot pay the worker if the rejection is overturned
            s.ok("/v1/payments", job.boss, {"to": s.person().email, "amount": "0.80", "asset": "EUR"})
        operator = s.person(operator=True)
        body = {"decision": decision, "note": "checked"}
        return Call(f"/v1/tasks/disputes/{job.assignments[0]}/decision", operator.headers, body)

    return arrange


def cancel(s: Scene) -> Call:
    job = task_with(s, taken=1)
    return Call(f"/v1/tasks/{job.task_id}/cancel", job.boss.headers)


def asked(s: Scene, *, protection: bool = False) -> tuple[Person, str]:
    """A shop's merchant and a payment request of 2.00 it made."""
    seller = s.person("provider")
    shop = s.ok("/v1/providers", seller, {"name": "Shop", "origin": "https://shop.example"})
    body = {"provider_id": shop["id"], "amount": "2.00", "asset": "EUR", "description": "A print",
            "reference": "order-1", "return_url": "https://shop.example/done",
            "buyer_protection": protection}  # fmt: skip
    return seller, s.ok("/v1/payment-requests", seller, body)["id"]


def payment_request(s: Scene) -> Call:
    seller = s.person("provider")
    shop = s.ok("/v1/providers", seller, {"name": "Shop", "origin": "https://shop.example"})
    body = {"provider_id": shop["id"], "amount": "2.00", "asset": "EUR", "description": "A print",
            "reference": "order-1", "return_url": "https://shop.example/done"}  # fmt: skip
    return Call("/v1/payment-requests", seller.headers, body)


def pay_request(top_up: str, *, protection: bool = False) -> Callable[[Scene], Call]:
    def arrange(s: Scene) -> Call:
        _, request_id = asked(s, protection=protection)
        return Call(f"/v1/payment-requests/{request_id}/pay", s.person(top_up=top_up).headers, {})

    return arrange


def paid_request(s: Scene, *, protection: bool = False) -> tuple[Person, Person, str]:
    """(the seller, the buyer, the request) once the buyer paid it."""
    seller, request_id = asked(s, protection=protection)
    buyer = s.person(top_up="10.00")
    s.ok(f"/v1/payment-requests/{request_id}/pay", buyer, {})
    return seller, buyer, request_id


def request_refund(amount: str) -> Callable[[Scene], Call]:
    def arrange(s: Scene) -> Call:
        seller, _, request_id = paid_request(s)
        body = {"amount": amount, "asset": "EUR", "reason": "returned"}
        return Call(f"/v1/payment-requests/{request_id}/refunds", seller.headers, body)

    return arrange


def receipt(s: Scene) -> Call:
    _, buyer, request_id = paid_request(s, protection=True)
    return Call(f"/v1/payment-requests/{request_id}/receipt", buyer.headers)


def request_dispute(s: Scene) -> Call:
    _, buyer, request_id = paid_request(s, protection=True)
    return Call(f"/v1/payment-requests/{request_id}/disputes", buyer.headers, {"reason": "never came"})


def request_ruling(decision: str) -> Callable[[Scene], Call]:
    def arrange(s: Scene) -> Call:
        _, buyer, request_id = paid_request(s, protection=True)
        s.ok(f"/v1/payment-requests/{request_id}/disputes", buyer, {"reason": "never came"})
        operator = s.person(operator=True)
        body = {"decision": decision, "note": "checked"}
        return Call(f"/v1/admin/payment-requests/{request_id}/decision", operator.headers, body)

    return arrange


# What the first answer says: its status, and fields of its body (of each item of a list).
# The retry must then answer the same in full: no field is left out of the comparison.
CASES: dict[str, tuple[Callable[[Scene], Call], int, dict[str, Any]]] = {
    "topup succeeded": (topup(CARD), 201, {"status": "succeeded"}),
    "topup card declined": (topup(DECLINED), 402, {"code": "card_declined", "decline_code": "card_declined"}),
    "topup declined for the card's funds": (
        topup(NO_FUNDS_ON_CARD),
        402,
        {"code": "card_declined", "decline_code": "insufficient_funds"},
    ),
    "payment succeeded": (payment("1.00"), 201, {"status": "succeeded", "fee": "0.010000"}),
    "payment insufficient funds": (payment("50.00"), 422, {"code": "insufficient_funds"}),
    "payment to an invitee": (payment_to_invitee, 201, {"status": "succeeded", "to_user_id": None}),
    "invitation claimed": (invitation_claim, 201, {}),
    "withdrawal paid": (withdrawal("2.00", PAYS), 201, {"status": "succeeded", "fee": "0.250000"}),
    "withdrawal failed at the bank": (withdrawal("2.00", BANK_FAILS), 201, {"status": "failed"}),
    "withdrawal insufficient funds": (withdrawal("50.00", PAYS), 422, {"code": "insufficient_funds"}),
    "payout paid": (payout(PAYS), 201, {"status": "succeeded", "amount": "9.750000"}),
    "payout failed at the bank": (payout(BANK_FAILS), 201, {"status": "failed"}),
    "payout nothing to pay out": (payout(PAYS, top_up=None), 409, {"code": "nothing_to_pay_out"}),
    "adjustment credit": (adjustment("credit", "2.00"), 201, {"status": "succeeded", "from_user_id": None}),
    "adjustment debit": (adjustment("debit", "2.00"), 201, {"status": "succeeded", "to_user_id": None}),
    "adjustment debit refused": (adjustment("debit", "50.00"), 422, {"code": "insufficient_funds"}),
    "undo reversed": (undo_decision("reverse"), 200, {"decision": "reversed", "status": "undone"}),
    "undo declined": (undo_decision("decline"), 200, {"decision": "declined", "status": "paid"}),
    "undo cannot repay": (undo_decision("reverse", spent=True), 409, {"code": "recipient_cannot_repay"}),
    "merchant registered": (merchant, 201, {"kind": "transit", "fare": "2.000000"}),
    "card linked": (card, 201, {"label": "blue", "blocked": False}),
    "tap approved": (tap("2.50"), 200, {"status": "approved", "charged": "2.500000"}),
    "tap declined": (tap("50.00"), 200, {"status": "declined", "charged": "0.000000"}),
    "channel opened": (channel(100), 201, {"reserved": "1.000000"}),
    "channel insufficient funds": (channel(5_000), 422, {"code": "insufficient_funds"}),
    "pass bought": (buy_pass("0.50"), 201, {}),
    "pass not on sale": (buy_pass("0.01"), 422, {"code": "pass_not_on_sale"}),
    "pass insufficient funds": (buy_pass("0.50", top_up=None), 422, {"code": "insufficient_funds"}),
    "provider registered": (register_provider, 201, {"name": "Site"}),
    "task posted": (post_task("10.00"), 201, {"status": "open", "held": "1.100000"}),
    "task insufficient funds": (post_task("1.00"), 422, {"code": "insufficient_funds"}),
    "task accepted": (accept, 201, {"status": "accepted"}),
    "task submitted": (submit, 200, {"status": "submitted", "answer": '{"exists": true}'}),
    "task reviewed": (review, 200, {"reviewed_by": "employer"}),
    "task bonus paid": (bonus("0.05"), 201, {"amount": "0.050000", "fee": "0.005000"}),
    "task bonus insufficient funds": (bonus("50.00"), 422, {"code": "insufficient_funds"}),
    "task disputed": (dispute, 201, {"status": "open"}),
    "dispute overturned": (dispute_decision("overturn"), 200, {"status": "overturned"}),
    "dispute upheld": (dispute_decision("uphold"), 200, {"status": "upheld"}),
    "dispute cannot pay": (dispute_decision("overturn", spent=True), 409, {"code": "employer_cannot_pay"}),
    "task cancelled": (cancel, 200, {"status": "cancelled", "counts": {"accepted": 1, "released": 2}}),
    "payment request made": (payment_request, 201, {"status": "open", "amount": "2.000000"}),
    "payment request paid": (pay_request("10.00"), 200, {}),
    "payment request held": (pay_request("10.00", protection=True), 200, {}),
    "payment request insufficient funds": (pay_request("1.00"), 422, {"code": "insufficient_funds"}),
    "payment request refunded in part": (
        request_refund("0.50"),
        201,
        {"status": "paid", "refunded": "0.500000"},
    ),
    "payment request refunded in full": (request_refund("2.00"), 201, {"status": "refunded"}),
    "payment request refund too large": (request_refund("2.01"), 422, {"code": "invalid_refund"}),
    "payment request receipt confirmed": (receipt, 200, {"status": "paid", "released_how": "received"}),
    "payment request disputed": (request_dispute, 201, {"status": "disputed"}),
    "payment request dispute refunded": (request_ruling("refund"), 200, {"status": "refunded"}),
    "payment request dispute released": (request_ruling("release"), 200, {"status": "paid"}),
}


def says(body: Any, fields: dict[str, Any]) -> bool:
    items = body if isinstance(body, list) else [body]
    return bool(items) and all({name: item.get(name) for name in fields} == fields for item in items)


@pytest.mark.parametrize(("arrange", "status", "fields"), list(CASES.values()), ids=list(CASES))
def test_a_retry_after_a_crash_answers_as_the_first_run_and_moves_nothing(scene, arrange, status, fields):
    """Killed after the work committed, before its answer was stored: the retry runs it
    again and answers exactly as the first run did, moving and recording nothing more."""
    call = arrange(scene)
    key = str(uuid.uuid4())
    headers = {**call.by, "Idempotency-Key": key}
    first = scene.client.post(call.path, json=call.body, headers=headers)
    assert first.status_code == status, first.text
    assert says(first.json(), fields), first.text
    before = recorded(scene.platform.engine)
    # Time moves on before the retry: work done again would carry the later time.
    scene.clock.advance(7)
    unfinished(scene.platform.engine, key, scene.dead_owner)
    retry = scene.client.post(call.path, json=call.body, headers=headers)
    assert "Idempotent-Replayed" not in retry.headers  # it ran again rather than replayed
    assert (retry.status_code, retry.json()) == (first.status_code, first.json())
    assert recorded(scene.platform.engine) == before
    assert check_ledger(scene.platform.engine) == []


# the routes that keep claim → work → store, and the taps (their tap id is their key)
NOT_ONE_UNIT = ("topup", "withdrawal", "payout", "tap")
ONE_UNIT_CASES = {name: case for name, case in CASES.items() if name.split()[0] not in NOT_ONE_UNIT}


@pytest.mark.parametrize(
    ("arrange", "status", "fields"), list(ONE_UNIT_CASES.values()), ids=list(ONE_UNIT_CASES)
)
def test_a_one_unit_route_killed_before_its_answer_is_stored_committed_nothing(
    scene, monkeypatch, arrange, status, fields
):
    """The crash point "work committed, answer not stored" does not exist for a one-unit
    route: killed before its answer is stored, nothing of its work committed either; the
    retry runs it afresh and its answer is then replayed."""
    call = arrange(scene)
    key = str(uuid.uuid4())
    headers = {**call.by, "Idempotency-Key": key}
    before = recorded(scene.platform.engine)

    def killed(*_args: Any) -> None:
        raise RuntimeError("the process died before the answer was stored")

    monkeypatch.setattr(write_route, "store_answer", killed)
    lost = scene.client.post(call.path, json=call.body, headers=headers)
    assert lost.status_code == 500, lost.text
    assert recorded(scene.platform.engine) == before
    with scene.platform.engine.connect() as connection:
        stored = connection.execute(select(func.count()).where(idempotency_keys.c.key == key)).scalar_one()
    assert stored == 0
    monkeypatch.undo()
    retry = scene.client.post(call.path, json=call.body, headers=headers)
    assert retry.status_code == status, retry.text
    assert says(retry.json(), fields), retry.text
    replayed = scene.client.post(call.path, json=call.body, headers=headers)
    assert replayed.headers.get("Idempotent-Replayed") == "true"
    assert (replayed.status_code, replayed.json()) == (retry.status_code, retry.json())
    assert check_ledger(scene.platform.engine) == []


def growth(before: tuple[Any, ...], after: tuple[Any, ...]) -> tuple[list[tuple[int, ...]], dict[str, int]]:
    """What happened in between, whoever it happened to: each changed account's change of
    its four totals (sorted), and how many rows each table gained."""
    ((accounts_before, *_), counts_before), ((accounts_after, *_), counts_after) = before, after
    was = {row[0]: row[1:] for row in accounts_before}
    changes = [tuple(a - b for a, b in zip(row[1:], was.get(row[0], (0, 0, 0, 0)), strict=True))
               for row in accounts_after]  # fmt: skip
    return sorted(c for c in changes if any(c)), {n: counts_after[n] - counts_before[n] for n in counts_after}


@pytest.mark.parametrize("point", PAYOUT_KILL_POINTS)
@pytest.mark.parametrize("to", [PAYS, BANK_FAILS], ids=["paid", "failed at the bank"])
def test_a_payout_killed_between_its_commits_is_finished_by_its_retry(scene, monkeypatch, to, point):
    """Killed after its withdrawal committed, before its statement was written: the retry
    finishes that payout rather than paying out what is left (nothing), and answers as an
    identical payout that ran whole; the money moved once, one statement."""
    engine = scene.platform.engine
    whole, call = payout(to)(scene), payout(to)(scene)
    start = recorded(engine)
    expected = scene.client.post(
        whole.path, json={}, headers={**whole.by, "Idempotency-Key": str(uuid.uuid4())}
    )
    assert expected.status_code == 201, expected.text
    middle = recorded(engine)
    key = str(uuid.uuid4())
    user_id = scene.client.get("/v1/me", headers=call.by).json()["id"]
    # The first request claims the key and runs the payout, and its process is killed
    # between the payout's commits (in the test's thread: a server's would not survive it).
    claimed_by_the_dead(engine, user_id, key, fingerprint("POST", call.path, call.body), scene.dead_owner,
                        scene.clock())  # fmt: skip
    kill_payout_once(monkeypatch, scene.platform, point)
    with pytest.raises(Killed):
        scene.platform.payouts.pay_out(user_id, key)
    scene.clock.advance(7)
    retry = scene.client.post(call.path, json=call.body, headers={**call.by, "Idempotency-Key": key})
    assert "Idempotent-Replayed" not in retry.headers
    answer = retry.json()
    # The same answer but for what names this payout: its id (derived from the person and
    # the key) and the ledger time of its own hold, where its period ends.
    assert retry.status_code == 201, retry.text
    assert {**answer, "id": None, "period_end": None} == {**expected.json(), "id": None, "period_end": None}
    assert answer["id"] == scene.platform.wallets.movement_id_for(user_id, MovementKind.WITHDRAWAL, key)
    hold_id = scene.platform.wallets.transfer_id_of(answer["id"], "principal")
    (hold,) = scene.platform.ledger.lookup_transfers([hold_id])
    assert answer["period_end"] == hold.timestamp
    assert scene.client.get("/v1/payouts", headers=call.by).json() == [answer]
    assert growth(middle, recorded(engine)) == growth(start, middle)
    assert check_ledger(engine) == []
