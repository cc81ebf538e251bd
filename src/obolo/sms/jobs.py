"""The SMS periodic work: held sends posted when their cooling-off ends, unclaimed invitations
returned to the sender, and the outbox delivered (retried with backoff). Safe to run from
several workers at once: each row is taken before it is acted on."""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import Connection, select, update

from obolo.adapters.db.schema import movements
from obolo.adapters.db.schema_sms import sms_outbox, sms_sends
from obolo.adapters.sms_gateway import SmsNotSent
from obolo.ledger import LedgerSession
from obolo.sms import model
from obolo.sms.context import SmsContext, send_of
from obolo.sms.sending import Sending
from obolo.sms.texts import say

log = structlog.get_logger("obolo.sms")
OUTBOX_ATTEMPTS = 10


class Jobs:
    def __init__(self, context: SmsContext, sending: Sending) -> None:
        self.context = context
        self.sending = sending

    def release_due(self, limit: int = 100) -> int:
        """Post held sends whose cooling-off has ended; return unclaimed invitations past
        their time to the sender, telling them. Safe to run from several workers."""
        ctx = self.context
        now = ctx.clock()
        rows = ctx.read(
            lambda c: (
                c.execute(
                    select(sms_sends.c.id)
                    .where(sms_sends.c.status.in_(("held", "invited")), sms_sends.c.release_at <= now)
                    .order_by(sms_sends.c.release_at)
                    .limit(limit)
                )
                .scalars()
                .all()
            )
        )
        done = 0
        for send_id in rows:

            def release(session: LedgerSession, send_id: str = send_id) -> int:
                return self._release(session, send_id)

            done += ctx.run(release)
        if done:
            self.deliver_outbox()
        return done

    def _release(self, session: LedgerSession, send_id: str) -> int:
        ctx = self.context
        connection = session.connection
        found = connection.execute(select(sms_sends).where(sms_sends.c.id == send_id)).first()
        if found is None or found.status not in ("held", "invited"):
            return 0  # another worker got here first
        send = send_of(found)
        now = ctx.clock()
        guard = update(sms_sends).where(sms_sends.c.id == send.id, sms_sends.c.status == send.status)
        # Taking the row first: a second worker waits here, then finds it done and stops,
        # so the sender is told once.
        if connection.execute(guard.values(updated_at=now)).rowcount != 1:
            return 0
        sender = ctx.number_of_user(connection, send.sender_id)
        payer = ctx.wallets.wallet(session, send.sender_id, send.asset)
        if send.status == "invited":
            ctx.resolve_hold(session, send, post=False)
            connection.execute(guard.values(status="returned", updated_at=now))
            connection.execute(
                update(movements).where(movements.c.id == send.id).values(status="failed", updated_at=now)
            )
            if sender is not None:
                ctx.queue(
                    connection, sender.phone,
                    say("returned", sender.language, phone=model.mask_phone(send.recipient_phone or ""),
                        amount=ctx.show(send.amount, sender.language), days=ctx.settings.sms_claim_days,
                        ref=send.ref, balance=ctx.balance_note(session, sender, payer)),
                )  # fmt: skip
            return 1
        assert send.recipient_id is not None
        if not ctx.resolve_hold(session, send, post=True):
            ctx.finish(connection, send, "returned")
            return 1
        payee = ctx.wallets.wallet(session, send.recipient_id, send.asset)
        (account,) = session.lookup_accounts([payee.account_id])
        connection.execute(
            guard.values(
                status="paid", updated_at=now, recipient_debits=account.debits_posted + account.debits_pending
            )
        )
        connection.execute(
            update(movements).where(movements.c.id == send.id).values(status="succeeded", updated_at=now)
        )
        self.sending.receipt_to_recipient(
            session, send.sender_id, send.recipient_id, payee, send.amount, send.ref
        )
        return 1

    def deliver_outbox(self, limit: int = 100) -> int:
        """Send what is due in the outbox; a gateway failure is retried later with backoff,
        up to OUTBOX_ATTEMPTS. Each message is claimed before it is sent, so two workers
        do not both send it."""
        ctx = self.context
        now = ctx.clock()
        due = ctx.read(
            lambda c: c.execute(
                select(sms_outbox.c.id, sms_outbox.c.phone, sms_outbox.c.body, sms_outbox.c.attempts,
                       sms_outbox.c.next_attempt_at)
                .where(sms_outbox.c.status == "pending", sms_outbox.c.next_attempt_at <= now)
                .order_by(sms_outbox.c.next_attempt_at)
                .limit(limit)
            ).all()
        )  # fmt: skip
        sent = 0
        for item in due:
            backoff = ctx.seconds(min(3600, 30 * 2**item.attempts))

            def claim(connection: Connection, item: Any = item, backoff: int = backoff) -> bool:
                result = connection.execute(
                    update(sms_outbox)
                    .where(sms_outbox.c.id == item.id, sms_outbox.c.next_attempt_at == item.next_attempt_at,
                           sms_outbox.c.status == "pending")
                    .values(attempts=item.attempts + 1, next_attempt_at=now + backoff)
                )  # fmt: skip
                return bool(result.rowcount == 1)

            if not ctx.write(claim):
                continue
            try:
                ctx.gateway.send(item.phone, item.body)
            except SmsNotSent as error:
                log.warning("sms not sent", phone=model.mask_phone(item.phone), error=str(error))
                if item.attempts + 1 >= OUTBOX_ATTEMPTS:
                    self._mark(item.id, "failed")
                continue
            self._mark(item.id, "sent")
            sent += 1
        return sent

    def _mark(self, outbox_id: str, status: str) -> None:
        ctx = self.context
        now = ctx.clock()
        ctx.write(
            lambda c: c.execute(
                update(sms_outbox)
                .where(sms_outbox.c.id == outbox_id)
                .values(status=status, sent_at=now if status == "sent" else None)
            ),
        )


__all__ = ["OUTBOX_ATTEMPTS", "Jobs"]
