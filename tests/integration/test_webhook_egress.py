"""Webhooks and the network: an endpoint at an internal address is refused when registered
and again when delivered to, a delivery's error tells nothing about the network it met,
slow endpoints delay neither other people's deliveries nor the other background jobs,
and an endpoint that keeps failing has its circuit opened."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from obolo.adapters.db.schema import audit_log, webhook_attempts, webhook_deliveries, webhook_endpoints
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.egress import EgressGuard, EgressPolicy
from obolo.adapters.ids import new_id
from obolo.bootstrap import build
from obolo.entrypoints.api.app import create_app
from obolo.entrypoints.workers import start_in_background
from obolo.jobs.service import states
from obolo.webhooks.delivery import deliver_due
from obolo.webhooks.outbox import record_event
from tests.factories import make_user
from tests.integration.api_world import cheap_hashing, person

PUBLIC = "93.184.215.14"


class Receivers:
    """Endpoints on one threaded server on 127.0.0.1: /ok answers 200, /fail 500, /slow/...
    answers after 6 s; each request is remembered with when it arrived."""

    def __init__(self) -> None:
        self.connections = 0
        self.arrived: list[tuple[str, float]] = []
        receivers = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receivers.arrived.append((self.path, time.monotonic()))
                if self.path.startswith("/slow"):
                    time.sleep(6)
                self.send_response(500 if self.path.startswith("/fail") else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self):  # type: ignore[no-untyped-def]
                receivers.connections += 1
                return super().get_request()

            def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
                pass  # the client gave up on a slow answer: expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        self.base = f"http://127.0.0.1:{self.port}"

    def when(self, path: str) -> float | None:
        return next((at for p, at in self.arrived if p == path), None)

    @contextmanager
    def running(self) -> Iterator[Receivers]:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def receivers() -> Iterator[Receivers]:
    with Receivers().running() as running:
        yield running


@pytest.fixture
def platform(db_url, clock, monkeypatch):
    """The platform as `obolo serve` builds it from the environment, with the test servers'
    address allowed explicitly (the guard is on by default)."""
    monkeypatch.setenv("OBOLO_EGRESS_ALLOW", "127.0.0.1")
    built = build(url=db_url, clock=clock, migrate=True)
    cheap_hashing(built)
    yield built
    built.close()


def emit(platform, user_id: str, event_type: str = "payment.received") -> None:
    run_in_transaction(
        platform.engine, lambda c: record_event(c, user_id, event_type, {"amount": "0.10"}, platform.clock())
    )


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def attempts(platform, user_id: str, endpoint_id: str):
    return [a for d in platform.webhooks.deliveries(user_id, endpoint_id) for a in d.attempts]


INTERNAL_URLS = [
    "http://127.0.0.1:8080/hooks", "http://localhost/hooks", "http://[::1]/hooks", "http://0.0.0.0:22/",
    "http://127.1/", "http://2130706433/", "http://0x7f000001/", "http://[::ffff:127.0.0.1]/",
    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.5/", "http://192.168.0.1/",
    "http://100.64.0.1/", "https://[fd00::1]/", "http://user@127.0.0.1:6379/",
]  # fmt: skip


def test_internal_urls_are_refused_at_registration_and_nothing_is_stored(db_url, clock, monkeypatch):
    """Loopback, link-local, private in any spelling: 422 url_not_allowed; nothing stored, no money moved."""
    monkeypatch.delenv("OBOLO_EGRESS_ALLOW", raising=False)  # the default: nothing internal allowed
    strict = build(url=db_url, clock=clock, migrate=True)
    cheap_hashing(strict)
    try:
        with TestClient(create_app(strict), raise_server_exceptions=False) as client:
            headers = person(client, "ada@example.com", top_up="5.00")
            wallets = client.get("/v1/wallets", headers=headers).json()
            for url in INTERNAL_URLS:
                body = {"url": url, "events": ["*"]}
                answer = client.post("/v1/webhook-endpoints", json=body, headers=headers)
                assert answer.status_code == 422, (url, answer.text)
                assert answer.headers["content-type"].startswith("application/problem+json")
                assert answer.json()["code"] == "url_not_allowed", url
            assert client.get("/v1/wallets", headers=headers).json() == wallets
        with strict.engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(webhook_endpoints)).scalar_one() == 0
            created = select(func.count()).where(audit_log.c.action == "webhook_endpoint.created")
            assert connection.execute(created).scalar_one() == 0
    finally:
        strict.close()


def test_a_delivery_to_a_name_that_turned_internal_is_refused_and_never_connects(db_url, clock, receivers):
    """The name was public when registered and loopback when delivered: refused by policy, no connection."""
    guard = EgressGuard(EgressPolicy(), resolver=lambda host, port, seen=[]: seen.append(1) or (
        [PUBLIC] if len(seen) == 1 else ["127.0.0.1"]
    ))  # fmt: skip
    platform = build(url=db_url, clock=clock, migrate=True, egress=guard)
    try:
        owner = make_user(platform.engine, "owner@example.com")
        endpoint, _ = platform.webhooks.create_endpoint(
            owner, f"http://rebind.example:{receivers.port}/ok", ["*"]
        )
        emit(platform, owner)
        with platform.egress.client() as client:
            assert deliver_due(platform.engine, platform.secrets, platform.clock, client) == 1
        assert [a.error for a in attempts(platform, owner, endpoint.id)] == ["refused by policy"]
        assert receivers.connections == 0
    finally:
        platform.close()


def test_delivery_errors_name_nothing_of_the_network(platform, receivers):
    """A closed port says 'connection failed', a 500 'HTTP 500': no errno, address or exception name."""
    owner = make_user(platform.engine, "owner@example.com")
    closed, _ = platform.webhooks.create_endpoint(owner, "http://127.0.0.1:9/hooks", ["*"])
    failing, _ = platform.webhooks.create_endpoint(owner, f"{receivers.base}/fail", ["*"])
    emit(platform, owner)
    stop = start_in_background(platform)
    try:
        assert wait_for(
            lambda: attempts(platform, owner, closed.id) and attempts(platform, owner, failing.id), 10
        )
    finally:
        stop.set()
    assert [a.error for a in attempts(platform, owner, closed.id)] == ["connection failed"]
    assert [(a.status_code, a.error) for a in attempts(platform, owner, failing.id)] == [(500, "HTTP 500")]


def test_ten_slow_endpoints_delay_neither_a_healthy_one_nor_other_jobs(platform, clock, receivers):
    """Ten endpoints answering in 6 s: another's delivery lands in seconds; every other job runs meanwhile."""
    slow_owner = make_user(platform.engine, "slow@example.com")
    for n in range(10):
        platform.webhooks.create_endpoint(slow_owner, f"{receivers.base}/slow/{n}", ["*"])
    healthy_owner = make_user(platform.engine, "healthy@example.com")
    platform.webhooks.create_endpoint(healthy_owner, f"{receivers.base}/ok", ["*"])
    emit(platform, slow_owner)
    clock.advance(1)  # the healthy delivery is the last one due
    emit(platform, healthy_owner)
    started = time.monotonic()
    stop = start_in_background(platform)
    try:
        assert wait_for(lambda: receivers.when("/ok") is not None, 4), "the healthy delivery waited"
        assert receivers.when("/ok") - started < 3
        others = lambda: [s for s in states(platform.engine) if s.name != "webhooks"]  # noqa: E731
        assert wait_for(lambda: others() and all(s.runs >= 1 for s in others()), 4), [
            (s.name, s.runs) for s in others()
        ]
        webhooks = lambda: next(s for s in states(platform.engine) if s.name == "webhooks")  # noqa: E731
        assert webhooks().last_status == "running"  # the slow deliveries were still under way
        assert wait_for(lambda: webhooks().last_status == "ok", 10)
    finally:
        stop.set()
    assert len([p for p, _ in receivers.arrived if p.startswith("/slow/")]) == 10


def scripted_client(statuses: dict[str, int]):
    """An HTTP client answering each host with its status, counting requests per host."""
    seen: dict[str, int] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[request.url.host] = seen.get(request.url.host, 0) + 1
        return httpx.Response(statuses[request.url.host])

    return httpx.Client(transport=httpx.MockTransport(handler)), seen


def test_a_failing_endpoint_opens_its_circuit_and_others_flow(platform, clock):
    """Five failures in a row: the endpoint rests, then is probed two at a time; a healthy one flows."""
    owner = make_user(platform.engine, "owner@example.com")
    down, _ = platform.webhooks.create_endpoint(owner, "https://down.example/hooks", ["*"])
    platform.webhooks.create_endpoint(owner, "https://up.example/hooks", ["*"])
    client, seen = scripted_client({"down.example": 503, "up.example": 200})
    for _ in range(4):
        emit(platform, owner)
    deliver_due(platform.engine, platform.secrets, clock, client)
    deliver_due(platform.engine, platform.secrets, clock, client)
    assert seen == {"down.example": 4, "up.example": 4}  # two of each endpoint a round
    for _ in range(5):
        emit(platform, owner)
    for _ in range(4):
        deliver_due(platform.engine, platform.secrets, clock, client)
    # the fifth and sixth failures opened the circuit: the rest of its queue waits
    assert seen == {"down.example": 6, "up.example": 9}
    with platform.engine.connect() as connection:
        pending = select(webhook_deliveries.c.next_attempt_at).where(
            webhook_deliveries.c.endpoint_id == down.id, webhook_deliveries.c.status == "pending"
        )
        assert all(at > clock() for at in connection.execute(pending).scalars())
    clock.advance(3600)
    deliver_due(platform.engine, platform.secrets, clock, client)
    assert seen["down.example"] == 8  # half open: two probes, not the whole queue


def test_errors_stored_in_the_old_long_form_are_shown_short(platform):
    """An attempt recorded as 'ConnectError: [Errno 111] ...' is shown as 'connection failed'."""
    owner = make_user(platform.engine, "owner@example.com")
    endpoint, _ = platform.webhooks.create_endpoint(owner, "https://hooks.customer.example/in", ["*"])
    emit(platform, owner)
    with platform.engine.begin() as connection:
        delivery = connection.execute(select(webhook_deliveries.c.id)).scalar_one()
        connection.execute(
            insert(webhook_attempts).values(
                id=new_id(), delivery_id=delivery, at=platform.clock(), status_code=None,
                error="ConnectError: [Errno 111] Connection refused to 10.0.0.7:6379", duration_ms=1,
            )
        )  # fmt: skip
    assert [a.error for a in attempts(platform, owner, endpoint.id)] == ["connection failed"]
