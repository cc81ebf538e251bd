"""Taps, online and offline: each one unit of work (`tap_in`), so concurrent taps can share a
commit; retail pays at once, transit accrues on the day's hold (see the package's docs)."""

from __future__ import annotations

import hashlib
from concurrent.futures import Future
from typing import Any

from sqlalchemy import insert, select, update

from obolo.adapters.clock import NS_PER_SECOND
from obolo.adapters.db.schema_tap import tap_corrections
from obolo.adapters.db.write_path import run_each
from obolo.adapters.ids import derived_id, new_id
from obolo.errors import OboloError
from obolo.ledger import LedgerSession, Transfer, TransferFlags, expect_ok
from obolo.sdk.tap import canonical, sign_token
from obolo.tap.errors import BadTerminalCredential, InvalidTap, TapIdReused, TapReplayed
from obolo.tap.model import (
    Caps,
    Mode,
    Reason,
    Status,
    balance_band,
    capped_fare,
    day_of,
    is_double_tap,
    receipt_fields,
    uid_hash,
    week_of,
)
from obolo.tap.sql import (
    CARD_SQL,
    DAY_COLUMNS,
    DOUBLE_TAP_SQL,
    INSERT_DAY_SQL,
    INSERT_TAP_SQL,
    TAP_COLUMNS,
    UPDATE_DAY_SQL,
    UPDATE_HOLD_SQL,
    WEEK_SQL,
    Row,
    execute,
    fetch,
    fetch_all,
)
from obolo.tap.store import TapStore, uuid_text
from obolo.tap.views import Credential, TapIn, TapOutcome
from obolo.wallets.model import TransferCode

HOLD_TIMEOUT_SECONDS = 7 * 86_400  # a day's hold outlives its close by days: the job posts it first
CLOCK_SKEW_SECONDS = 300
#: Offline taps older than this are refused (the merchant's loss, bounded by the kit).
MAX_OFFLINE_AGE_SECONDS = 7 * 86_400


class TapPayments(TapStore):
    def tap(self, credential: Credential, tap: TapIn) -> TapOutcome:
        """Answer one online tap: approved (with a signed receipt) or declined with a reason.
        The same tap id from the same terminal answers the same and charges once. Raises
        BadTerminalCredential, TapReplayed, TapIdReused, InvalidTap."""
        outcome: TapOutcome = self.ledger.run(
            lambda session: self.tap_in(session, credential, tap, offline=False)
        )
        return outcome

    def submit_tap(self, credential: Credential, tap: TapIn) -> Future[TapOutcome]:
        """`tap`, for an event loop: a future of the outcome (or of its error), completed after
        the shared commit. Without a writer the tap runs now and the future is done."""
        return self.ledger.submit(lambda session: self.tap_in(session, credential, tap, offline=False))

    def upload_offline(self, credential: Credential, taps: list[TapIn]) -> list[TapOutcome | Exception]:
        """Collect taps a terminal accepted offline, each once whatever order and however
        often they arrive. What a wallet cannot pay becomes a debt (the card is denied until
        it is paid). One result per tap, in order; a tap's own error does not stop the others."""

        def each(session: LedgerSession) -> list[Any]:
            works = [
                lambda _connection, item=item: self.tap_in(session, credential, item, offline=True)
                for item in taps
            ]
            return run_each(session.connection, works)

        results = self.ledger.run(each)
        for result in results:
            if isinstance(result, BadTerminalCredential):
                raise result
            if isinstance(result, Exception) and not isinstance(result, OboloError):
                raise result
        return results

    def tap_in(
        self, session: LedgerSession, credential: Credential, tap: TapIn, *, offline: bool
    ) -> TapOutcome:
        """One tap inside the caller's transaction (a shared commit when grouped)."""
        terminal = self.terminal_row(session, credential)
        tap_id = uuid_text(tap.tap_id, InvalidTap, "the tap id")
        now = self.clock()
        mode = Mode(terminal.mode)
        if tap.tapped_at is None:
            if offline:
                raise InvalidTap("an offline tap says when it happened", field="tapped_at")
            tapped_at = now
        else:
            tapped_at = tap.tapped_at
            if tapped_at > now + CLOCK_SKEW_SECONDS * NS_PER_SECOND:
                raise InvalidTap("the tap is in the future by the platform's clock", field="tapped_at")
            if not offline and tapped_at < now - CLOCK_SKEW_SECONDS * NS_PER_SECOND:
                raise InvalidTap("an online tap is now; send older ones as offline taps", field="tapped_at")
        if tap.asset is not None and tap.asset != terminal.asset:
            raise InvalidTap(f"this terminal takes {terminal.asset}", field="asset")
        if mode is Mode.RETAIL:
            if tap.amount is None or tap.amount <= 0:
                raise InvalidTap("a retail tap carries a positive amount", field="amount")
            if tap.amount > self.settings.payment_max:
                raise InvalidTap("the amount is over the payment maximum", field="amount")
            amount = tap.amount
        else:
            if tap.amount is not None:
                raise InvalidTap(
                    "a transit tap carries no amount: the fare is the operator's", field="amount"
                )
            amount = int(terminal.fare)
        digest = uid_hash(self.card_key, tap.card_uid)
        request_hash = hashlib.sha256(
            canonical({"card": digest, "amount": amount, "at": tap.tapped_at, "offline": offline})
        ).hexdigest()
        found = fetch(session, "SELECT * FROM tap_taps WHERE id = ?", (tap_id,))
        if found is not None:
            if found.terminal_id != terminal.id:
                raise TapReplayed("this tap id was used by another terminal")
            if found.request_hash != request_hash:
                raise TapIdReused("this tap id was used for another tap")
            return self._outcome(found, terminal)
        card: Any = fetch(session, CARD_SQL, (digest,))
        record: dict[str, Any] = {
            "id": tap_id, "terminal_id": terminal.id, "merchant_id": terminal.provider_id,
            "request_hash": request_hash, "card_id": card.id if card else None, "mode": str(mode),
            "asset": terminal.asset, "amount": amount, "charged": 0, "capped": 0, "debt": 0,
            "offline": int(offline), "tapped_at": tapped_at, "created_at": now, "reason": None,
            "balance_band": None, "duplicate_of": None, "day_id": None,
        }  # fmt: skip
        reason = self._refusal(card, terminal, tapped_at, now, offline)
        if reason is None:
            window = self.settings.tap_double_tap_seconds * NS_PER_SECOND
            previous = fetch(
                session, DOUBLE_TAP_SQL, (card.id, terminal.id, tapped_at + window, tapped_at - window)
            )
            if previous is not None and is_double_tap(
                previous.tapped_at, tapped_at, self.settings.tap_double_tap_seconds
            ):
                record.update(duplicate_of=previous.id, reason=str(Reason.DOUBLE_TAP))
            elif mode is Mode.RETAIL:
                reason = self._charge_retail(session, terminal, card, tap_id, amount, offline, record)
            else:
                reason = self._charge_transit(session, terminal, card, tapped_at, offline, record)
        if reason is not None:
            record.update(status=str(Status.DECLINED), reason=str(reason))
        else:
            record["status"] = str(Status.APPROVED)
            (account,) = session.lookup_accounts([int.from_bytes(card.account_id, "big")])
            record["balance_band"] = balance_band(account.available)
        execute(session, INSERT_TAP_SQL, tuple(record[column] for column in TAP_COLUMNS))
        if record["debt"]:
            self.record_debt(session.connection, card, terminal.provider_id, tap_id, record["debt"], now)
        return self._outcome(record, terminal)

    def _refusal(self, card: Any, terminal: Any, tapped_at: int, now: int, offline: bool) -> Reason | None:
        if card is None:
            return Reason.UNKNOWN_CARD
        if card.blocked_at is not None and (not offline or tapped_at >= card.blocked_at):
            return Reason.CARD_BLOCKED
        stopped = card.closed_at if card.closed_at is not None else card.frozen_at
        if stopped is not None and (not offline or tapped_at >= stopped):
            return Reason.CARD_BLOCKED  # the owner's account is frozen or closed
        if card.asset != terminal.asset:
            return Reason.WRONG_ASSET
        if offline and tapped_at < now - MAX_OFFLINE_AGE_SECONDS * NS_PER_SECOND:
            return Reason.TOO_OLD
        if not offline and card.owed:
            return Reason.DEBT_OUTSTANDING
        return None

    def _charge_retail(
        self, session: LedgerSession, terminal: Any, card: Any, tap_id: str, amount: int, offline: bool,
        record: dict[str, Any],
    ) -> Reason | None:  # fmt: skip
        moved = self.pay_now(
            session, card, terminal, derived_id("transfer", "tap", tap_id), amount, partial=offline
        )
        if moved < 0:
            return Reason.INSUFFICIENT_FUNDS
        record.update(charged=moved, debt=amount - moved)
        return None

    def _charge_transit(
        self, session: LedgerSession, terminal: Any, card: Any, tapped_at: int, offline: bool,
        record: dict[str, Any],
    ) -> Reason | None:  # fmt: skip
        caps = Caps(terminal.fare, terminal.daily_cap, terminal.weekly_cap)
        day = day_of(tapped_at)
        week = week_of(day)
        # PostgreSQL: lock the week's rows so two API processes cannot both accrue on the
        # same hold (SQLite's BEGIN IMMEDIATE already serialises writers).
        lock = "" if session.store.mark == "?" else " FOR UPDATE"
        days = fetch_all(session, WEEK_SQL + lock, (card.id, terminal.provider_id, week))
        week_charged = sum(d.accrued + d.late for d in days)
        row = next((d for d in days if d.day == day), None)
        day_charged = 0 if row is None else row.accrued + row.late
        charge, capped = capped_fare(caps.fare, day_charged, week_charged, caps)
        record.update(capped=int(capped))
        if row is None:
            row = Row(
                id=new_id(), card_id=card.id, merchant_id=terminal.provider_id, user_id=card.user_id,
                asset=terminal.asset, day=day, week=week, hold_id=None, hold_seq=0, held=0, accrued=0,
                late=0, fares=0, taps=0, status="open", closed_at=None,
            )  # fmt: skip
            execute(session, INSERT_DAY_SQL, tuple(getattr(row, c) for c in DAY_COLUMNS))
        record["day_id"] = row.id
        debt = 0
        if row.status == "closed":
            charge, debt = self._charge_late(session, terminal, card, row, week, charge, record["id"])
            late = row.late + charge + debt
            execute(session, UPDATE_DAY_SQL, (row.accrued, late, row.fares + caps.fare, row.taps + 1, row.id))
        else:
            accrued = row.accrued + charge
            held = row.held
            if accrued > held:
                room = min(caps.daily - day_charged, caps.weekly - week_charged)
                held = self._grow_hold(
                    session, terminal, card, row, want=row.accrued + room, need=accrued, short_ok=offline
                )
                if held < accrued:
                    if not offline:
                        return Reason.INSUFFICIENT_FUNDS
                    debt, charge, accrued = accrued - held, charge - (accrued - held), held
            late = row.late + debt
            execute(session, UPDATE_DAY_SQL, (accrued, late, row.fares + caps.fare, row.taps + 1, row.id))
        record.update(charged=charge, debt=debt)
        return None

    def _grow_hold(
        self,
        session: LedgerSession,
        terminal: Any,
        card: Any,
        row: Any,
        *,
        want: int,
        need: int,
        short_ok: bool,
    ) -> int:
        """Reserve `want` for the day, or as much as the wallet allows if that still covers
        `need` (or, if `short_ok`, whatever it has); replaces the day's hold in one linked
        batch. Returns what is held now; nothing changes when the wallet cannot cover `need`
        and not `short_ok`."""
        payer = int.from_bytes(card.account_id, "big")
        (account,) = session.lookup_accounts([payer])
        can = account.available + row.held
        target = want if can >= want else can
        if target <= row.held or (target < need and not short_ok):
            return int(row.held)
        seq = row.hold_seq + 1
        hold_id = derived_id("transfer", "tap-day", row.id, "hold", str(seq))
        transfers = []
        if row.hold_id is not None:
            void_id = derived_id("transfer", "tap-day", row.id, "void", str(seq))
            old = int.from_bytes(row.hold_id, "big")
            transfers.append(
                Transfer(
                    void_id, pending_id=old, flags=TransferFlags.VOID_PENDING_TRANSFER | TransferFlags.LINKED
                )
            )
        transfers.append(
            Transfer(
                hold_id, payer, int.from_bytes(terminal.account_id, "big"), target, terminal.asset,
                code=int(TransferCode.PAYMENT), flags=TransferFlags.PENDING, timeout=HOLD_TIMEOUT_SECONDS,
            )
        )  # fmt: skip
        results = session.create_transfers(transfers)
        expect_ok(results, f"hold of tap day {row.id}", retry_ok=False)
        execute(session, UPDATE_HOLD_SQL, (hold_id.to_bytes(16, "big"), seq, target, row.id))
        return target

    def _charge_late(
        self, session: LedgerSession, terminal: Any, card: Any, day: Any, week: int, charge: int, tap_id: str
    ) -> tuple[int, int]:
        """A tap for a day already posted: added to the week's correction, or, if that was
        posted too, paid at once. Returns (charged, debt)."""
        if charge == 0:
            return 0, 0
        connection = session.connection
        key = (
            (tap_corrections.c.card_id == card.id)
            & (tap_corrections.c.merchant_id == terminal.provider_id)
            & (tap_corrections.c.week == week)
        )
        correction = connection.execute(select(tap_corrections).where(key)).first()
        if correction is None:
            connection.execute(
                insert(tap_corrections).values(
                    card_id=card.id, merchant_id=terminal.provider_id, week=week, user_id=card.user_id,
                    asset=terminal.asset, amount=charge, status="open", posted_at=None,
                )
            )  # fmt: skip
            return charge, 0
        if correction.status == "open":
            connection.execute(
                update(tap_corrections).where(key).values(amount=tap_corrections.c.amount + charge)
            )
            return charge, 0
        moved = self.pay_now(
            session, card, terminal, derived_id("transfer", "tap", tap_id), charge, partial=True
        )
        return moved, charge - moved

    def _outcome(self, row: Any, terminal: Any) -> TapOutcome:
        values: dict[str, Any] = row if isinstance(row, dict) else vars(row)
        get = values.__getitem__
        status = Status(get("status"))
        receipt = None
        if status is Status.APPROVED:
            fields = receipt_fields(
                tap_id=get("id"), terminal_id=terminal.id, merchant_id=terminal.provider_id,
                card_id=get("card_id"), asset=get("asset"), amount=get("amount"), charged=get("charged"),
                capped=bool(get("capped")), band=get("balance_band"), tapped_at=get("tapped_at"),
                key_id=self.key_id,
            )  # fmt: skip
            receipt = sign_token(fields, self.keys.current)
        reason = get("reason")
        return TapOutcome(
            get("id"), status, Reason(reason) if reason else None, get("asset"), get("amount"),
            get("charged"), bool(get("capped")), get("debt"), get("balance_band"), get("duplicate_of"),
            receipt, bool(get("offline")),
        )  # fmt: skip


__all__ = ["CLOCK_SKEW_SECONDS", "MAX_OFFLINE_AGE_SECONDS", "TapPayments"]
