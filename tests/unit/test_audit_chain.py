"""The audit hash chain: an intact chain verifies; any edit, removal, insertion, reordering
or truncated tail is reported."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from obolo.audit.model import GENESIS, Anchor, AuditEntry, chain_hash, verify_chain


def build(count: int) -> list[tuple[AuditEntry, str, str]]:
    links, previous = [], GENESIS
    for seq in range(1, count + 1):
        entry = AuditEntry(seq, seq * 1000, f"user-{seq % 3}", "api_key.created", f"key-{seq}", {"n": seq})
        link = chain_hash(previous, entry)
        links.append((entry, previous, link))
        previous = link
    return links


def head(links):
    return (links[-1][0].seq, links[-1][2]) if links else (0, GENESIS)


@given(st.integers(0, 30))
def test_an_intact_chain_verifies(count):
    """Whatever its length, an untouched chain has no break."""
    links = build(count)
    assert verify_chain(links, head(links)) == []


@given(st.integers(1, 20).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_an_altered_entry_is_found(case):
    """Changing one entry's subject breaks that entry."""
    count, position = case
    links = build(count)
    expected = head(links)
    entry, previous, link = links[position]
    links[position] = (
        AuditEntry(entry.seq, entry.at, entry.actor, entry.action, "tampered", entry.details),
        previous,
        link,
    )
    assert [b.seq for b in verify_chain(links, expected)] == [entry.seq]


def test_a_removed_middle_entry_is_found():
    """Deleting entry 3 of 5 leaves a gap and a broken link at entry 4."""
    links = build(5)
    expected = head(links)
    del links[2]
    problems = verify_chain(links, expected)
    assert {b.seq for b in problems} == {4}


def test_a_truncated_tail_is_found_against_the_head():
    """Removing the last two entries is invisible inside the chain but not against the head."""
    links = build(5)
    expected = head(links)
    problems = verify_chain(links[:3], expected)
    assert [b.problem for b in problems] == ["the chain does not end at the recorded head: entries removed"]


def test_a_rehashed_forgery_still_breaks_at_the_head():
    """Rewriting an entry and recomputing every later hash yields a chain whose end no
    longer matches the recorded head."""
    links = build(4)
    expected = head(links)
    forged, previous = [], GENESIS
    for entry, _, _ in links:
        if entry.seq == 2:
            entry = AuditEntry(2, entry.at, entry.actor, "role.granted", entry.subject, entry.details)
        link = chain_hash(previous, entry)
        forged.append((entry, previous, link))
        previous = link
    assert verify_chain(forged, expected) != []


def forge_from(links, seq: int):
    """Rewrite entry `seq` and recompute every later link: what someone who can write the
    database (head row included) would leave behind."""
    forged, previous = [], GENESIS
    for entry, _, _ in links:
        if entry.seq == seq:
            entry = AuditEntry(seq, entry.at, entry.actor, "role.granted", entry.subject, entry.details)
        link = chain_hash(previous, entry)
        forged.append((entry, previous, link))
        previous = link
    return forged


def test_a_forgery_that_rewrites_the_head_too_is_caught_only_by_an_anchor():
    """With the head rewritten as well, the chain is self-consistent; an anchor taken after
    the forged entry, kept outside, no longer matches."""
    links = build(6)
    anchors = {4: links[3][2]}
    forged = forge_from(links, 2)
    assert verify_chain(forged, head(forged)) == []
    problems = verify_chain(forged, head(forged), anchors)
    assert [(b.seq, b.problem) for b in problems] == [
        (4, "differs from the anchor kept outside the database")
    ]
    assert verify_chain(links, head(links), anchors) == []
    # Anchored before the forged entry: that anchor cannot see it (anchor often).
    assert verify_chain(forge_from(links, 5), head(forge_from(links, 5)), anchors) == []


def test_a_trail_cut_back_below_an_anchor_is_caught():
    links = build(6)
    anchors = {5: links[4][2]}
    cut = links[:3]
    problems = verify_chain(cut, head(cut), anchors)
    assert [(b.seq, b.problem) for b in problems] == [
        (5, "an anchored entry is gone: the trail was cut back")
    ]


def test_anchor_lines_round_trip_and_garbage_is_refused():
    anchor = Anchor(7, "ab" * 32, 1_700_000_000_000_000_000)
    assert Anchor.parse(anchor.line()) == anchor
    for garbage in ("", "{}", '{"seq": 1, "hash": "short", "at": 0}', "not json", '{"seq": "x", "hash": 1}'):
        with pytest.raises(ValueError, match="not an audit anchor"):
            Anchor.parse(garbage)
