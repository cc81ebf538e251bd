"""The account page: password, email, phone, sessions, two-factor sign-in, a copy of one's
data, closing the account. Each form is one service call; refusals are said beside the
field in the page's language."""

from __future__ import annotations

import json

import segno
from fastapi import APIRouter, BackgroundTasks
from fastapi.responses import RedirectResponse, Response

from obolo.account import data as account_data
from obolo.entrypoints.web import security
from obolo.entrypoints.web.context import Form, SignedIn, Visitor, finish, render, secret, text
from obolo.entrypoints.web.problems import FORM, field_error
from obolo.errors import OboloError

router = APIRouter(include_in_schema=False)

_REFUSALS = {
    "wrong_password": ("current_password", "The current password is wrong."),
    "invalid_two_factor_code": ("code", "That code is wrong or was used already."),
    "two_factor_already_enabled": (FORM, "Two-factor sign-in is on already."),
    "two_factor_not_enabled": (FORM, "Two-factor sign-in is off."),
    "balance_not_zero": ("iban", "Your wallet still holds money: give an IBAN to receive it first."),
    "not_found": (FORM, "No such session."),
}


def _refusal(page: Visitor, error: OboloError) -> dict[str, str]:
    if error.code in _REFUSALS:
        name, message = _REFUSALS[error.code]
        return {name: page.t(message)}
    name, message = field_error(error, page.t)
    return {name: message}


def _show(page: Visitor, status: int = 200, **context: object) -> Response:
    user_id = page.user_id
    return render(
        page,
        "account/settings.html",
        status,
        title=page.t("Your account"),
        sessions=page.platform.account.sessions(
            user_id, page.principal.credential_id if page.principal else None
        ),
        two_factor=page.platform.two_factor.enabled(user_id),
        recovery_left=page.platform.two_factor.recovery_codes_left(user_id),
        # each form shows only its own refusals (several have a password or a code field)
        all_errors=context.get("errors", {}),
        **context,
    )


def _done(page: Visitor, notice: str) -> Response:
    return finish(page, RedirectResponse(f"/account?done={notice}", status_code=303))


_NOTICES = {
    "password": "Your password is changed; your other sessions are signed out.",
    "email": "Your email address is changed.",
    "phone": "Your phone number is changed.",
    "session": "That session is signed out.",
    "sessions": "Your other sessions are signed out.",
    "two_factor_off": "Two-factor sign-in is off.",
}


@router.get("/account")
def settings(page: SignedIn, done: str = "") -> Response:
    notice = page.t(_NOTICES[done]) if done in _NOTICES else None
    return _show(page, notice=notice)


@router.post("/account/password")
def change_password(page: SignedIn, form: Form) -> Response:
    try:
        page.platform.account.change_password(
            page.user_id, secret(form, "current_password"), secret(form, "password"),
            page.principal.credential_id if page.principal else None,
        )  # fmt: skip
    except OboloError as error:
        return _show(page, 422, errors=_refusal(page, error), open="password")
    return _done(page, "password")


@router.post("/account/email")
def request_email_change(page: SignedIn, form: Form) -> Response:
    email = text(form, "email", 254)
    try:
        page.platform.account.request_email_change(page.user_id, secret(form, "current_password"), email)
    except OboloError as error:
        return _show(page, 422, errors=_refusal(page, error), values={"email": email}, open="email")
    notice = page.t("If this address can be yours, we have mailed it a code. It expires in 10 minutes.")
    return _show(page, notice=notice, step="email_code")


@router.post("/account/phone")
def request_phone_change(page: SignedIn, form: Form, background: BackgroundTasks) -> Response:
    phone = text(form, "phone", 40)
    try:
        message = page.platform.account.request_phone_change(page.user_id, phone)
    except OboloError as error:
        return _show(page, 422, errors=_refusal(page, error), values={"phone": phone}, open="phone")
    if message is not None:
        background.add_task(page.platform.account.deliver, message)
    notice = page.t("If this number can be yours, we have texted it a code. It expires in 10 minutes.")
    return _show(page, notice=notice, step="phone_code")


@router.post("/account/confirm/{kind}")
def confirm_contact(page: SignedIn, form: Form, kind: str) -> Response:
    if kind not in ("email", "phone"):
        return _show(page, 404)
    try:
        page.platform.account.confirm_contact(page.user_id, kind, text(form, "code", 20))
    except OboloError as error:
        return _show(page, 422, errors=_refusal(page, error), step=f"{kind}_code", open=f"{kind}_code")
    return _done(page, kind)


@router.post("/account/sessions/revoke")
def revoke_session(page: SignedIn, form: Form) -> Response:
    try:
        page.platform.account.revoke_session(page.user_id, text(form, "session", 40))
    except OboloError as error:
        return _show(page, 404, errors=_refusal(page, error))
    return _done(page, "session")


@router.post("/account/sessions/revoke-others")
def revoke_other_sessions(page: SignedIn, form: Form) -> Response:
    page.platform.account.revoke_other_sessions(
        page.user_id, page.principal.credential_id if page.principal else None
    )
    return _done(page, "sessions")


@router.post("/account/two-factor")
def begin_two_factor(page: SignedIn, form: Form) -> Response:
    try:
        enrolment = page.platform.two_factor.begin(page.user_id)
    except OboloError as error:
        return _show(page, 409, errors=_refusal(page, error))
    qr = segno.make(enrolment.uri, error="m").svg_inline(scale=4, title=page.t("QR code to scan"))
    return render(
        page, "account/two_factor.html", title=page.t("Two-factor sign-in"), secret=enrolment.secret, qr=qr
    )


@router.post("/account/two-factor/confirm")
def confirm_two_factor(page: SignedIn, form: Form) -> Response:
    try:
        codes = page.platform.two_factor.confirm(page.user_id, text(form, "code", 20))
    except OboloError as error:
        errors = _refusal(page, error)
        return render(page, "account/two_factor.html", 422, title=page.t("Two-factor sign-in"), errors=errors)
    return render(page, "account/two_factor.html", title=page.t("Two-factor sign-in"), codes=codes)


@router.post("/account/two-factor/disable")
def disable_two_factor(page: SignedIn, form: Form) -> Response:
    try:
        page.platform.two_factor.disable(page.user_id, text(form, "code", 20))
    except OboloError as error:
        return _show(page, 422, errors=_refusal(page, error), open="two_factor")
    return _done(page, "two_factor_off")


@router.get("/account/export.json")
def export(page: SignedIn) -> Response:
    data = account_data.export(page.platform.account, page.platform.wallets, page.user_id)
    response = Response(
        json.dumps(data, indent=2, ensure_ascii=False),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="obolo-my-data.json"'},
    )
    return finish(page, response)


@router.post("/account/close")
def close(page: SignedIn, form: Form) -> Response:
    iban = text(form, "iban", 50) or None
    try:
        account_data.close(
            page.platform.account, page.platform.wallets, page.user_id, secret(form, "current_password"), iban
        )
    except OboloError as error:
        return _show(page, 422, errors=_refusal(page, error), values={"iban": iban or ""}, open="close")
    response = RedirectResponse("/signin?closed=1", status_code=303)
    security.clear_cookie(response, page.request, security.SESSION_COOKIE)
    return finish(page, response)
