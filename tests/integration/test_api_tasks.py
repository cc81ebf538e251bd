"""Microtasks over HTTP: both sides of a task's life through /v1/tasks, idempotent posts,
problem+json refusals that move nothing, disputes decided only by an operator."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from obolo.adapters.clock import iso
from obolo.bootstrap import build
from obolo.entrypoints.api.app import create_app
from obolo.identity.model import Role
from obolo.ledger.check import check_ledger

PASSWORD = "a long enough password"
CARD = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}


@pytest.fixture
def platform(db_url, clock):
    built = build(url=db_url, clock=clock, migrate=True)
    built.identity.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield built
    assert check_ledger(built.engine) == []


@pytest.fixture
def client(platform):
    with TestClient(create_app(platform), raise_server_exceptions=False) as test_client:
        yield test_client


def person(client, email, *roles, top_up=None):
    client.post("/v1/users", json={"email": email, "password": PASSWORD, "display_name": email[:5]})
    token = client.post("/v1/sessions", json={"email": email, "password": PASSWORD}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    for role in roles:
        assert client.post("/v1/me/roles", json={"role": role}, headers=headers).status_code == 201
    if top_up:
        body = {"amount": top_up, "asset": "EUR", "card": CARD}
        assert client.post("/v1/topups", json=body, headers=headers).status_code == 201
    return headers


def keyed(headers, key):
    return dict(headers, **{"Idempotency-Key": key})


def wallet(client, headers):
    found = {w["asset"]: w for w in client.get("/v1/wallets", headers=headers).json()}
    w = found.get("EUR", {"available": "0.000000", "reserved": "0.000000"})
    return w["available"], w["reserved"]


def assert_problem(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


def task_body(clock, **more):
    body = {
        "title": "Check an address",
        "instructions": "Does this street exist?",
        "reward": "0.50",
        "asset": "EUR",
        "assignments": 2,
        "time_allowed_seconds": 600,
        "deadline": iso(clock() + 86_400 * 1_000_000_000),
    }
    return body | more


def test_a_task_lives_through_the_api(client, clock):
    """Post (held, idempotent), browse, accept, submit JSON, review in bulk, bonus, read
    the worker's record: every amount exact."""
    boss = person(client, "boss@example.com", "employer", top_up="10.00")
    ann = person(client, "ann@example.com", "worker")
    bob = person(client, "bob@example.com", "worker")
    posted = client.post("/v1/tasks", json=task_body(clock), headers=keyed(boss, "t1"))
    assert posted.status_code == 201, posted.text
    task = posted.json()
    assert (task["employer_pays"], task["worker_gets"], task["held"]) == ("0.550000", "0.500000", "1.100000")
    again = client.post("/v1/tasks", json=task_body(clock), headers=keyed(boss, "t1"))
    assert again.headers["Idempotent-Replayed"] == "true"
    assert wallet(client, boss) == ("8.900000", "1.100000")

    listed = client.get("/v1/tasks", params={"qualified": "true"}, headers=ann).json()
    assert [t["id"] for t in listed] == [task["id"]]
    taken = {}
    for name, headers in (("ann", ann), ("bob", bob)):
        accepted = client.post(f"/v1/tasks/{task['id']}/accept", headers=keyed(headers, "a"))
        assert accepted.status_code == 201, accepted.text
        taken[name] = accepted.json()["id"]
        clock.advance(30)
    answer = {"answer": {"exists": True}}
    assert (
        client.post(f"/v1/tasks/assignments/{taken['ann']}/submit", json=answer, headers=ann).status_code
        == 200
    )
    submitted = client.post(
        f"/v1/tasks/assignments/{taken['bob']}/submit", json={"answer": "no"}, headers=bob
    )
    assert submitted.json()["auto_approve_at"] is not None

    queue = client.get(f"/v1/tasks/{task['id']}/assignments", params={"status": "submitted"}, headers=boss)
    assert [a["answer"] for a in queue.json()] == ['{"exists": true}', "no"]
    items = [
        {"assignment_id": taken["ann"], "decision": "approve"},
        {"assignment_id": taken["bob"], "decision": "reject", "reason": "the street exists"},
    ]
    reviewed = client.post(
        f"/v1/tasks/{task['id']}/reviews", json={"items": items}, headers=keyed(boss, "r1")
    )
    assert [a["status"] for a in reviewed.json()] == ["approved", "rejected"]
    bonus = {"amount": "0.05", "asset": "EUR", "reason": "fast"}
    paid = client.post(f"/v1/tasks/assignments/{taken['ann']}/bonus", json=bonus, headers=keyed(boss, "b1"))
    assert paid.status_code == 201, paid.text
    assert wallet(client, ann) == ("0.550000", "0.000000")
    assert wallet(client, bob) == ("0.000000", "0.000000")
    assert wallet(client, boss) == ("9.395000", "0.000000")  # 10 - 0.55 - 0.055
    record = client.get("/v1/tasks/workers/me", headers=ann).json()
    assert record["earned"] == {"EUR": "0.550000"}
    assert record["approval_rate_bp"] == 10_000


def test_refusals_are_problems_and_move_nothing(client, clock):
    """Unaffordable task, a worker reviewing, a double submit, a missing role: each its code."""
    poor = person(client, "poor@example.com", "employer", top_up="1.00")
    boss = person(client, "boss@example.com", "employer", top_up="10.00")
    ann = person(client, "ann@example.com", "worker")
    nobody = person(client, "nobody@example.com")
    assert_problem(client.post("/v1/tasks", json=task_body(clock), headers=poor), 422, "insufficient_funds")
    assert wallet(client, poor) == ("1.000000", "0.000000")
    assert client.get("/v1/tasks", params={"mine": "true"}, headers=poor).json() == []

    task = client.post("/v1/tasks", json=task_body(clock), headers=boss).json()
    assert_problem(client.post(f"/v1/tasks/{task['id']}/accept", headers=nobody), 403, "forbidden")
    assignment = client.post(f"/v1/tasks/{task['id']}/accept", headers=ann).json()["id"]
    submit = f"/v1/tasks/assignments/{assignment}/submit"
    assert client.post(submit, json={"answer": "yes"}, headers=ann).status_code == 200
    assert_problem(client.post(submit, json={"answer": "again"}, headers=ann), 409, "already_submitted")
    items = {"items": [{"assignment_id": assignment, "decision": "approve"}]}
    assert_problem(client.post(f"/v1/tasks/{task['id']}/reviews", json=items, headers=ann), 403, "forbidden")
    ann_boss = person(client, "ann2@example.com", "employer", "worker")
    assert_problem(
        client.post(f"/v1/tasks/{task['id']}/reviews", json=items, headers=ann_boss), 403, "not_the_employer"
    )
    reject = {"items": [{"assignment_id": assignment, "decision": "reject"}]}
    assert_problem(
        client.post(f"/v1/tasks/{task['id']}/reviews", json=reject, headers=boss), 422, "reason_required"
    )
    assert_problem(
        client.post("/v1/tasks", json=task_body(clock, reward=0.5), headers=boss), 422, "validation_error"
    )
    assert wallet(client, boss) == ("8.900000", "1.100000")
    assert wallet(client, ann) == ("0.000000", "0.000000")


def test_only_an_operator_decides_a_dispute(client, platform, clock):
    """A worker disputes a rejection; a non-operator cannot rule; the operator overturns and
    the worker is paid."""
    boss = person(client, "boss@example.com", "employer", top_up="10.00")
    ann = person(client, "ann@example.com", "worker")
    person(client, "op@example.com")
    platform.identity.grant_role("op@example.com", Role.OPERATOR)
    op = person(client, "op@example.com")
    task = client.post("/v1/tasks", json=task_body(clock, assignments=1), headers=boss).json()
    assignment = client.post(f"/v1/tasks/{task['id']}/accept", headers=ann).json()["id"]
    client.post(f"/v1/tasks/assignments/{assignment}/submit", json={"answer": "yes"}, headers=ann)
    reject = {"items": [{"assignment_id": assignment, "decision": "reject", "reason": "wrong"}]}
    client.post(f"/v1/tasks/{task['id']}/reviews", json=reject, headers=boss)
    opened = client.post(
        f"/v1/tasks/assignments/{assignment}/dispute", json={"message": "it is right"}, headers=ann
    )
    assert opened.status_code == 201, opened.text
    decision = {"decision": "overturn", "note": "checked"}
    url = f"/v1/tasks/disputes/{assignment}/decision"
    assert_problem(client.post(url, json=decision, headers=boss), 403, "forbidden")
    assert wallet(client, ann) == ("0.000000", "0.000000")
    assert [d["assignment_id"] for d in client.get("/v1/tasks/disputes", headers=op).json()] == [assignment]
    ruled = client.post(url, json=decision, headers=keyed(op, "d1"))
    assert ruled.json()["status"] == "overturned", ruled.text
    assert wallet(client, ann) == ("0.500000", "0.000000")
    assert_problem(client.post(url, json=decision, headers=op), 409, "dispute_decided")
    assert client.get(f"/v1/tasks/assignments/{assignment}", headers=ann).json()["dispute"] == "overturned"


def test_cancel_over_http_gives_back_what_nobody_took(client, clock):
    """Cancel releases free slots at once; cancelling twice is task_not_open."""
    boss = person(client, "boss@example.com", "employer", top_up="10.00")
    ann = person(client, "ann@example.com", "worker")
    task = client.post("/v1/tasks", json=task_body(clock, assignments=3), headers=boss).json()
    client.post(f"/v1/tasks/{task['id']}/accept", headers=ann)
    cancelled = client.post(f"/v1/tasks/{task['id']}/cancel", headers=keyed(boss, "c1"))
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["counts"] == {"accepted": 1, "released": 2}
    assert wallet(client, boss) == ("9.450000", "0.550000")
    assert_problem(client.post(f"/v1/tasks/{task['id']}/cancel", headers=boss), 409, "task_not_open")
    assert_problem(client.post(f"/v1/tasks/{task['id']}/accept", headers=ann), 409, "task_not_open")


def test_the_operator_console_lists_and_decides_disputes(sqlite_url, clock):
    """`obolo tasks disputes` shows the open dispute; `obolo tasks decide` refuses a
    non-operator and lets an operator uphold it, moving nothing."""
    from typer.testing import CliRunner

    from obolo.entrypoints.cli import app
    from obolo.tasks.model import Terms
    from obolo.tasks.service import Decision
    from tests.factories import make_user
    from tests.integration.test_tasks_service import CARD, eur

    platform = build(url=sqlite_url, clock=clock)
    boss, ann = make_user(platform.engine, "boss@example.com"), make_user(platform.engine, "ann@example.com")
    make_user(platform.engine, "op@example.com")
    platform.identity.grant_role("op@example.com", Role.OPERATOR)
    platform.wallets.top_up(boss, eur("5.00"), CARD)
    terms = Terms("T", "Do", 500_000, 1, 600, clock() + 86_400 * 1_000_000_000)
    task = platform.tasks.post_task(boss, terms, "EUR")
    taken = platform.tasks.accept(ann, task.id)
    platform.tasks.submit(ann, taken.id, "yes")
    platform.tasks.review(boss, task.id, [Decision(taken.id, False, "wrong")])
    platform.tasks.dispute(ann, taken.id, "it is right")
    runner = CliRunner()
    listed = runner.invoke(app, ["tasks", "disputes", "--db", sqlite_url])
    assert taken.id in listed.output
    assert "it is right" in listed.output
    refused = runner.invoke(
        app, ["tasks", "decide", taken.id, "overturn", "--as", "boss@example.com", "--db", sqlite_url]
    )
    assert refused.exit_code == 2
    upheld = runner.invoke(
        app, ["tasks", "decide", taken.id, "uphold", "--as", "op@example.com", "--db", sqlite_url]
    )
    assert upheld.exit_code == 0, upheld.output
    assert "upheld" in upheld.output
    assert platform.wallets.balances(ann) == []
    assert check_ledger(platform.engine) == []
    platform.close()
