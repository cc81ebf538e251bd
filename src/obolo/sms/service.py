"""SMS use cases: one inbound message in, one reply out, money moved only through the
ledger (via the wallets service) and only after the sender's PIN. This module is the door:
it answers each message once (a message id seen before gets the first answer again), picks
the reply's language, and hands the command to its use case:

    registration    JOIN, link codes, numbers bound by operators, STOP / START
    pins            PIN set, changed, checked, lockout
    sending         SEND, the PIN that confirms it, NO, PAY <code>
    mistakes        UNDO, RETURN
    reads           BAL, HIST
    jobs            held sends released, invitations returned, the outbox delivered

Messages we send (receipts, invitations, notices) go to an outbox in the same transaction
as the money and are delivered after it commits; the reply to the sender is returned.
What a person sends is never stored or logged: it may carry their PIN.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from argon2 import PasswordHasher
from sqlalchemy import Connection, Engine, delete, insert, select, update

from obolo.adapters.clock import Clock
from obolo.adapters.db.schema_sms import sms_inbound
from obolo.adapters.sms_gateway import SmsGateway
from obolo.errors import OboloError
from obolo.ledger import Ledger
from obolo.money import parse_units
from obolo.settings import Settings
from obolo.sms import model, texts
from obolo.sms.context import Number, SmsContext, holding_account_id
from obolo.sms.errors import MessageIdRequired, NotRegistered
from obolo.sms.jobs import Jobs
from obolo.sms.mistakes import Mistakes
from obolo.sms.model import Lang
from obolo.sms.payment_requests import PaymentRequestsBySms
from obolo.sms.pins import Pins
from obolo.sms.reads import Reads
from obolo.sms.registration import Claimer, Registration
from obolo.sms.sending import Sending
from obolo.sms.texts import say
from obolo.wallets.service import WalletService

if TYPE_CHECKING:
    from obolo.checkout.service import CheckoutService

log = structlog.get_logger("obolo.sms")

MESSAGE_ID_MAX = 64  # sms_inbound.message_sid: a longer id is refused, never cut (two would merge)


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message as the gateway delivered it."""

    sid: str
    sender: str
    to: str
    body: str


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    code: str = "ok"  # "ok", "malformed", "duplicate", or the refusal's error code


class SmsService:
    def __init__(
        self,
        engine: Engine,
        ledger: Ledger,
        clock: Clock,
        wallets: WalletService,
        gateway: SmsGateway,
        settings: Settings,
        *,
        checkout: CheckoutService | None = None,
        claimers: Sequence[Claimer] = (),
        hasher: PasswordHasher | None = None,
    ) -> None:
        """`checkout` serves PAY <code> (without it PAY is refused); `claimers` are other
        products' holds for a number, claimed when it is verified (JOIN)."""
        self.context = SmsContext(engine, ledger, clock, wallets, gateway, settings, hasher)
        self.engine = engine
        self.clock = clock
        self.wallets = wallets
        self.settings = settings
        self.asset = self.context.asset
        self.pins = Pins(self.context)
        self.registration = Registration(self.context, claimers)
        payment_requests = None if checkout is None else PaymentRequestsBySms(self.context, checkout)
        self.sending = Sending(self.context, self.pins, payment_requests)
        self.mistakes = Mistakes(self.context, self.pins, self.sending)
        self.reads = Reads(self.context)
        self.jobs = Jobs(self.context, self.sending)

    # -- the use cases others call ------------------------------------------------------------
    def number(self, phone: str) -> Number | None:
        """The verified number `phone` (E.164), or None."""
        return self.context.read(lambda c: self.context.number(c, phone))

    def link_code(self, user_id: str) -> tuple[str, int]:
        return self.registration.link_code(user_id)

    def register_number(self, user_id: str, phone: str, pin: str, lang: Lang = Lang.EN) -> None:
        self.registration.register_number(user_id, phone, pin, lang)

    def release_due(self, limit: int = 100) -> int:
        return self.jobs.release_due(limit)

    def deliver_outbox(self, limit: int = 100) -> int:
        return self.jobs.deliver_outbox(limit)

    # -- the one entry point ----------------------------------------------------------------
    def receive(self, message: Inbound) -> Reply:
        """Handle one inbound message and answer it. Never raises for what a person writes:
        every refusal is a reply with its code. A message id seen before gets the first
        answer again and changes nothing. Raises MessageIdRequired, before anything else,
        for a message without an id (blank, or longer than the ids we keep): a signed
        request replayed would be the same message again, and only its id tells them apart."""
        sid = message.sid.strip()
        if not sid or len(sid) > MESSAGE_ID_MAX:
            raise MessageIdRequired(
                f"a message needs its gateway id (MessageSid), 1-{MESSAGE_ID_MAX} characters"
            )
        phone = model.normalize_phone(message.sender)
        if phone is None:
            return Reply(say("help", Lang.EN), "sms_unknown_number")
        first, stored = self._claim_sid(sid, phone)
        if not first:
            return Reply(stored or "", "duplicate")
        command = model.parse(message.body)
        try:
            reply = self._dispatch(phone, command)
        except OboloError as error:
            reply = Reply(self._refusal(error, self._language(phone, command)), error.code)
        except Exception:
            # Not an answer but a failure (the database went away): forget the id so the
            # gateway's retry is handled afresh. Each step is its own transaction and keyed,
            # so a retry cannot repeat what already happened.
            self.context.write(
                lambda c: c.execute(delete(sms_inbound).where(sms_inbound.c.message_sid == sid)),
            )
            raise
        self.context.write(
            lambda c: c.execute(
                update(sms_inbound).where(sms_inbound.c.message_sid == sid).values(reply=reply.text[:480])
            ),
        )
        self.deliver_outbox()
        return reply

    def _claim_sid(self, sid: str, phone: str) -> tuple[bool, str | None]:
        def work(connection: Connection) -> tuple[bool, str | None]:
            row = connection.execute(
                select(sms_inbound.c.reply).where(sms_inbound.c.message_sid == sid)
            ).first()
            if row is not None:
                return False, row.reply
            # A concurrent redelivery inserts the same id: one transaction fails on the key
            # and reruns, finding this row.
            connection.execute(
                insert(sms_inbound).values(
                    message_sid=sid, phone=phone, reply=None, received_at=self.context.clock()
                )
            )
            return True, None

        return self.context.write(work)

    def _language(self, phone: str, command: model.Command) -> Lang:
        """The person's language (kept on the account) for a known number; for a number
        we do not know, the command's (PAGA, INVIA: Italian), else a guess from the number."""
        number = self.context.read(lambda c: self.context.number(c, phone))
        if number is not None:
            return number.language
        return command.lang or model.language_for(phone)

    def _dispatch(self, phone: str, command: model.Command) -> Reply:
        number = self.context.read(lambda c: self.context.number(c, phone))
        lang = number.language if number else command.lang or model.language_for(phone)
        if isinstance(command, model.Malformed):
            topic = {
                "send": "help_send", "pin": "help_pin", "undo": "help_undo", "language": "help_language",
            }.get(command.topic, "help")  # fmt: skip
            return Reply(say(topic, lang), "malformed")
        if isinstance(command, model.Help):
            return Reply(say("help", lang))
        if isinstance(command, model.Join):
            return Reply(self.registration.join(phone, lang, command.name, command.code))
        if isinstance(command, model.Stop):
            return Reply(self.registration.stop(phone, lang))
        if isinstance(command, model.Start):
            return Reply(self.registration.start(phone, lang))
        if number is None:
            raise NotRegistered("no wallet for this number")
        if isinstance(command, model.SetLanguage):
            self.context.set_language(number, command.chosen)
            return Reply(say("language_set", command.chosen))
        handlers: dict[type, Callable[[Any, Number, Lang], str]] = {
            model.Balance: self.reads.balance,
            model.History: self.reads.history,
            model.SetPin: self.pins.set_pin,
            model.Send: self.sending.request_send,
            model.Confirm: self.sending.confirm,
            model.Cancel: self.sending.cancel,
            model.Undo: self.mistakes.undo,
            model.Return: self.mistakes.return_,
            model.PayRequest: self.sending.pay_request,
        }
        return Reply(handlers[type(command)](command, number, lang))

    def _refusal(self, error: OboloError, lang: Lang) -> str:
        """The refusal as a sentence in `lang`: amounts and times formatted for the reader,
        never a raw code (one we have no sentence for reads as a generic apology)."""
        data = error.data
        show = self.context.show
        match error.code:
            case "sms_not_registered":
                return say("not_registered", lang)
            case "sms_nothing_to_confirm":
                return say("nothing_to_confirm", lang)
            case "sms_confirmation_expired":
                return say("expired", lang)
            case "sms_unknown_reference":
                return say("unknown_ref", lang, ref=data.get("ref", "")[:12])
            case "sms_invalid_amount":
                return say("invalid_amount", lang)
            case "sms_invalid_recipient":
                return say("invalid_recipient", lang)
            case "recipient_not_found":
                return say("recipient_not_found", lang)
            case "cannot_pay_yourself":
                return say("pay_yourself", lang)
            case "sms_pin_not_set":
                return say("pin_not_set", lang)
            case "sms_pin_already_set":
                return say("help_pin", lang)
            case "sms_weak_pin":
                return say("weak_pin", lang)
            case "sms_wrong_pin":
                return say("wrong_pin", lang, left=data["left"])
            case "sms_locked":
                return say("locked", lang, until=texts.moment(data["until"], lang))
            case "sms_limit":
                new = say("limit_new", lang) if data.get("new_number") else ""
                limit = data["limit"]
                shown = data["max"] if limit == model.Limit.PER_HOUR else show(data["max"], lang)
                return say(f"limit_{limit}", lang, max=shown, new=new)
            case "sms_invalid_link_code":
                return say("invalid_link_code", lang)
            case "sms_already_registered":
                return say("already_registered", lang)
            case "sms_cannot_undo":
                return say("cannot_undo", lang, ref=data["ref"], status=texts.word(data["status"], lang))
            case "insufficient_funds":
                available = parse_units(str(data.get("available", "0")), self.context.asset)
                return say("insufficient", lang, available=show(available, lang))
        log.warning("sms refusal without a reply", code=error.code)
        return say("error", lang)


__all__ = ["Inbound", "Reply", "SmsService", "holding_account_id"]
