"""Shared pieces of the SMS conversation tests: a platform on fakes and a phone that talks to it."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

from argon2 import PasswordHasher

from obolo.adapters.cards import Card
from obolo.bootstrap import Platform, build
from obolo.ledger.check import check_ledger
from obolo.money import EUR, Amount
from obolo.settings import Settings
from obolo.sms.service import Inbound, Reply
from tests.sms_fakes import FakeSmsGateway

CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
CARD = Card("4242424242424242", 12, 2035, "123")
ALICE, BOB, CAROL = "+393331234567", "+393337654321", "+393401112233"
STRANGER = "+393479998877"
_sids = itertools.count()


def sms_platform(url: str, clock, settings: Settings | None = None) -> tuple[Platform, FakeSmsGateway]:
    gateway = FakeSmsGateway()
    platform = build(
        settings or Settings(), url=url, clock=clock, migrate=True, sms_gateway=gateway, hasher=CHEAP
    )
    return platform, gateway


def checked_sms_platform(url: str, clock) -> Iterator[tuple[Platform, FakeSmsGateway]]:
    """`sms_platform` for one test; when the test is done its books must balance."""
    platform, gateway = sms_platform(url, clock)
    yield platform, gateway
    assert check_ledger(platform.engine) == []
    platform.close()


class Phone:
    """A phone texting the platform; each message gets a fresh gateway id."""

    def __init__(self, platform: Platform, number: str) -> None:
        self.platform = platform
        self.number = number

    def say(self, body: str, sid: str | None = None) -> Reply:
        message = Inbound(sid or f"SM{next(_sids):08d}", self.number, "+15005550006", body)
        return self.platform.sms.receive(message)


def eur(text: str) -> Amount:
    return Amount.parse(text, EUR)


def available(platform: Platform, user_id: str) -> int:
    return {b.asset: b.available for b in platform.wallets.balances(user_id)}.get("EUR", 0)


def ref_in(text: str) -> str:
    found = re.search(r"\b(?:Ref|Rif) ([A-Z0-9]{6})\b", text)
    assert found, text
    return found.group(1)
