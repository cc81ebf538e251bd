"""Moving money in, between and out of wallets: top-ups by card, payments between people,
withdrawals to a bank. Each moves money only by asking the ledger for transfers, and each
records its movement, its ledger transfers and its events in one transaction.

Idempotency: a caller's idempotency key fixes the movement id and the ledger transfer
ids, so a retried request, even one racing the first, can move money only once. Calls
to the card processor and the bank happen outside any database transaction and are
themselves keyed by the movement id, so a retry after a crash completes the same
charge or payout rather than starting a second one.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import Engine, select, update

from obolo.adapters.bank import BankPayouts, Payout, PayoutStatus
from obolo.adapters.cards import Card, CardProcessor, ChargeStatus
from obolo.adapters.clock import NS_PER_SECOND, Clock
from obolo.adapters.db.schema import movements
from obolo.adapters.db.transactions import transaction
from obolo.adapters.ids import maybe_used
from obolo.adapters.secretbox import SecretBox
from obolo.identity.standing import check_may_move_money
from obolo.ledger import Ledger, LedgerSession, Transfer, TransferFlags, TransferResult
from obolo.money import Amount, Asset, format_units
from obolo.settings import Settings
from obolo.wallets import invitations
from obolo.wallets.accounts import WalletAccounts, movement_from_row, transfer_id_of
from obolo.wallets.errors import CannotPayYourself, CardDeclined, RecipientNotFound
from obolo.wallets.model import (
    Movement,
    MovementKind,
    MovementStatus,
    PlatformAccount,
    TransferCode,
    check_card,
    mask_iban,
    normalize_iban,
)
from obolo.webhooks.outbox import record_event, record_events

_R = TransferResult


class WalletMoves(WalletAccounts):
    """The use cases that move money, over the shared wallet plumbing."""

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
        super().__init__(engine, ledger, clock, settings, assets)
        # A payment to an address without an account is held by the invitations, in the
        # payment's transaction; they pay it on from the wallets when claimed or returned.
        self.invitations = invitations.Invitations(engine, ledger, clock, self, settings)
        # Seals a withdrawal's bank account while its payout is in flight (see
        # `resume_withdrawals`); without one, withdrawals whose request dies are not resumed.
        self.secrets = secrets
        self.cards = cards
        self.bank = bank

    # The shared plumbing under the short names the use cases below are written with.
    _run = WalletAccounts.run
    _check_amount = WalletAccounts.check_amount
    _movement_id = WalletAccounts.movement_id_for
    _fee = WalletAccounts.fee_of
    _find_movement = WalletAccounts.find_movement
    _wallet = WalletAccounts.find_wallet
    _insufficient = WalletAccounts.insufficient
    _debit = WalletAccounts.debit_movement
    _insert_movement = WalletAccounts.insert_movement
    _payload = WalletAccounts.payload
    _transfer_id = staticmethod(transfer_id_of)

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
            check_may_move_money(connection, user_id)  # before the card is charged
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
            if maybe_used(user_id, idempotency_key):
                existing = self._find_movement(connection, movement_id)
                if existing is not None:
                    return existing
            check_may_move_money(connection, user_id, reuse_for=self.settings.session_cache_seconds)
            recipient = self.known_person(to, asset) or invitations.resolve(connection, to)
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
                principal_id, details = self.invitations.hold(
                    session, payer, movement_id, recipient.invitee, amount.units, fee, now
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
            record_events(connection, notices, now, reuse_for=self.settings.session_cache_seconds)
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
            check_may_move_money(connection, user_id)
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
        current = movement_from_row(row)
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
        settled = dataclasses.replace(current, status=status, details=details, updated_at=now)
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


__all__ = ["WalletMoves"]
