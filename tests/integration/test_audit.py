"""The audit trail in the database: sign-ins, failed sign-ins, API keys and roles are
recorded with their actor and never their secrets; concurrent writers keep one chain;
tampering with a row is caught by `obolo audit verify`."""

from __future__ import annotations

import threading

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, text, update
from typer.testing import CliRunner

from obolo.adapters.db.schema import audit_log
from obolo.audit import service as audit
from obolo.bootstrap import build
from obolo.entrypoints.cli import app
from obolo.identity.errors import InvalidCredentials
from obolo.identity.model import Role

PASSWORD = "correct horse battery"


@pytest.fixture
def platform(db_url, clock):
    built = build(url=db_url, clock=clock, migrate=True)
    built.identity.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield built
    built.close()


def rows(platform):
    with platform.engine.connect() as connection:
        return connection.execute(select(audit_log).order_by(audit_log.c.seq)).all()


def test_security_actions_are_recorded_without_secrets(platform):
    """Sign-in, a failed sign-in, a key created and revoked, a role: five entries in order,
    none holding the password or the key's secret; the chain verifies."""
    user = platform.identity.sign_up("ann@example.com", PASSWORD, "Ann")
    platform.identity.sign_in("ann@example.com", PASSWORD, "10.0.0.1")
    with pytest.raises(InvalidCredentials):
        platform.identity.sign_in("ann@example.com", "wrong password!", "10.0.0.2")
    key, secret = platform.identity.create_api_key(user.id, "site", ["wallets:read"])
    platform.identity.revoke_api_key(user.id, key.id)
    platform.identity.add_role(user.id, Role.PROVIDER)
    recorded = rows(platform)
    assert [(r.action, r.actor, r.subject) for r in recorded] == [
        ("session.created", user.id, user.id),
        ("sign_in.failed", "anonymous", "ann@example.com"),
        ("api_key.created", user.id, key.id),
        ("api_key.revoked", user.id, key.id),
        ("role.granted", user.id, user.id),
    ]
    assert [r.address for r in recorded[:2]] == ["10.0.0.1", "10.0.0.2"]
    everything = " ".join(f"{r.details} {r.subject}" for r in recorded)
    for leaked in (PASSWORD, "wrong password!", secret, secret.split("_")[-1]):
        assert leaked not in everything
    assert audit.verify(platform.engine) == []


def test_secret_keys_in_details_are_dropped(platform):
    """Whatever a caller passes, password/secret/pin/token keys never reach the trail."""
    with platform.engine.begin() as connection:
        audit.record(connection, 1, "cli", "test.action", "x", {"pin": "1234", "secret": "s", "kept": 1})
    (row,) = rows(platform)
    assert row.details == '{"kept": 1}'


def test_concurrent_writers_keep_one_unbroken_chain(platform):
    """Eight threads appending 20 entries each: 160 entries, sequence 1..160, chain intact."""

    def write(worker: int) -> None:
        for n in range(20):
            platform.identity.create_api_key(owner, f"k{worker}-{n}", ["wallets:read"])

    owner = platform.identity.sign_up("owner@example.com", PASSWORD, "Owner").id
    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.seq for r in rows(platform)] == list(range(1, 161))
    assert audit.verify(platform.engine) == []


def test_tampering_is_caught_by_the_cli(platform, db_url):
    """An edited row, then a deleted last row: `obolo audit verify` exits 1 each time,
    0 while the trail is intact."""
    user = platform.identity.sign_up("bob@example.com", PASSWORD, "Bob")
    for n in range(3):
        platform.identity.create_api_key(user.id, f"k{n}", ["wallets:read"])
    runner = CliRunner()
    assert runner.invoke(app, ["audit", "verify", "--db", db_url]).exit_code == 0
    with platform.engine.begin() as connection:
        connection.execute(update(audit_log).where(audit_log.c.seq == 2).values(actor="someone-else"))
    result = runner.invoke(app, ["audit", "verify", "--db", db_url])
    assert result.exit_code == 1
    assert "entry 2" in result.output
    with platform.engine.begin() as connection:
        connection.execute(update(audit_log).where(audit_log.c.seq == 2).values(actor=user.id))
        connection.execute(text("DELETE FROM audit_log WHERE seq = 3"))
    assert runner.invoke(app, ["audit", "verify", "--db", db_url]).exit_code == 1


def test_a_forger_who_rewrites_the_head_is_caught_by_anchors_kept_outside(platform, db_url, tmp_path):
    """`obolo audit anchor --append` keeps the head; someone then rewrites an entry and
    every later link and the head row: `verify` alone cannot tell, `verify --anchors` can."""
    import dataclasses

    from obolo.adapters.db.schema import audit_head
    from obolo.audit.model import GENESIS, chain_hash
    from obolo.audit.service import _entry

    user = platform.identity.sign_up("cat@example.com", PASSWORD, "Cat")
    for n in range(3):
        platform.identity.create_api_key(user.id, f"k{n}", ["wallets:read"])
    anchors = tmp_path / "anchors.jsonl"
    runner = CliRunner()
    kept = runner.invoke(app, ["audit", "anchor", "--db", db_url, "--append", str(anchors)])
    assert kept.exit_code == 0, kept.output
    assert anchors.read_text().count("\n") == 1
    assert runner.invoke(app, ["audit", "verify", "--db", db_url, "--anchors", str(anchors)]).exit_code == 0
    with platform.engine.begin() as connection:
        previous = GENESIS
        for row in connection.execute(select(audit_log).order_by(audit_log.c.seq)).all():
            entry = _entry(row)
            if entry.seq == 2:
                entry = dataclasses.replace(entry, actor="someone-else")
            link = chain_hash(previous, entry)
            connection.execute(
                update(audit_log)
                .where(audit_log.c.seq == entry.seq)
                .values(actor=entry.actor, prev_hash=previous, hash=link)
            )
            previous = link
        connection.execute(update(audit_head).where(audit_head.c.id == 1).values(hash=previous))
    assert runner.invoke(app, ["audit", "verify", "--db", db_url]).exit_code == 0  # self-consistent
    caught = runner.invoke(app, ["audit", "verify", "--db", db_url, "--anchors", str(anchors)])
    assert caught.exit_code == 1
    assert "differs from the anchor kept outside the database" in caught.output
    anchors.write_text("not an anchor\n")
    assert runner.invoke(app, ["audit", "verify", "--db", db_url, "--anchors", str(anchors)]).exit_code == 2


def test_the_anchor_job_appends_the_head_when_a_file_is_configured(db_url, clock, tmp_path):
    import dataclasses

    import httpx

    from obolo.audit.model import Anchor
    from obolo.entrypoints.workers import platform_jobs, run_once
    from obolo.settings import Settings

    unset = build(url=db_url, clock=clock, migrate=True)
    assert "audit_anchor" not in {job.name for job in platform_jobs(unset, httpx.Client())}
    unset.close()
    anchors = tmp_path / "anchors.jsonl"
    settings = dataclasses.replace(Settings(), audit_anchor_file=str(anchors))
    built = build(settings, url=db_url, clock=clock, migrate=True)
    built.identity.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    built.identity.sign_up("dan@example.com", PASSWORD, "Dan")
    built.identity.sign_in("dan@example.com", PASSWORD, "10.0.0.9")
    with httpx.Client() as client:
        assert run_once(built, client)["audit_anchor"] == 1
    (line,) = anchors.read_text().splitlines()
    assert Anchor.parse(line).seq >= 1
    assert audit.verify(built.engine, anchors=[Anchor.parse(line)]) == []
    built.close()
