"""The jobs table, on the one shared metadata (see `schema`): one row per periodic job,
with its schedule, its lease and how its last run went."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table

from obolo.adapters.db.metadata import metadata

jobs = Table(
    "jobs",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("every_seconds", Integer, nullable=False),
    Column("next_run_at", BigInteger, nullable=False),
    # Who runs it now, and until when: past lease_until the holder is presumed dead.
    Column("lease_owner", String(80), nullable=True),
    Column("lease_until", BigInteger, nullable=True),
    Column("last_started_at", BigInteger, nullable=True),
    Column("last_finished_at", BigInteger, nullable=True),
    Column("last_status", String(12), nullable=True),  # running, ok, failed
    Column("last_error", String(500), nullable=True),
    Column("last_items", Integer, nullable=False),
    Column("runs", BigInteger, nullable=False),
    Column("failures", BigInteger, nullable=False),
    Column("consecutive_failures", Integer, nullable=False),
)
