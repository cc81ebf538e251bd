"""Manual adjustments: an operator corrects a wallet — a goodwill credit, a reversed
mistake — only as a ledger transfer against the platform's adjustments account, with a
reason, and with an audit entry written in the same transaction. Nothing else can change
a balance by hand."""

from __future__ import annotations

import enum

from obolo.adapters.ids import new_id
from obolo.audit import service as audit
from obolo.errors import InvalidRequest
from obolo.identity.lookup import find_user_id
from obolo.ledger import LedgerSession, Transfer, expect_ok
from obolo.money import Amount, format_units
from obolo.wallets.accounts import WalletAccounts
from obolo.wallets.errors import RecipientNotFound
from obolo.wallets.model import Movement, MovementKind, MovementStatus, PlatformAccount, TransferCode

REASON_LENGTH = (5, 500)


class Direction(enum.StrEnum):
    CREDIT = "credit"  # into the wallet
    DEBIT = "debit"  # out of it


class ReasonRequired(InvalidRequest):
    code = "reason_required"


def adjust(
    wallets: WalletAccounts,
    operator_id: str,
    who: str,
    amount: Amount,
    direction: Direction,
    reason: str,
    idempotency_key: str | None = None,
) -> Movement:
    """Credit or debit `who` (a user id, email or phone) by `amount`. A debit never takes a
    wallet below zero (the wallet's own guard). Raises ReasonRequired, RecipientNotFound,
    InvalidAmount, InsufficientFunds, UnknownAsset. The caller checks the operator role."""
    reason = reason.strip()
    if not REASON_LENGTH[0] <= len(reason) <= REASON_LENGTH[1]:
        raise ReasonRequired(f"say why, in {REASON_LENGTH[0]} to {REASON_LENGTH[1]} characters")
    wallets.check_amount(amount, 1, 2**62)  # no business limit: the operator answers for it
    asset = amount.asset.code
    key = idempotency_key if idempotency_key is not None else new_id()  # no key: always a new one
    movement_id = wallets.movement_id_for(operator_id, MovementKind.ADJUSTMENT, key)

    def work(session: LedgerSession) -> Movement:
        connection = session.connection
        existing = wallets.find_movement(connection, movement_id)
        if existing is not None:
            return existing
        user_id = find_user_id(connection, who)
        if user_id is None:
            raise RecipientNotFound("nobody with that id, email or phone number")
        wallets.ensure_platform_accounts(session, asset)
        wallet = wallets.wallet(session, user_id, asset)
        platform_account = PlatformAccount.ADJUSTMENTS.account_id(asset)
        transfer_id = wallets.transfer_id_of(movement_id, "principal")
        code = TransferCode.ADJUSTMENT
        if direction is Direction.DEBIT:
            wallets.debit(session, wallet, platform_account, transfer_id, amount.units, 0, code)
        else:
            results = session.create_transfers(
                [
                    Transfer(
                        transfer_id, platform_account, wallet.account_id, amount.units, asset, code=int(code)
                    )
                ]
            )
            expect_ok(results, f"adjustment {movement_id}")
        now = wallets.clock()
        credit = direction is Direction.CREDIT
        movement = Movement(
            movement_id, MovementKind.ADJUSTMENT, MovementStatus.SUCCEEDED, asset, amount.units, 0,
            None if credit else user_id, user_id if credit else None, reason, {"by": operator_id}, now, now,
        )  # fmt: skip
        wallets.insert_movement(connection, movement, transfer_id)
        details = {
            "direction": direction.value, "amount": format_units(amount.units, amount.asset), "asset": asset,
            "reason": reason, "movement": movement_id,
        }  # fmt: skip
        audit.record(connection, now, operator_id, "ledger.adjusted", user_id, details)
        return movement

    return wallets.run(work)
