"""The plumbing every wallet use case shares: the wallets themselves (one ledger account
per person and asset, created on first use), the platform's accounts, the movements table,
amounts and fees under the settings, and the debit of a wallet as one linked pair.

Products that move money out of wallets (paywall, tasks, tap, SMS, checkout) use the
public methods here, through `WalletService`, inside their own transactions.
"""

from __future__ import annotations

import json
import uuid
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, insert, select

from obolo.adapters.clock import Clock
from obolo.adapters.db.schema import movements, wallets
from obolo.adapters.ids import derived_id, keyed_id, new_id, uuid7
from obolo.ledger import (
    Account,
    AccountFlags,
    AccountResult,
    Ledger,
    LedgerSession,
    Transfer,
    TransferFlags,
    TransferResult,
    expect_ok,
)
from obolo.money import DEFAULT_ASSETS, Amount, Asset, format_units
from obolo.settings import FeeRule, Settings
from obolo.wallets import invitations
from obolo.wallets.errors import AmountOutOfLimits, InsufficientFunds, InvalidAmount, UnknownAsset
from obolo.wallets.model import (
    AccountCode,
    Movement,
    MovementKind,
    MovementStatus,
    PlatformAccount,
    TransferCode,
    Wallet,
    fee_for,
)

T = TypeVar("T")
_R = TransferResult


def movement_from_row(row: Any) -> Movement:
    """A row of the movements table as the Movement it records."""
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


def transfer_id_of(movement_id: str, part: str) -> int:
    """The ledger id of a movement's transfer: "principal", "fee", "settle", "settle-fee"."""
    return derived_id("transfer", movement_id, part)


_WALLETS_CACHED = 100_000  # at most, per process
# Built once (a payment's hot path): construction and cache key are paid by the first use.
_INSERT_MOVEMENT = insert(movements)


class WalletAccounts:
    """Wallets, the platform's accounts and movements, over the ledger and the settings."""

    def __init__(
        self,
        engine: Engine,
        ledger: Ledger,
        clock: Clock,
        settings: Settings,
        assets: dict[str, Asset] | None = None,
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.clock = clock
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

    def run(self, work: Callable[[LedgerSession], T]) -> T:
        """`work` in one write transaction (rerun on a conflict)."""
        return self.ledger.run(work)

    def asset(self, code: str) -> Asset:
        """The asset with this code; UnknownAsset if there is none."""
        asset = self.assets.get(code)
        if asset is None:
            raise UnknownAsset(f"unknown asset {code!r}", asset=code)
        return asset

    def ensure_platform_accounts(self, session: LedgerSession, asset: str) -> None:
        """The platform's accounts in `asset` exist, inside the caller's transaction."""
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
        expect_ok(results, f"platform accounts for {asset}")
        created = self._platform_created.setdefault(session, set())
        if any(r is AccountResult.OK for r in results):
            created.add(asset)
        elif asset not in created:
            # Only once they are seen committed: a transaction that created them may still
            # roll back, and seeing them again inside that same transaction proves nothing.
            self._platform_ready.add(asset)

    def find_wallet(self, session: LedgerSession, user_id: str, asset: str, *, create: bool) -> Wallet | None:
        """The user's wallet in `asset`; created if `create`, else None when there is none."""
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
        self.ensure_platform_accounts(session, asset)
        account_id = uuid7(self.clock()).int
        results = session.create_accounts(
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
        expect_ok(results, f"wallet account of {user_id} in {asset}", retry_ok=False)
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

    def known_person(self, handle: str, asset: str) -> invitations.Recipient | None:
        """A user id whose wallet this process has read: that person exists (people are
        never deleted), so a payment needs no look-up to know it."""
        try:
            user_id = str(uuid.UUID(handle.strip()))
        except ValueError:
            return None
        return invitations.Recipient(user_id) if (user_id, asset) in self._wallets else None

    def movement_id_for(self, user_id: str, kind: MovementKind, idempotency_key: str | None) -> str:
        """The id a movement made with this idempotency key has (or will have); a new one
        without a key."""
        return keyed_id(idempotency_key, "movement", user_id, kind.value)

    def fee_of(self, kind: MovementKind, amount: int) -> int:
        """The fee this kind of movement of `amount` units costs, under the settings."""
        return fee_for(amount, self.settings.fees.get(kind.value, FeeRule()))

    transfer_id_of = staticmethod(transfer_id_of)

    def find_movement(self, connection: Connection, movement_id: str) -> Movement | None:
        row = connection.execute(select(movements).where(movements.c.id == movement_id)).first()
        return None if row is None else movement_from_row(row)

    def insert_movement(
        self,
        connection: Connection,
        movement: Movement,
        transfer_id: int | None,
        *,
        iban_sealed: str | None = None,
    ) -> None:
        connection.execute(
            _INSERT_MOVEMENT,
            {
                "id": movement.id,
                "kind": str(movement.kind),
                "status": str(movement.status),
                "asset": movement.asset,
                "amount": movement.amount,
                "fee": movement.fee,
                "from_user_id": movement.from_user_id,
                "to_user_id": movement.to_user_id,
                "note": movement.note,
                "transfer_id": None if transfer_id is None else transfer_id.to_bytes(16, "big"),
                "details": json.dumps(movement.details, sort_keys=True) if movement.details else None,
                "created_at": movement.created_at,
                "updated_at": movement.updated_at,
                "iban_sealed": iban_sealed,
            },
        )

    def check_amount(self, amount: Amount, low: int, high: int) -> None:
        """Raises UnknownAsset, InvalidAmount (not positive), AmountOutOfLimits."""
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

    def insufficient(self, session: LedgerSession, wallet: Wallet, needed: int) -> InsufficientFunds:
        """The error for a wallet that cannot pay `needed` units, with what it has."""
        asset = self.asset(wallet.asset)
        (account,) = session.lookup_accounts([wallet.account_id])
        return InsufficientFunds(
            wallet.asset, format_units(needed, asset), format_units(account.available, asset)
        )

    def payload(self, movement: Movement) -> dict[str, Any]:
        """A movement as its webhook events carry it."""
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
        wallet = self.find_wallet(session, user_id, asset, create=True)
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
        self.ensure_platform_accounts(session, asset)
        now = self.clock()
        created = {user_id: Wallet(new_id(), user_id, asset, uuid7(now).int) for user_id in missing}
        results = session.create_accounts(
            [
                Account(w.account_id, asset, code=int(AccountCode.WALLET),
                        flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS, owner=f"user:{w.user_id}")
                for w in created.values()
            ]
        )  # fmt: skip
        expect_ok(results, f"{len(created)} wallet accounts in {asset}", retry_ok=False)
        # As in `find_wallet`: a concurrent first use fails the unique constraint and reruns.
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
            raise self.insufficient(session, wallet, amount + fee)
        expect_ok(results, f"{code.name.lower()} {transfer_id:x}")

    def debit_movement(
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
        """`debit` with the transfer ids the movement's id derives; returns the principal's."""
        principal_id = transfer_id_of(movement_id, "principal")
        fee_id = transfer_id_of(movement_id, "fee")
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


__all__ = ["WalletAccounts", "movement_from_row", "transfer_id_of"]
