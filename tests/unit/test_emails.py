"""Email addresses: syntax by email-validator (no DNS), one normal form per address, so a
person is one account whatever case, width or composition the address is typed in."""

from __future__ import annotations

import pytest

from obolo.identity.emails import email_key, normalize_email
from obolo.identity.errors import InvalidEmail

REFUSED = [
    # found by the outside probe
    "<b>@example.com",
    "\u202eada@example.com",
    # the same classes, spelt otherwise
    "<script>@example.com",
    "ada@<b>example.com",
    '"<b>"@example.com',
    "ada\u202e@example.com",
    "ada@exa\u202emple.com",
    "ada\u200b@example.com",
    "\u200eada@example.com",
    "ada\u2066@example.com",
    "\ufeffada@example.com",
    "ada@example.com\u202e",
    "ada\u0000@example.com",
    "ada\n@example.com",
    "ada@example.com\r\nBcc: eve@example.com",
    "a da@example.com",
    "ada@example",
    "ada@localhost",
    "ada@[127.0.0.1]",
    "ada@-example.com",
    "a..da@example.com",
    ".ada@example.com",
    "ada@example..com",
    "ada@@example.com",
    "ada",
    "@example.com",
    "ada@",
    "x" * 65 + "@example.com",
    "ada@" + "a" * 250 + ".com",
    # lookalikes: Latin mixed with Cyrillic or Greek in one part
    "p\u0430ypal@example.com",
    "ada@ex\u0430mple.com",
    "\u03bfbolo@example.com",
]


@pytest.mark.parametrize("text", REFUSED)
def test_what_is_not_a_plain_address_is_refused(text):
    """Markup, bidi and invisible characters, controls, bad structure, special-use domains and
    mixed-script lookalikes are invalid_email."""
    with pytest.raises(InvalidEmail):
        normalize_email(text)


@pytest.mark.parametrize(
    "variant",
    [
        "ada@example.com",
        "Ada@Example.com",
        "ADA@EXAMPLE.COM",
        " ada@example.com ",
        "\uff41\uff44\uff41@example.com",  # full-width letters
        "ada@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com",
        "ada\uff20example.com",  # a full-width @
    ],
)
def test_case_and_width_variants_are_one_address(variant):
    """Every spelling of one address normalises to the same text."""
    assert normalize_email(variant) == "ada@example.com"


def test_unicode_compositions_and_case_foldings_are_one_address():
    """Composed and decomposed accents, and Unicode case (ß and SS, Greek final sigma), fold alike."""
    assert normalize_email("jos\u00e9@example.com") == normalize_email("jose\u0301@example.com")
    assert normalize_email("JOS\u00c9@example.com") == normalize_email("jos\u00e9@example.com")
    assert normalize_email("STRASSE@example.com") == normalize_email("stra\u00dfe@example.com")
    assert normalize_email("ada@B\u00dcCHER.de") == normalize_email("ada@xn--bcher-kva.de") == "ada@bücher.de"


def test_real_addresses_pass():
    """Tags, dots, apostrophes, long local parts and international addresses are fine."""
    real = ["ada+obolo@example.com", "ada.lovelace@mail.example.co.uk", "o'brien@example.ie"]
    real += ["x" * 64 + "@example.com", "josé@example.com", "用户@例子.广告", "ada@bench.example"]
    for text in real:
        assert normalize_email(text) == text


def test_no_dns_is_asked(monkeypatch):
    """Validation never resolves the domain: a request must not wait on (or leak to) DNS."""
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("DNS was asked")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "gethostbyname", refuse)
    assert (
        normalize_email("ada@no-such-domain-anywhere.example.com")
        == "ada@no-such-domain-anywhere.example.com"
    )


def test_the_lookup_key_of_what_is_not_an_address_matches_no_address():
    """Signing in with what is not an address is a failed sign-in, not an error; its key is
    folded alike but can never equal a valid address's normal form."""
    assert email_key("ADA@Example.com") == "ada@example.com"
    assert email_key("\u202eada@example.com") != "ada@example.com"
    assert email_key(" +393331234567@SMS.obolo.invalid ") == "+393331234567@sms.obolo.invalid"
    assert len(email_key("x" * 1000)) == 255  # one past the longest address: never one
    assert email_key("a" * 60 + "@" + "b" * 189 + ".com" + "x" * 9) != "a" * 60 + "@" + "b" * 189 + ".com"
