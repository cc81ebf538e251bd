"""Audit entries and their hash chain: pure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: int  # nanoseconds since the epoch
    actor: str  # a user id, or "cli" for the operator's shell
    action: str  # e.g. "session.created", "api_key.created", "ledger.adjusted"
    subject: str  # what was acted on: a user, a key, an account
    details: dict[str, Any] = field(default_factory=dict)  # never a secret
    address: str | None = None

    def canonical(self) -> bytes:
        return json.dumps(
            {
                "seq": self.seq,
                "at": self.at,
                "actor": self.actor,
                "action": self.action,
                "subject": self.subject,
                "details": self.details,
                "address": self.address,
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()


def chain_hash(previous: str, entry: AuditEntry) -> str:
    """The entry's link: SHA-256 of the previous link and the entry's canonical form."""
    return hashlib.sha256(previous.encode() + entry.canonical()).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainBreak:
    seq: int
    problem: str


def verify_chain(links: Iterable[tuple[AuditEntry, str, str]], head: tuple[int, str]) -> list[ChainBreak]:
    """Check (entry, prev_hash, hash) links in sequence order against the recorded head
    (last seq, last hash). An edited entry, a removed or inserted one, a reordering, or a
    truncated tail each give a ChainBreak; an intact chain gives none."""
    problems: list[ChainBreak] = []
    previous, expected_seq = GENESIS, 1
    for entry, prev_hash, stored in links:
        if entry.seq != expected_seq:
            problems.append(
                ChainBreak(entry.seq, f"expected entry {expected_seq}: entries missing or inserted")
            )
        if prev_hash != previous:
            problems.append(ChainBreak(entry.seq, "does not link to the entry before it"))
        if chain_hash(prev_hash, entry) != stored:
            problems.append(ChainBreak(entry.seq, "its content was altered"))
        previous, expected_seq = stored, entry.seq + 1
    last_seq, last_hash = head
    if (expected_seq - 1, previous) != (last_seq, last_hash):
        problems.append(ChainBreak(last_seq, "the chain does not end at the recorded head: entries removed"))
    return problems
