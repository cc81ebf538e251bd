"""Password strength: pure, no I/O.

Judged by zxcvbn, which estimates how many guesses a password takes against lists of
common passwords, words and names, keyboard rows, repeats, sequences, dates and what the
guesser knows of the person (their email and name). A hand-written rule ("10 characters,
some different ones") let `1234567890` and `passwordpassword` through; an estimator with
maintained lists does not. A password must score 3 of 4 (about 10^8 guesses): beyond
online guessing, which throttling stops anyway, and slow to crack from a stolen Argon2id
hash. Refusals carry a `reason` the pages say in the reader's language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from zxcvbn import zxcvbn

from obolo.identity.errors import WeakPassword

__all__ = ["MAX_LENGTH", "MIN_LENGTH", "REASONS", "check_password"]

MIN_LENGTH = 10
MAX_LENGTH = 256
MIN_SCORE = 3
# zxcvbn's own bound: its cost grows steeply with length (seconds for 256 random
# characters), so only the start of a long password is estimated.
ESTIMATED_LENGTH = 72
#: Words any guesser tries against this site whoever the person is.
SITE_WORDS = ("obolo", "micropayment", "wallet")

REASONS = {
    "too_short": f"a password needs at least {MIN_LENGTH} characters",
    "too_long": f"a password has at most {MAX_LENGTH} characters",
    "personal": "the password may not be made of your email address or your name",
    "common": "that is one of the most common passwords",
    "pattern": "keyboard rows, repeats and sequences are easy to guess",
    "dates": "dates and years are easy to guess",
    "guessable": "that password is easy to guess: add a word or two, uncommon ones",
}


def _reason(sequence: list[dict[str, object]]) -> str:
    """What made a weak password weak, from the parts zxcvbn split it into."""
    patterns = {str(match["pattern"]) for match in sequence}
    dictionaries = {str(match.get("dictionary_name")) for match in sequence}
    if "user_inputs" in dictionaries:
        return "personal"
    if "passwords" in dictionaries:
        return "common"
    if patterns & {"spatial", "repeat", "sequence"}:
        return "pattern"
    if patterns & {"date", "regex"}:
        return "dates"
    return "guessable"


def _known_words(personal: Iterable[str]) -> list[str]:
    """The person's email and name, whole and in pieces (`ada.lovelace@example.com` gives
    also `ada.lovelace`, `ada`, `lovelace`, `example`), and the site's own words."""
    words: list[str] = list(SITE_WORDS)
    for text in personal:
        text = text.strip().lower()
        local = text.split("@", 1)[0]
        words += [text, local, *re.split(r"[\W_]+", text)]
    return [word for word in dict.fromkeys(words) if len(word) >= 3]


def check_password(password: str, personal: Iterable[str] = ()) -> None:
    """Refuse a password a guesser would find soon. `personal`: what a guesser may know of
    the person (email, name). Raises WeakPassword(reason=...) with a key of REASONS."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(REASONS["too_short"], reason="too_short")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(REASONS["too_long"], reason="too_long")
    estimate = zxcvbn(password[:ESTIMATED_LENGTH], user_inputs=_known_words(personal))
    if estimate["score"] < MIN_SCORE:
        reason = _reason(estimate["sequence"])
        raise WeakPassword(REASONS[reason], reason=reason)
