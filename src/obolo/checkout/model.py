"""Payment request rules: pure functions and values, no I/O.

How the money of a payment request moves (every arrow a ledger transfer):

    pay        buyer wallet ──amount──▶ merchant wallet
               merchant wallet ──fee──▶ fee revenue                      one linked batch
    pay, held  buyer wallet ──pending hold (amount)──▶ merchant wallet   (buyer protection)
    release    post the hold; merchant wallet ──fee──▶ fee revenue       one linked batch
    refund     merchant wallet ──part or all──▶ buyer wallet             (once paid)
    held back  void the hold (a refund in full, or a dispute decided for the buyer)

Every transfer id derives from the payment request's id (and a refund's own id), never
from who asks: two payers racing for one request cannot both pay it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any, Final
from urllib.parse import urlsplit

from obolo.checkout.errors import InvalidPaymentRequest, InvalidRefund, InvalidReturnUrl
from obolo.ledger import Transfer, TransferFlags
from obolo.money import round_half_even
from obolo.settings import FeeRule

NS_PER_SECOND: Final = 1_000_000_000
MIN_EXPIRY_SECONDS: Final = 60
MAX_EXPIRY_SECONDS: Final = 30 * 24 * 3600
MAX_ITEMS: Final = 100
#: Letters and digits nobody misreads on a phone screen or types wrong in an SMS.
SMS_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
SMS_CODE_LENGTH: Final = 6
RESULT_TYPE: Final = "obolo.checkout.result"


class Status(enum.StrEnum):
    OPEN = "open"
    #: Paid under buyer protection: the money is a pending transfer to the merchant.
    HELD = "held"
    #: Held, and the buyer opened a dispute: an operator decides.
    DISPUTED = "disputed"
    #: The merchant has the money (refunds may have given some back).
    PAID = "paid"
    #: Everything paid went back to the buyer.
    REFUNDED = "refunded"
    EXPIRED = "expired"


#: The moves a payment request makes; nothing leaves PAID but refunds, nothing leaves the ends.
TRANSITIONS: Final[dict[Status, frozenset[Status]]] = {
    Status.OPEN: frozenset({Status.PAID, Status.HELD, Status.EXPIRED}),
    Status.HELD: frozenset({Status.PAID, Status.DISPUTED, Status.REFUNDED}),
    Status.DISPUTED: frozenset({Status.PAID, Status.REFUNDED}),
    Status.PAID: frozenset({Status.REFUNDED}),
    Status.REFUNDED: frozenset(),
    Status.EXPIRED: frozenset(),
}


def can_move(current: Status, target: Status) -> bool:
    return target in TRANSITIONS[current]


class Release(enum.StrEnum):
    """Why held money went to the merchant (or back)."""

    RECEIVED = "received"  # the buyer confirmed receipt
    AUTOMATIC = "automatic"  # nobody disputed within the window
    OPERATOR = "operator"  # a dispute decided for the seller
    REFUNDED = "refunded"  # a dispute decided for the buyer, or the merchant's full refund


class TransferCode(enum.IntEnum):
    """Why money moved, for this product's transfers (wallets 1-10, tasks 20s, SMS 30s)."""

    FEE = 3
    CHECKOUT_PAYMENT = 40
    CHECKOUT_HOLD = 41
    CHECKOUT_REFUND = 42


# -- terms -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineItem:
    label: str
    quantity: int
    #: Units of the request's asset for the whole line (quantity included).
    amount: int


@dataclass(frozen=True, slots=True)
class Terms:
    """What a merchant asks for. `amount` is in units of the request's asset."""

    amount: int
    description: str
    reference: str
    return_url: str
    expires_in_seconds: int = 3600
    items: tuple[LineItem, ...] = ()
    buyer_protection: bool = False


def check_terms(terms: Terms, max_amount: int) -> None:
    """Raises InvalidPaymentRequest naming the first field that breaks a rule."""
    problems = [
        ("amount", 0 < terms.amount <= max_amount, "a positive amount within the platform's limit"),
        ("description", 1 <= len(terms.description.strip()) <= 200, "a description of 1-200 characters"),
        ("reference", 1 <= len(terms.reference.strip()) <= 100, "a merchant reference of 1-100 characters"),
        (
            "expires_in_seconds",
            MIN_EXPIRY_SECONDS <= terms.expires_in_seconds <= MAX_EXPIRY_SECONDS,
            "an expiry between a minute and 30 days",
        ),
        ("items", len(terms.items) <= MAX_ITEMS, f"at most {MAX_ITEMS} line items"),
    ]
    for field, ok, wanted in problems:
        if not ok:
            raise InvalidPaymentRequest(f"{field}: {wanted}", field=field)
    for item in terms.items:
        if not (1 <= len(item.label.strip()) <= 200 and 1 <= item.quantity <= 10_000 and item.amount >= 0):
            raise InvalidPaymentRequest("items: a label, a quantity of 1-10,000, an amount", field="items")
    if terms.items and sum(item.amount for item in terms.items) != terms.amount:
        raise InvalidPaymentRequest("items: the line items must add up to the amount", field="items")


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL without credentials, lower case, the
    default port left out; None for anything else."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    if any(ch in url for ch in ("\\", "\n", "\r", "\t", " ")):
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


def check_return_url(url: str, registered: set[str]) -> str:
    """The return URL if it lies on one of the merchant's registered origins; otherwise
    InvalidReturnUrl (a checkout page must never redirect a payer anywhere else)."""
    if len(url) > 2_000:
        raise InvalidReturnUrl("the return URL is too long", field="return_url")
    origin = origin_of(url)
    allowed = {o for o in (origin_of(r) for r in registered) if o}
    if origin is None or origin not in allowed:
        raise InvalidReturnUrl(
            "the return URL must be on the merchant's registered origin", field="return_url"
        )
    return url.strip()


# -- money -----------------------------------------------------------------------------------


def fee_of(amount: int, rule: FeeRule) -> int:
    """The merchant's fee on a payment: basis points rounded half to even plus the fixed
    part, never more than the payment itself."""
    return min(amount, round_half_even(amount * rule.basis_points, 10_000) + rule.fixed)


@dataclass(frozen=True, slots=True)
class Accounts:
    asset: str
    buyer: int
    merchant: int
    revenue: int


def payment_transfers(ids: tuple[int, int], accounts: Accounts, amount: int, fee: int) -> list[Transfer]:
    """Pay at once: the amount to the merchant and the fee from it, linked."""
    pay_id, fee_id = ids
    chain = [
        Transfer(pay_id, accounts.buyer, accounts.merchant, amount, accounts.asset,
                 code=int(TransferCode.CHECKOUT_PAYMENT), flags=TransferFlags.LINKED)
    ]  # fmt: skip
    if fee:
        chain.append(_fee(fee_id, accounts, fee))
    return _close(chain)


def hold_transfer(hold_id: int, accounts: Accounts, amount: int) -> Transfer:
    """Buyer protection: the amount reserved for the merchant, without a timeout (the
    product releases it; an expiry would give it back to the buyer silently)."""
    return Transfer(hold_id, accounts.buyer, accounts.merchant, amount, accounts.asset,
                    code=int(TransferCode.CHECKOUT_HOLD), flags=TransferFlags.PENDING)  # fmt: skip


def release_transfers(ids: tuple[int, int], hold_id: int, accounts: Accounts, fee: int) -> list[Transfer]:
    """Post the hold in full and take the fee from what the merchant got, linked."""
    post_id, fee_id = ids
    chain = [
        Transfer(
            post_id, pending_id=hold_id, flags=TransferFlags.POST_PENDING_TRANSFER | TransferFlags.LINKED
        )
    ]
    if fee:
        chain.append(_fee(fee_id, accounts, fee))
    return _close(chain)


def void_transfer(transfer_id: int, hold_id: int) -> Transfer:
    return Transfer(transfer_id, pending_id=hold_id, flags=TransferFlags.VOID_PENDING_TRANSFER)


def refund_transfer(transfer_id: int, accounts: Accounts, amount: int) -> Transfer:
    return Transfer(transfer_id, accounts.merchant, accounts.buyer, amount, accounts.asset,
                    code=int(TransferCode.CHECKOUT_REFUND))  # fmt: skip


def _fee(fee_id: int, accounts: Accounts, fee: int) -> Transfer:
    return Transfer(fee_id, accounts.merchant, accounts.revenue, fee, accounts.asset,
                    code=int(TransferCode.FEE), flags=TransferFlags.LINKED)  # fmt: skip


def _close(chain: list[Transfer]) -> list[Transfer]:
    chain[-1] = replace(chain[-1], flags=chain[-1].flags & ~TransferFlags.LINKED)
    return chain


def check_refund(status: Status, amount: int, paid: int, refunded: int) -> None:
    """A refund gives back part or all of what was paid and not yet refunded."""
    if status not in (Status.PAID, Status.HELD, Status.DISPUTED):
        raise InvalidRefund("only a paid payment request can be refunded", request_status=str(status))
    if amount <= 0:
        raise InvalidRefund("a refund is a positive amount", field="amount")
    if amount > paid - refunded:
        raise InvalidRefund(
            "a refund cannot exceed what was paid and not yet refunded", refundable=paid - refunded
        )


# -- protection ------------------------------------------------------------------------------


def release_at(paid_at: int, protection_days: int) -> int:
    """When held money goes to the merchant by itself, unless the buyer disputes first."""
    return paid_at + protection_days * 86_400 * NS_PER_SECOND


def may_dispute(status: Status, now: int, release_time: int | None) -> bool:
    return status == Status.HELD and release_time is not None and now < release_time


# -- the signed result -----------------------------------------------------------------------


def result_fields(
    *,
    kid: str,
    request_id: str,
    merchant_id: str,
    reference: str,
    amount: int,
    asset: str,
    status: Status,
    payer_id: str,
    nonce: str,
    issued_at: int,
) -> dict[str, Any]:
    """What the platform signs for the merchant after a payment: bound to the request,
    its amount and its merchant; `nonce` makes each result usable once."""
    return {
        "typ": RESULT_TYPE, "kid": kid, "request_id": request_id, "merchant_id": merchant_id,
        "reference": reference, "amount": amount, "asset": asset, "status": str(status),
        "payer": payer_id, "nonce": nonce, "iat": issued_at // NS_PER_SECOND,
    }  # fmt: skip
