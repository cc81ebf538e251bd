"""BAL and HIST: what the wallet holds and its latest movements, read from the wallets
service (whatever product made them); BAL ON / BAL OFF puts the balance in receipts or not."""

from __future__ import annotations

from obolo.sms import model, texts
from obolo.sms.context import Number, SmsContext
from obolo.sms.model import Lang
from obolo.sms.texts import say

# Movements whose other party is a provider, a merchant or a shop, never a person.
BUSINESS_KINDS = frozenset({"paywall", "tap", "checkout"})


class Reads:
    def __init__(self, context: SmsContext) -> None:
        self.context = context

    def balance(self, command: model.Balance, number: Number, lang: Lang) -> str:
        ctx = self.context
        if command.receipts is not None:
            ctx.update_number(number.phone, show_balance=command.receipts)
            return say("balance_on" if command.receipts else "balance_off", lang)
        found = {b.asset: b for b in ctx.wallets.balances(number.user_id)}.get(ctx.asset.code)
        available = found.available if found else 0
        reserved = found.reserved if found else 0
        held = say("balance_held", lang, reserved=ctx.show(reserved, lang)) if reserved else ""
        return say("balance", lang, available=ctx.show(available, lang), held=held)

    def history(self, _command: model.History, number: Number, lang: Lang) -> str:
        """The three newest entries of the wallet's history, as the web shows it (whatever
        product made them): what changed what can be spent (payments, top-ups, fees, holds
        shown as held), and each thing bought as it was bought (a view, a ride, a refund:
        the site and what it was). Named in the reader's language, the other party masked,
        fitted into one message."""
        ctx = self.context
        entries, _ = ctx.wallets.activity(number.user_id, 12, asset=ctx.asset.code)
        lines: list[tuple[str, str]] = []
        for entry in entries:
            when = texts.day(entry.timestamp, lang)
            if entry.status in ("charged", "refunded"):  # bought on a hold, as it happened
                bought = entry.status == "charged"
                amount = ("-" if bought else "+") + ctx.show(abs(entry.spent), lang)
                head = f"{when} {amount}" if bought else f"{when} {amount} {texts.kind_word('refund', lang)}"
                site = entry.counterparty or ""
                what = f"{site}: {entry.item}" if entry.item and site else site or entry.item or ""
                lines.append((head, texts.gsm7_plain(what)))
            elif entry.status == "reserved":
                amount = "-" + say("balance_held", lang, reserved=ctx.show(entry.reserved, lang)).strip(" ()")
                lines.append((self._line(when, amount, entry.kind, entry.counterparty, lang), ""))
            elif entry.amount:
                amount = ("-" if entry.amount < 0 else "+") + ctx.show(abs(entry.amount), lang)
                lines.append((self._line(when, amount, entry.kind, entry.counterparty, lang), ""))
            # else: a release or an expiry, shown by the balance, not worth a line here
            if len(lines) == 3:
                break
        return texts.history(lines, lang)

    @staticmethod
    def _line(when: str, amount: str, kind: str, counterparty: str | None, lang: Lang) -> str:
        what = texts.kind_word(kind, lang)
        if counterparty:
            # A person's name is masked (a text shows on a locked screen); a site's or a
            # shop's is what the reader knows it by.
            shown = counterparty if kind in BUSINESS_KINDS else model.mask_name(counterparty)
            what = f"{what} {texts.gsm7_plain(shown)}"
        return f"{when} {amount} {what}"


__all__ = ["Reads"]
