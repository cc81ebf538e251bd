"""Paying people out: providers, merchants and workers choose a bank account, a schedule
(daily, or only on demand) and a minimum (zero allowed). A payout is a withdrawal of what
the wallet holds, less the payout fee: held while the bank works, posted or released on
its answer. Each payout comes with a statement of the period since the last one: earned,
fees, refunds granted, net paid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from obolo.adapters.clock import NS_PER_SECOND, Clock
from obolo.adapters.db.schema import channel_refunds, channels, charges, providers
from obolo.adapters.db.schema import movements as movements_table
from obolo.adapters.db.schema_settlement import payout_accounts, payout_statements
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.secretbox import SecretBox
from obolo.errors import InvalidRequest, NotFound, OboloError
from obolo.ledger import Ledger, TransferFlags
from obolo.money import Amount
from obolo.settings import Settings
from obolo.settlement.model import Movement, Statement, payout_amount, statement
from obolo.wallets.model import MovementKind, MovementStatus, TransferCode, mask_iban, normalize_iban
from obolo.wallets.service import Movement as WalletMovement
from obolo.wallets.service import WalletService

SCHEDULES = ("daily", "manual")


class NoPayoutAccount(NotFound):
    code = "no_payout_account"


class InvalidPayoutSettings(InvalidRequest):
    code = "invalid_payout_settings"


class NothingToPayOut(OboloError):
    code = "nothing_to_pay_out"


@dataclass(frozen=True, slots=True)
class PayoutAccount:
    user_id: str
    asset: str
    iban_masked: str
    schedule: str
    minimum: int
    last_payout_at: int | None


@dataclass(frozen=True, slots=True)
class PayoutStatement:
    id: str
    user_id: str
    asset: str
    period_start: int
    period_end: int
    earned: int
    fees: int
    refunds: int
    topped_up: int
    spent: int
    amount: int
    payout_fee: int
    status: str
    created_at: int


class PayoutService:
    def __init__(
        self,
        engine: Engine,
        ledger: Ledger,
        clock: Clock,
        wallets: WalletService,
        secrets_box: SecretBox,
        settings: Settings,
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.settings = settings
        self.clock = clock
        self.wallets = wallets
        self.secrets_box = secrets_box

    def set_account(
        self, user_id: str, iban: str, asset: str, schedule: str, minimum: Amount
    ) -> PayoutAccount:
        """Where and when to be paid. Raises InvalidIban, InvalidPayoutSettings, UnknownAsset."""
        number = normalize_iban(iban)
        self.wallets.asset(asset)
        if schedule not in SCHEDULES:
            raise InvalidPayoutSettings(f"the schedule is one of {', '.join(SCHEDULES)}")
        if minimum.asset.code != asset or minimum.units < 0:
            raise InvalidPayoutSettings("the minimum is zero or more, in the payout's asset")
        now = self.clock()
        values = {
            "asset": asset, "iban_sealed": self.secrets_box.seal(number), "iban_masked": mask_iban(number),
            "schedule": schedule, "minimum": minimum.units, "updated_at": now,
        }  # fmt: skip

        def work(connection: Connection) -> None:
            where = payout_accounts.c.user_id == user_id
            if connection.execute(select(payout_accounts.c.user_id).where(where)).first() is None:
                connection.execute(insert(payout_accounts).values(user_id=user_id, **values))
            else:
                connection.execute(update(payout_accounts).where(where).values(**values))

        run_in_transaction(self.engine, work)
        account = self.account(user_id)
        assert account is not None
        return account

    def account(self, user_id: str) -> PayoutAccount | None:
        row = self._account_row(user_id)
        if row is None:
            return None
        return PayoutAccount(row.user_id, row.asset, row.iban_masked, row.schedule, row.minimum,
                             row.last_payout_at)  # fmt: skip

    def pay_out(self, user_id: str, idempotency_key: str | None = None) -> PayoutStatement | None:
        """Pay out what the wallet holds now (on demand), if it reaches the minimum; None
        when there is nothing to pay. A repeated key returns the first payout's statement.
        Raises NoPayoutAccount."""
        row = self._account_row(user_id)
        if row is None:
            raise NoPayoutAccount("set a payout account first")
        # A daily payout whose run was killed before its statement is finished first: its
        # money is already held or paid, and statements follow each other.
        if self._pay_out(row, _daily_key(row), started_only=True) is not None:
            row = self._account_row(user_id)
        key = idempotency_key or f"payout {user_id} {self.clock()}"
        return self._pay_out(row, key)

    def pay_out_due(self, limit: int = 200) -> int:
        """The daily job: pay everyone on the daily schedule not yet paid today (UTC).
        The payout's key names the job's last look at the account, which changes only
        once the payout is done: a rerun of the job, on whatever day, finishes a payout
        it was killed in and pays nobody twice."""
        now = self.clock()
        today = datetime.fromtimestamp(now // NS_PER_SECOND, UTC).strftime("%Y-%m-%d")
        midnight = int(datetime.strptime(today, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()) * NS_PER_SECOND
        rows = run_in_transaction(
            self.engine,
            lambda c: c.execute(
                select(payout_accounts)
                .where(
                    payout_accounts.c.schedule == "daily",
                    (payout_accounts.c.last_checked_at.is_(None))
                    | (payout_accounts.c.last_checked_at < midnight),
                )
                .order_by(payout_accounts.c.user_id)
                .limit(limit)
            ).all(),
            read_only=True,
        )
        paid = 0
        for row in rows:
            if self._pay_out(row, _daily_key(row)) is not None:
                paid += 1
            self._mark_checked(row.user_id, now)  # paid or nothing due: look again tomorrow
        return paid

    def statements(self, user_id: str, limit: int = 50) -> list[PayoutStatement]:
        rows = run_in_transaction(
            self.engine,
            lambda c: c.execute(
                select(payout_statements)
                .where(payout_statements.c.user_id == user_id)
                .order_by(payout_statements.c.created_at.desc())
                .limit(limit)
            ).all(),
            read_only=True,
        )
        return [PayoutStatement(**row._mapping) for row in rows]

    # -- the work ------------------------------------------------------------------------------
    def _account_row(self, user_id: str) -> Any:
        return run_in_transaction(
            self.engine,
            lambda c: c.execute(select(payout_accounts).where(payout_accounts.c.user_id == user_id)).first(),
            read_only=True,
        )

    def _pay_out(self, row: Any, key: str, *, started_only: bool = False) -> PayoutStatement | None:
        """The payout under `key`: its statement if it has one; else the withdrawal (made,
        or finished if a killed run made it) and its statement. With `started_only`, None
        rather than a new payout."""
        user_id: str = row.user_id
        asset_code: str = row.asset
        existing = self._statement_for_key(user_id, key)
        if existing is not None:
            return existing
        asset = self.wallets.asset(asset_code)
        started = self._withdrawal_for_key(user_id, key)
        if started is not None:
            # A run killed after its withdrawal committed: the balance no longer holds that
            # money, so the amount is the withdrawal's own, and the rest is finished below
            # (the bank is asked under the same id, and answers as it did).
            amount = started.amount
        elif started_only or (amount := self._amount_due(row)) == 0:
            return None
        start: int = row.last_payout_at or 0
        iban = self.secrets_box.open(row.iban_sealed)
        movement = self.wallets.withdraw(user_id, Amount(amount, asset), iban, idempotency_key=key)
        # The period ends where the payout's own hold begins: statements follow each other
        # without a gap or an overlap, in the ledger's own time.
        (hold,) = self.ledger.lookup_transfers([self.wallets.transfer_id_of(movement.id, "principal")])
        end = hold.timestamp
        summary = self._statement_of(user_id, asset_code, start, end)
        refunds = self._refunds_granted(user_id, start, end)
        paid = movement.status is MovementStatus.SUCCEEDED
        # Dated by the settle: a re-run after a kill writes what the first run would have.
        record = PayoutStatement(
            id=movement.id, user_id=user_id, asset=asset_code, period_start=start,
            period_end=end, earned=summary.earned, fees=summary.fees, refunds=refunds,
            topped_up=summary.topped_up, spent=summary.spent, amount=movement.amount, payout_fee=movement.fee,
            status="succeeded" if paid else "failed", created_at=movement.updated_at,
        )  # fmt: skip

        def work(connection: Connection) -> None:
            if (
                connection.execute(
                    select(payout_statements.c.id).where(payout_statements.c.id == record.id)
                ).first()
                is None
            ):
                connection.execute(insert(payout_statements).values(**_row(record)))
            if paid:
                connection.execute(
                    update(payout_accounts)
                    .where(payout_accounts.c.user_id == user_id)
                    .values(last_payout_at=end)
                )

        run_in_transaction(self.engine, work)
        return record

    def _amount_due(self, row: Any) -> int:
        """What the wallet can pay out now, its fee left in it; 0 below the minimum."""
        balance = {b.asset: b.available for b in self.wallets.balances(row.user_id)}.get(row.asset, 0)
        settings = self.settings
        fee_of = partial(self.wallets.fee_of, MovementKind.WITHDRAWAL)
        amount = payout_amount(balance, fee_of, settings.withdrawal_max)
        return amount if amount >= max(1, row.minimum, settings.withdrawal_min) else 0

    def _mark_checked(self, user_id: str, now: int) -> None:
        run_in_transaction(
            self.engine,
            lambda c: c.execute(
                update(payout_accounts)
                .where(payout_accounts.c.user_id == user_id)
                .values(last_checked_at=now)
            ),
        )

    def _withdrawal_for_key(self, user_id: str, key: str) -> WalletMovement | None:
        try:
            return self.wallets.movement(
                user_id, self.wallets.movement_id_for(user_id, MovementKind.WITHDRAWAL, key)
            )
        except NotFound:
            return None

    def _statement_for_key(self, user_id: str, key: str) -> PayoutStatement | None:
        movement_id = self.wallets.movement_id_for(user_id, MovementKind.WITHDRAWAL, key)
        row = run_in_transaction(
            self.engine,
            lambda c: c.execute(
                select(payout_statements).where(payout_statements.c.id == movement_id)
            ).first(),
            read_only=True,
        )
        return None if row is None else PayoutStatement(**row._mapping)

    def _statement_of(self, user_id: str, asset: str, start: int, end: int) -> Statement:
        account_id = self.wallets.wallet_of(user_id, asset).account_id
        # Payouts and withdrawals (and their fees) are what a statement pays, not what the
        # period earned or spent: their transfers are left out.
        withdrawals = run_in_transaction(
            self.engine,
            lambda c: (
                c.execute(
                    select(movements_table.c.id).where(
                        movements_table.c.from_user_id == user_id,
                        movements_table.c.kind == MovementKind.WITHDRAWAL.value,
                    )
                )
                .scalars()
                .all()
            ),
            read_only=True,
        )
        excluded = {
            self.wallets.transfer_id_of(movement_id, part)
            for movement_id in withdrawals
            for part in ("principal", "fee", "settle", "settle-fee")
        }
        movements: list[Movement] = []
        after = start
        while True:
            page = self.ledger.account_transfers(account_id, after=after, limit=1_000)
            for transfer in page:
                if transfer.timestamp >= end:
                    break
                if transfer.id in excluded:
                    continue
                flags = transfer.flags
                kind = (
                    "pending" if flags & TransferFlags.PENDING
                    else "void" if flags & TransferFlags.VOID_PENDING_TRANSFER
                    else "post" if flags & TransferFlags.POST_PENDING_TRANSFER
                    else "posted"
                )  # fmt: skip
                incoming = transfer.credit_account_id == account_id
                movements.append(Movement(transfer.amount or 0, incoming, transfer.code, kind))
            if len(page) < 1_000 or page[-1].timestamp >= end:
                break
            after = page[-1].timestamp
        return statement(movements, topup_code=int(TransferCode.TOPUP), fee_code=int(TransferCode.FEE))

    def _refunds_granted(self, user_id: str, start: int, end: int) -> int:
        """Views readers took back from this person's sites in the period (already netted
        from what their settlements paid)."""

        def work(connection: Connection) -> int:
            owned = select(providers.c.id).where(providers.c.user_id == user_id)
            on_channels = connection.execute(
                select(func.coalesce(func.sum(channel_refunds.c.amount), 0))
                .join(channels, channels.c.id == channel_refunds.c.channel_id)
                .where(channels.c.provider_id.in_(owned), channel_refunds.c.created_at >= start,
                       channel_refunds.c.created_at < end)
            ).scalar_one()  # fmt: skip
            on_charges = connection.execute(
                select(func.coalesce(func.sum(charges.c.amount), 0)).where(
                    charges.c.provider_id.in_(owned),
                    charges.c.refunded_at >= start,
                    charges.c.refunded_at < end,
                )
            ).scalar_one()
            return int(on_channels) + int(on_charges)

        return run_in_transaction(self.engine, work, read_only=True)


def _daily_key(row: Any) -> str:
    """The daily job's payout for an account: the one after the job's last look at it. The
    spaces keep it apart from every client's Idempotency-Key (printable, no spaces), so no
    withdrawal of theirs can be taken for it."""
    return f"payout {row.user_id} after {row.last_checked_at or 0}"


def _row(record: PayoutStatement) -> dict[str, object]:
    return {name: getattr(record, name) for name in PayoutStatement.__slots__}
