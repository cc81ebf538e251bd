"""Registration and preferences by SMS: JOIN (a new wallet, or a link code binding the number
to an existing account), numbers bound by operators, STOP and START. A number is verified by
the message that came from it; money waiting for it is claimed in the same transaction."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence

from sqlalchemy import Connection, delete, insert, select, update

from obolo.adapters.db.schema import movements, user_roles, users
from obolo.adapters.db.schema_sms import sms_link_codes, sms_optouts, sms_phones, sms_sends
from obolo.adapters.ids import derived_id, new_id
from obolo.ledger import LedgerSession, Transfer, TransferFlags, TransferResult, expect_ok
from obolo.sms import model
from obolo.sms.context import SmsContext, digest, holding_account_id, send_of
from obolo.sms.errors import AlreadyRegistered, InvalidLinkCode, InvalidRecipient
from obolo.sms.model import Lang
from obolo.sms.texts import say
from obolo.wallets.model import TransferCode

SMS_EMAIL_DOMAIN = "sms.obolo.invalid"  # people who joined by SMS have no email; .invalid never routes
LINK_CODE_SECONDS = 600

#: Money another product holds for a number until it is verified: claims it for the account
#: in the JOIN's transaction and says how many units it paid on.
Claimer = Callable[[LedgerSession, str, str], int]


class Registration:
    def __init__(self, context: SmsContext, claimers: Sequence[Claimer] = ()) -> None:
        self.context = context
        # Money other products hold for a number until it is verified (payments from the API
        # to a number without an account), claimed with the SMS sends waiting for it.
        self.claimers = tuple(claimers)

    def join(self, phone: str, lang: Lang, name: str | None = None, code: str | None = None) -> str:
        """Bind `phone` to a wallet. With a link code from the account's API, to that
        account; otherwise to a new account of its own, even if some web account lists
        this number (nobody verified that: whoever typed it may not hold it). The message
        came from the number, which verifies it; money waiting for it is claimed in the
        same transaction. Raises AlreadyRegistered, InvalidLinkCode."""
        ctx = self.context

        def work(session: LedgerSession) -> tuple[int, bool]:
            connection = session.connection
            now = ctx.clock()
            bound = ctx.number(connection, phone)
            if code is not None:
                found = connection.execute(
                    select(sms_link_codes).where(
                        sms_link_codes.c.code_hash == digest(code), sms_link_codes.c.expires_at > now
                    )
                ).first()
                if found is None:
                    raise InvalidLinkCode("no such link code")
                if bound is not None and bound.user_id != found.user_id:
                    raise AlreadyRegistered("this number already has a wallet")
                user_id = found.user_id
                connection.execute(delete(sms_link_codes).where(sms_link_codes.c.user_id == user_id))
                # The account moves to this number; its old number stops speaking for it.
                connection.execute(delete(sms_phones).where(sms_phones.c.user_id == user_id))
            else:
                if bound is not None:
                    raise AlreadyRegistered("this number already has a wallet")
                user_id = new_id()
                listed = connection.execute(select(users.c.id).where(users.c.phone == phone)).first()
                connection.execute(
                    insert(users).values(
                        id=user_id, email=f"{phone.lstrip('+')}@{SMS_EMAIL_DOMAIN}", password_hash=None,
                        display_name=(name or model.mask_phone(phone))[:100],
                        phone=None if listed else phone, created_at=now, language=str(lang),
                    )
                )  # fmt: skip
                connection.execute(insert(user_roles).values(user_id=user_id, role="consumer"))
            connection.execute(delete(sms_optouts).where(sms_optouts.c.phone == phone))
            connection.execute(
                insert(sms_phones).values(
                    phone=phone, user_id=user_id, pin_hash=None, pin_failures=0, locked_until=0,
                    language=str(lang), show_balance=False, verified_at=now, created_at=now,
                )
            )  # fmt: skip
            ctx.wallets.wallet(session, user_id, ctx.asset.code)
            return self.claim_all(session, phone, user_id), code is not None

        claimed, linked = ctx.run(work)
        if linked:
            # A linked account already reads a language of its own: answer in it.
            bound = ctx.read(lambda c: ctx.number(c, phone))
            lang = bound.language if bound else lang
        note = say("claimed_note", lang, amount=ctx.show(claimed, lang)) if claimed else ""
        return say("linked" if linked else "welcome", lang, claimed=note)

    def link_code(self, user_id: str) -> tuple[str, int]:
        """A code (and its expiry, ns) for the account holder to text as JOIN <code> from the
        number to link; a new code replaces the old. Only its digest is kept."""
        ctx = self.context
        while True:
            code = "".join(secrets.choice(model.REF_ALPHABET) for _ in range(model.LINK_CODE_LENGTH))
            if model.is_link_code(code):
                break
        now = ctx.clock()
        expires_at = now + ctx.seconds(LINK_CODE_SECONDS)

        def work(connection: Connection) -> None:
            connection.execute(delete(sms_link_codes).where(sms_link_codes.c.user_id == user_id))
            connection.execute(
                insert(sms_link_codes).values(
                    code_hash=digest(code), user_id=user_id, expires_at=expires_at, created_at=now
                )
            )

        ctx.write(work)
        return code, expires_at

    def register_number(self, user_id: str, phone: str, pin: str, lang: Lang = Lang.EN) -> None:
        """Bind a verified number and a PIN to an existing account (operator tooling, demo
        data). Raises WeakPin, AlreadyRegistered."""
        ctx = self.context
        model.check_pin(pin)
        normalized = model.normalize_phone(phone)
        if normalized is None:
            raise InvalidRecipient("not a phone number")
        pin_hash = ctx.hasher.hash(pin)

        def work(session: LedgerSession) -> None:
            connection = session.connection
            if ctx.number(connection, normalized) is not None:
                raise AlreadyRegistered("this number already has a wallet")
            now = ctx.clock()
            connection.execute(delete(sms_phones).where(sms_phones.c.user_id == user_id))
            connection.execute(
                insert(sms_phones).values(
                    phone=normalized, user_id=user_id, pin_hash=pin_hash, pin_failures=0, locked_until=0,
                    language=str(lang), show_balance=False, verified_at=now, created_at=now,
                )
            )  # fmt: skip
            ctx.wallets.wallet(session, user_id, ctx.asset.code)
            self.claim_all(session, normalized, user_id)

        ctx.run(work)

    def stop(self, phone: str, lang: Lang) -> str:
        ctx = self.context

        def work(connection: Connection) -> None:
            if not ctx.opted_out(connection, phone):
                connection.execute(insert(sms_optouts).values(phone=phone, created_at=ctx.clock()))

        ctx.write(work)
        return say("stopped", lang)

    def start(self, phone: str, lang: Lang) -> str:
        self.context.write(lambda c: c.execute(delete(sms_optouts).where(sms_optouts.c.phone == phone)))
        return say("started", lang)

    # -- money waiting for a number ------------------------------------------------------------
    def claim_all(self, session: LedgerSession, phone: str, user_id: str) -> int:
        """Everything waiting for a number just verified: SMS sends and other products' holds."""
        return self.claim_waiting(session, phone, user_id) + sum(
            claim(session, phone, user_id) for claim in self.claimers
        )

    def claim_waiting(self, session: LedgerSession, phone: str, user_id: str) -> int:
        """Pay every invitation held for `phone` on to the user's wallet; the total claimed."""
        ctx = self.context
        connection = session.connection
        rows = connection.execute(
            select(sms_sends).where(sms_sends.c.recipient_phone == phone, sms_sends.c.status == "invited")
        ).all()
        total = 0
        for send in map(send_of, rows):
            if send.sender_id == user_id:
                continue  # one's own unclaimed send stays one's own; it returns as usual
            wallet = ctx.wallets.wallet(session, user_id, send.asset)
            post = TransferFlags.POST_PENDING_TRANSFER | TransferFlags.LINKED
            transfers = [
                Transfer(derived_id("transfer", send.id, "post"), pending_id=send.principal_id, flags=post)
            ]
            if send.fee:
                transfers.append(
                    Transfer(derived_id("transfer", send.id, "post-fee"), pending_id=send.fee_id, flags=post)
                )
            transfers.append(
                Transfer(derived_id("transfer", send.id, "claim"), holding_account_id(send.asset),
                         wallet.account_id, send.amount, send.asset, code=int(TransferCode.PAYMENT))
            )  # fmt: skip
            results = session.create_transfers(transfers)
            if TransferResult.PENDING_EXPIRED in results:
                ctx.finish(connection, send, "returned")
                continue
            expect_ok(results, f"claiming sms send {send.id}")
            (account,) = session.lookup_accounts([wallet.account_id])
            connection.execute(
                update(sms_sends)
                .where(sms_sends.c.id == send.id)
                .values(status="claimed", recipient_id=user_id, updated_at=ctx.clock(),
                        recipient_debits=account.debits_posted + account.debits_pending)
            )  # fmt: skip
            connection.execute(
                update(movements)
                .where(movements.c.id == send.id)
                .values(status="succeeded", to_user_id=user_id, updated_at=ctx.clock())
            )
            sender = ctx.number_of_user(connection, send.sender_id)
            if sender is not None:
                ctx.queue(
                    connection, sender.phone,
                    say("claimed", sender.language, phone=model.mask_phone(phone),
                        amount=ctx.show(send.amount, sender.language), ref=send.ref),
                )  # fmt: skip
            total += send.amount
        return total


__all__ = ["LINK_CODE_SECONDS", "SMS_EMAIL_DOMAIN", "Claimer", "Registration"]
