"""Paying on another site: `/widget.js` for providers' pages, and the wallet's popup
(`/widget/pay`) that turns a click into a charge receipt posted back to the provider's
page. The rules live in `paywall.widget` and `paywall.anonymous`; this only translates.

The anonymous trial tab is named by a signed, HttpOnly, SameSite=Lax cookie of this
origin (the popup's): the provider's page never sees it.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from obolo.adapters.clock import NS_PER_SECOND
from obolo.adapters.ids import new_id
from obolo.entrypoints.api.auth import client_address
from obolo.entrypoints.web.context import STATIC, Form, Visitor, VisitorDep, finish, render, text
from obolo.entrypoints.web.form_keys import kept
from obolo.entrypoints.web.security import clear_cookie, set_cookie
from obolo.entrypoints.web.widget_i18n import refusal_text, widget_translator
from obolo.entrypoints.web.widget_script_i18n import with_texts
from obolo.errors import OboloError
from obolo.money import EUR
from obolo.paywall.anonymous import TrialNotFound
from obolo.paywall.errors import InvalidTitle, ProviderNotFound
from obolo.paywall.model import fit_title
from obolo.paywall.widget import NoPrice, Offer, Payment, WrongOrigin, origin_of

router = APIRouter(include_in_schema=False)

TRIAL_COOKIE = "obolo_trial"
TRIAL_COOKIE_SECONDS = 90 * 24 * 3600
OFFER_FIELDS = ("provider", "resource", "price", "asset", "origin", "title")
# The popup must keep its opener (the provider's page) and must never be framed: a
# framed confirm button could be clicked by a page the reader cannot see.
POPUP_HEADERS = {"Cross-Origin-Opener-Policy": "unsafe-none", "X-Frame-Options": "DENY"}


def _script(name: str, cross_origin: bool) -> Response:
    headers = {"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"}
    if cross_origin:
        headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    body = with_texts((STATIC / name).read_bytes())
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


@router.get("/widget.js")
def widget_script() -> Response:
    """The script a provider's page loads from here (any origin may load it)."""
    return _script("widget.js", cross_origin=True)


@router.get("/widget/popup.js")
def popup_script() -> Response:
    return _script("widget-popup.js", cross_origin=False)


def _fields(source: Any) -> dict[str, str]:
    fields = {name: " ".join(str(source.get(name) or "").split())[:500] for name in OFFER_FIELDS}
    # The title is what the page calls what it sells, read off the page by the widget: kept
    # in the reader's history, so made one safe line of bounded length (shown escaped,
    # never trusted).
    fields["title"] = fit_title(str(source.get("title") or "")) or ""
    return fields


def _popup(page: Visitor, template: str, status: int = 200, **context: Any) -> Response:
    response = render(page, template, status, w=widget_translator(page), **context)
    response.headers.update(POPUP_HEADERS)
    return response


def _offer(page: Visitor, fields: dict[str, str]) -> Offer | Response:
    """The offer, or the refusal page: the popup serves only the provider's own site."""
    try:
        return page.platform.widget.offer(
            fields["provider"],
            fields["resource"],
            fields["price"],
            fields["asset"] or "EUR",
            fields["origin"],
            fields["title"] or None,
        )
    except (WrongOrigin, ProviderNotFound, NoPrice, InvalidTitle) as refused:
        return _popup(page, "widget/refused.html", 403 if isinstance(refused, WrongOrigin) else 400,
                      title=widget_translator(page)("Payment refused"), problem=refused)  # fmt: skip


def _trial_id(page: Visitor) -> str | None:
    return page.platform.anonymous.tab_id_from(page.request.cookies.get(TRIAL_COOKIE))


def _ask(page: Visitor, offer: Offer, fields: dict[str, str], status: int = 200, error: str = "") -> Response:
    """The popup's question for this reader and offer (or an automatic form, under consent)."""
    platform = page.platform
    trial = platform.anonymous.tab(_trial_id(page))
    open_trial = trial if trial is not None and trial.claimed_by is None and trial.accrued > 0 else None
    context: dict[str, Any] = {
        "title": widget_translator(page)("Pay with Obolo"),
        "offer": offer,
        "fields": fields,
        "target": origin_of(offer.provider.origin),
        "nonce": secrets.token_urlsafe(16),
        "charge_id": new_id(),
        "trial": open_trial,
        "trial_limit": platform.anonymous.limit,
        "error": error,
        "here": "/widget/pay?" + urlencode(fields),
        "mode": "anonymous",
    }
    context["passes"] = platform.purchases.passes_on_sale(offer.provider.id, offer.resource)
    context["wants_pass"] = page.request.query_params.get("pass") == "1"
    if page.principal is not None:
        reader = page.principal.user_id
        standing = platform.widget.standing(reader, offer)
        if open_trial is not None:
            context["mode"] = "carry"
        elif context["wants_pass"] and context["passes"] and standing in (None, "consent"):
            context["mode"] = "passes"  # the reader asked for a pass: no charge by itself
        elif standing in ("bought", "capped", "pass") or (standing == "consent" and not error):
            context["mode"] = "auto"
        else:
            context["mode"] = "confirm"
            context["per_day"] = platform.widget.consent_per_day(offer)
    elif trial is not None and trial.claimed_by is None and trial.accrued + offer.price.units > trial.limit:
        context["mode"] = "trial_full"
    return _popup(page, "widget/pay.html", status, **context)


@router.get("/widget/pay")
def pay_page(page: VisitorDep) -> Response:
    """The popup: sign in, or read on a trial tab, or confirm once; under consent it pays
    by itself once it has made sure its opener is the provider's page."""
    fields = _fields(page.request.query_params)
    offer = _offer(page, fields)
    if isinstance(offer, Response):
        return offer
    return _ask(page, offer, fields)


def notice_of(page: Visitor, offer: Offer, payment: Payment) -> str:
    """What the reader is told of this click, in the popup and on the provider's page
    (the widget's banner): the popup closes at once, the banner stays."""
    w = widget_translator(page)
    asset = offer.price.asset.code
    if payment.kind == "capped":
        return w("Free: you reached this site's daily cap.")
    if payment.kind == "reaccess" and payment.until is not None:
        # The site's period, not a fixed day: it reopens until the purchase's own end.
        return w("Already yours: it reopens for free until {until}. Nothing more is charged.",
                 until=page.date_time(payment.until))  # fmt: skip
    if payment.kind == "pass" and payment.held is not None:
        left = payment.held.visits_left
        if left is None:
            return w("Opened with your pass {name}, valid until {until}.", name=payment.held.name,
                     until=page.date_time(payment.held.expires_at * NS_PER_SECOND))  # fmt: skip
        return w("Opened with your pass {name}: {left} visits left.", name=payment.held.name, left=left)
    return w("Paid {amount} with Obolo.", amount=page.money(payment.paid, asset))


def _paid(page: Visitor, offer: Offer, payment: Payment) -> Response:
    return _popup(
        page,
        "widget/paid.html",
        title=widget_translator(page)("Paid"),
        offer=offer,
        payment=payment,
        notice=notice_of(page, offer, payment),
        target=origin_of(offer.provider.origin),
        nonce=secrets.token_urlsafe(16),
    )


@router.post("/widget/pay")
def pay(page: VisitorDep, form: Form) -> Response:
    """One click: a charge on the reader's tab (consent granted when they confirm), a
    receipt for nothing past the daily cap, or a charge on the anonymous trial tab."""
    fields = _fields(form)
    offer = _offer(page, fields)
    if isinstance(offer, Response):
        return offer
    charge_id = text(form, "charge_id", 64) or new_id()
    platform = page.platform
    try:
        if page.principal is not None:
            payment = platform.widget.pay(
                page.principal.user_id, offer, charge_id, confirmed=form.get("confirm") == "yes"
            )
            if payment is None:
                return _ask(page, offer, fields)
            return _paid(page, offer, payment)
        trial = platform.anonymous.tab(_trial_id(page))
        # A tab already carried over to a wallet (the reader signed out since) is done
        # with: reading on goes on a new trial tab.
        open_tab = trial.id if trial is not None and trial.claimed_by is None else None
        address = client_address(page.request)
        tab_id, payment = platform.anonymous.pay(open_tab, offer, charge_id, address)
    except OboloError as refused:
        return _ask(page, offer, fields, 409, error=refusal_text(page, refused))
    response = _paid(page, offer, payment)
    if tab_id:
        set_cookie(
            response, page.request, TRIAL_COOKIE, platform.anonymous.token(tab_id), TRIAL_COOKIE_SECONDS
        )
    return response


def _pass_refusal(w: Any, refused: OboloError) -> str:
    """A refused pass sale in the reader's words (no code, no raw amount)."""
    if refused.code == "insufficient_funds":
        return str(w("Your wallet does not hold enough for this pass: top it up first. Nothing was paid."))
    if refused.code in ("pass_not_on_sale", "invalid_pass"):
        return str(w("This site does not offer that pass now. Nothing was paid."))
    return str(w("The pass could not be bought. Nothing was paid."))


@router.post("/widget/pass")
def buy_pass(page: VisitorDep, form: Form) -> Response:
    """Buy one of the provider's published passes (the one pass sale, on its exact terms),
    then open the page with its first visit. The form's charge id is the purchase's
    idempotency key: a second click of the same form buys nothing more."""
    fields = _fields(form)
    offer = _offer(page, fields)
    if isinstance(offer, Response):
        return offer
    w = widget_translator(page)
    if page.principal is None:
        return _ask(page, offer, fields, 401, error=w("Sign in first."))
    reader = page.principal.user_id
    charge_id = text(form, "charge_id", 64) or new_id()
    # The pass's key is kept as the reader's other keys are (`form_keys`): one they had
    # used on the API, for another payment, cannot stand for this pass.
    key = f"widget-pass:{charge_id}"
    purchases = page.platform.purchases
    try:
        kept(
            page, reader, key, form,
            lambda: purchases.buy_pass(reader, offer.provider.id, text(form, "pass_name", 100), key).id,
        )  # fmt: skip
        payment = page.platform.widget.pay(reader, offer, charge_id, confirmed=False)
    except OboloError as refused:
        return _ask(page, offer, fields, 409, error=_pass_refusal(w, refused))
    if payment is None:  # the pass does not cover this page: bought, kept for the pages it covers
        return _ask(page, offer, fields)
    return _paid(page, offer, payment)


@router.post("/widget/trial")
def carry_trial(page: VisitorDep, form: Form) -> Response:
    """A signed-in reader settles their trial tab: its charges become theirs, held on their
    wallet (all or nothing); then back to the payment they were making."""
    fields = _fields(form)
    offer = _offer(page, fields)
    if isinstance(offer, Response):
        return offer
    if page.principal is None:
        return _ask(page, offer, fields, 401, error=widget_translator(page)("Sign in first."))
    tab_id = _trial_id(page)
    try:
        if tab_id is None:
            raise TrialNotFound("there is no trial tab in this browser")
        page.platform.anonymous.claim(tab_id, page.principal.user_id, EUR)
    except OboloError as refused:
        return _ask(page, offer, fields, 409, error=refusal_text(page, refused))
    response = RedirectResponse("/widget/pay?" + urlencode(fields), status_code=303)
    clear_cookie(response, page.request, TRIAL_COOKIE)
    return finish(page, response)
