"""PAY <code> / PAGA <code>: a shop's payment request paid by text message. The code
asks (the reply names the shop, what and how much), the PIN confirms within the usual
minutes, like a send; paying is `checkout.pay`, so a request is paid once whatever the
channel, and a repeated PIN finds the same payment."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, update

from obolo.adapters.db.schema_sms import sms_confirmations
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.ids import new_id
from obolo.checkout.errors import PaymentRequestExpired, PaymentRequestNotFound, PaymentRequestPaid
from obolo.checkout.model import Status
from obolo.checkout.service import CheckoutService
from obolo.sms import texts
from obolo.sms.model import Lang
from obolo.wallets.errors import CannotPayYourself

if TYPE_CHECKING:
    from obolo.sms.context import Number, SmsContext

#: Where a waiting confirmation names the payment request it would pay.
PREFIX = "checkout:"

TEXTS: dict[str, tuple[str, str]] = {
    "confirm": (
        "Pay {amount} to {merchant} for {what}? Reply with your PIN to confirm, NO to cancel.",
        "Pagare {amount} a {merchant} per {what}? Rispondi con il PIN per confermare, NO per annullare.",
    ),
    "paid": (
        "Paid {amount} to {merchant} for {what}.{held}",
        "Pagati {amount} a {merchant} per {what}.{held}",
    ),
    "held": (" Held until you confirm receipt.", " Trattenuti finché non confermi la ricezione."),
    "unknown": (
        "No payment request has the code {code}.",
        "Nessuna richiesta di pagamento ha il codice {code}.",
    ),
    "taken": ("That payment request was already paid.", "Quella richiesta di pagamento è già stata pagata."),
    "expired": ("That payment request has expired.", "Quella richiesta di pagamento è scaduta."),
}


def text(key: str, lang: Lang, **values: object) -> str:
    english, italian = TEXTS[key]
    return (italian if lang == Lang.IT else english).format(**values)


class PaymentRequestsBySms:
    def __init__(self, context: SmsContext, checkout: CheckoutService) -> None:
        self.context = context
        self.checkout = checkout

    @staticmethod
    def is_theirs(waiting: Any) -> bool:
        return str(waiting.recipient).startswith(PREFIX)

    def _show(self, units: int, asset: str, lang: Lang) -> str:
        return texts.amount(units, self.context.wallets.asset(asset), lang)

    def ask(self, number: Number, lang: Lang, code: str) -> str:
        """Name the request and wait for the PIN. Raises CannotPayYourself."""
        try:
            request = self.checkout.by_sms_code(code)
        except PaymentRequestNotFound:
            return text("unknown", lang, code=code)
        now = self.context.clock()
        if request.status == Status.EXPIRED or (request.status == Status.OPEN and now >= request.expires_at):
            return text("expired", lang)
        if request.status != Status.OPEN:
            return text("taken", lang)
        if request.merchant_id == number.user_id:
            raise CannotPayYourself("a merchant cannot pay its own payment request")

        def work(connection: Connection) -> None:
            connection.execute(
                update(sms_confirmations)
                .where(sms_confirmations.c.phone == number.phone, sms_confirmations.c.status == "waiting")
                .values(status="cancelled")
            )
            connection.execute(
                insert(sms_confirmations).values(
                    id=new_id(), phone=number.phone, user_id=number.user_id, recipient=PREFIX + request.id,
                    asset=request.asset, amount=request.amount, note=None, status="waiting",
                    expires_at=now + self.context.seconds(self.context.settings.sms_confirm_seconds),
                    created_at=now,
                )
            )  # fmt: skip

        run_in_transaction(self.context.engine, work)
        return text("confirm", lang, amount=self._show(request.amount, request.asset, lang),
                    merchant=request.merchant_name, what=request.description[:40])  # fmt: skip

    def confirm(self, number: Number, lang: Lang, confirmation_id: str) -> str:
        """The PIN was right: pay (once: the same payer again finds the same payment), then
        close the confirmation. InsufficientFunds leaves it waiting for a top-up."""

        def close(status: str) -> None:
            run_in_transaction(
                self.context.engine,
                lambda c: c.execute(
                    update(sms_confirmations)
                    .where(sms_confirmations.c.id == confirmation_id)
                    .values(status=status)
                ),
            )

        waiting = run_in_transaction(
            self.context.engine,
            lambda c: c.execute(
                sms_confirmations.select().where(sms_confirmations.c.id == confirmation_id)
            ).one(),
            read_only=True,
        )
        request_id = str(waiting.recipient).removeprefix(PREFIX)
        try:
            payment = self.checkout.pay(number.user_id, request_id)
        except (PaymentRequestPaid, PaymentRequestExpired, PaymentRequestNotFound) as refused:
            close("cancelled")
            return text("expired" if isinstance(refused, PaymentRequestExpired) else "taken", lang)
        close("done")
        paid = payment.request
        held = text("held", lang) if paid.status == Status.HELD else ""
        return text("paid", lang, amount=self._show(paid.amount, paid.asset, lang),
                    merchant=paid.merchant_name, what=paid.description[:40], held=held)  # fmt: skip
