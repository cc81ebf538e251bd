"""BAL and HIST: what the wallet holds and its latest movements, read from the wallets
service (whatever product made them); BAL ON / BAL OFF puts the balance in receipts or not."""

from __future__ import annotations

from obolo.sms import model, texts
from obolo.sms.context import Number, SmsContext
from obolo.sms.model import Lang
from obolo.sms.texts import say


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
        """The three newest entries of the ledger on the wallet that changed what can be
        spent (payments, top-ups, fees, holds shown as held, whatever product made them),
        each named in the reader's language with the other party when there is one."""
        ctx = self.context
        entries, _ = ctx.wallets.activity(number.user_id, 12, asset=ctx.asset.code)
        lines = []
        for entry in entries:
            if entry.status == "reserved":
                amount = "-" + say("balance_held", lang, reserved=ctx.show(entry.reserved, lang)).strip(" ()")
            elif entry.amount:
                amount = ("-" if entry.amount < 0 else "+") + ctx.show(abs(entry.amount), lang)
            else:
                continue  # a release or an expiry: shown by the balance, not worth a line here
            what = texts.kind_word(entry.kind, lang)
            if entry.counterparty:
                what = f"{what} {model.mask_name(entry.counterparty)}"
            lines.append(f"{texts.day(entry.timestamp, lang)} {amount} {what}")
            if len(lines) == 3:
                break
        if not lines:
            return say("history_empty", lang)
        return say("history", lang, lines="; ".join(lines))


__all__ = ["Reads"]
