"""Reading wallets: balances, one movement, the movements list, the activity (every ledger
event on a person's wallets, each described by the product that made it) and the
statement (every posted change with the balance after it).

History is read from the ledger, which every product writes to, so nothing can be missed;
what a transfer was for, the products say through the describers registered here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, and_, or_, select

from obolo.adapters.db.schema import movements, wallets
from obolo.adapters.db.transactions import transaction
from obolo.errors import InvalidRequest, NotFound
from obolo.identity.lookup import display_names
from obolo.ledger import LedgerSession, Transfer, TransferFlags
from obolo.sdk.encoding import b64url, unb64url
from obolo.wallets.accounts import WalletAccounts, movement_from_row
from obolo.wallets.activity import ActivityEntry, Described, Describer, Purchase, PurchaseSource, Text
from obolo.wallets.describing import describe_movement_transfers
from obolo.wallets.model import (
    Balance,
    HistoryEntry,
    Movement,
    MovementKind,
    StatementLine,
    TransferCode,
)


@dataclass(frozen=True, slots=True)
class _Event:
    """A transfer on one of the person's wallets, or the expiry of a hold on it."""

    timestamp: int
    account: int
    transfer: Transfer
    expired: bool = False


def _id_text(value: int) -> str:
    return str(uuid.UUID(int=value))


class WalletHistory:
    """The reads of people's wallets, over the shared wallet plumbing."""

    def __init__(self, accounts: WalletAccounts) -> None:
        self.accounts = accounts
        self.engine = accounts.engine
        self.ledger = accounts.ledger
        # products describe their own transfers (registered by the bootstrap)
        self.describers: list[Describer] = [describe_movement_transfers]
        # ... and show what was bought on their holds as it happens (obolo.wallets.spending)
        self.purchase_sources: list[PurchaseSource] = []

    def register_describer(self, describer: Describer) -> None:
        """Let a product name its transfers in people's history and statements."""
        self.describers.append(describer)

    def register_purchases(self, source: PurchaseSource) -> None:
        """Let a product show what was bought, as it happens, in people's history."""
        self.purchase_sources.append(source)

    def purchases(
        self, connection: Connection, user_id: str, start: int | None, before: int | None, limit: int
    ) -> list[Purchase]:
        """Every source's purchases (and refunds) in [start, before), newest first, at most `limit`."""
        found = [
            p for source in self.purchase_sources for p in source(connection, user_id, start, before, limit)
        ]
        found.sort(key=lambda p: (-p.timestamp, p.id))
        return found[:limit]

    def purchases_between(self, user_id: str, asset: str, start: int, end: int) -> list[Purchase]:
        """The person's purchases (and refunds) in one asset in [start, end), oldest first."""
        self.accounts.asset(asset)

        def work(session: LedgerSession) -> list[Purchase]:
            found = self.purchases(session.connection, user_id, start, end, 100_000)
            return sorted((p for p in found if p.asset == asset), key=lambda p: (p.timestamp, p.id))

        return self.ledger.run(work, read_only=True)

    def balances(self, user_id: str) -> list[Balance]:
        """One balance per wallet the user has, in asset order."""
        return self.ledger.run(lambda session: self.balances_in(session, user_id), read_only=True)

    def balances_in(self, session: LedgerSession, user_id: str) -> list[Balance]:
        """`balances`, inside the caller's transaction."""
        rows = session.connection.execute(
            select(wallets).where(wallets.c.user_id == user_id).order_by(wallets.c.asset)
        ).all()
        accounts = session.lookup_accounts([int.from_bytes(row.account_id, "big") for row in rows])
        return [Balance(a.asset, a.available, a.debits_pending) for a in accounts]

    def movement(self, user_id: str, movement_id: str) -> Movement:
        """One of the user's movements; someone else's is NotFound, like a missing one."""
        with transaction(self.engine, read_only=True) as connection:
            found = self.accounts.find_movement(connection, movement_id)
        if found is None or user_id not in (found.from_user_id, found.to_user_id):
            raise NotFound("no such movement")
        return found

    # -- history ------------------------------------------------------------------------------
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
        """The user's movements, newest first, and a cursor for the next page (None at
        the end); optionally only one kind, direction ("in"/"out"), asset, or those
        created in [start, end) (ns). Raises InvalidRequest for a cursor that was not ours."""
        limit = max(1, min(limit, 200))
        before = _decode_cursor(cursor) if cursor else None
        if direction == "in":
            mine = movements.c.to_user_id == user_id
        elif direction == "out":
            mine = movements.c.from_user_id == user_id
        else:
            mine = or_(movements.c.from_user_id == user_id, movements.c.to_user_id == user_id)
        query = select(movements).where(mine)
        # web: the history page's filters
        if kind is not None:
            query = query.where(movements.c.kind == kind.value)
        if asset is not None:
            query = query.where(movements.c.asset == asset)
        if start is not None:
            query = query.where(movements.c.created_at >= start)
        if end is not None:
            query = query.where(movements.c.created_at < end)
        if before is not None:
            created_at, movement_id = before
            query = query.where(
                or_(
                    movements.c.created_at < created_at,
                    and_(movements.c.created_at == created_at, movements.c.id < movement_id),
                )
            )
        query = query.order_by(movements.c.created_at.desc(), movements.c.id.desc()).limit(limit + 1)
        with transaction(self.engine, read_only=True) as connection:
            rows = [movement_from_row(row) for row in connection.execute(query).all()]
            others = {m.to_user_id if m.from_user_id == user_id else m.from_user_id for m in rows}
            names = display_names(connection, {o for o in others if o})
        page = rows[:limit]
        entries = []
        for m in page:
            outgoing = m.from_user_id == user_id
            other = m.to_user_id if outgoing else m.from_user_id
            entries.append(HistoryEntry(m, "out" if outgoing else "in", names.get(other) if other else None))
        next_cursor = _encode_cursor(page[-1].created_at, page[-1].id) if len(rows) > limit else None
        return entries, next_cursor

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
        """Every ledger event on the user's wallets, newest first, each described by the
        product it belongs to, and a cursor for the next page (None at the end);
        optionally only one kind, direction ("in"/"out"), asset, or [start, end) (ns).
        Raises InvalidRequest for a cursor that was not ours."""
        limit = max(1, min(limit, 200))
        before = _decode_activity_cursor(cursor) if cursor else None
        if end is not None:
            before = end if before is None else min(before, end)

        def work(session: LedgerSession) -> tuple[list[ActivityEntry], str | None]:
            query = select(wallets).where(wallets.c.user_id == user_id)
            if asset is not None:
                query = query.where(wallets.c.asset == asset)
            accounts = {
                int.from_bytes(row.account_id, "big"): row.asset
                for row in session.connection.execute(query).all()
            }
            chunk = limit + 1 if kind is None and direction is None else 200
            # Two newest-first streams per wallet: its transfers, and its holds that expired
            # (an expiry writes no transfer). Merged by time, a chunk of each at a time.
            streams = [(account, expiries) for account in accounts for expiries in (False, True)]
            bound = dict.fromkeys(streams, before or 0)
            pool: list[_Event] = []
            open_streams = set(streams)
            found: list[ActivityEntry] = []
            while open_streams and len(found) <= limit:
                for stream in sorted(open_streams):
                    account, expiries = stream
                    if expiries:
                        got = [
                            _Event(at, account, t, expired=True)
                            for at, t in session.account_expiries(account, before=bound[stream], limit=chunk)
                        ]
                    else:
                        got = [
                            _Event(t.timestamp, account, t)
                            for t in session.account_transfers(
                                account, after=bound[stream], limit=chunk, newest_first=True
                            )
                        ]
                    if len(got) < chunk:
                        open_streams.discard(stream)
                    if got:
                        bound[stream] = got[-1].timestamp
                    pool += got
                # Events at or after the newest of the open streams' last fetched are
                # complete across streams; the rest wait for the next round.
                threshold = max((bound[s] for s in open_streams), default=0)
                ready = sorted((e for e in pool if e.timestamp >= threshold), key=lambda e: -e.timestamp)
                pool = [e for e in pool if e.timestamp < threshold]
                past_start = start is not None and any(e.timestamp < start for e in ready)
                if start is not None:
                    ready = [e for e in ready if e.timestamp >= start]
                entries = self._entries(session, user_id, ready, accounts)
                found += [
                    e for e in entries
                    if (kind is None or e.kind == kind) and (direction is None or e.direction == direction)
                ]  # fmt: skip
                if past_start:
                    break
            bought = self.purchases(session.connection, user_id, start, before, limit + 1)
            shown = [_purchase_entry(p) for p in bought if asset is None or p.asset == asset]
            found += [
                e for e in shown
                if (kind is None or e.kind == kind) and (direction is None or e.direction == direction)
            ]  # fmt: skip
            found.sort(key=lambda e: -e.timestamp)  # stable: the ledger's order within a time
            page = found[:limit]
            next_cursor = _encode_activity_cursor(page[-1].timestamp) if len(found) > limit else None
            return page, next_cursor

        return self.ledger.run(work, read_only=True)

    def describe(
        self, session: LedgerSession, user_id: str, transfers: list[Transfer]
    ) -> tuple[dict[int, Described], dict[int, Transfer]]:
        """Each transfer's description (a post or void by its hold's) and the holds that
        posts and voids resolve: one query per product, whatever the number."""
        pending_ids = sorted({t.pending_id for t in transfers if t.pending_id})
        holds = {t.id: t for t in session.lookup_transfers(pending_ids)} if pending_ids else {}
        asked = [t for t in transfers if not t.pending_id] + list(holds.values())
        described: dict[int, Described] = {}
        for describer in self.describers:
            for transfer_id, text in describer(session.connection, user_id, asked).items():
                described.setdefault(transfer_id, text)
        return described, holds

    def _entries(
        self,
        session: LedgerSession,
        user_id: str,
        ready: list[_Event],
        accounts: dict[int, str],
    ) -> list[ActivityEntry]:
        described, holds = self.describe(session, user_id, [e.transfer for e in ready])
        entries = []
        for event in ready:
            t, account = event.transfer, event.account
            outgoing = t.debit_account_id == account
            sign = -1 if outgoing else 1
            amount = t.amount or 0
            if event.expired:
                about = described.get(t.id) or _fallback(t)
                status, change, reserved = "expired", 0, -amount if outgoing else 0
                text = Text.of("Hold expired: {hold}", hold=_text_of(about))
            elif t.flags & TransferFlags.PENDING:
                about = described.get(t.id) or _fallback(t)
                text = about.hold_text or (
                    Text(about.hold) if about.hold else Text.of("Reserved: {what}", what=_text_of(about))
                )
                # Reserved from this wallet, or held by someone else for it ("pending").
                status, change, reserved = (
                    ("reserved" if outgoing else "pending"),
                    0,
                    amount if outgoing else 0,
                )
            elif t.flags & (TransferFlags.POST_PENDING_TRANSFER | TransferFlags.VOID_PENDING_TRANSFER):
                hold = holds.get(t.pending_id or 0)
                held = hold.amount or 0 if hold is not None else 0
                about = described.get(t.pending_id or 0) or _fallback(hold or t)
                released = -held if outgoing else 0
                if t.flags & TransferFlags.POST_PENDING_TRANSFER:
                    status, change, reserved, text = "settled", sign * amount, released, _text_of(about)
                else:
                    status, change, reserved = "released", 0, released
                    text = about.release_text or (
                        Text(about.release)
                        if about.release
                        else Text.of("Released: {what}", what=_text_of(about))
                    )
            else:
                about = described.get(t.id) or _fallback(t)
                status, change, reserved, text = "posted", sign * amount, 0, _text_of(about)
            entries.append(
                ActivityEntry(
                    _id_text(t.id), event.timestamp, accounts[account], about.kind, status,
                    "out" if outgoing else "in", change, reserved, text.render(), about.counterparty,
                    about.movement_id, text=text,
                )
            )  # fmt: skip
        return entries

    def statement(self, user_id: str, asset: str, start: int, end: int) -> list[StatementLine]:
        """Every posted change of the wallet between `start` and `end` (ns), each with the
        balance after it: the ledger's own history of the account, described."""
        self.accounts.asset(asset)

        def work(session: LedgerSession) -> list[StatementLine]:
            wallet = self.accounts.find_wallet(session, user_id, asset, create=False)
            if wallet is None:
                return []
            history = session.account_balances(wallet.account_id)
            shown = [entry for entry in history if start <= entry.timestamp < end]
            transfers = session.lookup_transfers(sorted({entry.transfer_id for entry in shown}))
            described, holds = self.describe(session, user_id, transfers)
            by_id = {t.id: t for t in transfers}
            lines: list[StatementLine] = []
            previous = 0
            for entry in history:
                change = entry.balance - previous
                previous = entry.balance
                if change == 0 or not start <= entry.timestamp < end:
                    continue
                transfer = by_id.get(entry.transfer_id)
                key = (
                    transfer.pending_id if transfer is not None and transfer.pending_id else entry.transfer_id
                )
                about = described.get(key) or _fallback(holds.get(key) or transfer or Transfer(key))
                lines.append(
                    StatementLine(entry.timestamp, about.movement_id, about.kind, about.description, change,
                                  entry.balance, _text_of(about))
                )  # fmt: skip
            return lines

        return self.ledger.run(work, read_only=True)


def _purchase_entry(purchase: Purchase) -> ActivityEntry:
    """A purchase as a history entry: no change to any balance, `spent` its price (or,
    for a refund, minus it)."""
    refund = purchase.status == "refunded"
    message = "Refunded: {site} — {item}" if refund else "{site} — {item}"
    text = Text.of(message, site=purchase.site, item=purchase.item)
    return ActivityEntry(
        purchase.id, purchase.timestamp, purchase.asset, purchase.kind, purchase.status,
        "in" if refund else "out", 0, 0, text.render(), purchase.site, None, purchase.spent, purchase.item,
        text,
    )  # fmt: skip


def _text_of(about: Described) -> Text:
    """What a product said, structured if it did; else its English, as a message of its own."""
    return about.text or Text(about.description)


_CODE_NAMES = {int(TransferCode.FEE): ("fee", "Fee"), int(TransferCode.TOPUP): ("topup", "Top-up"),
               int(TransferCode.PAYMENT): ("payment", "Payment"),
               int(TransferCode.WITHDRAWAL): ("withdrawal", "Withdrawal"),
               int(TransferCode.ADJUSTMENT): ("adjustment", "Adjustment")}  # fmt: skip


def _fallback(transfer: Transfer) -> Described:
    """A transfer no product claims still shows, named by its code."""
    kind, text = _CODE_NAMES.get(transfer.code, ("adjustment", "Adjustment"))
    return Described(kind, text)


def _encode_activity_cursor(timestamp: int) -> str:
    return b64url(f"t:{timestamp}".encode())


def _decode_activity_cursor(cursor: str) -> int:
    try:
        text = unb64url(cursor).decode()
        tag, value = text.split(":", 1)
        if tag != "t":
            raise ValueError(tag)
        return int(value)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidRequest("the cursor is not one this API gave out", field="cursor") from error


def _encode_cursor(created_at: int, movement_id: str) -> str:
    return b64url(f"{created_at}:{movement_id}".encode())


def _decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        text = unb64url(cursor).decode()
        created_at, movement_id = text.split(":", 1)
        return int(created_at), str(uuid.UUID(movement_id))
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidRequest("the cursor is not one this API gave out", field="cursor") from error


__all__ = ["WalletHistory"]
