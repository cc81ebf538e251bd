"""The provider's memory, in one SQLite file: the highest payment of every channel (so a
replay after a restart is still refused), what each reader spent per capped period, the
provider's own secret (read-again receipts), charge receipts and reader proofs already
used. Thread-safe; shared by the middleware and the claim sender."""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from pathlib import Path
from typing import Any

from obolo.sdk.payword import CLOSED, Certificate, ChannelState, PaymentRefused, accept_payment, b64


class ChannelBook:
    """The provider's memory of every channel: highest payment per channel, durable in a
    SQLite file so a replay after a restart is still refused. Thread-safe."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a crash of this process (the replay protection that
        # matters); only an operating-system crash could lose the last few payments seen,
        # and those are the provider's own loss, never the payer's.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS channels (id TEXT PRIMARY KEY, certificate TEXT NOT NULL, "
            "idx INTEGER NOT NULL, token BLOB NOT NULL, claimed INTEGER NOT NULL DEFAULT 0)"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS spend (payer TEXT NOT NULL, period TEXT NOT NULL, "
            "units INTEGER NOT NULL, PRIMARY KEY (payer, period))"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS provider_secret (id INTEGER PRIMARY KEY, secret BLOB NOT NULL)"
        )
        self._db.execute(
            "INSERT OR IGNORE INTO provider_secret (id, secret) VALUES (1, ?)", (secrets.token_bytes(32),)
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS used_charges (id TEXT PRIMARY KEY)")
        self._db.execute("CREATE TABLE IF NOT EXISTS used_proofs (id TEXT PRIMARY KEY, until REAL NOT NULL)")
        self._proofs_seen = 0
        self.secret = bytes(self._db.execute("SELECT secret FROM provider_secret WHERE id = 1").fetchone()[0])
        self._lock = threading.Lock()
        # Channels already claimed: the platform settles a channel once, so a payment on one
        # could never be collected and is refused.
        self._closed = {row[0] for row in self._db.execute("SELECT id FROM channels WHERE claimed > 0")}
        self._states: dict[str, ChannelState] = {}
        for channel_id, cert_json, index, token in self._db.execute(
            "SELECT id, certificate, idx, token FROM channels"
        ):
            certificate = Certificate(**json.loads(cert_json))
            self._states[channel_id] = ChannelState(certificate, index, bytes(token))

    def state(self, certificate: Certificate) -> ChannelState:
        with self._lock:
            known = self._states.get(certificate.channel_id)
            if known is None:
                known = ChannelState.open(certificate)
                self._states[certificate.channel_id] = known
            return known

    def reserve(self, certificate: Certificate, index: int, token: bytes) -> tuple[int, bytes]:
        """Accept the payment now (so a concurrent replay is refused); returns what to
        restore if the request then fails."""
        state = self.state(certificate)
        with self._lock:
            if certificate.channel_id in self._closed:
                raise PaymentRefused(CLOSED, "this channel was settled; open a new one")
            before = (state.index, state.token)
            accept_payment(state, index, token)
            return before

    def commit(self, certificate: Certificate) -> None:
        state = self.state(certificate)
        with self._lock:
            self._db.execute(
                "INSERT INTO channels (id, certificate, idx, token) VALUES (?, ?, ?, ?) ON CONFLICT(id) "
                "DO UPDATE SET idx = excluded.idx, token = excluded.token WHERE excluded.idx > idx",
                (certificate.channel_id, certificate.message().decode(), state.index, state.token),
            )

    def release(self, certificate: Certificate, index: int, before: tuple[int, bytes]) -> None:
        state = self.state(certificate)
        with self._lock:
            if state.index == index:  # nothing later was accepted on top of it
                state.index, state.token = before

    def charge_within_caps(self, payer: str, periods: list[tuple[str, int]], units: int) -> bool:
        """Count `units` against every capped period, unless one of them would pass its
        cap: then count nothing and answer False (the view is free)."""
        with self._lock:
            spent = [self._spent(payer, period) for period, _ in periods]
            if any(already + units > cap for already, (_, cap) in zip(spent, periods, strict=True)):
                return False
            for period, _ in periods:
                self._add(payer, period, units)
            return True

    def refund_caps(self, payer: str, periods: list[tuple[str, int]], units: int) -> None:
        with self._lock:
            for period, _ in periods:
                self._add(payer, period, -units)

    def _spent(self, payer: str, period: str) -> int:
        row = self._db.execute(
            "SELECT units FROM spend WHERE payer = ? AND period = ?", (payer, period)
        ).fetchone()
        return int(row[0]) if row else 0

    def _add(self, payer: str, period: str, units: int) -> None:
        self._db.execute(
            "INSERT INTO spend (payer, period, units) VALUES (?, ?, ?) "
            "ON CONFLICT(payer, period) DO UPDATE SET units = units + excluded.units",
            (payer, period, units),
        )

    def use_charge(self, charge_id: str) -> bool:
        """Mark a charge receipt used; False if it already was (a replay)."""
        with self._lock:
            try:
                self._db.execute("INSERT INTO used_charges (id) VALUES (?)", (charge_id,))
            except sqlite3.IntegrityError:
                return False
            return True

    def use_proof(self, proof_id: str, until: float) -> bool:
        """Mark a reader's proof used; False if it already was (a replay). Kept until
        `until`, past which the proof is refused as stale anyway."""
        with self._lock:
            self._proofs_seen += 1
            if self._proofs_seen % 1_000 == 0:
                self._db.execute("DELETE FROM used_proofs WHERE until < ?", (until - 4 * 3600,))
            try:
                self._db.execute("INSERT INTO used_proofs (id, until) VALUES (?, ?)", (proof_id, until))
            except sqlite3.IntegrityError:
                return False
            return True

    def unuse_charge(self, charge_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM used_charges WHERE id = ?", (charge_id,))

    def unclaimed(self) -> list[dict[str, Any]]:
        """Claims to send to the platform: the highest payment of each channel not yet settled."""
        rows = self._db.execute("SELECT id, idx, token FROM channels WHERE idx > claimed").fetchall()
        return [{"channel_id": c, "index": i, "token": b64(bytes(t))} for c, i, t in rows]

    def close_due(self, now: float, margin: float) -> list[dict[str, Any]]:
        """Close, and return the claims of, the channels worth settling now: used up, or
        expiring within `margin` seconds (a channel settles once, so an active one is left
        to run). Closed first, so no payment is accepted after its claim is read; a payment
        in flight at that moment is the provider's loss, never the payer's."""
        with self._lock:
            due = {
                channel_id
                for channel_id, state in self._states.items()
                if state.index > 0
                and (state.index >= state.certificate.length or state.certificate.expires_at - margin <= now)
            }
            self._closed |= due
        return [claim for claim in self.unclaimed() if claim["channel_id"] in due]

    def close_all(self) -> list[dict[str, Any]]:
        """Close every channel with payments and return their claims (shutting down)."""
        with self._lock:
            self._closed |= {channel_id for channel_id, state in self._states.items() if state.index > 0}
        return self.unclaimed()

    def mark_claimed(self, channel_id: str, index: int) -> None:
        with self._lock:
            self._closed.add(channel_id)
        self._db.execute("UPDATE channels SET claimed = ? WHERE id = ?", (index, channel_id))

    def earned(self) -> dict[str, int]:
        """Units earned per asset over every channel remembered."""
        totals: dict[str, int] = {}
        with self._lock:
            for state in self._states.values():
                totals[state.certificate.asset] = totals.get(state.certificate.asset, 0) + state.earned
        return totals
