"""Every SMS a person reads is in their language, kept on the account: each command and each
refusal, the notices sent to others (receipts, invitations, returns, operator rulings), the
sign-in code. A whole conversation is run for an Italian account and for an English one, and
every text fails the test if it holds a sentence of the other language, a raw code, or an
amount not formatted for the reader (six decimals, "EUR", the other language's separators).
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import uuid

import pytest

from obolo.ledger.check import check_ledger
from obolo.settings import FeeRule, Settings
from obolo.sms import undo_requests
from obolo.tap.model import Mode
from obolo.tap.service import Credential, TapIn
from tests.integration.checkout_helpers import merchant, terms
from tests.integration.sms_helpers import ALICE, BOB, CARD, Phone, eur, ref_in, sms_platform

DAY = 86_400
CARD_UID = bytes.fromhex("04A1B2C3D4E5F6")
HIST_WORDS = {
    "it": ("Acquisto", "Rimborso", "Corsa", "Pagamento"),
    "en": ("Purchase", "Refund", "Fare", "Payment"),
}
SETTINGS = Settings(
    fees={
        "payment": FeeRule(), "topup": FeeRule(), "withdrawal": FeeRule(), "checkout": FeeRule(100, 0),
        "sms": FeeRule(100, 0),
    }
)  # fmt: skip
# Numbers unknown to the platform get their first text in the language of their country.
STRANGERS = {
    "it": ("+393401112233", "+393479998877", "+393289990001"),
    "en": ("+14155552671", "+12025550143", "+12025550144"),
}
KEYWORDS = {
    "en": {"join": "JOIN", "bal": "BAL", "send": "SEND", "hist": "HIST", "help": "HELP", "undo": "UNDO",
           "return": "RETURN", "pay": "PAY", "on": "ON", "off": "OFF", "lang": "LANG", "start": "START"},
    "it": {"join": "REGISTRA", "bal": "SALDO", "send": "INVIA", "hist": "STORICO", "help": "AIUTO",
           "undo": "ANNULLA", "return": "RESTITUISCI", "pay": "PAGA", "on": "SI", "off": "NO",
           "lang": "LINGUA", "start": "AVVIA"},
}  # fmt: skip

# Words that give a sentence away as English, or as Italian. Commands (all capitals), masked
# names and the brand are not words of either.
ENGLISH = set(
    [
        "the",
        "you",
        "your",
        "sent",
        "received",
        "balance",
        "wallet",
        "payment",
        "reward",
        "fee",
        "with",
        "from",
        "money",
        "held",
        "back",
        "was",
        "has",
        "this",
        "will",
        "sorry",
        "amount",
        "number",
        "reversed",
        "reserved",
        "claimed",
        "attempts",
        "wrong",
        "limit",
        "daily",
        "available",
        "enough",
        "first",
        "choose",
        "reply",
        "cancelled",
        "expired",
        "welcome",
        "nothing",
        "waiting",
        "request",
        "paid",
        "task",
        "top-up",
        "correction",
    ]
)
ITALIAN = set(
    [
        "il",
        "lo",
        "la",
        "di",
        "hai",
        "sono",
        "non",
        "saldo",
        "commissione",
        "inviati",
        "ricevuto",
        "portafoglio",
        "pagamento",
        "rif",
        "nessun",
        "scrivi",
        "rispondi",
        "importo",
        "entro",
        "ti",
        "tuoi",
        "riservati",
        "errato",
        "tentativi",
        "spiacenti",
        "benvenuto",
        "ricarica",
        "compenso",
        "trattenuti",
        "stornato",
        "annullato",
        "richiesta",
    ]
)
ALLOWED = {"Obolo", "PIN", "OK", "NO", "STOP", "UTC", "Bonus", "English", "italiano"}
RAW_CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
MANY_DECIMALS = re.compile(r"\d[.,]\d{4,}")
TYPED = re.compile(r"\b[A-Z]{3,} \d+(?:[.,]\d+)?")


def problems(text: str, lang: str) -> list[str]:
    """What in `text` a reader of `lang` should not read. A command shown as typed ("SEND 5.50")
    is an example of what to type, not an amount shown."""
    text = TYPED.sub("", text)
    found = []
    words = {w for w in re.findall(r"[A-Za-zÀ-ÿ'-]+", text) if not w.isupper() and w not in ALLOWED}
    foreign = ENGLISH if lang == "it" else ITALIAN
    found += [f"foreign word {w!r}" for w in words if w.lower().strip("'") in foreign]
    found += [f"raw code {c!r}" for c in RAW_CODE.findall(text)]
    found += [f"unformatted amount {a!r}" for a in MANY_DECIMALS.findall(text)]
    if "EUR" in text:
        found.append("asset code instead of €")
    if lang == "it":
        # Italian: "1.234,50 €"; an English "€1.50" or "1.50" is unformatted.
        found += [f"English amount {a!r}" for a in re.findall(r"€\d|(?<![\d.])\d+\.\d{2}(?!\d)", text)]
        found += [f"amount without € {a!r}" for a in re.findall(r"\d+,\d{2,}(?!\d* €)", text)]
    else:
        # English: "€1,234.50"; an Italian "1,50 €" or a bare "1.50" is unformatted.
        found += [f"Italian amount {a!r}" for a in re.findall(r"\d €|(?<![\d,])\d+,\d{2}(?!\d)", text)]
        found += [f"amount without € {a!r}" for a in re.findall(r"(?<![€\d,.])\d[\d,]*\.\d{2,}", text)]
    return found


@pytest.fixture
def world(db_url, clock):
    platform, gateway = sms_platform(db_url, clock, SETTINGS)
    yield platform, gateway
    assert check_ledger(platform.engine) == []
    platform.close()


def conversation(platform, gateway, clock, lang: str) -> list[str]:
    """Every command and refusal, and every notice they cause, for people who read `lang`;
    all the texts read, in order."""
    k = KEYWORDS[lang]
    carol_number, dora_number, erin_number = STRANGERS[lang]
    read: list[str] = []

    def say(phone: Phone, body: str, code: str = "ok") -> str:
        reply = phone.say(body)
        assert reply.code == code, (body, reply)
        read.append(reply.text)
        return reply.text

    alice_id = platform.identity.sign_up(
        "alice@example.com", "alice password 1", "Alice Verdi", ALICE, language=lang
    ).id
    platform.wallets.top_up(alice_id, eur("100.00"), CARD)
    alice, bob = Phone(platform, ALICE), Phone(platform, BOB)
    carol, dora = Phone(platform, carol_number), Phone(platform, dora_number)
    stranger = Phone(platform, "+393289990000" if lang == "it" else "+14155550100")
    # registration, help, malformed
    say(stranger, k["bal"], "sms_not_registered")
    say(stranger, f"{k['join']} ACDE3479", "sms_invalid_link_code")
    code, _ = platform.sms.link_code(alice_id)
    say(alice, "JOIN " + code)  # a link answers in the account's language, whatever the keyword
    say(bob, f"{k['join']} Bob Rossi")
    say(bob, k["join"], "sms_already_registered")
    say(alice, k["help"])
    for body in ("ciao hello", f"{k['send']} 5", "PIN 12", k["undo"], f"{k['lang']} fr"):
        say(alice, body, "malformed")
    # PINs
    say(bob, "PIN 1357")
    say(alice, "PIN 1111", "sms_weak_pin")
    say(alice, "PIN 2468")
    say(alice, "PIN 2468", "sms_pin_already_set")
    say(alice, "PIN 1111 9753", "sms_wrong_pin")
    say(alice, "PIN 2468 9753")
    say(alice, "PIN 9753 2468")
    clock.advance(DAY + 1)
    # reads
    say(bob, k["hist"])
    say(alice, k["bal"])
    say(alice, f"{k['bal']} {k['on']}")
    # sending, and its refusals
    say(alice, f"{k['send']} 5,50x {BOB}", "sms_invalid_amount")
    say(alice, f"{k['send']} 5 ciao", "sms_invalid_recipient")
    say(alice, f"{k['send']} 5 nobody@example.com", "recipient_not_found")
    say(alice, f"{k['send']} 5 {ALICE}", "cannot_pay_yourself")
    say(alice, f"{k['send']} 1000 {BOB}", "sms_limit")
    say(alice, f"{k['send']} 5,50 {BOB} pizza")
    say(alice, "NO")
    say(alice, "NO", "sms_nothing_to_confirm")
    say(alice, f"{k['send']} 5,50 {BOB} pizza")
    say(alice, "1111", "sms_wrong_pin")
    paid = say(alice, "2468")
    say(bob, f"{k['send']} 40 {ALICE}")
    say(bob, "1357", "insufficient_funds")
    say(alice, f"{k['send']} 2 {BOB}")
    clock.advance(301)
    say(alice, "2468", "sms_confirmation_expired")
    say(alice, k["hist"])
    # mistakes
    say(alice, f"{k['undo']} {ref_in(paid)}")
    say(alice, f"{k['undo']} {ref_in(paid)}", "sms_cannot_undo")
    say(alice, f"{k['undo']} QQQQQQ", "sms_unknown_reference")
    say(alice, f"{k['send']} 3 {BOB}")
    late = say(alice, "2468")
    clock.advance(601)
    say(alice, f"{k['undo']} {ref_in(late)}")
    say(bob, f"{k['return']} {ref_in(late)}")
    say(bob, "NO")
    say(alice, f"{k['send']} 4 {BOB}")
    ruled = say(alice, "2468")
    clock.advance(601)
    say(alice, f"{k['undo']} {ref_in(ruled)}")
    operator = platform.identity.sign_up("op@example.com", "operator password 1", "Operator").id
    for request in undo_requests.open_requests(platform.sms):
        undo_requests.decide(platform.sms, operator, request.send_id, reverse=request.ref == ref_in(ruled))
    # money for numbers not yet on Obolo, a first large payment held
    say(alice, f"{k['send']} 3 {carol_number}")
    say(alice, "2468")
    say(carol, k["join"])
    say(dora, f"{k['join']} Dora")
    say(dora, "PIN 7391")
    say(alice, f"{k['send']} 60 {dora_number}")
    say(alice, "2468")
    clock.advance(901)
    platform.sms.release_due()
    say(alice, f"{k['send']} 2 {erin_number}")  # never claimed: it comes back
    say(alice, "2468")
    clock.advance(8 * DAY)
    platform.sms.release_due()
    say(carol, k["hist"])  # the money that waited for the number, claimed
    say(alice, k["hist"])  # ... and the money nobody claimed, back
    # a shop's payment request, partly refunded; a card tapped at a shop's till
    say(alice, f"{k['pay']} ZZZZZZ")
    seller, shop = merchant(platform)
    request = platform.checkout.create(seller, shop, terms("20.00"), "EUR")
    say(alice, f"{k['pay']} {request.sms_code}")
    say(alice, "2468")
    say(alice, k["hist"])
    platform.checkout.refund(seller, request.id, eur("5.00"), "scratch")
    tap_at_a_till(platform, alice_id, seller, "1.20")
    say(alice, k["hist"])
    # lockout, opting out, the language itself, signing in by phone
    say(bob, "PIN 1111 9753", "sms_wrong_pin")
    say(bob, "PIN 1111 9753", "sms_wrong_pin")
    say(bob, "PIN 1111 9753", "sms_locked")
    say(bob, f"{k['send']} 1 {ALICE}", "sms_locked")
    say(alice, "STOP")
    say(alice, k["start"])
    say(alice, f"{k['bal']} {k['off']}")
    say(alice, f"{k['lang']} {lang}")
    read.append(platform.phone_sign_in.request_code(BOB, "127.0.0.1").body)
    return read + [body for _, body in gateway.sent]


def tap_at_a_till(platform, rider: str, owner: str, amount: str) -> None:
    """The rider's card, linked now, tapped once at a till of the owner's new shop."""
    shop = platform.tap.register_merchant(
        owner, "Corner Cafe", "https://cafe.example", Mode.RETAIL, "EUR", offline_limit=eur("5.00").units
    )
    till, key = platform.tap.register_terminal(owner, shop.id, "till", Mode.RETAIL)
    platform.tap.link_card(rider, CARD_UID, "blue card")
    tapped = platform.tap.tap(
        Credential(till.id, api_key=key), TapIn(str(uuid.uuid4()), CARD_UID, eur(amount).units)
    )
    assert tapped.charged == eur(amount).units


@pytest.mark.parametrize("lang", ["it", "en"])
def test_every_sms_is_in_the_readers_language_with_amounts_formatted(world, clock, lang):
    """An account reading `lang` reads every reply, refusal and notice in `lang`: no sentence of
    the other language, no raw code, every amount formatted for it; its history names each
    kind of movement in `lang`."""
    platform, gateway = world
    texts = conversation(platform, gateway, clock, lang)
    assert len(texts) > 80
    found = {text: problems(text, lang) for text in texts if problems(text, lang)}
    assert found == {}
    # HIST names a shop's payment, its refund, a tap and money claimed or returned in `lang`.
    lines = " ".join(text for text in texts if text.startswith(("Last:", "Ultimi:")))
    assert [word for word in HIST_WORDS[lang] if word not in lines] == []


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Hai ricevuto 15.70 EUR da Bo*** Ro***.", "it"),
        ("Fondi insufficienti: disponibili 4.000000 €.", "it"),
        ("Rif K7M2QX è già reward.", "it"),
        ("Pagamento rifiutato (card_declined).", "it"),
        ("You received 15,70 € from Bo*** Ro***.", "en"),
        ("Saldo: €4.00.", "en"),
        ("Sent 5.50 to Bo*** Ro***.", "en"),
    ],
)
def test_the_checker_catches_what_it_looks_for(text, lang):
    """The check itself fails on an English word, a raw code, six decimals, EUR, the wrong style."""
    assert problems(text, lang) != []


@pytest.mark.parametrize("lang", ["it", "en"])
def test_notices_by_text_follow_the_account_language(world, clock, lang):
    """Someone who joined by SMS (no email) is told by text when money they sent to a number
    without an account comes back, in their language; the invitation goes out in the invited
    number's country's language (+39: Italian)."""
    platform, gateway = world
    k = KEYWORDS[lang]
    bob = Phone(platform, BOB)
    assert bob.say(f"{k['join']} Bob Rossi").code == "ok"
    bob_id = platform.sms.number(BOB).user_id
    platform.wallets.top_up(bob_id, eur("10.00"), CARD)
    nobody = "+393339990001"
    platform.wallets.pay(bob_id, nobody, eur("1.50"))
    platform.sms.deliver_outbox()
    (invitation,) = gateway.to(nobody)
    assert "ti ha inviato 1,50 € con Obolo" in invitation
    clock.advance(platform.settings.invite_claim_seconds + 1)
    assert platform.invitations.return_due() == 1
    platform.sms.deliver_outbox()
    notice = gateway.to(BOB)[-1]
    assert ("Nessuno ha ritirato i 1,50 €" if lang == "it" else "Nobody claimed the €1.50") in notice
    assert problems(notice, lang) == []
