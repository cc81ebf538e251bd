"""The email outbox, and telling an account holder something by whichever way reaches them.

Messages are written in the caller's transaction (rolled back with it) and delivered by
`deliver_emails`, a job: each message is claimed before it is sent, so two workers do not
both send it, and its body (which may carry a claim code) is blanked once it is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy import Connection, Engine, insert, select, update

from obolo.adapters.clock import NS_PER_SECOND, Clock
from obolo.adapters.db.schema import users
from obolo.adapters.db.schema_invitations import email_outbox
from obolo.adapters.db.schema_sms import sms_optouts, sms_outbox, sms_phones
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.email_gateway import EmailGateway, EmailNotSent, mask_address
from obolo.adapters.ids import new_id
from obolo.locale import DEFAULT_LANGUAGE, language_of
from obolo.mail.messages import Notice

log = structlog.get_logger("obolo.email")
ATTEMPTS = 10


def deliverable(address: str) -> bool:
    """Addresses under .invalid never route (RFC 2606): people who joined by SMS have one."""
    return not address.lower().rstrip(".").endswith(".invalid")


def queue_email(connection: Connection, address: str, subject: str, body: str, now: int) -> None:
    if not deliverable(address):
        return
    connection.execute(
        insert(email_outbox).values(
            id=new_id(), address=address, subject=subject[:200], body=body, status="pending", attempts=0,
            next_attempt_at=now, created_at=now, sent_at=None,
        )
    )  # fmt: skip


def queue_text(connection: Connection, phone: str, body: str, now: int, *, essential: bool = True) -> None:
    """A text through the SMS product's outbox (its job delivers it). Non-essential texts
    (invitations) are not sent to a number that said STOP."""
    if not essential:
        stopped = connection.execute(select(sms_optouts.c.phone).where(sms_optouts.c.phone == phone)).first()
        if stopped is not None:
            return
    connection.execute(
        insert(sms_outbox).values(
            id=new_id(), phone=phone, body=body[:480], status="pending", attempts=0,
            next_attempt_at=now, created_at=now, sent_at=None,
        )
    )  # fmt: skip


def notify_account(connection: Connection, user_id: str, subject: str, body: str, now: int) -> None:
    """Tell an account holder: by email, or by text to the number bound to the account when
    its address does not route (people who joined by SMS)."""
    tell_account(connection, user_id, Notice(subject, body), now)


def tell_account(connection: Connection, user_id: str, notice: Notice, now: int) -> None:
    """`notify_account` in the language kept on the account (its amounts and dates too)."""
    row = connection.execute(select(users.c.email, users.c.language).where(users.c.id == user_id)).first()
    subject, body = notice.written(row.language if row is not None else DEFAULT_LANGUAGE)
    if row is not None and deliverable(row.email):
        queue_email(connection, row.email, subject, body, now)
        return
    phone = connection.execute(
        select(sms_phones.c.phone).where(sms_phones.c.user_id == user_id)
    ).scalar_one_or_none()
    if phone is not None:
        queue_text(connection, phone, f"{subject}. {body}", now)


def language_of_account(connection: Connection, user_id: str) -> str:
    """The language kept on the account; English for an id that names nobody."""
    found = connection.execute(select(users.c.language).where(users.c.id == user_id)).scalar_one_or_none()
    return found or DEFAULT_LANGUAGE


def notify_account_in(
    connection: Connection, user_id: str, write: Callable[[str], tuple[str, str]], now: int
) -> None:
    """`notify_account` with the subject and body `write(language)` gives in the language the
    account reads ("en", "it")."""
    language = connection.execute(select(users.c.language).where(users.c.id == user_id)).scalar()
    subject, body = write(language_of(language))
    notify_account(connection, user_id, subject, body, now)


def deliver_emails(engine: Engine, gateway: EmailGateway, clock: Clock, limit: int = 100) -> int:
    """Send what is due; a gateway failure is retried later with backoff, up to ATTEMPTS."""
    now = clock()
    due = run_in_transaction(
        engine,
        lambda c: c.execute(
            select(email_outbox)
            .where(email_outbox.c.status == "pending", email_outbox.c.next_attempt_at <= now)
            .order_by(email_outbox.c.next_attempt_at)
            .limit(limit)
        ).all(),
        read_only=True,
    )
    sent = 0
    for item in due:
        backoff = min(3600, 30 * 2**item.attempts) * NS_PER_SECOND

        def claim(connection: Connection, item: Any = item, backoff: int = backoff) -> bool:
            result = connection.execute(
                update(email_outbox)
                .where(email_outbox.c.id == item.id, email_outbox.c.status == "pending",
                       email_outbox.c.next_attempt_at == item.next_attempt_at)
                .values(attempts=item.attempts + 1, next_attempt_at=now + backoff)
            )  # fmt: skip
            return bool(result.rowcount == 1)

        if not run_in_transaction(engine, claim):
            continue  # another worker has it
        try:
            gateway.send(item.address, item.subject, item.body)
        except EmailNotSent as error:
            log.warning("email not sent", to=mask_address(item.address), error=str(error))
            if item.attempts + 1 >= ATTEMPTS:
                _finish(engine, item.id, "failed", now)
            continue
        _finish(engine, item.id, "sent", now)
        sent += 1
    return sent


def _finish(engine: Engine, outbox_id: str, status: str, now: int) -> None:
    # The body is blanked either way: a claim code must not outlive its delivery in the tables.
    run_in_transaction(
        engine,
        lambda c: c.execute(
            update(email_outbox)
            .where(email_outbox.c.id == outbox_id)
            .values(status=status, body="", sent_at=now if status == "sent" else None)
        ),
    )


__all__ = ["deliver_emails", "deliverable", "notify_account", "queue_email", "queue_text"]
