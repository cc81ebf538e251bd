"""What the use-case modules share: the view of a payment request, its row read under a
lock, its ledger accounts and transfer ids, and the signed result."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, select

from obolo.adapters.clock import Clock
from obolo.adapters.db.engine import is_sqlite
from obolo.adapters.db.schema import providers
from obolo.adapters.db.schema_checkout import checkout_requests
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.ids import derived_id
from obolo.adapters.signing import SigningKeys
from obolo.checkout.errors import PaymentRequestNotFound
from obolo.checkout.model import SMS_ALPHABET, SMS_CODE_LENGTH, Accounts, LineItem, Status, result_fields
from obolo.ledger import Ledger, LedgerSession
from obolo.money import format_units
from obolo.sdk.checkout import sign_result
from obolo.settings import FeeRule, Settings
from obolo.wallets.errors import InsufficientFunds
from obolo.wallets.model import PlatformAccount
from obolo.wallets.service import WalletService

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CheckoutSettings:
    """OBOLO_CHECKOUT_PROTECTION_DAYS: how long buyer protection holds the money before it
    goes to the seller by itself (and the buyer may dispute); the fee is the `checkout`
    kind of OBOLO_FEES."""

    protection_days: int = 14

    @classmethod
    def from_environment(cls) -> CheckoutSettings:
        return cls(protection_days=int(os.environ.get("OBOLO_CHECKOUT_PROTECTION_DAYS", "14")))


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    id: str
    provider_id: str
    merchant_id: str
    merchant_name: str
    merchant_origin: str
    asset: str
    amount: int
    fee: int
    description: str
    reference: str
    items: tuple[LineItem, ...]
    return_url: str
    buyer_protection: bool
    protection_days: int
    sms_code: str
    status: Status
    payer_id: str | None
    refunded: int
    created_at: int
    expires_at: int
    paid_at: int | None
    release_at: int | None
    shipped_at: int | None
    released_at: int | None
    released_how: str | None
    dispute_reason: str | None
    disputed_at: int | None

    @property
    def refundable(self) -> int:
        if self.status not in (Status.PAID, Status.HELD, Status.DISPUTED):
            return 0
        return self.amount - self.refunded


@dataclass(frozen=True, slots=True)
class Payment:
    """A paid request and the result the payer's browser carries to the merchant."""

    request: PaymentRequest
    result: str
    #: True when this payer had paid it already (a double click, a retried redirect).
    already_paid: bool = False


def transfer_id(request_id: str, part: str) -> int:
    return derived_id("checkout", request_id, part)


def new_sms_code(length: int = SMS_CODE_LENGTH) -> str:
    """What a payer texts after PAY: random, from letters nobody misreads."""
    return "".join(secrets.choice(SMS_ALPHABET) for _ in range(length))


class CheckoutBase:
    def __init__(
        self,
        engine: Engine,
        ledger: Ledger,
        clock: Clock,
        wallets: WalletService,
        keys: SigningKeys,
        settings: Settings,
        checkout_settings: CheckoutSettings | None = None,
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.clock = clock
        self.wallets = wallets
        self.keys = keys
        self.settings = settings
        self.checkout_settings = checkout_settings or CheckoutSettings.from_environment()

    @property
    def fee_rule(self) -> FeeRule:
        return self.settings.fees.get("checkout", FeeRule())

    def _read(self, work: Callable[[Connection], T]) -> T:
        return run_in_transaction(self.engine, work, read_only=True)

    def _row(self, connection: Connection, request_id: str, *, lock: bool = False) -> Any:
        query = (
            select(checkout_requests, providers.c.name.label("merchant_name"), providers.c.origin)
            .join(providers, providers.c.id == checkout_requests.c.provider_id)
            .where(checkout_requests.c.id == request_id)
        )
        if lock and not is_sqlite(self.engine):  # SQLite: one writer; the transaction is the lock
            query = query.with_for_update(of=checkout_requests)
        row = connection.execute(query).first()
        if row is None:
            raise PaymentRequestNotFound("no such payment request", request_id=request_id)
        return row

    def _fmt(self, units: int, asset: str) -> str:
        return format_units(units, self.wallets.asset(asset))

    def _accounts(self, session: LedgerSession, row: Any, payer_id: str) -> Accounts:
        buyer = self.wallets.wallet(session, payer_id, row.asset).account_id
        merchant = self.wallets.wallet(session, row.merchant_id, row.asset).account_id
        return Accounts(row.asset, buyer, merchant, PlatformAccount.FEE_REVENUE.account_id(row.asset))

    def _insufficient(
        self, session: LedgerSession, account_id: int, asset: str, needed: int
    ) -> InsufficientFunds:
        (account,) = session.lookup_accounts([account_id])
        return InsufficientFunds(asset, self._fmt(needed, asset), self._fmt(account.available, asset))

    def _result(self, row: Any) -> str:
        """The signed result of the payment (Ed25519 signatures are deterministic, so the
        same payment always gives the same result: a retry answers exactly as the first)."""
        fields = result_fields(
            kid=self.keys.current_id, request_id=row.id, merchant_id=row.provider_id, reference=row.reference,
            amount=row.amount, asset=row.asset, status=Status(row.status), payer_id=row.payer_id,
            nonce=row.result_nonce, issued_at=row.paid_at,
        )  # fmt: skip
        return sign_result(fields, self.keys.current)


def view(row: Any) -> PaymentRequest:
    items = tuple(LineItem(i["label"], i["quantity"], i["amount"]) for i in json.loads(row.items))
    return PaymentRequest(
        row.id, row.provider_id, row.merchant_id, row.merchant_name, row.origin, row.asset, row.amount,
        row.fee, row.description, row.reference, items, row.return_url, bool(row.buyer_protection),
        row.protection_days, row.sms_code, Status(row.status), row.payer_id, row.refunded, row.created_at,
        row.expires_at, row.paid_at, row.release_at, row.shipped_at, row.released_at, row.released_how,
        row.dispute_reason, row.disputed_at,
    )  # fmt: skip
