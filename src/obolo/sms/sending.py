"""Sending money by SMS: SEND asks, the PIN confirms within minutes, then one transaction
re-checks the limits and moves the money. A send's money is, by its status:

  paid      posted from the sender's wallet to the recipient's
  held      a pending transfer to the recipient's wallet (first large payment to someone
            new): posted when the cooling-off ends, voided if the sender cancels
  invited   a pending transfer to the platform's SMS holding account (the number has no
            wallet yet): on JOIN from that number it is posted and paid on to the new
            wallet; unclaimed, the periodic job voids it back to the sender

Ledger transfer ids derive from the send id, so a retried step never moves money twice.
PAY <code> hands a shop's payment request to `payment_requests` (given when checkout is served)."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, insert, select, update

from obolo.adapters.db.schema import movements
from obolo.adapters.db.schema_sms import sms_confirmations, sms_phones, sms_sends
from obolo.adapters.ids import derived_id, new_id
from obolo.ledger import LedgerSession
from obolo.money import Amount
from obolo.settings import FeeRule
from obolo.sms import model, texts
from obolo.sms.context import GRACE_SECONDS, Number, SmsContext, holding_account_id, mask_email
from obolo.sms.errors import ConfirmationExpired, NothingToConfirm, OverSmsLimit, PinNotSet
from obolo.sms.model import Lang
from obolo.sms.pins import Pins
from obolo.sms.texts import say
from obolo.wallets.errors import CannotPayYourself, RecipientNotFound
from obolo.wallets.model import TransferCode, Wallet, fee_for

if TYPE_CHECKING:
    from obolo.sms.payment_requests import PaymentRequestsBySms


class Sending:
    def __init__(
        self, context: SmsContext, pins: Pins, payment_requests: PaymentRequestsBySms | None = None
    ) -> None:
        self.context = context
        self.pins = pins
        # checkout: PAY <code> for shops' payment requests (none: PAY is not served)
        self.payment_requests = payment_requests

    def limits(self, connection: Connection, number: Number, amount: int) -> None:
        ctx = self.context
        now = ctx.clock()
        s = ctx.settings
        day_ago = now - ctx.seconds(86_400)
        hour_ago = now - ctx.seconds(3_600)
        mine = (sms_sends.c.sender_phone == number.phone) & (sms_sends.c.status != "cancelled")
        sent_today = connection.execute(
            select(func.coalesce(func.sum(sms_sends.c.amount), 0)).where(
                mine, sms_sends.c.created_at > day_ago
            )
        ).scalar_one()
        this_hour = connection.execute(
            select(func.count()).select_from(sms_sends).where(mine, sms_sends.c.created_at > hour_ago)
        ).scalar_one()
        fresh = now - number.verified_at < ctx.seconds(s.sms_new_number_seconds)
        send_max = min(s.sms_send_max, s.sms_new_number_send_max) if fresh else s.sms_send_max
        day_max = min(s.sms_day_max, s.sms_new_number_day_max) if fresh else s.sms_day_max
        broken = model.broken_limit(
            amount, int(sent_today), int(this_hour), send_max=send_max, day_max=day_max,
            per_hour=s.sms_sends_per_hour,
        )  # fmt: skip
        if broken is not None:
            limit, value = broken
            raise OverSmsLimit(f"over the {limit} limit", limit=str(limit), max=value, new_number=fresh)

    def fee(self, amount: int) -> int:
        ctx = self.context
        return fee_for(amount, ctx.settings.fees.get("sms", FeeRule()))

    def request_send(self, command: model.Send, number: Number, lang: Lang) -> str:
        ctx = self.context
        if number.pin_hash is None:
            raise PinNotSet("no PIN yet")
        self.pins.refuse_if_locked(number)
        amount = model.parse_amount(command.amount, ctx.asset)
        recipient = model.normalize_recipient(command.to, number.phone)
        return self.ask_confirmation(number, lang, recipient, amount, command.note)

    def ask_confirmation(
        self, number: Number, lang: Lang, recipient: str, amount: Amount, note: str | None
    ) -> str:
        ctx = self.context
        fee = self.fee(amount.units)
        days = ctx.settings.sms_claim_days

        def work(connection: Connection) -> str:
            recipient_id = ctx.recipient(connection, recipient)
            if recipient_id is None and "@" in recipient:
                raise RecipientNotFound("nobody with that email")
            if recipient_id == number.user_id or recipient == number.phone:
                raise CannotPayYourself("a payment needs someone else to receive it")
            self.limits(connection, number, amount.units)
            now = ctx.clock()
            connection.execute(
                update(sms_confirmations)
                .where(sms_confirmations.c.phone == number.phone, sms_confirmations.c.status == "waiting")
                .values(status="cancelled")
            )
            connection.execute(
                insert(sms_confirmations).values(
                    id=new_id(), phone=number.phone, user_id=number.user_id, recipient=recipient,
                    asset=amount.asset.code, amount=amount.units, note=note, status="waiting",
                    expires_at=now + ctx.seconds(ctx.settings.sms_confirm_seconds), created_at=now,
                )
            )  # fmt: skip
            shown = mask_email(recipient) if "@" in recipient else model.mask_phone(recipient)
            values = {"amount": ctx.show(amount.units, lang), "fee": ctx.show(fee, lang)}
            if recipient_id is None:
                return say("confirm_invite", lang, phone=shown, days=days, **values)
            return say("confirm", lang, name=ctx.masked_name(connection, recipient_id), phone=shown, **values)

        return ctx.write(work)

    def _waiting(self, connection: Connection, phone: str) -> Any:
        return connection.execute(
            select(sms_confirmations)
            .where(sms_confirmations.c.phone == phone, sms_confirmations.c.status == "waiting")
            .order_by(sms_confirmations.c.created_at.desc())
        ).first()

    def cancel(self, _command: model.Cancel, number: Number, lang: Lang) -> str:
        ctx = self.context

        def work(connection: Connection) -> None:
            waiting = self._waiting(connection, number.phone)
            if waiting is None:
                raise NothingToConfirm("nothing waiting")
            connection.execute(
                update(sms_confirmations)
                .where(sms_confirmations.c.id == waiting.id)
                .values(status="cancelled")
            )

        ctx.write(work)
        return say("cancelled", lang)

    def confirm(self, command: model.Confirm, number: Number, lang: Lang) -> str:
        """The PIN for the waiting send: checked first, then the send runs in one
        transaction that re-checks the limits and moves the money."""
        ctx = self.context
        self.pins.refuse_if_locked(number)
        waiting = ctx.read(lambda c: self._waiting(c, number.phone))
        if waiting is None:
            raise NothingToConfirm("nothing waiting")
        if waiting.expires_at <= ctx.clock():
            ctx.write(
                lambda c: c.execute(
                    update(sms_confirmations)
                    .where(sms_confirmations.c.id == waiting.id)
                    .values(status="cancelled")
                ),
            )
            raise ConfirmationExpired("the request expired")
        self.pins.verify(number, command.pin)
        if self.payment_requests is not None and self.payment_requests.is_theirs(waiting):
            return self.payment_requests.confirm(number, lang, waiting.id)
        return ctx.run(lambda session: self._execute(session, number, lang, waiting.id))

    def pay_request(self, command: model.PayRequest, number: Number, lang: Lang) -> str:
        if self.payment_requests is None:
            raise NothingToConfirm("payment requests are not served here")
        if number.pin_hash is None:
            raise PinNotSet("no PIN yet")
        self.pins.refuse_if_locked(number)
        return self.payment_requests.ask(number, lang, command.code)

    def _execute(self, session: LedgerSession, number: Number, lang: Lang, confirmation_id: str) -> str:
        ctx = self.context
        connection = session.connection
        # Taking the number's row first serialises this number's sends, so the limits
        # counted below cannot be raced past.
        connection.execute(
            update(sms_phones).where(sms_phones.c.phone == number.phone).values(pin_failures=0)
        )
        claimed = connection.execute(
            update(sms_confirmations)
            .where(sms_confirmations.c.id == confirmation_id, sms_confirmations.c.status == "waiting")
            .values(status="done")
        )
        if claimed.rowcount != 1:
            raise NothingToConfirm("already done")
        row = connection.execute(
            select(sms_confirmations).where(sms_confirmations.c.id == confirmation_id)
        ).one()
        self.limits(connection, number, row.amount)
        asset = ctx.wallets.asset(row.asset)
        now = ctx.clock()
        send_id = row.id
        principal_id = derived_id("transfer", send_id, "principal")
        fee_id = derived_id("transfer", send_id, "fee")
        fee = self.fee(row.amount)
        ref = "".join(secrets.choice(model.REF_ALPHABET) for _ in range(model.REF_LENGTH))
        payer = ctx.wallets.wallet(session, number.user_id, asset.code)
        recipient_id = ctx.recipient(connection, row.recipient)
        if recipient_id == number.user_id:
            raise CannotPayYourself("a payment needs someone else to receive it")
        recipient_phone = row.recipient if "@" not in row.recipient else None
        values: dict[str, Any] = {
            "id": send_id, "ref": ref, "sender_id": number.user_id, "sender_phone": number.phone,
            "recipient_id": recipient_id, "recipient_phone": recipient_phone, "asset": asset.code,
            "amount": row.amount, "fee": fee, "note": row.note,
            "principal_id": principal_id.to_bytes(16, "big"), "fee_id": fee_id.to_bytes(16, "big"),
            "recipient_debits": None, "release_at": None, "undo_requested_at": None,
            "created_at": now, "updated_at": now,
        }  # fmt: skip
        movement_status = "succeeded"
        if recipient_id is None:
            assert recipient_phone is not None
            days = ctx.settings.sms_claim_days
            ctx.ensure_holding(session, asset.code)
            ctx.wallets.debit(
                session, payer, holding_account_id(asset.code), principal_id, row.amount, fee,
                TransferCode.PAYMENT, fee_transfer_id=fee_id, hold=True,
                timeout=days * 86_400 + GRACE_SECONDS,
            )  # fmt: skip
            values.update(status="invited", release_at=now + ctx.seconds(days * 86_400))
            movement_status = "pending"
            sender_name = ctx.masked_name(connection, number.user_id)
            invitation_lang = model.language_for(recipient_phone)
            ctx.queue(
                connection, recipient_phone,
                say("invitation", invitation_lang, name=sender_name, days=days, ref=ref,
                    amount=ctx.show(row.amount, invitation_lang)),
                essential=False,
            )  # fmt: skip
            reply = say(
                "invite_sent", lang, amount=ctx.show(row.amount, lang), days=days, ref=ref,
                phone=model.mask_phone(recipient_phone),
            )  # fmt: skip
        else:
            payee = ctx.wallets.wallet(session, recipient_id, asset.code)
            name = ctx.masked_name(connection, recipient_id)
            if row.amount >= ctx.settings.sms_cooling_threshold and self._first_payment(
                connection, number.user_id, recipient_id
            ):
                cooling = ctx.settings.sms_cooling_seconds
                ctx.wallets.debit(
                    session, payer, payee.account_id, principal_id, row.amount, fee, TransferCode.PAYMENT,
                    fee_transfer_id=fee_id, hold=True, timeout=cooling + GRACE_SECONDS,
                )  # fmt: skip
                release_at = now + ctx.seconds(cooling)
                values.update(status="held", release_at=release_at)
                movement_status = "pending"
                reply = say(
                    "held", lang, name=name, amount=ctx.show(row.amount, lang),
                    until=texts.moment(release_at, lang), ref=ref,
                )  # fmt: skip
            else:
                ctx.wallets.debit(
                    session, payer, payee.account_id, principal_id, row.amount, fee, TransferCode.PAYMENT,
                    fee_transfer_id=fee_id,
                )  # fmt: skip
                (account,) = session.lookup_accounts([payee.account_id])
                values.update(status="paid", recipient_debits=account.debits_posted + account.debits_pending)
                self.receipt_to_recipient(session, number.user_id, recipient_id, payee, row.amount, ref)
                balance = ctx.balance_note(session, number, payer)
                reply = say(
                    "sent", lang, amount=ctx.show(row.amount, lang), name=name, fee=ctx.show(fee, lang),
                    ref=ref, balance=balance,
                )  # fmt: skip
        connection.execute(insert(sms_sends).values(**values))
        connection.execute(
            insert(movements).values(
                id=send_id, kind="payment", status=movement_status, asset=asset.code, amount=row.amount,
                fee=fee, from_user_id=number.user_id, to_user_id=recipient_id, note=row.note,
                transfer_id=principal_id.to_bytes(16, "big"), external_ref=f"sms:{ref}", details=None,
                created_at=now, updated_at=now,
            )
        )  # fmt: skip
        return reply

    def _first_payment(self, connection: Connection, sender_id: str, recipient_id: str) -> bool:
        earlier = connection.execute(
            select(movements.c.id)
            .where(
                movements.c.from_user_id == sender_id,
                movements.c.to_user_id == recipient_id,
                movements.c.status == "succeeded",
            )
            .limit(1)
        ).first()
        return earlier is None

    def receipt_to_recipient(
        self, session: LedgerSession, sender_id: str, recipient_id: str, payee: Wallet, units: int, ref: str
    ) -> None:
        ctx = self.context
        connection = session.connection
        their = ctx.number_of_user(connection, recipient_id)
        if their is None:
            return  # no number on that account: the receipt is in their history
        balance = ctx.balance_note(session, their, payee)
        ctx.queue(
            connection, their.phone,
            say("received", their.language, amount=ctx.show(units, their.language),
                name=ctx.masked_name(connection, sender_id), fee=ctx.show(0, their.language), ref=ref,
                balance=balance),
        )  # fmt: skip


__all__ = ["Sending"]
