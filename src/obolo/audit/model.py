"""Audit entries and their hash chain: pure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
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


@dataclass(frozen=True, slots=True)
class Anchor:
    """The chain's head at a moment, kept outside the database (a file on other storage,
    a ticket, a message): whoever can rewrite the database cannot rewrite the anchors."""

    seq: int
    hash: str
    at: int

    def line(self) -> str:
        return json.dumps({"seq": self.seq, "hash": self.hash, "at": self.at}, sort_keys=True)

    @classmethod
    def parse(cls, line: str) -> Anchor:
        """One line written by `line`; ValueError for anything else."""
        try:
            data = json.loads(line)
            anchor = cls(int(data["seq"]), str(data["hash"]), int(data["at"]))
        except (ValueError, KeyError, TypeError) as error:  # JSONDecodeError is a ValueError
            raise ValueError(f"not an audit anchor: {line[:80]!r}") from error
        if anchor.seq < 0 or len(anchor.hash) != 64:
            raise ValueError(f"not an audit anchor: {line[:80]!r}")
        return anchor


def verify_chain(
    links: Iterable[tuple[AuditEntry, str, str]],
    head: tuple[int, str],
    anchors: Mapping[int, str] | None = None,
) -> list[ChainBreak]:
    """Check (entry, prev_hash, hash) links in sequence order against the recorded head
    (last seq, last hash) and any anchors kept outside (hash by seq). An edited entry, a
    removed or inserted one, a reordering, or a truncated tail each give a ChainBreak; so
    does a chain rewritten from some entry on with its head (it no longer meets an anchor
    taken after that entry). An intact chain gives none."""
    anchors = anchors or {}
    problems: list[ChainBreak] = []
    previous, expected_seq = GENESIS, 1
    for entry, prev_hash, stored in links:
        if entry.seq in anchors and anchors[entry.seq] != stored:
            problems.append(ChainBreak(entry.seq, "differs from the anchor kept outside the database"))
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
    problems += [
        ChainBreak(seq, "an anchored entry is gone: the trail was cut back")
        for seq in sorted(anchors)
        if seq > expected_seq - 1
    ]
    return problems
