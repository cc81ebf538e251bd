"""Password strength: judged by an estimator of how many guesses a password takes (zxcvbn),
not by a rule of our own, and refused with a reason the pages say in English and Italian."""

from __future__ import annotations

import pytest

from obolo.entrypoints.web.i18n import translator
from obolo.entrypoints.web.problems import field_error
from obolo.identity.errors import WeakPassword
from obolo.identity.passwords import REASONS, check_password

WEAK = [
    # found by the outside probe
    "1234567890",
    "password12",
    "qwertyuiop",
    "passwordpassword",
    "weakweakweak",
    # the same classes, spelt otherwise
    "Password123",
    "P@ssw0rd123",
    "PASSWORD12",
    "drowssap12",
    "qwerty123456",
    "1q2w3e4r5t",
    "qazwsxedcrfv",
    "asdfghjkl;",
    "0123456789",
    "abcdefghij",
    "1111111111",
    "aaaaaaaaaaaa",
    "abc123abc123",
    "trustno1trustno1",
    "ciaociao123",
    "iloveyou!!",
    "letmein2024",
    "1990199019",
    "Juventus1897",
]
STRONG = [
    "demo-password-1",
    "a long enough password",
    "correct horse battery",
    "alice password 1",
    "publisher password",
    "tramonto sul lago di Como",
]


@pytest.mark.parametrize("password", WEAK)
def test_common_and_patterned_passwords_are_refused(password):
    """Common passwords, keyboard rows, repeats, sequences and dates are weak_password."""
    with pytest.raises(WeakPassword) as refused:
        check_password(password, ["someone@example.com", "Someone"])
    assert refused.value.data["reason"] in REASONS


@pytest.mark.parametrize("password", STRONG)
def test_passphrases_pass(password):
    """A few words together pass, the demo's published password among them."""
    check_password(password, ["someone@example.com", "Someone"])


@pytest.mark.parametrize("password", ["ada.byron@example.com", "ADA.BYRON@EXAMPLE.COM", "Lovelace1815!"])
def test_a_password_made_of_ones_own_email_or_name_is_refused(password):
    """The email, its pieces and the name are known to a guesser: they count for little, so
    what would pass for a stranger is refused for this person."""
    check_password(password, ["someone@example.com", "Someone"])
    with pytest.raises(WeakPassword) as refused:
        check_password(password, ["ada.byron@example.com", "Ada Lovelace"])
    assert refused.value.data["reason"] == "personal"


@pytest.mark.parametrize(
    ("password", "reason"), [("short1!", "too_short"), ("x" * 257, "too_long"), ("a" * 256, "pattern")]
)
def test_length_is_bounded_before_the_estimate(password, reason):
    """Under 10 or over 256 characters is refused without estimating (its cost grows with length)."""
    with pytest.raises(WeakPassword) as refused:
        check_password(password, [])
    assert refused.value.data["reason"] == reason


def test_only_the_first_characters_are_estimated_so_a_long_password_costs_little():
    """A 256-character password is judged on its first 72 characters (zxcvbn's own bound):
    estimating all of it takes seconds, a free way to load the server."""
    head = "Tramonto sul lago di Como: 7 gatti neri mangiano fichi a Pavia!"
    check_password(head + "x" * (256 - len(head)), [])


@pytest.mark.parametrize("reason", sorted(REASONS))
def test_every_reason_is_said_in_english_and_italian(reason):
    """The sign-up page names the reason in the page's language; no reason falls back to English."""
    error = WeakPassword("weak", reason=reason)
    field, english = field_error(error, translator("en"))
    _, italian = field_error(error, translator("it"))
    assert field == "password"
    assert english
    assert italian != english
