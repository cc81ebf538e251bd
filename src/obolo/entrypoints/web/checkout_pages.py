"""The hosted checkout page (`/pay/<id>`, and `/p/<code>` the short link to it): the payer
signs in, sees the merchant, the amount and the items, and confirms; then goes back to
the merchant's return URL with the signed result. The buyer confirms receipt or disputes
here too, and the merchant refunds and marks orders shipped on `/provider/payment-requests`.
Every form carries a CSRF token and works without JavaScript; the rules live in
`obolo.checkout`, this only translates."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from obolo.checkout.errors import PaymentRequestNotFound
from obolo.checkout.model import Status, origin_of
from obolo.checkout.service import PaymentRequest
from obolo.entrypoints.web.checkout_i18n import checkout_translator
from obolo.entrypoints.web.context import (
    Form,
    SignedIn,
    Visitor,
    VisitorDep,
    finish,
    render,
    require_operator,
    text,
)
from obolo.entrypoints.web.form_keys import form_key, kept
from obolo.entrypoints.web.format import parse_amount
from obolo.entrypoints.web.problems import problem_message
from obolo.entrypoints.web.security import CONTENT_SECURITY_POLICY
from obolo.errors import OboloError
from obolo.money import Amount, MoneyError

router = APIRouter(include_in_schema=False)


def back_to_merchant(request: PaymentRequest, **params: str) -> str:
    """The merchant's return URL with our parameters added to its own query."""
    parts = urlsplit(request.return_url)
    query = [
        *parse_qsl(parts.query, keep_blank_values=True),
        ("obolo_payment_request", request.id),
        *params.items(),
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _page(page: Visitor, request: PaymentRequest, status: int = 200, **context: Any) -> Response:
    c = checkout_translator(page)
    payer = page.principal.user_id if page.principal else None
    now = page.platform.clock()
    held = {Status.HELD, Status.DISPUTED}
    available = None
    if payer is not None:
        available = next(
            (b.available for b in page.platform.wallets.balances(payer) if b.asset == request.asset), 0
        )
    expired = request.status == Status.EXPIRED or (
        request.status == Status.OPEN and now >= request.expires_at
    )
    window = request.release_at is not None and now < request.release_at
    response = render(
        page, "checkout/pay.html", status, c=c, title=c("Pay {merchant}", merchant=request.merchant_name),
        request=request, mine=payer is not None and request.payer_id == payer, held=request.status in held,
        expired=expired,
        available=available, cancel_url=back_to_merchant(request, obolo_status="cancelled"),
        can_dispute=request.status == Status.HELD and window,
        **context,
    )  # fmt: skip
    # The confirm form's answer is a redirect to the merchant's page: allow that one origin.
    merchant = origin_of(request.merchant_origin) or ""
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {merchant}".rstrip()
    )
    return response


def _request(page: Visitor, request_id: str) -> PaymentRequest | Response:
    try:
        return page.platform.checkout.payment_request(request_id[:36])
    except PaymentRequestNotFound:
        title = page.t("Page not found")
        return render(page, "error.html", 404, title=title, message=title)


@router.get("/p/{code}")
def short_link(page: VisitorDep, code: str) -> Response:
    """The payment link (what the QR code and the SMS carry) → the checkout page."""
    try:
        found = page.platform.checkout.by_sms_code(code[:12])
    except PaymentRequestNotFound:
        title = page.t("Page not found")
        return render(page, "error.html", 404, title=title, message=title)
    return finish(page, RedirectResponse(f"/pay/{found.id}", status_code=303))


@router.get("/pay/{request_id}")
def pay_page(page: VisitorDep, request_id: str) -> Response:
    found = _request(page, request_id)
    return found if isinstance(found, Response) else _page(page, found)


@router.post("/pay/{request_id}")
def pay(page: SignedIn, form: Form, request_id: str) -> Response:
    """Confirm: paid once (a double click or a retried form finds the same payment), then
    back to the merchant with the signed result."""
    found = _request(page, request_id)
    if isinstance(found, Response):
        return found
    try:
        paid = page.platform.checkout.pay(page.user_id, found.id, protection=form.get("protection") == "yes")
    except OboloError as refused:
        status = 409 if refused.code.startswith("payment_request") else 422
        return _page(page, found, status, error=_problem(page, refused))
    target = back_to_merchant(paid.request, obolo_status="paid", obolo_result=paid.result)
    return finish(page, RedirectResponse(target, status_code=303))


def _problem(page: Visitor, refused: OboloError) -> str:
    c = checkout_translator(page)
    messages = {
        "insufficient_funds": "Your wallet does not hold enough: top up first.",
        "payment_request_expired": "This payment request has expired. Nothing was paid.",
        "payment_request_paid": "This payment request was already paid.",
    }
    if refused.code in messages:
        return c(messages[refused.code])
    return problem_message(refused, page.t)


@router.post("/pay/{request_id}/receipt")
def confirm_receipt(page: SignedIn, form: Form, request_id: str) -> Response:
    return _buyer_step(
        page, request_id, lambda: page.platform.checkout.confirm_receipt(page.user_id, request_id)
    )


@router.post("/pay/{request_id}/dispute")
def open_dispute(page: SignedIn, form: Form, request_id: str) -> Response:
    reason = text(form, "reason", 2000)
    return _buyer_step(
        page, request_id, lambda: page.platform.checkout.open_dispute(page.user_id, request_id, reason)
    )


def _buyer_step(page: Visitor, request_id: str, step: Any) -> Response:
    found = _request(page, request_id)
    if isinstance(found, Response):
        return found
    try:
        done = step()
    except OboloError as refused:
        return _page(page, found, 409, error=_problem(page, refused))
    return _page(page, done, notice=checkout_translator(page)("Done."))


# -- the merchant's side -----------------------------------------------------------------------


def _sales(page: Visitor, status: int = 200, **context: Any) -> Response:
    c = checkout_translator(page)
    requests = page.platform.checkout.merchant_requests(page.user_id, 100)
    return render(
        page, "checkout/sales.html", status, c=c, title=c("Payment requests"), requests=requests, **context
    )


@router.get("/provider/payment-requests")
def sales_page(page: SignedIn) -> Response:
    return _sales(page)


@router.post("/provider/payment-requests/{request_id}/refund")
def refund(page: SignedIn, form: Form, request_id: str) -> Response:
    """A refund from the dashboard, keyed by the form's own id (`form_keys`): a double
    submit refunds once."""
    key = form_key(form)
    checkout = page.platform.checkout

    def refund_it(amount: Amount) -> str:
        checkout.refund(page.user_id, request_id, amount, text(form, "reason", 500), key)
        return "/provider/payment-requests"

    try:
        found = checkout.merchant_request(page.user_id, request_id)
        amount = parse_amount(text(form, "amount", 40), page.platform.wallets.asset(found.asset))
        kept(page, page.user_id, key, form, lambda: refund_it(amount))
    except (OboloError, MoneyError) as refused:
        return _sales(page, 422, errors={"_form": problem_message(refused, page.t)})
    return _sales(page, notice=checkout_translator(page)("Done."))


@router.post("/provider/payment-requests/{request_id}/shipped")
def shipped(page: SignedIn, form: Form, request_id: str) -> Response:
    try:
        page.platform.checkout.mark_shipped(page.user_id, request_id)
    except OboloError as refused:
        return _sales(page, 409, errors={"_form": problem_message(refused, page.t)})
    return _sales(page, notice=checkout_translator(page)("Done."))


# -- the operator's side -----------------------------------------------------------------------


def _disputes(page: Visitor, status: int = 200, **context: Any) -> Response:
    c = checkout_translator(page)
    found = page.platform.checkout.disputes()
    return render(page, "checkout/disputes.html", status, c=c, title=c("Checkout disputes"), disputes=found,
                  **context)  # fmt: skip


@router.get("/operator/checkout-disputes")
def disputes_page(page: SignedIn) -> Response:
    require_operator(page)
    return _disputes(page)


@router.post("/operator/checkout-disputes/{request_id}")
def decide(page: SignedIn, form: Form, request_id: str) -> Response:
    """The ruling: the held money back to the buyer, or to the seller; audited."""
    require_operator(page)
    refund = text(form, "decision", 10) == "refund"
    try:
        page.platform.checkout.decide_dispute(
            page.user_id, request_id[:36], refund=refund, note=text(form, "note", 2000)
        )
    except OboloError as refused:
        return _disputes(page, 409, errors={"_form": problem_message(refused, page.t)})
    return _disputes(page, notice=checkout_translator(page)("Done."))
