"""Payments to an email or phone number that has no account yet: held, the person invited,
claimed when they prove the address, returned to the sender after the claim period.

Why: a payment must answer the same whether its recipient exists or not, or the payment
form is a free oracle for who has an account. So money to an unknown email or number is
not refused: it moves, as a posted transfer, from the sender's wallet to the platform's
invitation holding account, and the answer is the one a known recipient gets.

An invitation's money is, by its status:
  waiting   on the holding account; the address was told how to claim it
  claimed   paid on from the holding account to the wallet of whoever proved the address:
            for an email, a signed-in account with that address presenting the code mailed
            to it (signing up with an address does not prove one holds the mailbox); for a
            number, the number verified by SMS (JOIN from it)
  returned  paid back to the sender (with the fee) after `invite_claim_seconds`
Every transfer's id derives from the payment's id, and each step first moves the row out of
`waiting` (a guarded UPDATE that one transaction wins), so a retried request, a job run
twice or two racing workers move the money once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, insert, select, update

from obolo import locale
from obolo.adapters.clock import NS_PER_SECOND, Clock, iso
from obolo.adapters.db.schema import movements, users
from obolo.adapters.db.schema_invitations import invitations
from obolo.adapters.db.schema_sms import sms_phones
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.ids import derived_id
from obolo.identity.emails import normalize_email
from obolo.identity.errors import InvalidEmail, InvalidPhone
from obolo.identity.lookup import display_names
from obolo.identity.model import normalize_phone
from obolo.ledger import Ledger, LedgerSession, Transfer, TransferFlags, TransferResult, expect_ok
from obolo.mail.messages import INVITATION_EMAIL, INVITATION_SUBJECT, Notice
from obolo.mail.outbox import language_of_account, notify_account_in, queue_email, queue_text
from obolo.money import Asset
from obolo.settings import Settings
from obolo.wallets.activity import Described, Text
from obolo.wallets.errors import InvitationNotFound, RecipientNotFound
from obolo.wallets.model import PlatformAccount, TransferCode, Wallet

if TYPE_CHECKING:
    from obolo.wallets.accounts import WalletAccounts
    from obolo.wallets.model import Movement

_R = TransferResult
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read from a mail, typed by hand
_CODE_LENGTH = 16  # 80 bits: guessing one is hopeless, and a claim also needs the address's account


@dataclass(frozen=True, slots=True)
class Invitee:
    """An email address or E.164 number with no account behind it (yet)."""

    email: str | None = None
    phone: str | None = None

    @property
    def masked(self) -> str:
        if self.email is not None:
            local, _, domain = self.email.partition("@")
            return f"{local[:2]}***@{domain}"
        phone = self.phone or ""
        return phone[:3] + "*" * max(0, len(phone) - 6) + phone[-3:]


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a payment's `to` names: an account, or an invitee, or (an unknown user id) neither."""

    user_id: str | None
    invitee: Invitee | None = None


def by_address(handle: str) -> bool:
    """Whether `to` names someone by email or phone (as opposed to a user id)."""
    handle = handle.strip()
    return "@" in handle or handle.startswith("+")


def resolve(connection: Connection, handle: str) -> Recipient:
    """Who receives a payment addressed to `handle`. An address that cannot exist (not an
    email, not a valid number, not a user id) is RecipientNotFound: that depends on the
    text alone, never on who has an account. A valid email or number without an account
    is an invitee."""
    handle = handle.strip()
    if "@" in handle:
        try:
            email = normalize_email(handle)
        except InvalidEmail as error:
            raise RecipientNotFound("not an email address, phone number or user id") from error
        found = connection.execute(select(users.c.id).where(users.c.email == email)).scalar_one_or_none()
        return Recipient(found) if found else Recipient(None, Invitee(email=email))
    if handle.startswith("+"):
        try:
            phone = normalize_phone(handle)
        except InvalidPhone as error:
            raise RecipientNotFound("not an email address, phone number or user id") from error
        found = connection.execute(select(users.c.id).where(users.c.phone == phone)).scalar_one_or_none()
        if found is None:  # a number verified by SMS on an account that lists another
            found = connection.execute(
                select(sms_phones.c.user_id).where(sms_phones.c.phone == phone)
            ).scalar_one_or_none()
        return Recipient(found) if found else Recipient(None, Invitee(phone=phone))
    try:
        user_id = str(uuid.UUID(handle))
    except ValueError as error:
        raise RecipientNotFound("not an email address, phone number or user id") from error
    return Recipient(connection.execute(select(users.c.id).where(users.c.id == user_id)).scalar_one_or_none())


def answer(movement: Movement, handle: str) -> Movement:
    """What the payment request answers. Addressed by email or phone, the answer carries
    neither the recipient's user id nor the invitation's details: those would say whether
    the address has an account. The sender's history tells them later (see docs/security.md)."""
    if not by_address(handle):
        return movement
    return dataclasses.replace(movement, to_user_id=None, details={})


def _digest(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").replace(" ", "").upper().encode()).hexdigest()


def _new_code() -> str:
    code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))
    return "-".join(code[i : i + 4] for i in range(0, _CODE_LENGTH, 4))


def _text_invitation(sender: str, amount: int, asset: Asset, expires_at: int, phone: str) -> str:
    """The text inviting a number with no account: in its country's language (nobody has
    chosen one for it yet), the amount and the day written for that reader."""
    if phone.startswith("+39"):
        return (
            f"{sender[:30]} ti ha inviato {_sms_money(amount, asset, 'it')} con Obolo. Rispondi REGISTRA "
            f"entro il {_sms_day(expires_at, 'it')} per ritirarli. STOP: niente più inviti."
        )
    return (
        f"{sender[:30]} sent you {_sms_money(amount, asset, 'en')} on Obolo. Reply JOIN to claim it by "
        f"{_sms_day(expires_at, 'en')}. STOP: no more invitations."
    )


def _sms_money(units: int, asset: Asset, language: str) -> str:
    # GSM-7 has no no-break space: CLDR's becomes a plain one.
    return locale.money(units, asset, language).replace("\u00a0", " ")


def _sms_day(ns: int, language: str) -> str:
    return locale.date(ns, language).replace("\u00a0", " ")


def _claimed(row: Any, asset: Asset, language: str) -> tuple[str, str]:
    """The sender's notice that the invitee claimed the money, in the sender's language."""
    amount = _sms_money(row.amount, asset, language)
    if language == "it":
        return (
            "Il tuo pagamento è stato ritirato",
            f"I {amount} che hai inviato a {_shown(row)} sono arrivati.",
        )
    return "Your payment was claimed", f"The {amount} you sent to {_shown(row)} reached them."


def _came_back(row: Any, asset: Asset, language: str) -> tuple[str, str]:
    """The sender's notice that unclaimed money came back, in the sender's language."""
    amount = _sms_money(row.amount, asset, language)
    if language == "it":
        return "Il tuo pagamento è tornato", (
            f"Nessuno ha ritirato i {amount} che hai inviato a {_shown(row)}: "
            "sono tornati nel tuo portafoglio."
        )
    return "Your payment came back", (
        f"Nobody claimed the {amount} you sent to {_shown(row)}; it is back in your wallet."
    )


class Invitations:
    """The payment's hold (in the payment's transaction), then the claims and returns."""

    def __init__(
        self, engine: Engine, ledger: Ledger, clock: Clock, wallets: WalletAccounts, settings: Settings
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.clock = clock
        self.wallets = wallets
        self.settings = settings

    # -- the payment's hold -----------------------------------------------------------------
    def hold(
        self,
        session: LedgerSession,
        payer: Wallet,
        movement_id: str,
        invitee: Invitee,
        amount: int,
        fee: int,
        now: int,
    ) -> tuple[int, dict[str, Any]]:
        """Move the payment to the invitation holding account, record the invitation and
        invite the address, in the payment's transaction: (principal transfer id, the
        movement's details). Raises InsufficientFunds exactly as a payment to an account does."""
        wallets = self.wallets
        connection = session.connection
        asset = wallets.asset(payer.asset)
        wallets.ensure_platform_accounts(session, payer.asset)
        principal_id = wallets.transfer_id_of(movement_id, "principal")
        wallets.debit(
            session, payer, PlatformAccount.INVITATIONS.account_id(payer.asset), principal_id, amount, fee,
            TransferCode.PAYMENT, fee_transfer_id=wallets.transfer_id_of(movement_id, "fee"),
        )  # fmt: skip
        expires_at = now + self.settings.invite_claim_seconds * NS_PER_SECOND
        code = _new_code() if invitee.email is not None else None
        connection.execute(
            insert(invitations).values(
                id=movement_id, sender_id=payer.user_id, email=invitee.email, phone=invitee.phone,
                code_hash=None if code is None else _digest(code), asset=payer.asset, amount=amount, fee=fee,
                status="waiting", claimed_by=None, expires_at=expires_at, created_at=now, updated_at=now,
            )
        )  # fmt: skip
        sender = display_names(connection, {payer.user_id}).get(payer.user_id, "Someone")
        # The invitee has no account, so no language of theirs is known: the sender's is the
        # best guess (people mostly pay people who read what they read).
        language = language_of_account(connection, payer.user_id)
        amounts = {"amount": (amount, asset)}
        if invitee.email is not None:
            assert code is not None
            subject, body = Notice(
                INVITATION_SUBJECT, INVITATION_EMAIL,
                {"sender": sender, "email": invitee.email, "code": code}, amounts, {"until": expires_at},
            ).written(language)  # fmt: skip
            queue_email(connection, invitee.email, subject, body, now)
        else:
            assert invitee.phone is not None
            text = _text_invitation(sender, amount, asset, expires_at, invitee.phone)
            queue_text(connection, invitee.phone, text, now, essential=False)
        return principal_id, {"invitee": invitee.masked, "invitation": "waiting", "claim_by": iso(expires_at)}

    # -- claims -----------------------------------------------------------------------------
    def claim(self, user_id: str, code: str) -> list[str]:
        """Pay every invitation waiting for the signed-in account's email to its wallet, on
        the code mailed to that address (it proves the mailbox). Returns the ids of every
        payment to that address this account has claimed, so a retry answers the same and
        moves nothing. Raises InvitationNotFound for a wrong or expired code, one claimed
        by someone else, or one mailed to another address."""
        digest = _digest(code)

        def work(session: LedgerSession) -> list[str]:
            connection = session.connection
            now = self.clock()
            email = connection.execute(
                select(users.c.email).where(users.c.id == user_id)
            ).scalar_one_or_none()
            found = connection.execute(select(invitations).where(invitations.c.code_hash == digest)).first()
            if found is None or email is None or found.email != email:
                raise InvitationNotFound("no such invitation for this account")
            if found.status == "waiting" and found.expires_at > now:
                self._claim_all(session, invitations.c.email == email, user_id, now)
            elif not (found.status == "claimed" and found.claimed_by == user_id):
                raise InvitationNotFound("no such invitation for this account")
            return list(
                connection.execute(
                    select(invitations.c.id)
                    .where(invitations.c.email == email, invitations.c.claimed_by == user_id)
                    .order_by(invitations.c.created_at, invitations.c.id)
                ).scalars()
            )

        return self.ledger.run(work)

    def claim_phone(self, session: LedgerSession, phone: str, user_id: str) -> int:
        """In the caller's transaction (SMS JOIN, which proves the number): pay everything
        waiting for `phone` to the account; the units claimed."""
        now = self.clock()
        ids = self._claim_all(session, invitations.c.phone == phone, user_id, now)
        if not ids:
            return 0
        rows = session.connection.execute(select(invitations.c.amount).where(invitations.c.id.in_(ids)))
        return sum(row.amount for row in rows)

    def _claim_all(self, session: LedgerSession, which: Any, user_id: str, now: int) -> list[str]:
        connection = session.connection
        rows = connection.execute(
            select(invitations)
            .where(which, invitations.c.status == "waiting", invitations.c.expires_at > now)
            .order_by(invitations.c.created_at)
        ).all()
        claimed = []
        for row in rows:
            if row.sender_id == user_id:
                continue  # one's own unclaimed payment stays one's own; it returns as usual
            taken = connection.execute(
                update(invitations)
                .where(invitations.c.id == row.id, invitations.c.status == "waiting")
                .values(status="claimed", claimed_by=user_id, updated_at=now)
            )
            if taken.rowcount != 1:
                continue  # returned or claimed by a transaction that committed first
            wallet = self.wallets.wallet(session, user_id, row.asset)
            self._move(session, row.id, "claim", wallet.account_id, row.asset, row.amount)
            self._settle_movement(connection, row.id, "claimed", now, to_user_id=user_id)
            asset = self.wallets.asset(row.asset)
            notify_account_in(connection, row.sender_id, partial(_claimed, row, asset), now)
            claimed.append(row.id)
        return claimed

    # -- returns ----------------------------------------------------------------------------
    def return_due(self, limit: int = 100) -> int:
        """The job: give every invitation past its claim period back to its sender, fee
        included, and tell them. Safe to run twice and from several workers at once."""
        now = self.clock()
        ids = run_in_transaction(
            self.engine,
            lambda c: (
                c.execute(
                    select(invitations.c.id)
                    .where(invitations.c.status == "waiting", invitations.c.expires_at <= now)
                    .order_by(invitations.c.expires_at)
                    .limit(limit)
                )
                .scalars()
                .all()
            ),
            read_only=True,
        )
        done = 0
        for invitation_id in ids:
            done += self.ledger.run(partial(self._return, invitation_id=invitation_id, now=now))
        return done

    def _return(self, session: LedgerSession, invitation_id: str, now: int) -> int:
        connection = session.connection
        # The guarded update takes the row first: a racing worker (or claim) waits here, then
        # finds it no longer waiting and moves nothing.
        taken = connection.execute(
            update(invitations)
            .where(invitations.c.id == invitation_id, invitations.c.status == "waiting")
            .values(status="returned", updated_at=now)
        )
        if taken.rowcount != 1:
            return 0
        row = connection.execute(select(invitations).where(invitations.c.id == invitation_id)).one()
        wallet = self.wallets.wallet(session, row.sender_id, row.asset)
        self._move(session, row.id, "return", wallet.account_id, row.asset, row.amount, fee=row.fee)
        self._settle_movement(connection, row.id, "returned", now)
        asset = self.wallets.asset(row.asset)
        notify_account_in(connection, row.sender_id, partial(_came_back, row, asset), now)
        return 1

    # -- plumbing ---------------------------------------------------------------------------
    def _move(
        self, session: LedgerSession, invitation_id: str, part: str, to_account: int, asset: str, amount: int,
        *, fee: int = 0,
    ) -> None:  # fmt: skip
        holding = PlatformAccount.INVITATIONS.account_id(asset)
        linked = TransferFlags.LINKED if fee else TransferFlags.NONE
        transfers = [
            Transfer(transfer_id(invitation_id, part), holding, to_account, amount, asset,
                     code=int(TransferCode.PAYMENT), flags=linked)
        ]  # fmt: skip
        if fee:  # the sender's fee comes back with the money that reached nobody
            transfers.append(
                Transfer(transfer_id(invitation_id, f"{part}-fee"),
                         PlatformAccount.FEE_REVENUE.account_id(asset), to_account, fee, asset,
                         code=int(TransferCode.FEE))
            )  # fmt: skip
        results = session.create_transfers(transfers)
        expect_ok(results, f"invitation {invitation_id} {part}")

    def _settle_movement(
        self, connection: Connection, movement_id: str, state: str, now: int, *, to_user_id: str | None = None
    ) -> None:
        details = connection.execute(
            select(movements.c.details).where(movements.c.id == movement_id)
        ).scalar_one_or_none()
        merged = {**(json.loads(details) if details else {}), "invitation": state}
        values: dict[str, Any] = {"details": json.dumps(merged, sort_keys=True), "updated_at": now}
        if to_user_id is not None:
            values["to_user_id"] = to_user_id
        if state == "returned":
            values["status"] = "failed"  # the payment reached nobody; its money is back
        connection.execute(update(movements).where(movements.c.id == movement_id).values(**values))


def transfer_id(invitation_id: str, part: str) -> int:
    """The ledger id of an invitation's claim ("claim") or return ("return", "return-fee")."""
    return derived_id("transfer", invitation_id, part)


def _shown(row: Any) -> str:
    return Invitee(row.email, row.phone).masked


def describe_invitation_transfers(
    connection: Connection, user_id: str, transfers: Sequence[Transfer]
) -> dict[int, Described]:
    """History: the claim (for the invitee) and the return (for the sender) of invitations.
    The payment itself is the sender's movement and described with it."""
    candidates = {t.id for t in transfers if t.code in (int(TransferCode.PAYMENT), int(TransferCode.FEE))}
    if not candidates:
        return {}
    rows = connection.execute(
        select(invitations).where(
            (invitations.c.sender_id == user_id) | (invitations.c.claimed_by == user_id),
            invitations.c.status.in_(("claimed", "returned")),
        )
    ).all()
    names = display_names(connection, {row.sender_id for row in rows})
    out: dict[int, Described] = {}
    for row in rows:
        claim = transfer_id(row.id, "claim")
        if claim in candidates and row.claimed_by == user_id:
            name = names.get(row.sender_id)
            said = Text.of("Payment from {name}", name=name) if name else Text.of("Payment received")
            out[claim] = Described.of("payment", said, counterparty=name, movement_id=row.id)
        for part in ("return", "return-fee"):
            returned = transfer_id(row.id, part)
            if returned in candidates and row.sender_id == user_id:
                if part == "return-fee":
                    back = Text.of("Returned: the fee for an unclaimed payment to {name}", name=_shown(row))
                else:
                    back = Text.of("Returned: unclaimed payment to {name}", name=_shown(row))
                out[returned] = Described.of(
                    "fee" if part == "return-fee" else "payment", back, movement_id=row.id
                )
    return out


__all__ = [
    "Invitations",
    "Invitee",
    "Recipient",
    "answer",
    "by_address",
    "describe_invitation_transfers",
    "resolve",
    "transfer_id",
]
