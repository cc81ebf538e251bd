"""The write path's settings reach the platform's writer."""

from __future__ import annotations

import tempfile

from obolo.bootstrap import build
from obolo.settings import Settings


def test_the_writers_batch_is_a_setting_and_never_below_one(monkeypatch):
    """Several API processes on one database run with OBOLO_WRITE_BATCH=1 (each unit commits
    alone); the platform's writer takes what the settings say."""
    assert Settings().write_batch == 256
    monkeypatch.setenv("OBOLO_WRITE_BATCH", "0")
    assert Settings.from_environment().write_batch == 1
    monkeypatch.setenv("OBOLO_WRITE_BATCH", "1")
    settings = Settings.from_environment()
    assert settings.write_batch == 1
    with tempfile.TemporaryDirectory() as folder:
        platform = build(settings, url=f"sqlite:///{folder}/obolo.db")
        try:
            assert platform.writer is not None
            assert platform.writer.max_batch == 1
        finally:
            platform.close()


def test_several_processes_on_postgresql_commit_each_unit_alone_unless_told():
    """`obolo serve --workers N` on PostgreSQL sets OBOLO_WRITE_BATCH=1 for its processes;
    an operator's own value is kept, and SQLite's processes keep batching."""
    from obolo.entrypoints.cli import unit_commits_for_processes

    environ: dict[str, str] = {}
    assert unit_commits_for_processes("postgresql+psycopg://db/obolo", environ)
    assert environ == {"OBOLO_WRITE_BATCH": "1"}
    chosen = {"OBOLO_WRITE_BATCH": "64"}
    assert not unit_commits_for_processes("postgresql+psycopg://db/obolo", chosen)
    assert chosen == {"OBOLO_WRITE_BATCH": "64"}
    on_sqlite: dict[str, str] = {}
    assert not unit_commits_for_processes("sqlite:///obolo.db", on_sqlite)
    assert on_sqlite == {}
