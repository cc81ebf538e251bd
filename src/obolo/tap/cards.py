"""Cards: linking one to a wallet, blocking it, listing cards and their journeys."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select, update

from obolo.adapters.db.schema import providers
from obolo.adapters.db.schema_tap import tap_cards, tap_taps
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.ids import keyed_id
from obolo.ledger import LedgerSession
from obolo.tap.errors import CardNotFound, CardTaken
from obolo.tap.model import Mode, Reason, Status, offline_tag, uid_hash
from obolo.tap.store import TapStore, uuid_text
from obolo.tap.views import Card, Journey


class TapCards(TapStore):
    def link_card(
        self, user_id: str, uid: bytes, label: str, asset: str = "EUR", idempotency_key: str | None = None
    ) -> Card:
        """Link a card or tag to the user's wallet in `asset`. The UID is kept only as keyed
        hashes. A repeated key returns the card it linked. Raises CardTaken if it is linked
        already (to anyone)."""
        self.wallets.asset(asset)
        digest = uid_hash(self.card_key, uid)
        card_id = keyed_id(idempotency_key, "tap-card", user_id)

        def work(session: LedgerSession) -> Card:
            connection = session.connection
            row = connection.execute(select(tap_cards).where(tap_cards.c.uid_hash == digest)).first()
            if row is not None and row.id == card_id:  # this key linked it: a retry
                blocked = row.blocked_at is not None
                return Card(row.id, row.label, row.asset, blocked, row.owed, row.created_at)
            if row is not None:
                raise CardTaken("this card is linked already; unlink it first")
            wallet = self.wallets.wallet(session, user_id, asset)
            card = Card(card_id, label.strip() or "card", asset, False, 0, self.clock())
            connection.execute(
                insert(tap_cards).values(
                    id=card.id, user_id=user_id, uid_hash=digest, offline_tag=offline_tag(self.tag_key, uid),
                    asset=asset, account_id=wallet.account_id.to_bytes(16, "big"), label=card.label,
                    owed=0, blocked_at=None, created_at=card.created_at,
                )
            )  # fmt: skip
            return card

        return self.ledger.run(work)

    def set_blocked(self, user_id: str, card_id: str, blocked: bool) -> Card:
        """Block (every later tap is declined at once, and offline once kits refresh) or
        unblock the user's card. Raises CardNotFound."""
        key = uuid_text(card_id, CardNotFound, "the card id")

        def work(connection: Connection) -> Card:
            row = connection.execute(
                select(tap_cards).where(tap_cards.c.id == key, tap_cards.c.user_id == user_id)
            ).first()
            if row is None:
                raise CardNotFound("no such card of yours")
            blocked_at = (row.blocked_at or self.clock()) if blocked else None
            connection.execute(update(tap_cards).where(tap_cards.c.id == key).values(blocked_at=blocked_at))
            return Card(row.id, row.label, row.asset, blocked, row.owed, row.created_at)

        return run_in_transaction(self.engine, work)

    def cards(self, user_id: str) -> list[Card]:
        def work(connection: Connection) -> list[Card]:
            rows = connection.execute(
                select(tap_cards).where(tap_cards.c.user_id == user_id).order_by(tap_cards.c.created_at)
            ).all()
            return [
                Card(r.id, r.label, r.asset, r.blocked_at is not None, r.owed, r.created_at) for r in rows
            ]

        return run_in_transaction(self.engine, work, read_only=True)

    def journeys(self, user_id: str, card_id: str, limit: int = 100) -> list[Journey]:
        """The card's taps, newest first: where, the fare or amount, what was charged,
        capped or not. Raises CardNotFound."""
        key = uuid_text(card_id, CardNotFound, "the card id")

        def work(connection: Connection) -> list[Journey]:
            owner = connection.execute(select(tap_cards.c.user_id).where(tap_cards.c.id == key)).scalar()
            if owner != user_id:
                raise CardNotFound("no such card of yours")
            rows = connection.execute(
                select(tap_taps, providers.c.name)
                .join(providers, providers.c.id == tap_taps.c.merchant_id)
                .where(tap_taps.c.card_id == key)
                .order_by(tap_taps.c.tapped_at.desc(), tap_taps.c.id.desc())
                .limit(max(1, min(limit, 500)))
            ).all()
            return [
                Journey(
                    r.id,
                    r.name,
                    r.terminal_id,
                    Mode(r.mode),
                    Status(r.status),
                    Reason(r.reason) if r.reason else None,
                    r.asset,
                    r.amount,
                    r.charged,
                    bool(r.capped),
                    r.debt,
                    bool(r.offline),
                    r.tapped_at,
                )
                for r in rows
            ]

        return run_in_transaction(self.engine, work, read_only=True)


__all__ = ["TapCards"]
