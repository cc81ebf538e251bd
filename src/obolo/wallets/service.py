"""The wallets' use cases behind one name: `WalletService` is the moves (top-ups, payments,
withdrawals, over the shared wallet plumbing) with the reads beside them, so callers keep
writing `platform.wallets.pay(...)` and `platform.wallets.activity(...)`.

The modules: `accounts` (wallets, platform accounts, movements, the debit), `moves` (the
use cases that move money), `history` (balances, movements, activity, statement),
`spending` (what a person spent, from what the products record as it happens).
"""

from __future__ import annotations

from sqlalchemy import Engine

from obolo.adapters.bank import BankPayouts
from obolo.adapters.cards import CardProcessor
from obolo.adapters.clock import Clock
from obolo.adapters.secretbox import SecretBox
from obolo.ledger import Ledger, LedgerSession, Transfer
from obolo.money import Asset
from obolo.settings import Settings
from obolo.wallets.activity import ActivityEntry, Described, Describer, Purchase, PurchaseSource
from obolo.wallets.history import WalletHistory
from obolo.wallets.model import Balance, HistoryEntry, Movement, MovementKind, StatementLine
from obolo.wallets.moves import WalletMoves
from obolo.wallets.spending import Breakdown, HeldSpentSource, SpentSource, WalletSpending


class WalletService(WalletMoves):
    """Moves and plumbing (inherited), reads (delegated to `WalletHistory`)."""

    def __init__(
        self,
        engine: Engine,
        ledger: Ledger,
        clock: Clock,
        cards: CardProcessor,
        bank: BankPayouts,
        settings: Settings,
        assets: dict[str, Asset] | None = None,
        secrets: SecretBox | None = None,
    ) -> None:
        super().__init__(engine, ledger, clock, cards, bank, settings, assets, secrets)
        self.reads = WalletHistory(self)
        self.spending = WalletSpending(self, self.reads)

    def register_describer(self, describer: Describer) -> None:
        """Let a product name its transfers in people's history and statements."""
        self.reads.register_describer(describer)

    def register_spending(
        self,
        purchases: PurchaseSource | None = None,
        spent: SpentSource | None = None,
        held_spent: HeldSpentSource | None = None,
    ) -> None:
        """Let a product show its purchases as they happen and count its spending."""
        self.spending.register(purchases, spent, held_spent)

    def breakdown(self, user_id: str) -> list[Breakdown]:
        """Per wallet: available, held, of which already spent, spent today and this month by site."""
        return self.spending.breakdown(user_id)

    def balances(self, user_id: str) -> list[Balance]:
        return self.reads.balances(user_id)

    def movement(self, user_id: str, movement_id: str) -> Movement:
        return self.reads.movement(user_id, movement_id)

    def history(
        self,
        user_id: str,
        limit: int = 50,
        cursor: str | None = None,
        *,
        kind: MovementKind | None = None,
        direction: str | None = None,
        asset: str | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> tuple[list[HistoryEntry], str | None]:
        return self.reads.history(
            user_id, limit, cursor, kind=kind, direction=direction, asset=asset, start=start, end=end
        )

    def activity(
        self,
        user_id: str,
        limit: int = 50,
        cursor: str | None = None,
        *,
        kind: str | None = None,
        direction: str | None = None,
        asset: str | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> tuple[list[ActivityEntry], str | None]:
        return self.reads.activity(
            user_id, limit, cursor, kind=kind, direction=direction, asset=asset, start=start, end=end
        )

    def describe(
        self, session: LedgerSession, user_id: str, transfers: list[Transfer]
    ) -> tuple[dict[int, Described], dict[int, Transfer]]:
        return self.reads.describe(session, user_id, transfers)

    def statement(self, user_id: str, asset: str, start: int, end: int) -> list[StatementLine]:
        return self.reads.statement(user_id, asset, start, end)

    def purchases(self, user_id: str, asset: str, start: int, end: int) -> list[Purchase]:
        """What the person bought (views, rides) and got refunded in [start, end), oldest first."""
        return self.reads.purchases_between(user_id, asset, start, end)


__all__ = ["Balance", "HistoryEntry", "Movement", "StatementLine", "WalletService"]
