"""Demo data for `make run`: two people with wallets and a little history, created once
(a second run finds them and does nothing). The demo passwords are public on purpose:
this is for a local sandbox only, as is what `demo_status` reports at start-up."""

from __future__ import annotations

import contextlib

from obolo.adapters.cards import Card
from obolo.adapters.db.transactions import transaction
from obolo.bootstrap import Platform
from obolo.identity.lookup import find_user_id
from obolo.money import EUR, Amount
from obolo.settings import Settings
from obolo.sms.errors import AlreadyRegistered

DEMO_PASSWORD = "demo-password-1"  # noqa: S105 -- a published sandbox login, not a secret
PEOPLE = [
    ("alice@example.com", "Alice", "+393331234567"),
    ("bob@example.com", "Bob", "+393337654321"),
]
SMS_PINS = ["2468", "1357"]  # published sandbox PINs, like the password above
TEST_CARD = Card("4242424242424242", 12, 2035, "123")


def seed_demo(platform: Platform) -> list[str]:
    """Create the demo people and their first movements if missing; say what exists."""
    with transaction(platform.engine, read_only=True) as connection:
        known = find_user_id(connection, PEOPLE[0][0])
    if known is None:
        ids = []
        for email, name, phone in PEOPLE:
            ids.append(platform.identity.sign_up(email, DEMO_PASSWORD, name, phone).id)
        alice, bob = ids
        platform.wallets.top_up(
            alice, Amount.parse("20.00", EUR), TEST_CARD, idempotency_key="demo-topup-alice"
        )
        platform.wallets.top_up(bob, Amount.parse("5.00", EUR), TEST_CARD, idempotency_key="demo-topup-bob")
        platform.wallets.pay(alice, bob, Amount.parse("1.50", EUR), "pizza", idempotency_key="demo-pizza")
        platform.wallets.pay(
            bob, alice, Amount.parse("0.001", EUR), "a tenth of a cent", idempotency_key="demo-tiny"
        )
    # sms: the demo people's numbers are verified and have PINs, so the simulator works at once
    for (email, _, phone), pin in zip(PEOPLE, SMS_PINS, strict=True):
        with transaction(platform.engine, read_only=True) as connection:
            user_id = find_user_id(connection, email)
        if user_id is not None:
            with contextlib.suppress(AlreadyRegistered):
                platform.sms.register_number(user_id, phone, pin)
    where = " (try it at /sms/simulator)" if platform.settings.serves_sms_simulator else ""
    return [f"demo login: {email} / {DEMO_PASSWORD}" for email, _, _ in PEOPLE] + [
        f"demo SMS: {phone} PIN {pin}{where}" for (_, _, phone), pin in zip(PEOPLE, SMS_PINS, strict=True)
    ]


def demo_status(settings: Settings) -> list[str]:
    """What a server with these settings serves of the demo's own parts, one line each, for
    the start-up log: an operator sees at once if anyone could type as any number."""
    if settings.serves_sms_simulator:
        simulator = "served at /sms/simulator (demo)"
    elif settings.sms_auth_token:
        simulator = "off (OBOLO_SMS_AUTH_TOKEN is set)"
    else:
        simulator = "off (not a demo: start with --demo)"
    if settings.sms_gateway_url and settings.sms_auth_token:
        outbound = "sent through OBOLO_SMS_GATEWAY_URL"
    elif settings.demo:
        outbound = "printed to the log (demo)"
    else:
        outbound = "not sent (no OBOLO_SMS_GATEWAY_URL with OBOLO_SMS_AUTH_TOKEN): kept in the outbox"
    return [
        f"demo mode: {'on: published logins, not for real money' if settings.demo else 'off'}",
        f"SMS simulator: {simulator}",
        f"outbound SMS: {outbound}",
    ]
