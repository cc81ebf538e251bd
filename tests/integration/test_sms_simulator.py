"""The SMS simulator, a phone on a page where anyone types as any number: served only by a
server started for a demo (`obolo serve --demo`) and never while a gateway secret is set;
everywhere else a 404 that reads nothing and moves nothing. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import logging

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from obolo.adapters.db.schema_sms import sms_confirmations, sms_inbound, sms_outbox
from obolo.adapters.sms_gateway import ConsoleSmsGateway
from obolo.bootstrap import build
from obolo.entrypoints.api.app import create_app
from obolo.entrypoints.cli import app as cli
from obolo.ledger.check import check_ledger
from obolo.settings import Settings
from obolo.sms.service import Inbound
from tests.integration.sms_helpers import ALICE, BOB, CARD, CHEAP, available, eur

TOKEN = "gateway-auth-token"
GATEWAY = "https://gateway.example/Accounts/AC1/Messages.json"


def simulator_world(url, clock, settings):
    """Alice (20 EUR, PIN 7391) and Bob (PIN 1357), both verified, on a platform wired by
    `build` as `obolo serve` wires it; Alice already paid Bob 1 EUR by SMS, so whatever
    gateway the settings chose was handed Bob's receipt."""
    platform = build(settings, url=url, clock=clock, migrate=True, hasher=CHEAP)
    alice_id = platform.identity.sign_up("a@example.com", "alice password 1", "Alice", ALICE).id
    platform.wallets.top_up(alice_id, eur("20.00"), CARD)
    bob_id = platform.identity.sign_up("b@example.com", "bob password 12", "Bob", BOB).id
    platform.sms.register_number(alice_id, ALICE, "7391")
    platform.sms.register_number(bob_id, BOB, "1357")
    clock.advance(86_401)
    for sid, body in (("SMw1", f"SEND 1 {BOB}"), ("SMw2", "7391")):
        platform.sms.receive(Inbound(sid, ALICE, "+15005550006", body))
    return platform, alice_id, bob_id


def books(platform, *user_ids) -> tuple:
    """Every ledger account's totals, the transfers, the SMS rows a message leaves, balances."""
    with platform.engine.connect() as connection:
        totals = connection.execute(
            text(
                "SELECT id, debits_posted, credits_posted, debits_pending, credits_pending "
                "FROM ledger_accounts ORDER BY id"
            )
        ).all()
        transfers = connection.execute(text("SELECT count(*) FROM ledger_transfers")).scalar_one()
        sms_rows = tuple(
            connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (sms_inbound, sms_confirmations, sms_outbox)
        )
    return (
        tuple(tuple(row) for row in totals),
        transfers,
        sms_rows,
        [available(platform, u) for u in user_ids],
    )


NOT_SERVED = {
    "no demo, no secret": Settings(),
    "no demo, a secret": Settings(sms_auth_token=TOKEN),
    "demo with a secret": Settings(demo=True, sms_auth_token=TOKEN),
    "a real gateway": Settings(sms_auth_token=TOKEN, sms_gateway_url=GATEWAY),
    "demo and a real gateway": Settings(demo=True, sms_auth_token=TOKEN, sms_gateway_url=GATEWAY),
}


@pytest.mark.parametrize("case", list(NOT_SERVED))
@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_the_simulator_is_a_404_that_reads_and_moves_nothing_unless_a_demo_without_a_secret(
    db_url, clock, case, accept
):
    """Without --demo, or with OBOLO_SMS_AUTH_TOKEN set: page and POST 404, show no texts, move nothing."""
    platform, alice_id, bob_id = simulator_world(db_url, clock, NOT_SERVED[case])
    before = books(platform, alice_id, bob_id)
    headers = {"Accept": accept}
    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        answers = [
            client.get("/sms/simulator", headers=headers),
            client.get("/sms/simulator", params={"phone": BOB}, headers=headers),
            client.get("/sms/simulator", params={"phone": ALICE}, headers=headers),
            client.post("/sms/simulator", data={"phone": ALICE, "body": f"SEND 5 {BOB}"}, headers=headers),
            client.post("/sms/simulator", data={"phone": ALICE, "body": "7391"}, headers=headers),
            client.post("/sms/simulator", data={"phone": ALICE, "body": "BAL"}, headers=headers),
            client.post("/sms/simulator", data={"phone": "+393401112233", "body": "JOIN"}, headers=headers),
            # other spellings of the same page
            client.get("/sms/simulator/", params={"phone": BOB}, headers=headers),
            client.post("/sms/simulator?phone=%2B393331234567&body=BAL", headers=headers),
        ]
        head = client.head("/sms/simulator", params={"phone": BOB}, headers=headers)
        assert head.status_code in (404, 405)  # no HEAD route in any mode
        assert head.content == b""
        for answer in answers:
            assert answer.status_code == 404, answer.text
            assert "received" not in answer.text  # Bob's receipt
            assert "Balance" not in answer.text  # Alice's balance
        assert books(platform, alice_id, bob_id) == before
        assert before[3] == [19_000_000, 1_000_000]
    assert check_ledger(platform.engine) == []


def test_outside_a_demo_no_ones_texts_are_printed_or_kept(db_url, clock, capsys, caplog):
    """Without --demo and a gateway, texts reach no log and no memory: they wait in the outbox."""
    caplog.set_level(logging.DEBUG)
    platform, *_ = simulator_world(db_url, clock, Settings(sms_auth_token=TOKEN))
    assert not isinstance(platform.sms_gateway, ConsoleSmsGateway)
    captured = capsys.readouterr()
    assert "You received" not in captured.out + captured.err + caplog.text
    with platform.engine.connect() as connection:
        waiting = connection.execute(select(sms_outbox.c.body).where(sms_outbox.c.status == "pending")).all()
    assert [body for (body,) in waiting if "You received €1.00" in body] != []


@pytest.fixture
def demo(db_url, clock):
    platform, alice_id, bob_id = simulator_world(db_url, clock, Settings(demo=True))
    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        yield client, platform, alice_id, bob_id
    assert check_ledger(platform.engine) == []


def test_in_a_demo_the_simulator_talks_through_the_same_service(demo):
    """In a demo the page sends as the chosen number and shows the reply, and what was sent to that number."""
    client, platform, alice_id, bob_id = demo
    assert client.get("/sms/simulator").status_code == 200
    page = client.post("/sms/simulator", data={"phone": ALICE, "body": f"SEND 2 {BOB}"}).text
    assert "Send €2.00 to Bo***" in page
    page = client.post("/sms/simulator", data={"phone": ALICE, "body": "7391"}).text
    assert "Sent €2.00" in page
    assert "7391" not in page
    assert (available(platform, alice_id), available(platform, bob_id)) == (17_000_000, 3_000_000)
    bob_page = client.get("/sms/simulator", params={"phone": BOB}).text
    assert "You received €2.00" in bob_page
    assert "You received" not in client.get("/sms/simulator", params={"phone": ALICE}).text


def test_the_simulator_keeps_each_numbers_whole_thread(demo):
    """Each number's page shows its whole conversation in order (typed, replies, texts sent to
    it), PINs masked; another number's page shows none of it."""
    client, *_ = demo
    for body in ("BAL", f"SEND 2 {BOB}", "7391", "HIST"):
        page = client.post("/sms/simulator", data={"phone": ALICE, "body": body}).text
    thread = page[page.index('id="thread"') : page.index("</form>")]
    order = ["BAL", "Balance: €19.00.", f"SEND 2 {BOB}", "Send €2.00 to Bo***", "••••", "Sent €2.00", "HIST"]
    positions = [thread.index(text) for text in order]
    assert positions == sorted(positions), thread
    assert thread.count("Last: ") == 1
    assert "7391" not in page
    bob = client.get("/sms/simulator", params={"phone": BOB}).text
    assert "You received €1.00" in bob
    assert "You received €2.00" in bob
    assert "Balance: €19.00." not in bob
    assert "Balance: €19.00." in client.get("/sms/simulator", params={"phone": ALICE}).text


def test_the_console_gateway_never_logs_a_pin(demo, capsys, caplog):
    """A whole conversation through the demo's console gateway leaves no PIN in the logs."""
    client, *_ = demo
    caplog.set_level(logging.DEBUG)
    for body in (f"SEND 2 {BOB}", "OK 7391", "PIN 7391 9753", "BAL"):
        client.post("/sms/simulator", data={"phone": ALICE, "body": body})
    captured = capsys.readouterr()
    logs = captured.out + captured.err + caplog.text
    assert "You received €2.00" in logs  # the receipt to Bob was logged
    assert "7391" not in logs
    assert "9753" not in logs


# -- what `obolo serve` decides and says ---------------------------------------------------

GATEWAY_ENV = ("OBOLO_SMS_AUTH_TOKEN", "OBOLO_SMS_GATEWAY_URL", "OBOLO_DATABASE_URL")


@pytest.mark.parametrize(
    ("args", "env", "served", "said"),
    [
        ([], {}, False, "SMS simulator: off (not a demo: start with --demo)"),
        (["--demo"], {}, True, "SMS simulator: served at /sms/simulator (demo)"),
        (
            ["--demo"],
            {"OBOLO_SMS_AUTH_TOKEN": TOKEN},
            False,
            "SMS simulator: off (OBOLO_SMS_AUTH_TOKEN is set)",
        ),
        ([], {"OBOLO_SMS_AUTH_TOKEN": TOKEN}, False, "SMS simulator: off (OBOLO_SMS_AUTH_TOKEN is set)"),
    ],
)
def test_serve_says_at_start_up_whether_the_simulator_is_served(
    tmp_path, monkeypatch, args, env, served, said
):
    """`obolo serve` serves the simulator only with --demo and no OBOLO_SMS_AUTH_TOKEN, and says so."""
    for name in GATEWAY_ENV:
        monkeypatch.delenv(name, raising=False)
    apps = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_options: apps.append(app))
    db = f"sqlite:///{tmp_path / 'obolo.db'}"
    result = CliRunner().invoke(cli, ["serve", "--db", db, "--no-jobs", *args], env=env)
    assert result.exit_code == 0, result.output
    assert said in result.output
    (app,) = apps
    with TestClient(app, raise_server_exceptions=False) as client:
        page = client.get("/sms/simulator")
        assert page.status_code == (200 if served else 404)
        answer = client.post("/sms/simulator", data={"phone": "+393331234567", "body": "BAL"})
        assert answer.status_code == (200 if served else 404)
        assert ("Balance" in answer.text) is served


def test_demo_mode_is_refused_with_several_processes(tmp_path, monkeypatch):
    """The demo's texts live in one process's memory: `--demo --workers 2` refuses to start."""
    monkeypatch.setattr(uvicorn, "run", lambda *_a, **_k: pytest.fail("served"))
    db = f"sqlite:///{tmp_path / 'obolo.db'}"
    result = CliRunner().invoke(cli, ["serve", "--db", db, "--demo", "--workers", "2"])
    assert result.exit_code == 2
    assert "--demo runs in one process" in result.output
