"""Undo requests an operator rules on: a sender asked UNDO after the window, or after the
recipient spent, and the recipient did not RETURN the money. Reversing takes the amount
back from the recipient's wallet (never below zero) and refunds the fee; declining keeps
the payment. Either way both people are told by SMS and the ruling is audited, all in the
transaction that moves the money."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from obolo.adapters.db.schema_sms import sms_sends
from obolo.adapters.ids import derived_id
from obolo.audit import service as audit
from obolo.ledger import LedgerSession, Transfer, TransferFlags, TransferResult, expect_ok
from obolo.sms.errors import RecipientCannotRepay, UndoAlreadyDecided, UndoRequestNotFound
from obolo.sms.service import SmsService
from obolo.sms.texts import say
from obolo.wallets.model import PlatformAccount, TransferCode

_OPEN_STATUSES = ("paid", "claimed")


@dataclass(frozen=True, slots=True)
class UndoRequest:
    send_id: str
    ref: str
    sender_id: str
    recipient_id: str | None
    asset: str
    amount: int
    fee: int
    note: str | None
    status: str
    sent_at: int
    requested_at: int
    decision: str | None
    decided_by: str | None
    decided_at: int | None


def _request(row: Any) -> UndoRequest:
    return UndoRequest(
        row.id, row.ref, row.sender_id, row.recipient_id, row.asset, row.amount, row.fee, row.note,
        row.status, row.created_at, row.undo_requested_at, row.undo_decision, row.undo_decided_by,
        row.undo_decided_at,
    )  # fmt: skip


def open_requests(sms: SmsService, limit: int = 100) -> list[UndoRequest]:
    """Undo requests waiting for an operator, oldest first."""

    def work(connection: Connection) -> list[UndoRequest]:
        rows = connection.execute(
            select(sms_sends)
            .where(
                sms_sends.c.undo_requested_at.is_not(None),
                sms_sends.c.undo_decision.is_(None),
                sms_sends.c.status.in_(_OPEN_STATUSES),
            )
            .order_by(sms_sends.c.undo_requested_at)
            .limit(max(1, min(limit, 500)))
        ).all()
        return [_request(row) for row in rows]

    return sms.context.read(work)


def decide(
    sms: SmsService,
    operator_id: str,
    send_id: str,
    *,
    reverse: bool,
    note: str | None = None,
    idempotency_key: str | None = None,
) -> UndoRequest:
    """Rule on an open undo request. With a key, the same ruling by the same operator made
    already answers as made (a retry whose answer was lost). Raises UndoRequestNotFound,
    UndoAlreadyDecided, and RecipientCannotRepay (a reversal the recipient's wallet cannot
    cover now: nothing moves and the request stays open)."""
    decision = "reversed" if reverse else "declined"

    def work(session: LedgerSession) -> UndoRequest:
        connection = session.connection
        row = connection.execute(select(sms_sends).where(sms_sends.c.id == send_id).with_for_update()).first()
        if row is None or row.undo_requested_at is None:
            raise UndoRequestNotFound("no undo request for that send", send_id=send_id)
        ruled = (row.undo_decision, row.undo_decided_by) == (decision, operator_id)
        if ruled and idempotency_key is not None:
            return _request(row)
        if row.undo_decision is not None or row.status not in _OPEN_STATUSES:
            raise UndoAlreadyDecided(
                "that request was already settled", send_id=send_id, send_status=row.status
            )
        now = sms.clock()
        if reverse:
            _reverse(sms, session, row)
        connection.execute(
            update(sms_sends)
            .where(sms_sends.c.id == send_id)
            .values(
                undo_decision=decision, undo_decided_by=operator_id, undo_decided_at=now, updated_at=now,
                status="undone" if reverse else row.status,
            )
        )  # fmt: skip
        details = {"ref": row.ref, "amount": row.amount, "fee": row.fee, "asset": row.asset, "note": note}
        audit.record(connection, now, operator_id, f"sms.undo_{decision}", send_id, details)
        _tell(sms, session, row, reverse)
        return _request(connection.execute(select(sms_sends).where(sms_sends.c.id == send_id)).one())

    decided = sms.context.run(work)
    sms.deliver_outbox()  # now rather than at the job's next run; the job retries what fails
    return decided


def _reverse(sms: SmsService, session: LedgerSession, row: Any) -> None:
    """The amount back from the recipient and the fee from fee revenue, linked: both or neither."""
    payer = sms.wallets.wallet(session, row.sender_id, row.asset)
    payee = sms.wallets.wallet(session, row.recipient_id, row.asset)
    transfers = [
        Transfer(derived_id("transfer", row.id, "reversal"), payee.account_id, payer.account_id, row.amount,
                 row.asset, code=int(TransferCode.PAYMENT),
                 flags=TransferFlags.LINKED if row.fee else TransferFlags.NONE)
    ]  # fmt: skip
    if row.fee:
        transfers.append(
            Transfer(derived_id("transfer", row.id, "reversal-fee"),
                     PlatformAccount.FEE_REVENUE.account_id(row.asset), payer.account_id, row.fee, row.asset,
                     code=int(TransferCode.FEE))
        )  # fmt: skip
    results = session.create_transfers(transfers)
    if TransferResult.EXCEEDS_CREDITS in results:
        raise RecipientCannotRepay("the recipient's wallet cannot cover the reversal now", send_id=row.id)
    expect_ok(results, f"reversing sms send {row.id}", retry_ok=False)


def _tell(sms: SmsService, session: LedgerSession, row: Any, reversed_: bool) -> None:
    connection = session.connection
    sender = sms.context.number_of_user(connection, row.sender_id)
    if sender is not None:
        if reversed_:
            wallet = sms.wallets.wallet(session, row.sender_id, row.asset)
            text = say("reversed_sender", sender.language, ref=row.ref,
                       amount=sms.context.show(row.amount, sender.language),
                       name=sms.context.masked_name(connection, row.recipient_id),
                       balance=sms.context.balance_note(session, sender, wallet))  # fmt: skip
        else:
            text = say("undo_declined", sender.language, ref=row.ref)
        sms.context.queue(connection, sender.phone, text)
    recipient = sms.context.number_of_user(connection, row.recipient_id) if reversed_ else None
    if recipient is not None:
        sms.context.queue(
            connection, recipient.phone,
            say("reversed_recipient", recipient.language, ref=row.ref,
                amount=sms.context.show(row.amount, recipient.language),
                name=sms.context.masked_name(connection, row.sender_id)),
        )  # fmt: skip
