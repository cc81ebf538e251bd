"""SMS rules, pure: text in, a command out; values in, a reply out. No I/O, no clock.

`parse` is total: whatever arrives (any length, any characters) it answers a command, and
`Malformed` when it cannot make one out, so a stray message never raises.
"""

from __future__ import annotations

import enum
import itertools
import re
from dataclasses import dataclass

import phonenumbers

from obolo.money import Amount, Asset, MoneyError, parse_units
from obolo.sms.errors import InvalidRecipient, InvalidSmsAmount, WeakPin

MAX_NOTE = 40
MAX_BODY = 480  # three concatenated messages; past this a body is cut before parsing
REF_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"  # no 0/O, 1/I/L, 2/Z, 5/S, 8/B mix-ups
REF_LENGTH = 6
LINK_CODE_LENGTH = 8


class Lang(enum.StrEnum):
    EN = "en"
    IT = "it"


# -- commands -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Command:
    lang: Lang | None  # None: the keyword does not say (PIN, OK, a bare PIN); use the number's


@dataclass(frozen=True, slots=True)
class Balance(Command):
    receipts: bool | None = None  # BAL ON / BAL OFF: put the balance in receipts or not


@dataclass(frozen=True, slots=True)
class Send(Command):
    amount: str = ""
    to: str = ""
    note: str | None = None


@dataclass(frozen=True, slots=True)
class History(Command):
    pass


@dataclass(frozen=True, slots=True)
class Help(Command):
    pass


@dataclass(frozen=True, slots=True)
class SetPin(Command):
    old: str | None = None  # None: the first PIN
    new: str = ""


@dataclass(frozen=True, slots=True)
class Stop(Command):
    pass


@dataclass(frozen=True, slots=True)
class Start(Command):
    pass


@dataclass(frozen=True, slots=True)
class Join(Command):
    name: str | None = None
    code: str | None = None  # a link code from the account's API: JOIN <code> links this number


@dataclass(frozen=True, slots=True)
class Undo(Command):
    ref: str = ""


@dataclass(frozen=True, slots=True)
class Return(Command):
    ref: str = ""


@dataclass(frozen=True, slots=True)
class Confirm(Command):
    pin: str = ""


@dataclass(frozen=True, slots=True)
class Cancel(Command):
    pass


@dataclass(frozen=True, slots=True)
class PayRequest(Command):
    """PAY <code> / PAGA <code>: pay a shop's payment request (its SMS code)."""

    code: str = ""


@dataclass(frozen=True, slots=True)
class SetLanguage(Command):
    """LANG en|it / LINGUA it|en: the language the account reads (SMS, pages, notices)."""

    chosen: Lang = Lang.EN


@dataclass(frozen=True, slots=True)
class Malformed(Command):
    topic: str = "help"  # which help to answer with: help, send, pin, undo, language


_KEYWORDS: dict[str, tuple[str, Lang | None]] = {
    "BAL": ("balance", Lang.EN), "BALANCE": ("balance", Lang.EN), "SALDO": ("balance", Lang.IT),
    "SEND": ("send", Lang.EN), "PAY": ("send", Lang.EN),
    "INVIA": ("send", Lang.IT), "PAGA": ("send", Lang.IT),
    "HIST": ("history", Lang.EN), "HISTORY": ("history", Lang.EN), "STORICO": ("history", Lang.IT),
    "HELP": ("help", Lang.EN), "AIUTO": ("help", Lang.IT), "INFO": ("help", None),
    "PIN": ("pin", None),
    "STOP": ("stop", None), "BASTA": ("stop", Lang.IT),
    "START": ("start", Lang.EN), "AVVIA": ("start", Lang.IT),
    "JOIN": ("join", Lang.EN), "REGISTRA": ("join", Lang.IT),
    "UNDO": ("undo", Lang.EN), "ANNULLA": ("undo", Lang.IT),
    "RETURN": ("return", Lang.EN), "RESTITUISCI": ("return", Lang.IT),
    "OK": ("confirm", None), "NO": ("cancel", None), "CANCEL": ("cancel", Lang.EN),
    "LANG": ("language", Lang.EN), "LANGUAGE": ("language", Lang.EN), "LINGUA": ("language", Lang.IT),
}  # fmt: skip
_LANGUAGE_NAMES: dict[str, Lang] = {
    "EN": Lang.EN, "ENG": Lang.EN, "ENGLISH": Lang.EN, "INGLESE": Lang.EN,
    "IT": Lang.IT, "ITA": Lang.IT, "ITALIAN": Lang.IT, "ITALIANO": Lang.IT,
}  # fmt: skip
_PIN = re.compile(r"[0-9]{4,6}")
# At least one digit, so a name after JOIN is not taken for a code.
_LINK_CODE = re.compile(f"(?=.*[0-9])[{REF_ALPHABET}]{{{LINK_CODE_LENGTH}}}")
# A payment request's SMS code (obolo.checkout.model.SMS_ALPHABET, six of them): one word
# after PAY, where a send needs two (an amount and a recipient).
_REQUEST_CODE = re.compile(r"[A-HJ-NP-Z2-9]{6}")
_ON = {"ON", "SI", "SÌ", "YES"}
_OFF = {"OFF", "NO"}


def parse(text: str) -> Command:
    """The command a message asks for. Case and extra spaces do not matter; anything that
    is not a command is `Malformed` (never an exception)."""
    words = text[:MAX_BODY].split()
    if not words:
        return Malformed(None)
    keyword = words[0].upper()
    if _PIN.fullmatch(keyword) and len(words) == 1:
        return Confirm(None, keyword)
    kind, lang = _KEYWORDS.get(keyword, ("", None))
    rest = words[1:]
    if kind == "balance":
        if not rest:
            return Balance(lang)
        switch = rest[0].upper()
        if len(rest) == 1 and switch in _ON | _OFF:
            return Balance(lang, switch in _ON)
        return Malformed(lang, "help")
    if kind == "send":
        if len(rest) == 1 and _REQUEST_CODE.fullmatch(rest[0].upper()):
            return PayRequest(lang, rest[0].upper())
        if len(rest) < 2:
            return Malformed(lang, "send")
        note = " ".join(rest[2:])[:MAX_NOTE] or None
        return Send(lang, rest[0], rest[1], note)
    if kind in ("history", "help", "stop", "start", "cancel"):
        if rest and kind != "help":
            return Malformed(lang, "help")
        return {"history": History, "help": Help, "stop": Stop, "start": Start, "cancel": Cancel}[kind](lang)
    if kind == "pin":
        if len(rest) == 1 and _PIN.fullmatch(rest[0]):
            return SetPin(lang, None, rest[0])
        if len(rest) == 2 and all(_PIN.fullmatch(w) for w in rest):
            return SetPin(lang, rest[0], rest[1])
        return Malformed(lang, "pin")
    if kind == "join":
        if len(rest) == 1 and _LINK_CODE.fullmatch(rest[0].upper()):
            return Join(lang, None, rest[0].upper())
        name = " ".join(rest)[:60].strip() or None
        return Join(lang, name)
    if kind in ("undo", "return"):
        if len(rest) != 1 or not 3 <= len(rest[0]) <= 12:
            return Malformed(lang, "undo")
        cls = Undo if kind == "undo" else Return
        return cls(lang, rest[0].upper())
    if kind == "language":
        chosen = _LANGUAGE_NAMES.get(rest[0].upper()) if len(rest) == 1 else None
        return SetLanguage(lang, chosen) if chosen else Malformed(lang, "language")
    if kind == "confirm":
        if len(rest) == 1 and _PIN.fullmatch(rest[0]):
            return Confirm(None, rest[0])
        return Malformed(lang, "help")
    return Malformed(None, "help")


# -- values ---------------------------------------------------------------------------------

_AMOUNT = re.compile(r"([0-9]{1,12})(?:[.,]([0-9]{1,18}))?")


def is_link_code(text: str) -> bool:
    return _LINK_CODE.fullmatch(text) is not None


def parse_amount(text: str, asset: Asset) -> Amount:
    """An amount as people type it: "5", "5.50", or "5,50" with the Italian comma; a
    euro sign or the asset's code around it is allowed. Never rounds: too many decimals,
    zero, negatives and anything else raise InvalidSmsAmount."""
    cleaned = text.strip().removeprefix("€").removesuffix("€")
    cleaned = cleaned.upper().removesuffix(asset.code).strip()
    match = _AMOUNT.fullmatch(cleaned)
    if match is None:
        raise InvalidSmsAmount("not an amount")
    whole, fraction = match.group(1), match.group(2)
    try:
        units = parse_units(f"{whole}.{fraction}" if fraction else whole, asset)
    except MoneyError as error:
        raise InvalidSmsAmount("not an amount of this asset") from error
    if units <= 0:
        raise InvalidSmsAmount("the amount must be positive")
    return Amount(units, asset)


def normalize_recipient(text: str, sender_phone: str) -> str:
    """An email (lower case) or an E.164 number; a number without its country code is
    read as being in the sender's country. Raises InvalidRecipient."""
    text = text.strip()
    if "@" in text:
        if len(text) > 254 or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text):
            raise InvalidRecipient("not an email address")
        return text.lower()
    region = phonenumbers.region_code_for_number(phonenumbers.parse(sender_phone, None))
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        raise InvalidRecipient("not a phone number") from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidRecipient("not a phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone(text: str) -> str | None:
    """The gateway's sender number in E.164, or None if it is not a valid number."""
    try:
        number = phonenumbers.parse(text.strip()[:32], None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def language_for(phone: str) -> Lang:
    """The language to greet a number in before it has said anything: Italian for +39."""
    return Lang.IT if phone.startswith("+39") else Lang.EN


def check_pin(pin: str) -> None:
    """4 to 6 digits, not all one digit and not a straight run (1234, 9876): those are
    the first a thief tries. Raises WeakPin."""
    if not _PIN.fullmatch(pin):
        raise WeakPin("a PIN is 4 to 6 digits")
    steps = {int(b) - int(a) for a, b in itertools.pairwise(pin)}
    if len(steps) == 1 and steps <= {-1, 0, 1}:
        raise WeakPin("that PIN is too easy to guess")


def mask_phone(phone: str) -> str:
    """+39*******567: enough to recognise one's own contact, not to harvest numbers."""
    return phone[:3] + "*" * max(0, len(phone) - 6) + phone[-3:]


def mask_name(name: str) -> str:
    """'Alice Rossi' -> 'Al*** Ro***': enough to catch a wrong number, not to read a name."""
    words = [w for w in name.split() if w][:2]
    return " ".join(w[:2] + "***" for w in words)[:20] or "?"


class Limit(enum.StrEnum):
    PER_SEND = "per_send"
    PER_DAY = "per_day"
    PER_HOUR = "per_hour"


def broken_limit(
    amount: int, sent_today: int, sends_this_hour: int, *, send_max: int, day_max: int, per_hour: int
) -> tuple[Limit, int] | None:
    """Which per-number limit `amount` would break, and that limit; None if none."""
    if amount > send_max:
        return Limit.PER_SEND, send_max
    if sent_today + amount > day_max:
        return Limit.PER_DAY, day_max
    if sends_this_hour >= per_hour:
        return Limit.PER_HOUR, per_hour
    return None
