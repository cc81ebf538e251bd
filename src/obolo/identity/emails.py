"""Email addresses: pure, no I/O (never DNS: a request must not wait on, or leak to, a
resolver).

The syntax is email-validator's (RFC 5321/5322 and 6531 as mail servers accept them): no
markup, no quoted local parts, no controls, no bidi or invisible characters, no bare IP or
special-use domains. One address has one normal form, so a person cannot hold two accounts
(nor be paid at a second one) by typing it in another case, width or composition:

    NFKC (full-width and compatibility forms) → Unicode case folding → NFKC again
    → email-validator's form (NFC, the domain IDNA-normalised, shown in Unicode)

Case folding reaches the local part too: mail servers treat it case-insensitively in
practice, and two accounts differing only in case are a spoof, not two people. A part that
mixes Latin, Greek and Cyrillic letters (`paypal` spelt with a Cyrillic a, U+0430) is
refused: it is made to look like another address.
"""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email

from obolo.identity.errors import InvalidEmail

__all__ = ["MAX_LENGTH", "email_key", "normalize_email"]

MAX_LENGTH = 254
_SPACE = " \t\r\n"
# Scripts whose letters pass for one another; one part of an address keeps to one of them.
_CONFUSABLE_SCRIPTS = frozenset({"LATIN", "GREEK", "CYRILLIC", "ARMENIAN", "CHEROKEE", "COPTIC"})


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text.strip(_SPACE)).casefold())


def _scripts(part: str) -> set[str]:
    """The confusable scripts among a part's letters (by the letter's Unicode name)."""
    found = set()
    for char in part:
        if unicodedata.category(char).startswith("L"):
            script = unicodedata.name(char, "").split(" ", 1)[0]
            if script in _CONFUSABLE_SCRIPTS:
                found.add(script)
    return found


def normalize_email(text: str) -> str:
    """The address's normal form. Raises InvalidEmail for what is not an address."""
    folded = _fold(text)
    if len(folded) > MAX_LENGTH:
        raise InvalidEmail("that is not an email address")
    try:
        # strict: RFC 5321's length limits too (64 octets before the @).
        valid = validate_email(folded, check_deliverability=False, strict=True)
    except EmailNotValidError as error:
        raise InvalidEmail(f"that is not an email address: {error}") from error
    if any(len(_scripts(part)) > 1 for part in [valid.local_part, *valid.domain.split(".")]):
        raise InvalidEmail("that is not an email address: it mixes alphabets that look alike")
    return str(valid.normalized)


def email_key(text: str) -> str:
    """What to look an address up by: its normal form, or, for what is not a valid address
    (a failed sign-in, an address on a reserved domain the platform made), the same folding
    without validation — which no normal form of another address can equal: it would have
    validated. Cut one past the longest address, so a cut never turns into one."""
    try:
        return normalize_email(text)
    except InvalidEmail:
        return _fold(text)[: MAX_LENGTH + 1]
