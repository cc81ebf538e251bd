"""SMS command parsing and replies, pure: every command in both languages, amounts as people
type them, PIN rules, masking, and replies that fit one GSM-7 message."""

from __future__ import annotations

import contextlib
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from obolo.money import EUR
from obolo.sms import model, texts
from obolo.sms.errors import InvalidRecipient, InvalidSmsAmount, WeakPin
from obolo.sms.model import (
    Balance,
    Cancel,
    Confirm,
    Help,
    History,
    Join,
    Lang,
    Malformed,
    Return,
    Send,
    SetLanguage,
    SetPin,
    Start,
    Stop,
    Undo,
    parse,
)

EN, IT = Lang.EN, Lang.IT


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("BAL", Balance(EN)),
        ("  bal  ", Balance(EN)),
        ("SALDO", Balance(IT)),
        ("bal on", Balance(EN, True)),
        ("SALDO no", Balance(IT, False)),
        ("SEND 5 +393331234567", Send(EN, "5", "+393331234567")),
        ("send   5,50\t+393331234567   pizza  night", Send(EN, "5,50", "+393331234567", "pizza night")),
        ("INVIA 5.50 bob@example.com cena", Send(IT, "5.50", "bob@example.com", "cena")),
        ("HIST", History(EN)),
        ("storico", History(IT)),
        ("HELP", Help(EN)),
        ("aiuto", Help(IT)),
        ("PIN 2468", SetPin(None, None, "2468")),
        ("pin 2468 975310", SetPin(None, "2468", "975310")),
        ("STOP", Stop(None)),
        ("START", Start(EN)),
        ("JOIN", Join(EN)),
        ("registra Maria Rossi", Join(IT, "Maria Rossi")),
        ("UNDO k7m2qx", Undo(EN, "K7M2QX")),
        ("ANNULLA K7M2QX", Undo(IT, "K7M2QX")),
        ("RETURN K7M2QX", Return(EN, "K7M2QX")),
        ("RESTITUISCI K7M2QX", Return(IT, "K7M2QX")),
        ("2468", Confirm(None, "2468")),
        ("ok 246813", Confirm(None, "246813")),
        ("NO", Cancel(None)),
        ("LANG it", SetLanguage(EN, IT)),
        ("lingua EN", SetLanguage(IT, EN)),
        ("LINGUA italiano", SetLanguage(IT, IT)),
    ],
)
def test_every_command_parses_in_both_languages(text, command):
    """Each keyword, English or Italian, any case and spacing, gives its command."""
    assert parse(text) == command


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("", "help"), ("   ", "help"), ("hello", "help"), ("SEND", "send"), ("SEND 5", "send"),
        ("INVIA 5", "send"), ("PIN", "pin"), ("PIN 12", "pin"), ("PIN 1234 12", "pin"), ("PIN abcd", "pin"),
        ("UNDO", "undo"), ("ANNULLA a b", "undo"), ("OK", "help"), ("OK 12", "help"), ("BAL now", "help"),
        ("123", "help"), ("1234567", "help"), ("HIST 3", "help"), ("💸💸", "help"), ("LANG", "language"),
        ("LINGUA fr", "language"), ("LANG en it", "language"),
    ],
)  # fmt: skip
def test_malformed_commands_say_which_help_to_give(text, topic):
    """Anything that is not a whole command is Malformed, pointing at the help that fits."""
    found = parse(text)
    assert isinstance(found, Malformed)
    assert found.topic == topic


@given(st.text(max_size=600))
def test_parse_never_raises(text):
    """Whatever arrives, parsing answers a command."""
    assert isinstance(parse(text), model.Command)


@pytest.mark.parametrize(
    ("text", "units"),
    [("5", 5_000_000), ("5.50", 5_500_000), ("5,50", 5_500_000), ("0,001", 1_000), ("€5", 5_000_000),
     ("5eur", 5_000_000), ("0.000001", 1)],
)  # fmt: skip
def test_amounts_as_people_type_them(text, units):
    """Whole, dot and Italian comma decimals, with a euro sign or code, parse exactly."""
    assert model.parse_amount(text, EUR).units == units


@pytest.mark.parametrize(
    "text", ["0", "0,00", "-5", "5.0000001", "1e3", "5.5.5", "5,50,1", "five", "", "1 000", "nan", "0x10"]
)
def test_bad_amounts_are_refused_not_rounded(text):
    """Zero, negatives, too many decimals and anything not a plain amount are InvalidSmsAmount."""
    with pytest.raises(InvalidSmsAmount):
        model.parse_amount(text, EUR)


@given(st.text(max_size=40))
def test_parse_amount_raises_only_its_own_error(text):
    """Any text is an amount or InvalidSmsAmount: no other exception escapes."""
    with contextlib.suppress(InvalidSmsAmount):
        model.parse_amount(text, EUR)


def test_recipients_are_normalised():
    """An email is lower-cased; a national number takes the sender's country code."""
    assert model.normalize_recipient("Bob@Example.com", "+393331234567") == "bob@example.com"
    assert model.normalize_recipient("3337654321", "+393331234567") == "+393337654321"
    assert model.normalize_recipient("+447911123456", "+393331234567") == "+447911123456"
    for bad in ("12", "+999", "bob@", "not a number"):
        with pytest.raises(InvalidRecipient):
            model.normalize_recipient(bad, "+393331234567")


@pytest.mark.parametrize("pin", ["1111", "1234", "4321", "987654", "000000", "12", "1234567", "12a4"])
def test_weak_or_malformed_pins_are_refused(pin):
    """All-same digits, straight runs and wrong lengths are not PINs."""
    with pytest.raises(WeakPin):
        model.check_pin(pin)


def test_masks_hide_most_of_a_name_and_number():
    """A confirmation shows enough to catch a wrong number, not enough to read a name or harvest numbers."""
    assert model.mask_name("Alice Verdi Rossi") == "Al*** Ve***"
    assert model.mask_name("") == "?"
    assert model.mask_phone("+393331234567") == "+39*******567"


def test_limits_are_checked_in_order():
    """Per send first, then the day's total, then the hour's count."""
    limits = {"send_max": 100, "day_max": 150, "per_hour": 2}
    assert model.broken_limit(101, 0, 0, **limits) == (model.Limit.PER_SEND, 100)
    assert model.broken_limit(60, 100, 0, **limits) == (model.Limit.PER_DAY, 150)
    assert model.broken_limit(50, 100, 2, **limits) == (model.Limit.PER_HOUR, 2)
    assert model.broken_limit(50, 100, 1, **limits) is None


# Realistic worst cases: the longest values these fields take in practice.
WORST = {
    "amount": "€1,000.00", "fee": "€10.00", "name": "Ma*** Ro***", "phone": "+44*********123",
    "ref": "K7M2QX", "until": "30 Sept 2026, 23:59", "days": 7, "available": "€99,999.99",
    "reserved": "€99,999.99", "held": " (€99,999.99 held)", "left": 2, "max": "€1,000.00",
    "new": " (new number: lower limits for 24 h)", "status": "waiting to be claimed",
    "claimed": " €1,000.00 sent to you is now yours.", "balance": " Bal €99,999.99.", "code": "123456",
    "lines": "30 Sept -€1,000.00 Correction Ma*** Ro***; 30 Sept +€1,000.00 Payment Ma*** Ro***; "
    "30 Sept -€1,000.00 Payment Ma*** Ro***",
}  # fmt: skip
WORST_IT = {
    "amount": "1.000,00 €", "fee": "10,00 €", "until": "30 set 2026, 23:59", "available": "99.999,99 €",
    "reserved": "99.999,99 €", "held": " (99.999,99 € riservati)", "max": "1.000,00 €",
    "new": " (numero nuovo: limiti ridotti per 24 h)", "status": "in attesa di ritiro",
    "claimed": " 1.000,00 € inviati a te sono tuoi.", "balance": " Saldo 99.999,99 €.",
    "lines": "30 set -1.000,00 € Commissione Ma*** Ro***; 30 set +1.000,00 € Pagamento Ma*** Ro***; "
    "30 set -1.000,00 € Pagamento Ma*** Ro***",
}  # fmt: skip


@pytest.mark.parametrize("key", sorted(texts.MESSAGES))
@pytest.mark.parametrize("lang", [EN, IT])
def test_every_reply_fits_one_gsm7_message(key, lang):
    """Each reply, filled with realistic worst-case values, is GSM-7 and at most 160 characters."""
    values = dict(WORST)
    if lang is IT:
        values.update(WORST_IT)
    text = texts.say(key, lang, **values)
    assert texts.gsm7_length(text) is not None, text
    assert texts.fits_one_sms(text), f"{len(text)}: {text}"


def test_gsm7_counts_extension_characters_twice():
    """The euro sign and brackets take two septets; anything outside GSM-7 is reported."""
    assert texts.gsm7_length("5€") == 3
    assert texts.gsm7_length("[a]") == 5
    assert texts.gsm7_length("caffè") == 5
    assert texts.gsm7_length("ок") is None
    assert set(model.REF_ALPHABET) <= set(string.ascii_uppercase + string.digits)
