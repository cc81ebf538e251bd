"""Shared set-up for the tap tests: a rider with a card, a shop and a transit operator,
each with a terminal, on a platform over the test's database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from obolo.adapters.cards import Card as PaymentCard
from obolo.adapters.db.schema import transfers as ledger_transfers_table
from obolo.bootstrap import Platform
from obolo.identity.model import Role
from obolo.ledger import TransferFlags
from obolo.money import EUR, Amount
from obolo.tap.model import Mode
from obolo.tap.service import Credential, TapIn

RIDER_UID = bytes.fromhex("04A1B2C3D4E5F6")
OTHER_UID = bytes.fromhex("04FFEEDDCCBBAA")
UNKNOWN_UID = bytes.fromhex("0400000000000001")


def eur(text: str) -> int:
    return Amount.parse(text, EUR).units


@dataclass
class World:
    rider: str
    owner: str
    card_id: str
    shop: str
    operator: str
    till: Credential
    till_b: Credential
    gate: Credential


def build_world(platform: Platform, topup: str = "20.00") -> World:
    rider = platform.identity.sign_up("rider@example.com", "rider password 1", "Rider").id
    owner = platform.identity.sign_up("owner@example.com", "owner password 1", "Owner").id
    platform.identity.add_role(owner, Role.PROVIDER)
    if topup:
        platform.wallets.top_up(
            rider, Amount.parse(topup, EUR), PaymentCard("4242424242424242", 12, 2031, "123")
        )
    card = platform.tap.link_card(rider, RIDER_UID, "blue card")
    shop = platform.tap.register_merchant(
        owner, "Corner Cafe", "https://cafe.example", Mode.RETAIL, "EUR", offline_limit=eur("5.00")
    )
    operator = platform.tap.register_merchant(
        owner, "City Metro", "https://metro.example", Mode.TRANSIT, "EUR", offline_limit=eur("5.00"),
        fare=eur("2.00"), daily_cap=eur("5.00"), weekly_cap=eur("15.00"),
    )  # fmt: skip
    till, key = platform.tap.register_terminal(owner, shop.id, "till 1", Mode.RETAIL)
    till_b, key_b = platform.tap.register_terminal(owner, shop.id, "till 2", Mode.RETAIL)
    gate, gate_key = platform.tap.register_terminal(owner, operator.id, "gate 1", Mode.TRANSIT)
    terminals = (
        Credential(till.id, api_key=key),
        Credential(till_b.id, api_key=key_b),
        Credential(gate.id, api_key=gate_key),
    )
    return World(rider, owner, card.id, shop.id, operator.id, *terminals)


def tap_in(
    uid: bytes = RIDER_UID, amount: str | None = None, at: int | None = None, tap_id: str | None = None
):
    return TapIn(tap_id or str(uuid.uuid4()), uid, None if amount is None else eur(amount), at)


def available(platform: Platform, user_id: str) -> int:
    return {b.asset: b.available for b in platform.wallets.balances(user_id)}.get("EUR", 0)


def balances(platform: Platform, *users: str) -> tuple[int, ...]:
    """Available and reserved of each user: what 'no money moved' compares."""
    out: list[int] = []
    for user in users:
        found = {b.asset: b for b in platform.wallets.balances(user)}.get("EUR")
        out += [found.available, found.reserved] if found else [0, 0]
    return tuple(out)


def posted_debits(platform: Platform, user_id: str) -> list[int]:
    """Amounts of the posted (not pending, not voided) transfers out of the user's wallet."""
    account = platform.wallets.wallet_of(user_id, "EUR").account_id.to_bytes(16, "big")
    with platform.engine.connect() as connection:
        rows = connection.execute(
            select(ledger_transfers_table.c.amount, ledger_transfers_table.c.flags).where(
                ledger_transfers_table.c.debit_account_id == account,
                ledger_transfers_table.c.failure.is_(None),
            )
        ).all()
    skip = TransferFlags.PENDING | TransferFlags.VOID_PENDING_TRANSFER
    return [row.amount for row in rows if not row.flags & skip and row.amount]
