"""Demo data for `make run`: a few ledger accounts and transfers, created once (fixed ids
make a second run a no-op: every item answers `exists`)."""

from __future__ import annotations

from obolo.ledger import Account, AccountFlags, Ledger, Transfer, TransferFlags

WALLET = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
CARD_FUNDING, FEE_REVENUE, ALICE, BOB, MAGAZINE = 1001, 1002, 2001, 2002, 3001
EUR = 1_000_000  # units in one euro at scale 6


def seed_demo(ledger: Ledger) -> None:
    ledger.create_accounts(
        [
            Account(CARD_FUNDING, "EUR", code=1, owner="platform:card-funding"),
            Account(FEE_REVENUE, "EUR", code=2, owner="platform:fee-revenue"),
            Account(ALICE, "EUR", code=10, flags=WALLET, owner="demo:alice"),
            Account(BOB, "EUR", code=10, flags=WALLET, owner="demo:bob"),
            Account(MAGAZINE, "EUR", code=20, flags=WALLET, owner="demo:magazine"),
        ]
    )
    ledger.create_transfers(
        [
            Transfer(9001, CARD_FUNDING, ALICE, 20 * EUR, "EUR", code=1),
            Transfer(9002, CARD_FUNDING, BOB, 5 * EUR, "EUR", code=1),
            Transfer(9003, ALICE, BOB, 1_500_000, "EUR", code=2, metadata={"note": "pizza"}),
            # A tenth of a euro for one article, with a 2% fee, as one linked pair.
            Transfer(9004, ALICE, MAGAZINE, 100_000, "EUR", code=3, flags=TransferFlags.LINKED),
            Transfer(9005, MAGAZINE, FEE_REVENUE, 2_000, "EUR", code=4),
            # Funds reserved for a reading session, not yet used.
            Transfer(9006, ALICE, MAGAZINE, 500_000, "EUR", code=5, flags=TransferFlags.PENDING),
        ]
    )
