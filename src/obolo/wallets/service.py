"""Wallet use cases. Each moves money only by asking the ledger for transfers, and each
records its movement, its ledger transfers and its events in one transaction.

Idempotency: a caller's idempotency key fixes the movement id and the ledger transfer
ids, so a retried request, even one racing the first, can move money only once. Calls
to the card processor and the bank happen outside any database transaction and are
themselves keyed by the movement id, so a retry after a crash completes the same
charge or payout rather than starting a second one.
"""

from __future__ import annotations

import base64
import json
import uuid
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, and_, insert, or_, select, update

from obolo.adapters.bank import BankPayouts, Payout, PayoutStatus
from obolo.adapters.cards import Card, CardProcessor, ChargeStatus
from obolo.adapters.clock import NS_PER_SECOND, Clock, iso
from obolo.adapters.db.schema import movements, wallets
from obolo.adapters.db.transactions import transaction
from obolo.adapters.ids import derived_id, keyed_id, new_id, uuid7
from obolo.adapters.secretbox import SecretBox
from obolo.errors import InvalidRequest, NotFound
from obolo.identity.lookup import display_names
from obolo.ledger import (
    Account,
    AccountFlags,
    AccountResult,
    Ledger,
    LedgerSession,
    Transfer,
    TransferFlags,
    TransferResult,
)
from obolo.money import DEFAULT_ASSETS, Amount, Asset, format_units
from obolo.settings import FeeRule, Settings
from obolo.wallets import invitations
from obolo.wallets.activity import ActivityEntry, Described, Describer
from obolo.wallets.errors import (
    AmountOutOfLimits,
    CannotPayYourself,
    CardDeclined,
    InsufficientFunds,
    InvalidAmount,
    RecipientNotFound,
    UnknownAsset,
)
from obolo.wallets.model import (
    AccountCode,
    Balance,
    MovementKind,
    MovementStatus,
    PlatformAccount,
    TransferCode,
    Wallet,
    check_card,
    fee_for,
    mask_iban,
    normalize_iban,
)
from obolo.webhooks.outbox import record_event, record_events

T = TypeVar("T")
_R = TransferResult
_DAY_NS = 86_400 * 1_000_000_000


@dataclass(frozen=True, slots=True)
class Movement:
    """A movement of money as its owner sees it."""

    id: str
    kind: MovementKind
    status: MovementStatus
    asset: str
    amount: int
    fee: int
    from_user_id: str | None
    to_user_id: str | None
    note: str | None
    details: dict[str, Any]
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    movement: Movement
    direction: str  # "in" or "out"
    counterparty: str | None


@dataclass(frozen=True, slots=True)
class StatementLine:
    timestamp: int
    movement_id: str | None
    kind: str
    description: str
    amount: int  # signed: credits positive, debits negative
    balance: int


def _movement(row: Any) -> Movement:
    return Movement(
        id=row.id,
        kind=MovementKind(row.kind),
        status=MovementStatus(row.status),
        asset=row.asset,
        amount=row.amount,
        fee=row.fee,
        from_user_id=row.from_user_id,
        to_user_id=row.to_user_id,
        note=row.note,
        details=json.loads(row.details) if row.details else {},
        created_at=row.created_at,
        updated_at=row.updated_at,
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


_WALLETS_CACHED = 100_000  # at most, per process


class WalletService:
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
        self.engine = engine
        # Seals a withdrawal's bank account while its payout is in flight (see
        # `resume_withdrawals`); without one, withdrawals whose request dies are not resumed.
        self.secrets = secrets
        self.ledger = ledger
        self.clock = clock
        self.cards = cards
        self.bank = bank
        self.settings = settings
        self.assets = assets or dict(DEFAULT_ASSETS)
        self._platform_ready: set[str] = set()
        self._platform_created: weakref.WeakKeyDictionary[LedgerSession, set[str]] = (
            weakref.WeakKeyDictionary()
        )
        # Wallets never change once committed: each is read from the database once per
        # process. One created in a transaction still open is not kept (it may roll back).
        self._wallets: dict[tuple[str, str], Wallet] = {}
        self._wallets_created: weakref.WeakKeyDictionary[LedgerSession, set[tuple[str, str]]] = (
            weakref.WeakKeyDictionary()
        )
        # history: products describe their own transfers (filled by the bootstrap)
        self.describers: list[Describer] = [self._describe_movements]

    def register_describer(self, describer: Describer) -> None:
        """Let a product name its transfers in people's history and statements."""
        self.describers.append(describer)

    # -- plumbing ---------------------------------------------------------------------------
    def _run(self, work: Callable[[LedgerSession], T]) -> T:
        return self.ledger.run(work)

    def asset(self, code: str) -> Asset:
        asset = self.assets.get(code)
        if asset is None:
            raise UnknownAsset(f"unknown asset {code!r}", asset=code)
        return asset

    def _ensure_platform_accounts(self, session: LedgerSession, asset: str) -> None:
        if asset in self._platform_ready:
            return
        results = session.create_accounts(
            [
                Account(
                    purpose.account_id(asset),
                    asset,
                    code=int(purpose.code),
                    owner=f"platform:{purpose.value}",
                )
                for purpose in PlatformAccount
            ]
        )
        if any(r not in (AccountResult.OK, AccountResult.EXISTS) for r in results):
            raise RuntimeError(f"platform accounts for {asset}: {results}")
        created = self._platform_created.setdefault(session, set())
        if any(r is AccountResult.OK for r in results):
            created.add(asset)
        elif asset not in created:
            # Only once they are seen committed: a transaction that created them may still
            # roll back, and seeing them again inside that same transaction proves nothing.
            self._platform_ready.add(asset)

    def ensure_platform_accounts(self, session: LedgerSession, asset: str) -> None:
        """The platform's accounts in `asset` exist, inside the caller's transaction."""
        self._ensure_platform_accounts(session, asset)

    def _wallet(self, session: LedgerSession, user_id: str, asset: str, *, create: bool) -> Wallet | None:
        known = self._wallets.get((user_id, asset))
        if known is not None:
            return known
        connection = session.connection
        row = connection.execute(
            select(wallets).where(wallets.c.user_id == user_id, wallets.c.asset == asset)
        ).first()
        if row is not None:
            found = Wallet(row.id, row.user_id, row.asset, int.from_bytes(row.account_id, "big"))
            if (user_id, asset) not in self._wallets_created.get(session, ()):
                if len(self._wallets) >= _WALLETS_CACHED:
                    self._wallets.clear()
                self._wallets[(user_id, asset)] = found
            return found
        if not create:
            return None
        self._ensure_platform_accounts(session, asset)
        account_id = uuid7(self.clock()).int
        result = session.create_accounts(
            [
                Account(
                    account_id,
                    asset,
                    code=int(AccountCode.WALLET),
                    flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
                    owner=f"user:{user_id}",
                )
            ]
        )
        if result != [AccountResult.OK]:
            raise RuntimeError(f"wallet account: {result}")
        wallet = Wallet(new_id(), user_id, asset, account_id)
        self._wallets_created.setdefault(session, set()).add((user_id, asset))
        # A concurrent first use inserts the same (user, asset): the unique constraint
        # fails one of the two transactions, which reruns and finds the winner's wallet.
        connection.execute(
            insert(wallets).values(
                id=wallet.id,
                user_id=user_id,
                asset=asset,
                account_id=account_id.to_bytes(16, "big"),
                created_at=self.clock(),
            )
        )
        return wallet

    def _known_person(self, handle: str, asset: str) -> invitations.Recipient | None:
        """A user id whose wallet this process has read: that person exists (people are
        never deleted), so the payment needs no look-up to know it."""
        try:
            user_id = str(uuid.UUID(handle.strip()))
        except ValueError:
            return None
        return invitations.Recipient(user_id) if (user_id, asset) in self._wallets else None

    def _movement_id(self, user_id: str, kind: MovementKind, idempotency_key: str | None) -> str:
        return keyed_id(idempotency_key, "movement", user_id, kind.value)

    @staticmethod
    def _transfer_id(movement_id: str, part: str) -> int:
        return derived_id("transfer", movement_id, part)

    def movement_id_for(self, user_id: str, kind: MovementKind, idempotency_key: str) -> str:
        """The id a movement made with this idempotency key has (or will have)."""
        return self._movement_id(user_id, kind, idempotency_key)

    def fee_of(self, kind: MovementKind, amount: int) -> int:
        """The fee this kind of movement of `amount` units costs, under the settings."""
        return self._fee(kind, amount)

    @staticmethod
    def transfer_id_of(movement_id: str, part: str) -> int:
        """The ledger id of a movement's transfer: "principal", "fee", "settle", "settle-fee"."""
        return derived_id("transfer", movement_id, part)

    def _find_movement(self, connection: Connection, movement_id: str) -> Movement | None:
        row = connection.execute(select(movements).where(movements.c.id == movement_id)).first()
        return None if row is None else _movement(row)

    def _insert_movement(
        self,
        connection: Connection,
        movement: Movement,
        transfer_id: int | None,
        *,
        iban_sealed: str | None = None,
    ) -> None:
        connection.execute(
            insert(movements).values(
                id=movement.id,
                kind=str(movement.kind),
                status=str(movement.status),
                asset=movement.asset,
                amount=movement.amount,
                fee=movement.fee,
                from_user_id=movement.from_user_id,
                to_user_id=movement.to_user_id,
                note=movement.note,
                transfer_id=None if transfer_id is None else transfer_id.to_bytes(16, "big"),
                details=json.dumps(movement.details, sort_keys=True) if movement.details else None,
                created_at=movement.created_at,
                updated_at=movement.updated_at,
                iban_sealed=iban_sealed,
            )
        )

    def _check_amount(self, amount: Amount, low: int, high: int) -> None:
        self.asset(amount.asset.code)
        if amount.units <= 0:
            raise InvalidAmount("the amount must be positive")
        if not low <= amount.units <= high:
            raise AmountOutOfLimits(
                f"the amount must be between {format_units(low, amount.asset)} and "
                f"{format_units(high, amount.asset)} {amount.asset.code}",
                minimum=format_units(low, amount.asset),
                maximum=format_units(high, amount.asset),
            )

    def _fee(self, kind: MovementKind, amount: int) -> int:
        return fee_for(amount, self.settings.fees.get(kind.value, FeeRule()))

    def _insufficient(self, session: LedgerSession, wallet: Wallet, needed: int) -> InsufficientFunds:
        asset = self.asset(wallet.asset)
        (account,) = session.lookup_accounts([wallet.account_id])
        return InsufficientFunds(
            wallet.asset, format_units(needed, asset), format_units(account.available, asset)
        )

    def _payload(self, movement: Movement) -> dict[str, Any]:
        asset = self.asset(movement.asset)
        return {
            "id": movement.id,
            "kind": str(movement.kind),
            "status": str(movement.status),
            "amount": format_units(movement.amount, asset),
            "fee": format_units(movement.fee, asset),
            "asset": movement.asset,
            "note": movement.note,
        }

    def wallet(self, session: LedgerSession, user_id: str, asset: str) -> Wallet:
        """The user's wallet in `asset`, created on first use, inside the caller's transaction."""
        wallet = self._wallet(session, user_id, asset, create=True)
        assert wallet is not None
        return wallet

    def wallets_of(self, session: LedgerSession, user_ids: set[str], asset: str) -> dict[str, Wallet]:
        """Each user's wallet in `asset`, created for those without one, inside the caller's
        transaction: one query, one account batch and one insert for any number of people
        (a bulk task approval pays a thousand workers)."""
        connection = session.connection
        found = {
            row.user_id: Wallet(row.id, row.user_id, row.asset, int.from_bytes(row.account_id, "big"))
            for row in connection.execute(
                select(wallets).where(wallets.c.asset == asset, wallets.c.user_id.in_(sorted(user_ids)))
            ).all()
        }
        missing = sorted(user_ids - found.keys())
        if not missing:
            return found
        self._ensure_platform_accounts(session, asset)
        now = self.clock()
        created = {user_id: Wallet(new_id(), user_id, asset, uuid7(now).int) for user_id in missing}
        results = session.create_accounts(
            [
                Account(w.account_id, asset, code=int(AccountCode.WALLET),
                        flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS, owner=f"user:{w.user_id}")
                for w in created.values()
            ]
        )  # fmt: skip
        if any(r is not AccountResult.OK for r in results):
            raise RuntimeError(f"wallet accounts: {set(results)}")
        # As in `_wallet`: a concurrent first use fails the unique constraint and reruns.
        connection.execute(
            insert(wallets),
            [
                {"id": w.id, "user_id": w.user_id, "asset": asset,
                 "account_id": w.account_id.to_bytes(16, "big"), "created_at": now}
                for w in created.values()
            ],
        )  # fmt: skip
        return found | created

    def wallet_of(self, user_id: str, asset: str) -> Wallet:
        """The user's wallet in `asset` (created on first use), in its own transaction."""
        return self.ledger.run(lambda session: self.wallet(session, user_id, asset))

    def check_amount(self, amount: Amount, low: int, high: int) -> None:
        self._check_amount(amount, low, high)

    def debit(
        self,
        session: LedgerSession,
        wallet: Wallet,
        credit_account_id: int,
        transfer_id: int,
        amount: int,
        fee: int,
        code: TransferCode,
        *,
        fee_transfer_id: int | None = None,
        hold: bool = False,
        timeout: int = 0,
    ) -> None:
        """Move `amount` out of the wallet, and the fee to fee revenue, as one linked pair
        (both pending, with `timeout` seconds, if `hold`). Raises InsufficientFunds, which
        rolls the caller's transaction back."""
        pending = TransferFlags.PENDING if hold else TransferFlags.NONE
        linked = TransferFlags.LINKED if fee else TransferFlags.NONE
        transfers = [
            Transfer(transfer_id, wallet.account_id, credit_account_id, amount, wallet.asset, code=int(code),
                     flags=pending | linked, timeout=timeout)
        ]  # fmt: skip
        if fee:
            fee_account = PlatformAccount.FEE_REVENUE.account_id(wallet.asset)
            fee_id = fee_transfer_id if fee_transfer_id is not None else derived_id("fee", str(transfer_id))
            fee_code = int(TransferCode.FEE)
            transfers.append(
                Transfer(fee_id, wallet.account_id, fee_account, fee, wallet.asset, code=fee_code,
                         flags=pending, timeout=timeout)
            )  # fmt: skip
        results = session.create_transfers(transfers)
        if _R.EXCEEDS_CREDITS in results:
            raise self._insufficient(session, wallet, amount + fee)
        if any(r not in (_R.OK, _R.EXISTS) for r in results):
            raise RuntimeError(f"{code.name.lower()} {transfer_id:x} refused by the ledger: {results}")

    def _debit(
        self,
        session: LedgerSession,
        wallet: Wallet,
        credit_account_id: int,
        movement_id: str,
        amount: int,
        fee: int,
        code: TransferCode,
        *,
        hold: bool = False,
    ) -> int:
        principal_id = self._transfer_id(movement_id, "principal")
        fee_id = self._transfer_id(movement_id, "fee")
        self.debit(
            session,
            wallet,
            credit_account_id,
            principal_id,
            amount,
            fee,
            code,
            fee_transfer_id=fee_id,
            hold=hold,
        )
        return principal_id

    # -- reads --------------------------------------------------------------------------------
    def balances(self, user_id: str) -> list[Balance]:
        """One balance per wallet the user has, in asset order."""

        def work(session: LedgerSession) -> list[Balance]:
            rows = session.connection.execute(
                select(wallets).where(wallets.c.user_id == user_id).order_by(wallets.c.asset)
            ).all()
            accounts = session.lookup_accounts([int.from_bytes(row.account_id, "big") for row in rows])
            return [Balance(a.asset, a.available, a.debits_pending) for a in accounts]

        return self.ledger.run(work, read_only=True)

    def movement(self, user_id: str, movement_id: str) -> Movement:
        """One of the user's movements; someone else's is NotFound, like a missing one."""
        with transaction(self.engine, read_only=True) as connection:
            found = self._find_movement(connection, movement_id)
        if found is None or user_id not in (found.from_user_id, found.to_user_id):
            raise NotFound("no such movement")
        return found

    # -- top-ups ------------------------------------------------------------------------------
    def top_up(
        self, user_id: str, amount: Amount, card: Card, idempotency_key: str | None = None
    ) -> Movement:
        """Charge the card and credit the wallet. Raises InvalidCard, CardDeclined,
        AmountOutOfLimits, UnknownAsset."""
        self._check_amount(amount, self.settings.topup_min, self.settings.topup_max)
        today = datetime.fromtimestamp(self.clock() / 1e9, tz=UTC)
        number = check_card(
            card.number, card.exp_month, card.exp_year, card.cvc, year=today.year, month=today.month
        )
        card = Card(number, card.exp_month, card.exp_year, card.cvc)
        movement_id = self._movement_id(user_id, MovementKind.TOPUP, idempotency_key)
        with transaction(self.engine, read_only=True) as connection:
            movement = self._find_movement(connection, movement_id)
        if movement is None:
            movement = self._charge_and_record(user_id, movement_id, amount, card)
        if movement.status is MovementStatus.FAILED:  # a retry of a declined top-up is declined again
            code = movement.details.get("decline_code", "card_declined")
            raise CardDeclined(f"the card was declined ({code})", decline_code=code, movement_id=movement.id)
        return movement

    def _charge_and_record(self, user_id: str, movement_id: str, amount: Amount, card: Card) -> Movement:
        charge = self.cards.charge(movement_id, amount.units, amount.asset.code, card)
        asset = amount.asset.code
        fee = self._fee(MovementKind.TOPUP, amount.units)
        details = {"card_brand": charge.brand, "card_last4": charge.last4, "charge_id": charge.id}

        def record(session: LedgerSession) -> Movement:
            connection = session.connection
            existing = self._find_movement(connection, movement_id)
            if existing is not None:
                return existing
            now = self.clock()
            succeeded = charge.status is ChargeStatus.SUCCEEDED
            if charge.decline_code:
                details["decline_code"] = charge.decline_code
            movement = Movement(
                movement_id, MovementKind.TOPUP,
                MovementStatus.SUCCEEDED if succeeded else MovementStatus.FAILED,
                asset, amount.units, fee if succeeded else 0, None, user_id, None, details, now, now,
            )  # fmt: skip
            transfer_id = None
            if succeeded:
                wallet = self._wallet(session, user_id, asset, create=True)
                assert wallet is not None
                transfer_id = self._transfer_id(movement_id, "principal")
                transfers = [
                    Transfer(
                        transfer_id,
                        PlatformAccount.CARD_FUNDING.account_id(asset),
                        wallet.account_id,
                        amount.units,
                        asset,
                        code=int(TransferCode.TOPUP),
                        flags=TransferFlags.LINKED if fee else TransferFlags.NONE,
                    )
                ]
                if fee:
                    transfers.append(
                        Transfer(self._transfer_id(movement_id, "fee"), wallet.account_id,
                                 PlatformAccount.FEE_REVENUE.account_id(asset), fee, asset,
                                 code=int(TransferCode.FEE))
                    )  # fmt: skip
                results = session.create_transfers(transfers)
                if any(r not in (_R.OK, _R.EXISTS) for r in results):
                    raise RuntimeError(f"top-up {movement_id} refused by the ledger: {results}")
            self._insert_movement(connection, movement, transfer_id)
            record_event(
                connection,
                user_id,
                "topup.succeeded" if succeeded else "topup.failed",
                self._payload(movement),
                now,
            )
            return movement

        return self._run(record)

    # -- payments -----------------------------------------------------------------------------
    def pay(
        self,
        user_id: str,
        to: str,
        amount: Amount,
        note: str | None = None,
        idempotency_key: str | None = None,
    ) -> Movement:
        """Pay another person at once. The fee, if any, is paid by the sender on top of
        the amount, in the same atomic batch. An email or phone number without an account
        is invited and the money held for it (`invitations`); the answer is the same as for
        one with an account. Raises RecipientNotFound (a `to` that cannot name anyone, or an
        unknown user id), CannotPayYourself, InsufficientFunds, AmountOutOfLimits, UnknownAsset."""
        self._check_amount(amount, 1, self.settings.payment_max)
        asset = amount.asset.code
        movement_id = self._movement_id(user_id, MovementKind.PAYMENT, idempotency_key)
        fee = self._fee(MovementKind.PAYMENT, amount.units)

        def work(session: LedgerSession) -> Movement:
            connection = session.connection
            existing = self._find_movement(connection, movement_id)
            if existing is not None:
                return existing
            recipient = self._known_person(to, asset) or invitations.resolve(connection, to)
            if recipient.user_id == user_id:
                raise CannotPayYourself("a payment needs someone else to receive it")
            payer = self._wallet(session, user_id, asset, create=True)
            assert payer is not None
            if recipient.user_id is None and recipient.invitee is None:
                # An unknown user id: funds are checked first, as for a known one, so an
                # empty wallet cannot tell ids apart either.
                (account,) = session.lookup_accounts([payer.account_id])
                if account.available < amount.units + fee:
                    raise self._insufficient(session, payer, amount.units + fee)
                raise RecipientNotFound("nobody with that id, email or phone number")
            now = self.clock()
            details: dict[str, Any] = {}
            if recipient.user_id is None:
                assert recipient.invitee is not None
                principal_id, details = invitations.hold(
                    self, session, payer, movement_id, recipient.invitee, amount.units, fee, now
                )
            else:
                payee = self._wallet(session, recipient.user_id, asset, create=True)
                assert payee is not None
                principal_id = self._debit(
                    session, payer, payee.account_id, movement_id, amount.units, fee, TransferCode.PAYMENT
                )
            movement = Movement(
                movement_id, MovementKind.PAYMENT, MovementStatus.SUCCEEDED, asset, amount.units, fee,
                user_id, recipient.user_id, note, details, now, now,
            )  # fmt: skip
            self._insert_movement(connection, movement, principal_id)
            payload = self._payload(movement)
            # Both events in one insert and one look-up of the two people's endpoints.
            notices = [(user_id, "payment.sent", {**payload, "to": recipient.user_id})]
            if recipient.user_id is not None:
                received = {**payload, "fee": format_units(0, amount.asset), "from": user_id}
                notices.append((recipient.user_id, "payment.received", received))
            record_events(connection, notices, now)
            return movement

        return invitations.answer(self._run(work), to)

    # -- withdrawals --------------------------------------------------------------------------
    def withdraw(
        self, user_id: str, amount: Amount, iban: str, idempotency_key: str | None = None
    ) -> Movement:
        """Send money to a bank account. The amount (and fee) is held while the payout is
        in flight, then posted if the bank pays or released if it fails. Raises
        InvalidIban, InsufficientFunds, AmountOutOfLimits, UnknownAsset."""
        self._check_amount(amount, self.settings.withdrawal_min, self.settings.withdrawal_max)
        account_number = normalize_iban(iban)
        asset = amount.asset.code
        movement_id = self._movement_id(user_id, MovementKind.WITHDRAWAL, idempotency_key)
        fee = self._fee(MovementKind.WITHDRAWAL, amount.units)
        principal_id = self._transfer_id(movement_id, "principal")
        # Kept, sealed, until the settle: the resume job asks the bank with it if this
        # request dies in between.
        sealed = None if self.secrets is None else self.secrets.seal(account_number)

        def hold(session: LedgerSession) -> Movement:
            connection = session.connection
            existing = self._find_movement(connection, movement_id)
            if existing is not None:
                return existing
            wallet = self._wallet(session, user_id, asset, create=True)
            assert wallet is not None
            bank = PlatformAccount.BANK_PAYOUTS.account_id(asset)
            self._debit(
                session, wallet, bank, movement_id, amount.units, fee, TransferCode.WITHDRAWAL, hold=True
            )
            now = self.clock()
            movement = Movement(
                movement_id, MovementKind.WITHDRAWAL, MovementStatus.PENDING, asset, amount.units, fee,
                user_id, None, None, {"iban": mask_iban(account_number)}, now, now,
            )  # fmt: skip
            self._insert_movement(connection, movement, principal_id, iban_sealed=sealed)
            record_event(connection, user_id, "withdrawal.created", self._payload(movement), now)
            return movement

        movement = self._run(hold)
        if movement.status is not MovementStatus.PENDING:
            return movement
        payout = self.bank.payout(movement_id, amount.units, asset, account_number)
        return self._run(lambda session: self._settle_withdrawal(session, movement_id, payout))

    def _settle_withdrawal(self, session: LedgerSession, movement_id: str, payout: Payout) -> Movement:
        """Post the withdrawal's holds if the bank paid, void them if it refused, and say
        so; a withdrawal already settled is returned as it is.

        Its request, a client's retry of it and the resume job may all get here for the
        same withdrawal. The movement's row is locked (FOR UPDATE on PostgreSQL; SQLite's
        BEGIN IMMEDIATE already lets one writer in at a time) before its status is read:
        the ledger's derived transfer ids alone would not do, since a second settle that
        read `pending` before the first committed would get EXISTS for the transfers and
        go on to record the movement's event a second time."""
        connection = session.connection
        row = connection.execute(
            select(movements).where(movements.c.id == movement_id).with_for_update()
        ).first()
        assert row is not None
        current = _movement(row)
        if current.status is not MovementStatus.PENDING:
            return current
        paid = payout.status is PayoutStatus.PAID
        principal_id = self._transfer_id(movement_id, "principal")
        flag = TransferFlags.POST_PENDING_TRANSFER if paid else TransferFlags.VOID_PENDING_TRANSFER
        transfers = [Transfer(self._transfer_id(movement_id, "settle"), pending_id=principal_id, flags=flag)]
        if current.fee:
            transfers = [
                Transfer(transfers[0].id, pending_id=principal_id, flags=flag | TransferFlags.LINKED),
                Transfer(
                    self._transfer_id(movement_id, "settle-fee"),
                    pending_id=self._transfer_id(movement_id, "fee"),
                    flags=flag,
                ),
            ]
        results = session.create_transfers(transfers)
        if any(r not in (_R.OK, _R.EXISTS) for r in results):
            raise RuntimeError(f"withdrawal {movement_id} could not settle: {results}")
        now = self.clock()
        status = MovementStatus.SUCCEEDED if paid else MovementStatus.FAILED
        details = {**current.details, "payout_id": payout.id}
        if payout.failure_code:
            details["failure_code"] = payout.failure_code
        # The bank account is kept only while the payout is in flight.
        connection.execute(
            update(movements)
            .where(movements.c.id == movement_id)
            .values(status=str(status), updated_at=now, external_ref=payout.id, iban_sealed=None,
                    details=json.dumps(details, sort_keys=True))
        )  # fmt: skip
        settled = Movement(**{**_as_dict(current), "status": status, "details": details, "updated_at": now})
        assert current.from_user_id is not None
        record_event(
            connection,
            current.from_user_id,
            "withdrawal.paid" if paid else "withdrawal.failed",
            self._payload(settled),
            now,
        )
        return settled

    def resume_withdrawals(self, limit: int = 100) -> int:
        """The job that finishes withdrawals whose request died between the hold and the
        settle (and was never retried): each still pending `withdrawal_resume_after_seconds`
        after it began is finished as its request would have finished it. The bank is
        asked again under the movement's id, so a payout it already made is answered, not
        made again; the holds are then posted or voided. Returns how many it looked at.

        Withdrawals made without a SecretBox (or before the bank account was kept) have
        no account to ask the bank with and are left to an operator."""
        if self.secrets is None:
            return 0
        secrets = self.secrets
        cutoff = self.clock() - self.settings.withdrawal_resume_after_seconds * NS_PER_SECOND
        query = (
            select(movements.c.id, movements.c.amount, movements.c.asset, movements.c.iban_sealed)
            .where(
                movements.c.status == MovementStatus.PENDING.value,
                movements.c.kind == MovementKind.WITHDRAWAL.value,
                movements.c.created_at < cutoff,
                movements.c.iban_sealed.is_not(None),
            )
            .order_by(movements.c.created_at, movements.c.id)
            .limit(limit)
        )
        with transaction(self.engine, read_only=True) as connection:
            rows = connection.execute(query).all()
        for row in rows:
            # Outside any transaction, as in `withdraw`: the bank may take its time.
            payout = self.bank.payout(row.id, row.amount, row.asset, secrets.open(row.iban_sealed))
            self._run(partial(self._settle_withdrawal, movement_id=row.id, payout=payout))
        return len(rows)

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
            rows = [_movement(row) for row in connection.execute(query).all()]
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
                text = f"Hold expired: {about.description}"
            elif t.flags & TransferFlags.PENDING:
                about = described.get(t.id) or _fallback(t)
                text = about.hold or f"Reserved: {_lower_first(about.description)}"
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
                    status, change, reserved, text = "settled", sign * amount, released, about.description
                else:
                    status, change, reserved = "released", 0, released
                    text = about.release or f"Released: {_lower_first(about.description)}"
            else:
                about = described.get(t.id) or _fallback(t)
                status, change, reserved, text = "posted", sign * amount, 0, about.description
            entries.append(
                ActivityEntry(
                    _id_text(t.id), event.timestamp, accounts[account], about.kind, status,
                    "out" if outgoing else "in", change, reserved, text, about.counterparty,
                    about.movement_id,
                )
            )  # fmt: skip
        return entries

    def _describe_movements(
        self, connection: Connection, user_id: str, transfers: Sequence[Transfer]
    ) -> dict[int, Described]:
        """Top-ups, payments, withdrawals and payouts: the movements table, matched by the
        transfer ids each movement's id derives (one query for the person's movements
        whose principal is among these transfers, their fees found the same way)."""
        ids = {t.id for t in transfers}
        wanted = {t.id for t in transfers if t.code != int(TransferCode.FEE)}
        keys = [i.to_bytes(16, "big") for i in sorted(wanted)]
        rows = connection.execute(
            select(movements).where(
                movements.c.transfer_id.in_(keys),
                or_(movements.c.from_user_id == user_id, movements.c.to_user_id == user_id),
            )
        ).all() if keys else []  # fmt: skip
        found = [_movement(row) for row in rows]
        principal = {row.id: int.from_bytes(row.transfer_id, "big") for row in rows}
        # Fees carry their own derived id; a movement's fee shows next to it, so look
        # them up among the person's movements only when fee transfers are asked for.
        fee_ids = ids - wanted
        if fee_ids:
            # A fee is posted in its movement's transaction: look near those times only.
            times = [t.timestamp for t in transfers if t.id in fee_ids]
            rows = connection.execute(
                select(movements).where(
                    movements.c.from_user_id == user_id,
                    movements.c.fee > 0,
                    movements.c.created_at.between(min(times) - _DAY_NS, max(times) + _DAY_NS),
                )
            ).all()
            found += [_movement(row) for row in rows if self._transfer_id(row.id, "fee") in fee_ids]
        others = {m.to_user_id if m.from_user_id == user_id else m.from_user_id for m in found}
        names = display_names(connection, {o for o in others if o})
        out: dict[int, Described] = {}
        for m in found:
            other = m.to_user_id if m.from_user_id == user_id else m.from_user_id
            name = names.get(other) if other else None
            text = _describe(m, user_id, False, name)
            out[principal.get(m.id) or self._transfer_id(m.id, "principal")] = Described(
                str(m.kind), text, hold=f"Reserved: {_lower_first(text)}",
                release=f"Released: {_lower_first(text)}",
                counterparty=name, movement_id=m.id,
            )  # fmt: skip
            fee = Described("fee", _describe(m, user_id, True, name), movement_id=m.id)
            out[self._transfer_id(m.id, "fee")] = fee
        return out

    def statement(self, user_id: str, asset: str, start: int, end: int) -> list[StatementLine]:
        """Every posted change of the wallet between `start` and `end` (ns), each with the
        balance after it: the ledger's own history of the account, described."""
        self.asset(asset)

        def work(session: LedgerSession) -> list[StatementLine]:
            wallet = self._wallet(session, user_id, asset, create=False)
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
                                  entry.balance)
                )  # fmt: skip
            return lines

        return self.ledger.run(work, read_only=True)


def _as_dict(movement: Movement) -> dict[str, Any]:
    return {field: getattr(movement, field) for field in Movement.__slots__}


def _describe(movement: Movement | None, user_id: str, is_fee: bool, counterparty: str | None = None) -> str:
    """A movement as its owner reads it ("Top-up by Visa 4242", "Payment to Bob: pizza")."""
    if movement is None:
        return "Adjustment"
    if movement.kind is MovementKind.ADJUSTMENT:
        return f"Adjustment: {movement.note}"
    if is_fee:
        what = _describe(movement, user_id, False, counterparty).split(": ", 1)[0]
        return f"Fee for {what[0].lower()}{what[1:]}"
    if movement.kind is MovementKind.TOPUP:
        brand = str(movement.details.get("card_brand", "card")).capitalize()
        return f"Top-up by {brand} {movement.details.get('card_last4', '')}".strip()
    if movement.kind is MovementKind.WITHDRAWAL:
        return f"Withdrawal to {movement.details.get('iban', 'bank')}"
    note = f": {movement.note}" if movement.note else ""
    if movement.from_user_id == user_id:
        invitee = movement.details.get("invitee")
        if counterparty is None and invitee:  # an invitation: the sender sees where it stands
            state = _INVITATION_STATES.get(str(movement.details.get("invitation")), "")
            return f"Payment to {invitee}{state}{note}"
        return f"Payment to {counterparty}{note}" if counterparty else f"Payment sent{note}"
    return f"Payment from {counterparty}{note}" if counterparty else f"Payment received{note}"


_INVITATION_STATES = {
    "waiting": " (waiting for them to join)",
    "returned": " (not claimed: returned)",
}


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


_CODE_NAMES = {int(TransferCode.FEE): ("fee", "Fee"), int(TransferCode.TOPUP): ("topup", "Top-up"),
               int(TransferCode.PAYMENT): ("payment", "Payment"),
               int(TransferCode.WITHDRAWAL): ("withdrawal", "Withdrawal"),
               int(TransferCode.ADJUSTMENT): ("adjustment", "Adjustment")}  # fmt: skip


def _fallback(transfer: Transfer) -> Described:
    """A transfer no product claims still shows, named by its code."""
    kind, text = _CODE_NAMES.get(transfer.code, ("adjustment", "Adjustment"))
    return Described(kind, text)


def _encode_activity_cursor(timestamp: int) -> str:
    return base64.urlsafe_b64encode(f"t:{timestamp}".encode()).decode().rstrip("=")


def _decode_activity_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        tag, value = text.split(":", 1)
        if tag != "t":
            raise ValueError(tag)
        return int(value)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidRequest("the cursor is not one this API gave out", field="cursor") from error


def _encode_cursor(created_at: int, movement_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at}:{movement_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, movement_id = text.split(":", 1)
        return int(created_at), str(uuid.UUID(movement_id))
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidRequest("the cursor is not one this API gave out", field="cursor") from error


__all__ = ["Balance", "HistoryEntry", "Movement", "StatementLine", "WalletService", "iso"]
