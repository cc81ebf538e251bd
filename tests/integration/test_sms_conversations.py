"""Money by SMS, as conversations: registration, sends confirmed by PIN, receipts, lockout,
money for numbers not yet registered, undo, cooling-off, limits, duplicates. Every refusal
asserts its code and that no money moved. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import httpx
import pytest

from obolo.entrypoints.workers import run_once
from obolo.settings import Settings
from obolo.sms.service import holding_account_id
from tests.integration.sms_helpers import (
    ALICE,
    BOB,
    CARD,
    CAROL,
    STRANGER,
    Phone,
    available,
    checked_sms_platform,
    eur,
    ref_in,
    sms_platform,
)

DAY = 86_400


@pytest.fixture
def world(db_url, clock):
    yield from checked_sms_platform(db_url, clock)


@pytest.fixture
def people(world, clock):
    """Alice (a web account with her phone, 100 EUR) and Bob (joined by SMS), both with PINs,
    their numbers verified more than a day ago."""
    platform, _ = world
    alice_id = platform.identity.sign_up("alice@example.com", "alice password 1", "Alice Verdi", ALICE).id
    platform.wallets.top_up(alice_id, eur("100.00"), CARD)
    alice, bob = Phone(platform, ALICE), Phone(platform, BOB)
    code, _ = platform.sms.link_code(alice_id)
    assert alice.say(f"JOIN {code}").text.startswith("This number is now linked to your Obolo account.")
    assert alice.say("PIN 2468").code == "ok"
    assert bob.say("JOIN Bob Rossi").code == "ok"
    assert bob.say("PIN 1357").code == "ok"
    clock.advance(DAY + 1)
    bob_id = platform.sms.number(BOB).user_id
    return alice, bob, alice_id, bob_id


def balances(platform, *user_ids):
    return [available(platform, u) for u in user_ids]


# -- registration ---------------------------------------------------------------------------


def test_join_opens_a_wallet_bound_to_the_number_and_asks_for_a_pin(world):
    """JOIN from a new number creates an account and wallet for it; sending needs a PIN first."""
    platform, _ = world
    carol = Phone(platform, CAROL)
    reply = carol.say("join")
    assert reply.code == "ok"
    assert "PIN" in reply.text
    assert carol.say("BAL").text == "Balance: €0.00."
    refused = carol.say(f"SEND 1 {ALICE}")
    assert refused.code == "sms_pin_not_set"
    assert carol.say("PIN 1111").code == "sms_weak_pin"
    assert carol.say("PIN 4321").code == "sms_weak_pin"
    assert carol.say("PIN 7391").text == "PIN set. Send money with SEND <amount> <number>."
    assert carol.say("JOIN").code == "sms_already_registered"


def test_join_does_not_take_over_a_web_account_that_merely_lists_the_number(world):
    """A number typed on someone's web account is not theirs until proven: JOIN opens a separate wallet."""
    platform, _ = world
    squatter = platform.identity.sign_up("sq@example.com", "squatter pass 1", "Squatter", CAROL).id
    platform.wallets.top_up(squatter, eur("10.00"), CARD)
    carol = Phone(platform, CAROL)
    assert carol.say("JOIN").text.startswith("Welcome to Obolo!")
    carol_id = platform.sms.number(CAROL).user_id
    assert carol_id != squatter
    assert carol.say("BAL").text == "Balance: €0.00."
    assert available(platform, squatter) == 10_000_000


def test_a_link_code_links_the_number_to_that_account_once(world, clock):
    """JOIN <code> from the account's API links the number; a wrong, used or expired code links nothing."""
    platform, _ = world
    dora = platform.identity.sign_up("dora@example.com", "dora password 12", "Dora").id
    carol = Phone(platform, CAROL)
    assert carol.say("JOIN 3ACDEFGH").code == "sms_invalid_link_code"
    code, _ = platform.sms.link_code(dora)
    clock.advance(601)
    assert carol.say(f"JOIN {code}").code == "sms_invalid_link_code"
    code, _ = platform.sms.link_code(dora)
    assert carol.say(f"join {code.lower()}").code == "ok"
    assert platform.sms.number(CAROL).user_id == dora
    assert Phone(platform, STRANGER).say(f"JOIN {code}").code == "sms_invalid_link_code"


def test_registra_answers_in_italian(world):
    """REGISTRA registers too, and the number is then answered in Italian."""
    platform, _ = world
    carol = Phone(platform, CAROL)
    assert carol.say("REGISTRA").text.startswith("Benvenuto in Obolo!")
    assert carol.say("PIN 7391").text.startswith("PIN impostato.")
    assert carol.say("saldo").text == "Saldo: 0,00 €."
    assert carol.say("BAL").text == "Saldo: 0,00 €."  # the account's language, whatever the keyword


def test_commands_from_unregistered_numbers_touch_no_wallet(world, people):
    """A number with no wallet can do nothing but register, even holding the owner's PIN."""
    platform, _ = world
    _, _, alice_id, bob_id = people
    stranger = Phone(platform, STRANGER)
    before = balances(platform, alice_id, bob_id)
    for text in ("BAL", f"SEND 5 {BOB}", "2468", "OK 2468", "HIST", "PIN 2468 9753", "UNDO ABCDEF"):
        assert stranger.say(text).code == "sms_not_registered"
    assert balances(platform, alice_id, bob_id) == before


def test_a_pin_from_another_number_does_not_confirm_the_owners_send(world, people):
    """Alice's waiting send is confirmed only from Alice's number: Bob sending her PIN confirms nothing."""
    platform, _ = world
    alice, bob, alice_id, bob_id = people
    alice.say(f"SEND 5 {BOB}")
    reply = bob.say("2468")
    assert reply.code == "sms_nothing_to_confirm"
    assert balances(platform, alice_id, bob_id) == [100_000_000, 0]


# -- sending ------------------------------------------------------------------------------


def test_send_waits_for_the_pin_then_pays_and_both_get_receipts(world, people):
    """SEND names the masked recipient and amount and moves nothing; the PIN pays; both get a receipt."""
    platform, gateway = world
    alice, _bob, alice_id, bob_id = people
    ask = alice.say(f"SEND 5,50   {BOB}  pizza")
    assert ask.text.startswith("Send €5.50 to Bo*** Ro*** +39*******321? Fee €0.00.")
    assert balances(platform, alice_id, bob_id) == [100_000_000, 0]
    done = alice.say("2468")
    assert done.code == "ok"
    assert done.text.startswith("Sent €5.50 to Bo*** Ro***. Fee €0.00. Ref ")
    assert "Bal" not in done.text  # the balance only when asked for
    assert balances(platform, alice_id, bob_id) == [94_500_000, 5_500_000]
    (receipt,) = gateway.to(BOB)
    assert receipt == f"You received €5.50 from Al*** Ve***, fee €0.00. Ref {ref_in(done.text)}."
    assert alice.say("2468").code == "sms_nothing_to_confirm"  # once only


def test_ok_pin_confirms_and_opted_in_receipts_carry_the_balance(world, people):
    """`OK <PIN>` confirms too; after BAL ON the owner's receipts show their balance, and only theirs."""
    _platform, gateway = world
    alice, bob, *_ = people
    assert alice.say("BAL ON").text == "Receipts will show your balance."
    alice.say(f"SEND 1 {BOB}")
    done = alice.say("ok 2468")
    assert done.text.endswith(" Bal €99.00.")
    assert "Bal" not in gateway.to(BOB)[0]
    assert bob.say("LINGUA it").text.startswith("Obolo ti scriverà in italiano.")
    bob.say("SALDO SI")
    alice.say(f"SEND 2 {BOB}")
    alice.say("2468")
    assert gateway.to(BOB)[-1].endswith(" Saldo 3,00 €.")


def test_italian_send_and_history(world, people):
    """INVIA, STORICO, AIUTO and ANNULLA work and answer in Italian."""
    platform, _ = world
    alice, _, alice_id, _ = people
    assert alice.say(f"INVIA 2,25 {BOB} caffè").text.startswith("Send €2.25 to Bo*** Ro***")  # her language
    alice.say("NO")
    assert alice.say("LINGUA it").code == "ok"
    assert alice.say(f"INVIA 2,25 {BOB} caffè").text.startswith("Inviare 2,25 € a Bo*** Ro***")
    sent = alice.say("2468")
    assert sent.text.startswith("Inviati 2,25 € a Bo*** Ro***. Comm. 0,00 €. Rif ")
    assert alice.say("STORICO").text.startswith("Ultimi: ")
    assert "-2,25 € Pagamento Bo*** Ro***" in alice.say("storico").text
    assert alice.say("AIUTO").text.startswith("Obolo: SALDO, INVIA")
    assert alice.say(f"ANNULLA {ref_in(sent.text)}").text.startswith(f"Rif {ref_in(sent.text)} stornato")
    assert available(platform, alice_id) == 100_000_000


def test_history_lists_the_last_three_movements(world, people):
    """HIST shows the three newest movements, newest first, with sign and masked counterparty."""
    _, _ = world
    alice, *_ = people
    for amount in ("1", "2", "3", "4"):
        alice.say(f"SEND {amount} {BOB}")
        alice.say("2468")
    text = alice.say("HIST").text
    assert text.count(";") == 2
    assert text.index("-€4.00") < text.index("-€3.00") < text.index("-€2.00")
    assert "-€1.00" not in text


def test_history_is_the_ledgers_so_other_products_show_too(world, people):
    """HIST reads the wallet's ledger entries: a hold made by the paywall shows as held,
    a payment from the web as what it is, newest first."""
    platform, _ = world
    alice, _, alice_id, bob_id = people
    from obolo.identity.model import Role
    from obolo.money import EUR, Amount
    from obolo.sdk.payword import HashChain, b64

    platform.identity.add_role(bob_id, Role.PROVIDER)
    provider = platform.paywall.register_provider(bob_id, "Bob's News", "https://news.example").id
    platform.wallets.pay(alice_id, bob_id, Amount.parse("0.25", EUR))
    chain = HashChain.generate(10)
    platform.paywall.open_channel(alice_id, provider, Amount.parse("0.10", EUR), 10, b64(chain.root))
    text = alice.say("HIST").text
    assert text.startswith("Last: ")
    first, second = text.removeprefix("Last: ").split("; ")[:2]
    assert first.endswith("-€1.00 held Reading Bob's News"), text  # a site, by its name
    assert "-€0.25 Payment Bo*** Ro***" in second
    alice.say("LINGUA it")
    assert "-1,00 € riservati Lettura Bob's News" in alice.say("STORICO").text


def test_confirmation_expires_after_five_minutes(world, people, clock):
    """A PIN later than five minutes after SEND moves nothing."""
    platform, _ = world
    alice, _, alice_id, bob_id = people
    alice.say(f"SEND 5 {BOB}")
    clock.advance(301)
    assert alice.say("2468").code == "sms_confirmation_expired"
    assert balances(platform, alice_id, bob_id) == [100_000_000, 0]


def test_no_cancels_the_waiting_send(world, people):
    """NO drops the waiting send; the PIN then confirms nothing."""
    platform, _ = world
    alice, _, alice_id, bob_id = people
    alice.say(f"SEND 5 {BOB}")
    assert alice.say("NO").text == "Cancelled. No money moved."
    assert alice.say("2468").code == "sms_nothing_to_confirm"
    assert balances(platform, alice_id, bob_id) == [100_000_000, 0]


def test_insufficient_funds_is_a_reply_and_moves_nothing(world, people):
    """Sending more than the wallet holds is refused at the PIN, with the available amount."""
    platform, _ = world
    _, bob, alice_id, bob_id = people
    bob.say(f"SEND 5 {ALICE}")
    reply = bob.say("1357")
    assert reply.code == "insufficient_funds"
    assert "€0.00 available" in reply.text
    assert balances(platform, alice_id, bob_id) == [100_000_000, 0]


def test_send_to_oneself_or_unknown_email_is_refused(world, people):
    """Paying oneself, or an email nobody has, is refused before any PIN."""
    platform, _ = world
    alice, _, alice_id, bob_id = people
    assert alice.say(f"SEND 5 {ALICE}").code == "cannot_pay_yourself"
    assert alice.say("SEND 5 alice@example.com").code == "cannot_pay_yourself"
    assert alice.say("SEND 5 nobody@example.com").code == "recipient_not_found"
    assert alice.say("2468").code == "sms_nothing_to_confirm"
    assert balances(platform, alice_id, bob_id) == [100_000_000, 0]


def test_send_by_email_and_national_number(world, people):
    """A registered email, or a number without its country code (read as the sender's country), works."""
    platform, _ = world
    alice, _, _, bob_id = people
    platform.identity.sign_up("dora@example.com", "dora password 12", "Dora")
    assert alice.say("SEND 1 DORA@example.com").text.startswith("Send €1.00 to Do*** do***@example.com?")
    assert alice.say("2468").code == "ok"
    assert alice.say("SEND 1 3337654321").text.startswith("Send €1.00 to Bo*** Ro***")
    alice.say("2468")
    assert available(platform, bob_id) == 1_000_000


# -- PINs -----------------------------------------------------------------------------------


def test_three_wrong_pins_lock_sending_for_thirty_minutes(world, people, clock):
    """Three wrong PINs drop the waiting send and lock sending; even the right PIN waits for the lock."""
    platform, _ = world
    alice, _, alice_id, bob_id = people
    alice.say(f"SEND 5 {BOB}")
    assert alice.say("1111").text == "Wrong PIN. 2 attempts left."
    assert alice.say("OK 2222").text == "Wrong PIN. 1 attempts left."
    locked = alice.say("3333")
    assert locked.code == "sms_locked"
    assert "locked until" in locked.text
    assert alice.say("2468").code == "sms_locked"
    assert alice.say(f"SEND 5 {BOB}").code == "sms_locked"
    assert alice.say("PIN 2468 9753").code == "sms_locked"
    assert balances(platform, alice_id, bob_id) == [100_000_000, 0]
    clock.advance(1801)
    alice.say(f"SEND 5 {BOB}")
    assert alice.say("2468").code == "ok"
    assert balances(platform, alice_id, bob_id) == [95_000_000, 5_000_000]


def test_pin_change_needs_the_old_pin(world, people):
    """PIN old new changes it; a wrong old PIN counts as a wrong PIN and changes nothing."""
    _, _ = world
    alice, *_ = people
    assert alice.say("PIN 1111 9753").code == "sms_wrong_pin"
    assert alice.say("PIN 2468 9753").text == "PIN changed."
    alice.say(f"SEND 1 {BOB}")
    assert alice.say("2468").code == "sms_wrong_pin"
    assert alice.say("9753").code == "ok"


def test_pins_are_stored_hashed(world, people):
    """The stored PIN is an argon2id hash, not the digits."""
    platform, _ = world
    number = platform.sms.number(ALICE)
    assert number.pin_hash.startswith("$argon2id$")
    assert "2468" not in number.pin_hash


# -- numbers not yet on Obolo ---------------------------------------------------------------


def test_money_to_an_unregistered_number_waits_then_is_claimed_on_join(world, people):
    """Money is held (pending) with an invitation; JOIN from that number claims it; the sender is told."""
    platform, gateway = world
    alice, _, alice_id, _ = people
    ask = alice.say(f"SEND 7 {CAROL} rent")
    assert ask.text.startswith(
        "+39*******233 is not on Obolo: send €7.00 (fee €0.00) for them to claim in 7 days?"
    )
    sent = alice.say("2468")
    assert sent.text.startswith("€7.00 held for +39*******233")
    assert available(platform, alice_id) == 93_000_000
    (holding,) = platform.ledger.lookup_accounts([holding_account_id("EUR")])
    assert holding.credits_pending == 7_000_000
    assert holding.credits_posted == 0
    (invitation,) = gateway.to(CAROL)
    assert "Al*** Ve*** ti ha inviato 7,00 €" in invitation
    assert "REGISTRA" in invitation
    welcome = Phone(platform, CAROL).say("JOIN Carol")
    assert "€7.00 sent to you is now yours." in welcome.text  # JOIN: English
    carol_id = platform.sms.number(CAROL).user_id
    assert available(platform, carol_id) == 7_000_000
    assert available(platform, alice_id) == 93_000_000
    (holding,) = platform.ledger.lookup_accounts([holding_account_id("EUR")])
    assert holding.credits_posted == holding.debits_posted == 7_000_000
    assert gateway.to(ALICE)[-1] == f"+39*******233 claimed the €7.00 you sent. Ref {ref_in(sent.text)}."


def test_unclaimed_money_returns_to_the_sender_after_seven_days(world, people, clock):
    """Unclaimed in the claim period, the job returns the money and tells the sender; JOIN then finds none."""
    platform, gateway = world
    alice, _, alice_id, _ = people
    alice.say(f"SEND 7 {CAROL}")
    sent = alice.say("2468")
    clock.advance(7 * DAY - 10)
    assert platform.sms.release_due() == 0
    assert available(platform, alice_id) == 93_000_000
    clock.advance(11)
    assert platform.sms.release_due() == 1
    assert available(platform, alice_id) == 100_000_000
    assert gateway.to(ALICE)[-1].startswith(
        f"+39*******233 did not claim €7.00 in 7 days: it is back in your wallet. Ref {ref_in(sent.text)}"
    )
    assert platform.sms.release_due() == 0
    welcome = Phone(platform, CAROL).say("JOIN")
    assert "is now yours" not in welcome.text
    carol_id = platform.sms.number(CAROL).user_id
    assert available(platform, carol_id) == 0


def test_claim_period_is_configurable(db_url, clock):
    """OBOLO_SMS_CLAIM_DAYS sets how long money waits for a new number."""
    platform, _ = sms_platform(db_url, clock, Settings(sms_claim_days=2))
    try:
        alice_id = platform.identity.sign_up("a@example.com", "alice password 1", "Alice", ALICE).id
        platform.wallets.top_up(alice_id, eur("10.00"), CARD)
        alice = Phone(platform, ALICE)
        alice.say(f"JOIN {platform.sms.link_code(alice_id)[0]}")
        alice.say("PIN 2468")
        assert "claim in 2 days" in alice.say(f"SEND 1 {CAROL}").text
        alice.say("2468")
        clock.advance(2 * DAY + 1)
        assert platform.sms.release_due() == 1
        assert available(platform, alice_id) == 10_000_000
    finally:
        platform.close()


def test_stop_from_an_unregistered_number_stops_invitations(world, people):
    """A number that sent STOP gets no invitation; the money is still held for it."""
    platform, gateway = world
    alice, _, alice_id, _ = people
    assert Phone(platform, CAROL).say("STOP").code == "ok"
    alice.say(f"SEND 3 {CAROL}")
    assert alice.say("2468").code == "ok"
    assert gateway.to(CAROL) == []
    assert available(platform, alice_id) == 97_000_000


# -- mistakes -------------------------------------------------------------------------------


def test_undo_within_ten_minutes_reverses_an_unspent_send(world, people, clock):
    """UNDO <ref> within ten minutes gives the money back and tells the recipient."""
    platform, gateway = world
    alice, _, alice_id, bob_id = people
    alice.say(f"SEND 5 {BOB}")
    ref = ref_in(alice.say("2468").text)
    clock.advance(599)
    assert alice.say(f"undo {ref.lower()}").text == f"Ref {ref} reversed: €5.00 is back in your wallet."
    assert balances(platform, alice_id, bob_id) == [100_000_000, 0]
    assert "reversed" in gateway.to(BOB)[-1]
    assert alice.say(f"UNDO {ref}").code == "sms_cannot_undo"
    assert balances(platform, alice_id, bob_id) == [100_000_000, 0]


def test_undo_too_late_or_spent_records_a_request_and_asks_the_recipient(world, people, clock):
    """After ten minutes, or once the recipient spent, UNDO asks the recipient, who may RETURN it."""
    platform, gateway = world
    alice, bob, alice_id, bob_id = people
    alice.say(f"SEND 5 {BOB}")
    late = ref_in(alice.say("2468").text)
    clock.advance(601)
    reply = alice.say(f"UNDO {late}")
    assert reply.code == "ok"
    assert "Request recorded" in reply.text
    assert balances(platform, alice_id, bob_id) == [95_000_000, 5_000_000]
    assert f"RETURN {late}" in gateway.to(BOB)[-1]
    alice.say(f"SEND 5 {BOB}")
    spent = ref_in(alice.say("2468").text)
    bob.say(f"SEND 1 {ALICE}")
    bob.say("1357")
    assert "Request recorded" in alice.say(f"UNDO {spent}").text
    assert balances(platform, alice_id, bob_id) == [91_000_000, 9_000_000]
    assert bob.say(f"RETURN {late}").text.startswith("Send €5.00 to Al*** Ve***")
    assert bob.say("1357").code == "ok"
    assert balances(platform, alice_id, bob_id) == [96_000_000, 4_000_000]


def test_undo_of_someone_elses_or_unknown_reference_moves_nothing(world, people):
    """Only the sender can undo; another's reference is unknown to them, like a made-up one."""
    platform, _ = world
    alice, bob, alice_id, bob_id = people
    alice.say(f"SEND 5 {BOB}")
    ref = ref_in(alice.say("2468").text)
    assert bob.say(f"UNDO {ref}").code == "sms_unknown_reference"
    assert alice.say("UNDO QQQQQQ").code == "sms_unknown_reference"
    assert balances(platform, alice_id, bob_id) == [95_000_000, 5_000_000]


def test_first_large_payment_to_someone_new_is_held_and_can_be_cancelled(world, people):
    """A first payment at or over the threshold is held for the cooling-off period; UNDO cancels it."""
    platform, gateway = world
    alice, _, alice_id, bob_id = people
    alice.say(f"SEND 60 {BOB}")
    held = alice.say("2468")
    assert held.text.startswith("First payment to Bo*** Ro***: €60.00 held until")
    assert balances(platform, alice_id, bob_id) == [40_000_000, 0]
    assert gateway.to(BOB) == []
    assert "back in your wallet" in alice.say(f"UNDO {ref_in(held.text)}").text
    assert balances(platform, alice_id, bob_id) == [100_000_000, 0]
    assert platform.sms.release_due() == 0


def test_held_payment_is_paid_when_the_cooling_off_ends(world, people, clock):
    """Without a cancel the job pays held money after the cooling-off; later payments are not held."""
    platform, gateway = world
    alice, _, alice_id, bob_id = people
    alice.say(f"SEND 60 {BOB}")
    alice.say("2468")
    clock.advance(899)
    assert platform.sms.release_due() == 0
    clock.advance(2)
    assert platform.sms.release_due() == 1
    assert balances(platform, alice_id, bob_id) == [40_000_000, 60_000_000]
    assert gateway.to(BOB)[-1].startswith("You received €60.00 from Al*** Ve***, fee €0.00.")
    platform.wallets.top_up(alice_id, eur("100.00"), CARD)
    alice.say(f"SEND 55 {BOB}")
    assert alice.say("2468").text.startswith("Sent €55.00")


# -- limits -------------------------------------------------------------------------------


def test_limits_per_send_per_day_and_per_hour(db_url, clock):
    """Over the per-send, per-day or per-hour limit is refused with nothing moved."""
    settings = Settings(
        sms_send_max=eur("10").units, sms_day_max=eur("15").units, sms_sends_per_hour=3,
        sms_cooling_threshold=eur("1000").units,
    )  # fmt: skip
    platform, _ = sms_platform(db_url, clock, settings)
    try:
        alice_id = platform.identity.sign_up("a@example.com", "alice password 1", "Alice", ALICE).id
        platform.wallets.top_up(alice_id, eur("100.00"), CARD)
        alice = Phone(platform, ALICE)
        alice.say(f"JOIN {platform.sms.link_code(alice_id)[0]}")
        alice.say("PIN 2468")
        clock.advance(DAY + 1)
        over = alice.say(f"SEND 10,01 {BOB}")
        assert over.code == "sms_limit"
        assert "€10.00 per send" in over.text
        for amount in ("6", "6"):
            alice.say(f"SEND {amount} {CAROL}")
            assert alice.say("2468").code == "ok"
        day = alice.say(f"SEND 4 {CAROL}")
        assert day.code == "sms_limit"
        assert "daily limit of €15.00" in day.text
        alice.say(f"SEND 1 {CAROL}")
        assert alice.say("2468").code == "ok"
        assert alice.say(f"SEND 1 {CAROL}").code == "sms_limit"  # a fourth send this hour
        assert available(platform, alice_id) == 87_000_000
        clock.advance(3601)
        assert alice.say(f"SEND 3 {CAROL}").code == "sms_limit"  # 13 of the day's 15 are spent
        clock.advance(DAY)
        alice.say(f"SEND 1 {CAROL}")
        assert alice.say("2468").code == "ok"
    finally:
        platform.close()


def test_a_freshly_verified_number_has_lower_limits(world, clock):
    """In the first 24 hours after a number is (re)verified, the lower limits apply."""
    platform, _ = world
    alice_id = platform.identity.sign_up("a@example.com", "alice password 1", "Alice", ALICE).id
    platform.wallets.top_up(alice_id, eur("200.00"), CARD)
    alice = Phone(platform, ALICE)
    alice.say(f"JOIN {platform.sms.link_code(alice_id)[0]}")
    alice.say("PIN 2468")
    refused = alice.say(f"SEND 60 {CAROL}")
    assert refused.code == "sms_limit"
    assert "new number" in refused.text
    assert available(platform, alice_id) == 200_000_000
    clock.advance(DAY + 1)
    assert alice.say(f"SEND 60 {CAROL}").code == "ok"


# -- delivery -------------------------------------------------------------------------------


def test_a_duplicate_message_id_is_processed_once(world, people):
    """The gateway delivering the same message twice gets the same reply and moves money once."""
    platform, _ = world
    alice, _, alice_id, bob_id = people
    alice.say(f"SEND 5 {BOB}")
    first = alice.say("2468", sid="SMdup")
    again = alice.say("2468", sid="SMdup")
    assert again.code == "duplicate"
    assert again.text == first.text
    assert balances(platform, alice_id, bob_id) == [95_000_000, 5_000_000]


def test_outbox_retries_when_the_gateway_fails(world, people, clock):
    """A receipt the gateway refused is kept and sent on a later pass."""
    platform, gateway = world
    alice, *_ = people
    gateway.failing = True
    alice.say(f"SEND 5 {BOB}")
    alice.say("2468")
    assert gateway.to(BOB) == []
    gateway.failing = False
    assert platform.sms.deliver_outbox() == 0  # not yet due again
    clock.advance(31)
    assert platform.sms.deliver_outbox() == 1
    assert gateway.to(BOB)[0].startswith("You received €5.00")


def test_the_same_pin_sent_twice_at_once_pays_once(world, people):
    """Two PIN messages racing for one waiting send: exactly one pays, the books balance."""
    platform, _ = world
    alice, _, alice_id, bob_id = people
    alice.say(f"SEND 5 {BOB}")
    codes: list[str] = []
    barrier = threading.Barrier(2)

    def confirm() -> None:
        barrier.wait()
        codes.append(alice.say("2468").code)

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == ["ok", "sms_nothing_to_confirm"]
    assert balances(platform, alice_id, bob_id) == [95_000_000, 5_000_000]


def test_two_workers_return_an_unclaimed_send_once(world, people, clock):
    """The return job run by two workers at once voids once and tells the sender once."""
    platform, gateway = world
    alice, _, alice_id, _ = people
    alice.say(f"SEND 7 {CAROL}")
    alice.say("2468")
    clock.advance(7 * DAY + 1)
    done: list[int] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        done.append(platform.sms.release_due())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(done) == 1
    assert available(platform, alice_id) == 100_000_000
    assert sum("did not claim" in text for text in gateway.to(ALICE)) == 1


def test_the_background_loop_returns_unclaimed_money(world, people, clock):
    """The workers' periodic pass includes the SMS return job and the outbox."""
    platform, gateway = world
    alice, _, alice_id, _ = people
    alice.say(f"SEND 7 {CAROL}")
    alice.say("2468")
    clock.advance(7 * DAY + 1)
    with httpx.Client() as client:
        done = run_once(platform, client)
    assert done["sms_release"] == 1
    assert available(platform, alice_id) == 100_000_000
    assert "did not claim" in gateway.to(ALICE)[-1]


def test_italian_pin_errors_stop_and_return(world, people, clock):
    """In Italian: wrong PIN and lockout, STOP/AVVIA, and RESTITUISCI of a payment received."""
    platform, _ = world
    alice, bob, alice_id, bob_id = people
    assert alice.say("LINGUA it").text.startswith("Obolo ti scriverà in italiano.")
    assert alice.say("saldo").text == "Saldo: 100,00 €."
    alice.say(f"INVIA 4 {BOB}")
    assert alice.say("1111").text == "PIN errato. Tentativi rimasti: 2."
    sent = alice.say("2468")
    assert sent.text.startswith("Inviati 4,00 €")
    bob.say("LINGUA it")  # Bob now reads Italian too
    assert bob.say("STOP").text.startswith("Non riceverai più messaggi")
    assert bob.say("AVVIA").text == "I messaggi Obolo sono riattivati."
    assert bob.say(f"RESTITUISCI {ref_in(sent.text)}").text.startswith("Inviare 4,00 € a Al*** Ve***")
    assert bob.say("1357").text.startswith("Inviati 4,00 € a Al*** Ve***")
    assert balances(platform, alice_id, bob_id) == [100_000_000, 0]
