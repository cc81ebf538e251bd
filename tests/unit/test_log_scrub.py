"""The log scrubber's quick first look never lets through text one of its patterns would
change: it only spares the patterns' work on text that holds nothing to scrub."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from obolo.entrypoints.logs import _SCRUB, SECRET_KEYS, redact, scrub

# Text built of the pieces secrets are made of, so that near-misses are common.
PIECES = st.sampled_from(
    ["Bearer ", "bearer\t", "BEARER  ", "obo_", "whsec_", "ab12", "_", "-", " ", "4", "42", "4242 ",
     "4242-", "0000", "x", ".", "/v1/payments", "é", "\n"]
)  # fmt: skip
TEXT = st.one_of(st.lists(PIECES, max_size=30).map("".join), st.text(max_size=60))


def by_every_pattern(text: str) -> str:
    for pattern, replacement in _SCRUB:
        text = pattern.sub(replacement, text)
    return text


@given(TEXT)
@example("Authorization: bEaReR abc.def")
@example("sent obo_ab12_secretpart")
@example("signed whsec_abc-def")
@example("paid with 4242-4242 4242 4242")
@example("thirteen digits 1234567890123 and no more")
def test_scrub_is_every_pattern_applied(text):
    """Whatever the text, scrubbing it gives what applying every pattern gives."""
    assert scrub(text) == by_every_pattern(text)


@given(st.text(max_size=20))
def test_a_secret_sounding_key_is_redacted_every_time(suffix):
    """A key naming a secret is redacted on every line, not only the first one seen."""
    note = f"note{suffix}"  # a secret word may be in the suffix too
    expected = "[redacted]" if SECRET_KEYS.search(note) else "[card number redacted]"
    for _ in range(3):
        event = redact(None, "info", {f"api_key{suffix}": "obo_x", note: "4242 4242 4242 4242"})
        assert event[f"api_key{suffix}"] == "[redacted]"
        assert event[note] == expected
