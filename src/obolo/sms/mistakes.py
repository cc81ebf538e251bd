"""Mistakes: UNDO by the sender (reversed at once within the window while the recipient has
not spent; a held or unclaimed send cancelled at any time; otherwise a request the recipient
is asked to honour with RETURN, and an operator may rule on: `undo_requests`)."""

from __future__ import annotations

from sqlalchemy import select, update

from obolo.adapters.db.schema import movements
from obolo.adapters.db.schema_sms import sms_sends
from obolo.adapters.ids import derived_id
from obolo.ledger import LedgerSession, Transfer, TransferFlags, expect_ok
from obolo.money import Amount
from obolo.sms import model
from obolo.sms.context import Number, SmsContext, send_of
from obolo.sms.errors import CannotUndo, PinNotSet, UnknownReference
from obolo.sms.model import Lang
from obolo.sms.pins import Pins
from obolo.sms.sending import Sending
from obolo.sms.texts import say
from obolo.wallets.model import PlatformAccount, TransferCode


class Mistakes:
    def __init__(self, context: SmsContext, pins: Pins, sending: Sending) -> None:
        self.context = context
        self.pins = pins
        self.sending = sending

    def undo(self, command: model.Undo, number: Number, lang: Lang) -> str:
        """Within the undo window and while the recipient has not spent since, reverse a
        paid send; cancel a held or unclaimed one at any time; otherwise record the
        request and ask the recipient to RETURN it."""
        ctx = self.context
        window = ctx.seconds(ctx.settings.sms_undo_seconds)

        def work(session: LedgerSession) -> str:
            connection = session.connection
            found = connection.execute(
                select(sms_sends).where(
                    sms_sends.c.ref == command.ref, sms_sends.c.sender_id == number.user_id
                )
            ).first()
            if found is None:
                raise UnknownReference("no such send", ref=command.ref)
            send = send_of(found)
            amount = ctx.show(send.amount, lang)
            payer = ctx.wallets.wallet(session, number.user_id, send.asset)
            if send.status in ("held", "invited"):
                ctx.resolve_hold(session, send, post=False)
                ctx.finish(connection, send, "cancelled")
                balance = ctx.balance_note(session, number, payer)
                return say("undone", lang, ref=send.ref, amount=amount, balance=balance)
            if send.status not in ("paid", "claimed"):
                raise CannotUndo("already settled", ref=send.ref, status=send.status)
            assert send.recipient_id is not None
            payee = ctx.wallets.wallet(session, send.recipient_id, send.asset)
            (account,) = session.lookup_accounts([payee.account_id])
            unspent = send.recipient_debits == account.debits_posted + account.debits_pending
            if send.status == "paid" and ctx.clock() - send.created_at <= window and unspent:
                transfers = [
                    Transfer(derived_id("transfer", send.id, "undo"), payee.account_id, payer.account_id,
                             send.amount, send.asset, code=int(TransferCode.PAYMENT),
                             flags=TransferFlags.LINKED if send.fee else TransferFlags.NONE)
                ]  # fmt: skip
                if send.fee:
                    transfers.append(
                        Transfer(derived_id("transfer", send.id, "undo-fee"),
                                 PlatformAccount.FEE_REVENUE.account_id(send.asset), payer.account_id,
                                 send.fee, send.asset, code=int(TransferCode.FEE))
                    )  # fmt: skip
                results = session.create_transfers(transfers)
                expect_ok(results, f"undoing sms send {send.id}")
                now = ctx.clock()
                connection.execute(
                    update(sms_sends).where(sms_sends.c.id == send.id).values(status="undone", updated_at=now)
                )
                connection.execute(
                    update(movements).where(movements.c.id == send.id).values(status="failed", updated_at=now)
                )
                their = ctx.number_of_user(connection, send.recipient_id)
                if their is not None:
                    ctx.queue(
                        connection, their.phone,
                        say("undone_recipient", their.language, amount=ctx.show(send.amount, their.language),
                            name=ctx.masked_name(connection, number.user_id), ref=send.ref),
                    )  # fmt: skip
                balance = ctx.balance_note(session, number, payer)
                return say("undone", lang, ref=send.ref, amount=amount, balance=balance)
            if found.undo_requested_at is None:
                connection.execute(
                    update(sms_sends).where(sms_sends.c.id == send.id).values(undo_requested_at=ctx.clock())
                )
                their = ctx.number_of_user(connection, send.recipient_id)
                if their is not None:
                    ctx.queue(
                        connection, their.phone,
                        say("return_asked", their.language, name=ctx.masked_name(connection, number.user_id),
                            amount=ctx.show(send.amount, their.language), ref=send.ref),
                        essential=False,
                    )  # fmt: skip
            return say("undo_requested", lang, ref=send.ref)

        return ctx.run(work)

    def return_(self, command: model.Return, number: Number, lang: Lang) -> str:
        """The recipient of a send gives it back: a send to its sender, confirmed by PIN."""
        ctx = self.context
        if number.pin_hash is None:
            raise PinNotSet("no PIN yet")
        self.pins.refuse_if_locked(number)
        found = ctx.read(
            lambda c: c.execute(
                select(sms_sends).where(
                    sms_sends.c.ref == command.ref,
                    sms_sends.c.recipient_id == number.user_id,
                    sms_sends.c.status.in_(("paid", "claimed")),
                )
            ).first()
        )
        if found is None:
            raise UnknownReference("no such send", ref=command.ref)
        note = f"return {found.ref}"
        return self.sending.ask_confirmation(
            number, lang, found.sender_phone, Amount(found.amount, ctx.wallets.asset(found.asset)), note
        )


__all__ = ["Mistakes"]
