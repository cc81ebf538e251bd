"""SMS rules, pure: text in, a command out; values in, a reply out. No I/O, no clock.

`parse` is total: whatever arrives (any length, any characters) it answers a command, and
`Malformed` when it cannot make one out, so a stray message never raises.
"""

from __future__ import annotations

import enum
import itertools
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import phonenumbers

from obolo.money import Amount, Asset, MoneyError, format_units, parse_units
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
class Malformed(Command):
    topic: str = "help"  # which help to answer with: help, send, pin, undo, join


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


def show(units: int, asset: Asset) -> str:
    """An amount for a person: at least two decimals, more only when they carry value."""
    text = format_units(units, asset)
    if "." not in text:
        return text
    whole, fraction = text.split(".")
    fraction = fraction.rstrip("0").ljust(2, "0")
    return f"{whole}.{fraction}"


def clock_time(ns: int) -> str:
    return datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC).strftime("%H:%M")


def day_month(ns: int) -> str:
    return datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC).strftime("%d/%m")


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


# -- replies --------------------------------------------------------------------------------
# Each fits one 160-character GSM-7 message with realistic values (tests/unit check them
# all); where a value is long (a note) the receipt leaves it out rather than split.

MESSAGES: dict[str, tuple[str, str]] = {
    "help": (
        "Obolo: BAL balance, SEND 5 +39333... [note], HIST last 3, UNDO ref, PIN old new, JOIN to "
        "register, STOP. Reply with your PIN to confirm.",
        "Obolo: SALDO, INVIA 5 +39333... [nota], STORICO ultimi 3, ANNULLA rif, PIN vecchio nuovo, "
        "REGISTRA per iscriverti, STOP. Conferma col PIN.",
    ),
    "help_send": (
        "To send: SEND <amount> <phone or email> [note], e.g. SEND 5,50 +393331234567 pizza",
        "Per inviare: INVIA <importo> <telefono o email> [nota], es. INVIA 5,50 +393331234567 pizza",
    ),
    "help_pin": (
        "To change your PIN: PIN <old> <new>. First PIN: PIN <new>. A PIN is 4-6 digits.",
        "Per cambiare PIN: PIN <vecchio> <nuovo>. Primo PIN: PIN <nuovo>. Il PIN ha 4-6 cifre.",
    ),
    "help_undo": (
        "To undo a send: UNDO <ref>, with the reference from your receipt.",
        "Per annullare un invio: ANNULLA <rif>, con il riferimento della ricevuta.",
    ),
    "not_registered": (
        "This number has no Obolo wallet. Reply JOIN to open one.",
        "Questo numero non ha un portafoglio Obolo. Rispondi REGISTRA per aprirne uno.",
    ),
    "welcome": (
        "Welcome to Obolo! Your wallet is ready.{claimed} Now choose a 4-6 digit PIN: reply PIN <new PIN>.",
        "Benvenuto in Obolo! Il portafoglio e' pronto.{claimed} Ora scegli un PIN di 4-6 cifre: "
        "rispondi PIN <nuovo PIN>.",
    ),
    "claimed_note": (
        " {amount} {asset} sent to you is now yours.",
        " {amount} {asset} inviati a te sono tuoi.",
    ),
    "linked": (
        "This number is now linked to your Obolo account.{claimed} Choose a 4-6 digit PIN: reply "
        "PIN <new PIN>.",
        "Numero collegato al tuo account Obolo.{claimed} Scegli un PIN di 4-6 cifre: rispondi "
        "PIN <nuovo PIN>.",
    ),
    "invalid_link_code": (
        "That link code is wrong or expired. Get a new one from your Obolo account.",
        "Codice di collegamento errato o scaduto. Richiedine uno nuovo dal tuo account Obolo.",
    ),
    "already_registered": (
        "This number already has an Obolo wallet. HELP lists the commands.",
        "Questo numero ha gia' un portafoglio Obolo. AIUTO elenca i comandi.",
    ),
    "pin_set": (
        "PIN set. Send money with SEND <amount> <number>.",
        "PIN impostato. Invia denaro con INVIA <importo> <numero>.",
    ),
    "pin_changed": ("PIN changed.", "PIN cambiato."),
    "pin_not_set": (
        "Set your PIN first: reply PIN <4-6 digits>.",
        "Prima imposta il PIN: rispondi PIN <4-6 cifre>.",
    ),
    "weak_pin": (
        "A PIN is 4-6 digits, not all the same or in a row (like 1234). Try another.",
        "Il PIN ha 4-6 cifre, non tutte uguali o in fila (come 1234). Provane un altro.",
    ),
    "wrong_pin": ("Wrong PIN. {left} attempts left.", "PIN errato. Tentativi rimasti: {left}."),
    "locked": (
        "Too many wrong PINs: sending is locked until {until} UTC. If this was not you, contact support.",
        "Troppi PIN errati: invii bloccati fino alle {until} UTC. Se non eri tu, contatta l'assistenza.",
    ),
    "balance": ("Balance: {available} {asset}{held}.", "Saldo: {available} {asset}{held}."),
    "balance_held": (" ({reserved} held)", " ({reserved} riservati)"),
    "balance_on": ("Receipts will show your balance.", "Le ricevute mostreranno il saldo."),
    "balance_off": ("Receipts will not show your balance.", "Le ricevute non mostreranno il saldo."),
    "history": ("Last: {lines}", "Ultimi: {lines}"),
    "history_empty": ("No movements yet.", "Nessun movimento."),
    "confirm": (
        "Send {amount} {asset} to {name} {phone}? Fee {fee}. Reply your PIN within 5 min, or NO to cancel.",
        "Inviare {amount} {asset} a {name} {phone}? Commissione {fee}. Rispondi col PIN entro 5 min, o NO.",
    ),
    "confirm_invite": (
        "{phone} is not on Obolo: send {amount} {asset} (fee {fee}) for them to claim in {days} days? "
        "Reply your PIN within 5 min, or NO.",
        "{phone} non e' su Obolo: inviare {amount} {asset} (comm. {fee}) da ritirare in {days} giorni? "
        "Rispondi col PIN entro 5 min, o NO.",
    ),
    "cancelled": ("Cancelled. No money moved.", "Annullato. Nessun movimento di denaro."),
    "nothing_to_confirm": (
        "Nothing is waiting for a PIN. To send: SEND <amount> <number>.",
        "Niente da confermare. Per inviare: INVIA <importo> <numero>.",
    ),
    "expired": (
        "That request expired (5 min). No money moved. Send it again.",
        "Richiesta scaduta (5 min). Nessun movimento. Invia di nuovo.",
    ),
    "sent": (
        "Sent {amount} {asset} to {name}. Fee {fee}. Ref {ref}. Wrong? UNDO {ref} within 10 min.{balance}",
        "Inviati {amount} {asset} a {name}. Comm. {fee}. Rif {ref}. Errore? ANNULLA {ref} entro 10 min."
        "{balance}",
    ),
    "held": (
        "First payment to {name}: {amount} {asset} held until {until} UTC, then paid. Ref {ref}. "
        "UNDO {ref} cancels it.",
        "Primo pagamento a {name}: {amount} {asset} trattenuti fino alle {until} UTC, poi pagati. "
        "Rif {ref}. ANNULLA {ref} per annullare.",
    ),
    "invite_sent": (
        "{amount} {asset} held for {phone}: they have {days} days to claim it, else it comes back. "
        "Ref {ref}. UNDO {ref} cancels.",
        "{amount} {asset} trattenuti per {phone}: ha {days} giorni per ritirarli, poi tornano a te. "
        "Rif {ref}. ANNULLA {ref}.",
    ),
    "received": (
        "You received {amount} {asset} from {name}, fee {fee}. Ref {ref}.{balance}",
        "Hai ricevuto {amount} {asset} da {name}, commissione {fee}. Rif {ref}.{balance}",
    ),
    "invitation": (
        "{name} sent you {amount} {asset} with Obolo. Reply JOIN within {days} days to claim it. Ref {ref}. "
        "STOP to opt out.",
        "{name} ti ha inviato {amount} {asset} con Obolo. Rispondi REGISTRA entro {days} giorni per "
        "ritirarli. Rif {ref}. STOP per non ricevere.",
    ),
    "claimed": (
        "{phone} claimed the {amount} {asset} you sent. Ref {ref}.",
        "{phone} ha ritirato i {amount} {asset} che hai inviato. Rif {ref}.",
    ),
    "returned": (
        "{phone} did not claim {amount} {asset} in {days} days: it is back in your wallet. Ref {ref}."
        "{balance}",
        "{phone} non ha ritirato {amount} {asset} in {days} giorni: sono tornati a te. Rif {ref}.{balance}",
    ),
    "undone": (
        "Ref {ref} reversed: {amount} {asset} is back in your wallet.{balance}",
        "Rif {ref} stornato: {amount} {asset} sono tornati nel portafoglio.{balance}",
    ),
    "undone_recipient": (
        "The {amount} {asset} from {name} (ref {ref}) was sent by mistake and has been reversed.",
        "I {amount} {asset} da {name} (rif {ref}) erano un errore e sono stati stornati.",
    ),
    "undo_requested": (
        "Ref {ref} can no longer be undone by itself. Request recorded: we asked the recipient to return "
        "it; an operator may review.",
        "Rif {ref} non si puo' piu' annullare da solo. Richiesta registrata: abbiamo chiesto al destinatario "
        "di restituirlo.",
    ),
    "reversed_sender": (
        "Support reversed your {amount} {asset} to {name} (ref {ref}).{balance}",
        "L'assistenza ha stornato i tuoi {amount} {asset} a {name} (rif {ref}).{balance}",
    ),
    "reversed_recipient": (
        "Support reversed the {amount} {asset} from {name} (ref {ref}): it was sent by mistake.",
        "L'assistenza ha stornato i {amount} {asset} da {name} (rif {ref}): erano un errore.",
    ),
    "undo_declined": (
        "Support reviewed your request to undo ref {ref}: the payment stands.",
        "L'assistenza ha esaminato la richiesta di annullare il rif {ref}: il pagamento resta valido.",
    ),
    "return_asked": (
        "{name} says the {amount} {asset} (ref {ref}) was a mistake. To give it back: RETURN {ref}. "
        "Or ignore this.",
        "{name} dice che i {amount} {asset} (rif {ref}) erano un errore. Per restituirli: RESTITUISCI {ref}. "
        "O ignora.",
    ),
    "cannot_undo": ("Ref {ref} is already {status}.", "Rif {ref} e' gia' {status}."),
    "unknown_ref": (
        "No payment of yours has the reference {ref}.",
        "Nessun tuo pagamento ha il riferimento {ref}.",
    ),
    "limit_per_send": (
        "Over the limit of {max} {asset} per send{new}. No money moved.",
        "Oltre il limite di {max} {asset} per invio{new}. Nessun movimento.",
    ),
    "limit_per_day": (
        "Over the daily limit of {max} {asset}{new}. No money moved.",
        "Oltre il limite giornaliero di {max} {asset}{new}. Nessun movimento.",
    ),
    "limit_per_hour": (
        "Too many sends in the last hour (max {max}). Try again later.",
        "Troppi invii nell'ultima ora (max {max}). Riprova piu' tardi.",
    ),
    "limit_new": (" (new number: lower limits for 24 h)", " (numero nuovo: limiti ridotti per 24 h)"),
    "insufficient": (
        "Not enough money: {available} {asset} available. No money moved.",
        "Fondi insufficienti: disponibili {available} {asset}. Nessun movimento.",
    ),
    "invalid_amount": (
        "Amount not understood: write e.g. 5 or 5.50. No money moved.",
        "Importo non valido: scrivi ad es. 5 o 5,50. Nessun movimento.",
    ),
    "invalid_recipient": (
        "Recipient not understood: write a number like +393331234567 or an email.",
        "Destinatario non valido: scrivi un numero come +393331234567 o una email.",
    ),
    "recipient_not_found": (
        "Nobody on Obolo has that email. Send to their phone number instead.",
        "Nessuno su Obolo ha quella email. Invia al loro numero di telefono.",
    ),
    "pay_yourself": ("You cannot send money to yourself.", "Non puoi inviare denaro a te stesso."),
    "stopped": (
        "You will get no more messages from Obolo except answers to yours. Reply START to undo.",
        "Non riceverai piu' messaggi da Obolo, solo risposte ai tuoi. Rispondi AVVIA per riattivarli.",
    ),
    "started": ("Obolo messages are back on.", "I messaggi Obolo sono riattivati."),
    "sign_in_code": (
        "Obolo: {code} is your code to sign in on the web. It expires in 10 min. Do not share it: "
        "Obolo never asks for it.",
        "Obolo: {code} e' il codice per accedere al sito. Scade tra 10 min. Non darlo a nessuno: "
        "Obolo non lo chiede mai.",
    ),
    "error": (
        "Sorry, something went wrong. No money moved. Please try again later.",
        "Spiacenti, qualcosa e' andato storto. Nessun movimento. Riprova piu' tardi.",
    ),
}

STATUS_WORDS: dict[str, tuple[str, str]] = {
    "paid": ("paid", "pagato"),
    "claimed": ("claimed", "ritirato"),
    "returned": ("returned", "restituito"),
    "cancelled": ("cancelled", "annullato"),
    "undone": ("reversed", "stornato"),
}


def say(key: str, lang: Lang, **params: object) -> str:
    """The reply `key` in `lang`, filled in."""
    english, italian = MESSAGES[key]
    return (italian if lang is Lang.IT else english).format(**params)


def word(status: str, lang: Lang) -> str:
    english, italian = STATUS_WORDS.get(status, (status, status))
    return italian if lang is Lang.IT else english


# GSM 03.38: the basic set costs one septet a character, the extension table two.
_GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = "^{}\\[~]|€\f"


def gsm7_length(text: str) -> int | None:
    """Septets `text` needs in GSM-7, or None if it needs UCS-2 (then 70 characters a message)."""
    length = 0
    for char in text:
        if char in _GSM7_BASIC:
            length += 1
        elif char in _GSM7_EXTENDED:
            length += 2
        else:
            return None
    return length


def fits_one_sms(text: str) -> bool:
    length = gsm7_length(text)
    return length is not None and length <= 160
