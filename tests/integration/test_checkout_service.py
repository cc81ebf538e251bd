"""Payment requests: paid once whatever races, expired requests take nothing, refunds
never exceed what was paid, buyer protection holds the money until receipt, silence or
an operator's ruling; every refusal moves nothing."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from obolo.adapters.db.schema import events, pending_transfers
from obolo.bootstrap import build
from obolo.checkout.errors import (
    AmountMismatch,
    DisputeNotAllowed,
    InvalidPaymentRequest,
    InvalidRefund,
    InvalidReturnUrl,
    NotTheBuyer,
    OriginNotRegistered,
    PaymentRequestExpired,
    PaymentRequestPaid,
    RefundWhileHeld,
)
from obolo.checkout.model import LineItem, Status
from obolo.checkout.store import CheckoutSettings, transfer_id
from obolo.ledger.check import check_ledger
from obolo.money import USD, Amount
from obolo.paywall.errors import ProviderNotFound
from obolo.sdk.checkout import MemoryReplayGuard, ResultReplayed, verify_result
from obolo.wallets.errors import CannotPayYourself, InsufficientFunds, UnknownAsset
from tests.integration.checkout_helpers import (
    CARD,
    SETTINGS,
    balance,
    eur,
    merchant,
    person,
    revenue,
    snapshot,
    terms,
    units,
)

DAY = 86_400


@pytest.fixture
def platform(db_url, clock):
    built = build(SETTINGS, url=db_url, clock=clock, migrate=True)
    built.checkout.checkout_settings = CheckoutSettings(protection_days=14)
    yield built
    assert check_ledger(built.engine) == []
    built.close()


def events_of(platform, event_type: str) -> list[str]:
    with platform.engine.connect() as connection:
        return list(connection.execute(select(events.c.user_id).where(events.c.type == event_type)).scalars())


def hold_status(platform, request_id: str) -> int | None:
    with platform.engine.connect() as connection:
        raw = transfer_id(request_id, "hold").to_bytes(16, "big")
        query = select(pending_transfers.c.status).where(pending_transfers.c.id == raw)
        return connection.execute(query).scalar()


def test_a_request_is_paid_once_under_twenty_concurrent_confirmations(platform):
    """Twenty confirmations at once (one buyer double-clicking, others racing) move the
    money once: one buyer pays, the merchant gets the amount less the fee, the rest are
    told it is paid (or, for the buyer who paid, given the same payment back)."""
    seller, shop = merchant(platform)
    buyers = [person(platform, f"buyer{n}", "50.00") for n in range(10)]
    request = platform.checkout.create(seller, shop, terms("20.00"), "EUR")
    start = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def confirm(payer: str) -> None:
        start.wait()
        try:
            payment = platform.checkout.pay(payer, request.id)
            outcome = "again" if payment.already_paid else "paid"
        except PaymentRequestPaid:
            outcome = "refused"
        with lock:
            outcomes.append(outcome)

    payers = [buyers[0]] * 10 + buyers
    threads = [threading.Thread(target=confirm, args=(payer,)) for payer in payers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("paid") == 1
    assert len(outcomes) == 20
    paid = platform.checkout.merchant_request(seller, request.id)
    assert paid.status == Status.PAID
    spent = [b for b in buyers if balance(platform, b) != (units("50.00"), 0)]
    assert spent == [paid.payer_id]
    assert balance(platform, paid.payer_id) == (units("30.00"), 0)
    assert balance(platform, seller) == (units("19.80"), 0)
    assert revenue(platform) == units("0.20")
    assert events_of(platform, "payment_request.paid") == [seller]


def test_a_signed_result_proves_the_payment_to_the_merchant_once(platform):
    """The result names the request, amount and merchant; the SDK accepts it once."""
    seller, shop = merchant(platform)
    buyer = person(platform, "buyer", "50.00")
    request = platform.checkout.create(seller, shop, terms("20.00"), "EUR")
    payment = platform.checkout.pay(buyer, request.id)
    keys = platform.keys.public_keys()
    guard = MemoryReplayGuard()
    now = platform.clock() / 1e9
    result = verify_result(payment.result, keys, request_id=request.id, amount=units("20.00"), asset="EUR",
                           merchant_id=shop, seen=guard, now=now)  # fmt: skip
    assert (result.status, result.payer) == ("paid", buyer)
    again = platform.checkout.pay(buyer, request.id)  # a retried redirect
    assert again.already_paid
    with pytest.raises(ResultReplayed):
        verify_result(again.result, keys, request_id=request.id, seen=guard, now=now)


def test_an_expired_request_moves_nothing_and_the_job_marks_it(platform, clock):
    """Past its expiry a request cannot be paid; the job marks it expired and tells the merchant."""
    seller, shop = merchant(platform)
    buyer = person(platform, "buyer", "50.00")
    request = platform.checkout.create(seller, shop, terms(expires_in_seconds=600), "EUR")
    clock.advance(600)
    before = snapshot(platform, buyer, seller)
    with pytest.raises(PaymentRequestExpired) as refused:
        platform.checkout.pay(buyer, request.id)
    assert refused.value.code == "payment_request_expired"
    assert snapshot(platform, buyer, seller) == before
    assert platform.checkout.expire_due() == 1
    assert platform.checkout.expire_due() == 0
    assert platform.checkout.payment_request(request.id).status == Status.EXPIRED
    with pytest.raises(PaymentRequestExpired):
        platform.checkout.pay(buyer, request.id)
    assert events_of(platform, "payment_request.expired") == [seller]
    assert snapshot(platform, buyer, seller) == before


def test_partial_and_full_refunds_never_exceed_what_was_paid(platform):
    """Refunds in parts add up to at most the payment; one more unit is refused and moves nothing."""
    seller, shop = merchant(platform)
    platform.wallets.top_up(seller, eur("10.00"), CARD)  # the fee is the seller's: it refunds from its own
    buyer = person(platform, "buyer", "50.00")
    request = platform.checkout.create(seller, shop, terms("20.00"), "EUR")
    platform.checkout.pay(buyer, request.id)
    platform.checkout.refund(seller, request.id, eur("5.00"), "one lens missing")
    assert balance(platform, buyer) == (units("35.00"), 0)
    before = snapshot(platform, buyer, seller)
    with pytest.raises(InvalidRefund) as refused:
        platform.checkout.refund(seller, request.id, eur("15.000001"), "too much")
    assert refused.value.code == "invalid_refund"
    assert snapshot(platform, buyer, seller) == before
    done = platform.checkout.refund(seller, request.id, eur("15.00"), "returned")
    assert (done.status, done.refunded) == (Status.REFUNDED, units("20.00"))
    assert balance(platform, buyer) == (units("50.00"), 0)
    # the seller keeps nothing of the sale and has paid the fee
    assert balance(platform, seller) == (units("9.80"), 0)
    with pytest.raises(InvalidRefund):
        platform.checkout.refund(seller, request.id, eur("0.01"), "again")
    assert events_of(platform, "payment_request.refunded").count(buyer) == 2
    entries, _ = platform.wallets.activity(buyer, 20, None)
    assert any("Refund from Seller Shop" in e.description for e in entries)


def test_a_refund_the_merchant_cannot_cover_is_refused(platform):
    """The refund comes from the merchant's wallet: once spent, the refund is refused, nothing moves."""
    seller, shop = merchant(platform)
    buyer = person(platform, "buyer", "50.00")
    request = platform.checkout.create(seller, shop, terms("20.00"), "EUR")
    platform.checkout.pay(buyer, request.id)
    before = snapshot(platform, buyer, seller)
    with pytest.raises(InsufficientFunds):
        platform.checkout.refund(seller, request.id, eur("20.00"), "all of it")  # the seller has 19.80
    assert snapshot(platform, buyer, seller) == before


def test_held_then_receipt_confirmed_pays_the_seller(platform):
    """Buyer protection: a pending transfer until the buyer confirms receipt, then paid less the fee."""
    seller, shop = merchant(platform)
    buyer = person(platform, "buyer", "50.00")
    request = platform.checkout.create(seller, shop, terms("20.00", buyer_protection=True), "EUR")
    held = platform.checkout.pay(buyer, request.id)
    assert held.request.status == Status.HELD
    assert balance(platform, buyer) == (units("30.00"), units("20.00"))
    assert balance(platform, seller) == (0, 0)
    assert hold_status(platform, request.id) == 1
    platform.checkout.mark_shipped(seller, request.id)
    with pytest.raises(NotTheBuyer):
        platform.checkout.confirm_receipt(seller, request.id)
    done = platform.checkout.confirm_receipt(buyer, request.id)
    assert (done.status, done.released_how) == (Status.PAID, "received")
    assert balance(platform, buyer) == (units("30.00"), 0)
    assert balance(platform, seller) == (units("19.80"), 0)
    assert hold_status(platform, request.id) == 2
    assert platform.checkout.confirm_receipt(buyer, request.id).status == Status.PAID  # again: as done
    assert balance(platform, seller) == (units("19.80"), 0)


def test_held_then_released_automatically_after_the_window(platform, clock):
    """Nobody disputes within the protection days: the job posts the hold to the seller."""
    seller, shop = merchant(platform)
    buyer = person(platform, "buyer", "50.00")
    request = platform.checkout.create(seller, shop, terms("20.00"), "EUR")
    platform.checkout.pay(buyer, request.id, protection=True)  # the payer chose protection
    clock.advance(14 * DAY - 1)
    assert platform.checkout.release_due() == 0
    clock.advance(1)
    assert platform.checkout.release_due() == 1
    assert platform.checkout.release_due() == 0
    assert balance(platform, seller) == (units("19.80"), 0)
    assert balance(platform, buyer) == (units("30.00"), 0)
    assert platform.checkout.payment_request(request.id).released_how == "automatic"
    with pytest.raises(DisputeNotAllowed):
        platform.checkout.open_dispute(buyer, request.id, "never arrived")


@pytest.mark.parametrize("refund", [True, False])
def test_held_then_disputed_then_decided(platform, refund):
    """A dispute keeps the money held; a ruling voids it to the buyer or posts it to the seller."""
    seller, shop = merchant(platform)
    buyer = person(platform, "buyer", "50.00")
    operator = person(platform, "operator")
    request = platform.checkout.create(seller, shop, terms("20.00", buyer_protection=True), "EUR")
    platform.checkout.pay(buyer, request.id)
    disputed = platform.checkout.open_dispute(buyer, request.id, "the camera does not work")
    assert disputed.status == Status.DISPUTED
    assert platform.checkout.release_due() == 0
    decided = platform.checkout.decide_dispute(operator, request.id, refund=refund, note="saw the photos")
    if refund:
        assert decided.status == Status.REFUNDED
        assert balance(platform, buyer) == (units("50.00"), 0)
        assert balance(platform, seller) == (0, 0)
        assert hold_status(platform, request.id) == 3
    else:
        assert decided.status == Status.PAID
        assert balance(platform, buyer) == (units("30.00"), 0)
        assert balance(platform, seller) == (units("19.80"), 0)


def test_a_held_payment_is_refunded_in_full_or_not_at_all(platform):
    """While held, a partial refund is refused (nothing moves); a full one voids the hold."""
    seller, shop = merchant(platform)
    buyer = person(platform, "buyer", "50.00")
    request = platform.checkout.create(seller, shop, terms("20.00", buyer_protection=True), "EUR")
    platform.checkout.pay(buyer, request.id)
    before = snapshot(platform, buyer, seller)
    with pytest.raises(RefundWhileHeld):
        platform.checkout.refund(seller, request.id, eur("5.00"), "partial")
    assert snapshot(platform, buyer, seller) == before
    done = platform.checkout.refund(seller, request.id, eur("20.00"), "out of stock")
    assert done.status == Status.REFUNDED
    assert balance(platform, buyer) == (units("50.00"), 0)


@pytest.mark.parametrize(
    ("change", "error", "code"),
    [
        ({"amount": 0, "items": ()}, InvalidPaymentRequest, "invalid_payment_request"),
        ({"amount": -5, "items": ()}, InvalidPaymentRequest, "invalid_payment_request"),
        ({"amount": units("2000.00"), "items": ()}, InvalidPaymentRequest, "invalid_payment_request"),
        ({"items": (LineItem("Lens", 1, units("19.00")),)}, InvalidPaymentRequest, "invalid_payment_request"),
        ({"return_url": "https://evil.example/phish"}, InvalidReturnUrl, "invalid_return_url"),
        ({"return_url": "https://shop.example.evil.example/x"}, InvalidReturnUrl, "invalid_return_url"),
        ({"return_url": "https://user@shop.example/x"}, InvalidReturnUrl, "invalid_return_url"),
        ({"return_url": "javascript:alert(1)"}, InvalidReturnUrl, "invalid_return_url"),
        ({"return_url": "//evil.example/x"}, InvalidReturnUrl, "invalid_return_url"),
        ({"return_url": "http://shop.example/x"}, InvalidReturnUrl, "invalid_return_url"),
        ({"expires_in_seconds": 5}, InvalidPaymentRequest, "invalid_payment_request"),
    ],
)
def test_bad_requests_are_refused_and_create_nothing(platform, change, error, code):
    """Amount, items, expiry, a return URL off the merchant's registered origin (open redirect): refused."""
    seller, shop = merchant(platform)
    before = snapshot(platform, seller)
    with pytest.raises(error) as refused:
        platform.checkout.create(seller, shop, terms(**change), "EUR")
    assert refused.value.code == code
    assert snapshot(platform, seller) == before


def test_an_unknown_currency_and_someone_elses_shop_are_refused(platform):
    """A currency the platform does not hold, or a shop of another merchant, creates nothing."""
    seller, shop = merchant(platform)
    other, _ = merchant(platform, "other")
    before = snapshot(platform, seller, other)
    with pytest.raises(UnknownAsset):
        platform.checkout.create(seller, shop, terms(), "XYZ")
    with pytest.raises(ProviderNotFound) as refused:
        platform.checkout.create(other, shop, terms(), "EUR")
    assert refused.value.code == "provider_not_found"
    assert snapshot(platform, seller, other) == before


def test_payments_that_do_not_match_are_refused_and_move_nothing(platform):
    """The browser's amount must be the request's, its page on the merchant's origin; a
    merchant cannot pay itself; a buyer without the money is refused."""
    seller, shop = merchant(platform)
    buyer = person(platform, "buyer", "50.00")
    poor = person(platform, "poor", "1.00")
    request = platform.checkout.create(seller, shop, terms("20.00"), "EUR")
    before = snapshot(platform, buyer, poor, seller)
    with pytest.raises(AmountMismatch):
        platform.checkout.pay(buyer, request.id, expected=eur("2.00"))
    with pytest.raises(AmountMismatch):
        platform.checkout.pay(buyer, request.id, expected=Amount.parse("20.00", USD))
    with pytest.raises(OriginNotRegistered):
        platform.checkout.pay(buyer, request.id, origin="https://evil.example")
    with pytest.raises(CannotPayYourself):
        platform.checkout.pay(seller, request.id)
    with pytest.raises(InsufficientFunds):
        platform.checkout.pay(poor, request.id)
    assert snapshot(platform, buyer, poor, seller) == before
    assert platform.checkout.payment_request(request.id).status == Status.OPEN
    paid = platform.checkout.pay(buyer, request.id, expected=eur("20.00"), origin="https://shop.example:443")
    assert paid.request.status == Status.PAID
