"""Sign up, sign in, sign out: the session cookie carries the identity service's token."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks
from fastapi.responses import RedirectResponse, Response

from obolo.entrypoints.api.auth import client_address
from obolo.entrypoints.web import security
from obolo.entrypoints.web.context import Form, VisitorDep, finish, render, secret, text
from obolo.entrypoints.web.problems import FORM, field_error
from obolo.errors import OboloError, RateLimited
from obolo.identity.errors import TwoFactorRequired

router = APIRouter(include_in_schema=False)


def _signed_in_response(page: VisitorDep, token: str, target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    ttl = page.platform.settings.session_ttl_seconds
    security.set_cookie(response, page.request, security.SESSION_COOKIE, token, ttl)
    return finish(page, response)


@router.get("/signin")
def sign_in_page(
    page: VisitorDep, next: str = "", out: str = "", new: str = "", closed: str = ""
) -> Response:
    if page.principal is not None:
        return finish(page, RedirectResponse(security.local_path(next), status_code=303))
    notice = page.t("You are signed out.") if out else None
    if new:
        notice = page.t("Your wallet is ready: sign in to open it.")
    if closed:
        notice = page.t("Your account is closed.")
    if next and page.principal is None and not out:
        notice = page.t("Please sign in to continue.")
    return render(page, "signin.html", values={"next": security.local_path(next)}, notice=notice)


@router.post("/signin")
def sign_in(page: VisitorDep, form: Form) -> Response:
    email, password = text(form, "email", 254), secret(form, "password")
    target = security.local_path(text(form, "next", 2000))
    values = {"email": email, "next": target}
    try:
        token, _expires, _user = page.platform.identity.sign_in(
            email, password, client_address(page.request), page.request.headers.get("user-agent")
        )
    except TwoFactorRequired as required:  # the password was right: now the code
        values = {"challenge": str(required.data["challenge"]), "next": target}
        return render(page, "signin_code.html", 401, values=values)
    except OboloError as error:
        name, message = field_error(error, page.t)
        status = 429 if error.code == "rate_limited" else 401
        return render(page, "signin.html", status, values=values, errors={name: message})
    return _signed_in_response(page, token, target)


@router.post("/signin/two-factor")
def two_factor_sign_in(page: VisitorDep, form: Form) -> Response:
    values = {
        "challenge": text(form, "challenge", 300),
        "next": security.local_path(text(form, "next", 2000)),
    }
    try:
        signed_in = page.platform.two_factor.complete_sign_in(
            values["challenge"],
            text(form, "code", 20),
            client_address(page.request),
            page.request.headers.get("user-agent"),
        )
    except OboloError as error:
        if error.code == "invalid_two_factor_code":
            message = page.t("That code is wrong or was used already.")
            return render(page, "signin_code.html", 401, values=values, errors={"code": message})
        name, message = field_error(error, page.t)
        return render(page, "signin.html", 401, values={"next": values["next"]}, errors={name: message})
    return _signed_in_response(page, signed_in[0], values["next"])


@router.get("/signin/phone")
def phone_sign_in_page(page: VisitorDep, next: str = "") -> Response:
    """For people who opened their wallet by text message: a code to their number."""
    if page.principal is not None:
        return finish(page, RedirectResponse(security.local_path(next), status_code=303))
    return render(page, "signin_phone.html", values={"next": security.local_path(next)}, step="phone")


@router.post("/signin/phone")
def request_phone_code(page: VisitorDep, form: Form, background: BackgroundTasks) -> Response:
    """Ask for a code. The next page is the same whether or not the number has a wallet;
    the text goes out after the page is sent."""
    values = {"phone": text(form, "phone", 40), "next": security.local_path(text(form, "next", 2000))}
    service = page.platform.phone_sign_in
    try:
        message = service.request_code(values["phone"], client_address(page.request))
    except RateLimited as error:
        wait = page.t("Too many codes asked for; try again in {seconds} s.", seconds=error.retry_after)
        return render(page, "signin_phone.html", 429, values=values, errors={FORM: wait}, step="phone")
    except OboloError as error:
        name, refusal = field_error(error, page.t)
        return render(page, "signin_phone.html", 422, values=values, errors={name: refusal}, step="phone")
    if message is not None:
        background.add_task(service.deliver, message)
    values["phone"] = service.normalize(values["phone"])
    notice = page.t("If this number has an Obolo wallet, we have texted it a code. It expires in 10 minutes.")
    return render(page, "signin_phone.html", values=values, notice=notice, step="code")


@router.post("/signin/phone/code")
def phone_sign_in(page: VisitorDep, form: Form) -> Response:
    values = {"phone": text(form, "phone", 40), "next": security.local_path(text(form, "next", 2000))}
    code = text(form, "code", 20).replace(" ", "")
    try:
        signed_in = page.platform.phone_sign_in.sign_in(
            values["phone"], code, client_address(page.request), page.request.headers.get("user-agent")
        )
    except OboloError as error:
        name, message = field_error(error, page.t)
        status = 429 if error.code == "rate_limited" else 401
        return render(page, "signin_phone.html", status, values=values, errors={name: message}, step="code")
    return _signed_in_response(page, signed_in[0], values["next"])


@router.get("/signup")
def sign_up_page(page: VisitorDep) -> Response:
    if page.principal is not None:
        return finish(page, RedirectResponse("/wallet", status_code=303))
    return render(page, "signup.html")


@router.post("/signup")
def sign_up(page: VisitorDep, form: Form) -> Response:
    """A new account and an email or number that is already someone's get the same answer
    (the owner is told instead), so the page does not sign anyone in: both go on to the
    sign-in page, where a taken address fails as a wrong password does."""
    values = {
        "email": text(form, "email", 254),
        "display_name": text(form, "display_name", 100),
        "phone": text(form, "phone", 40),
    }
    password = secret(form, "password")
    errors = {}
    if not values["display_name"]:
        errors["display_name"] = page.t("Tell us what to call you.")
    else:
        try:
            page.platform.identity.sign_up(
                values["email"], password, values["display_name"], values["phone"] or None,
                language=page.language,  # the page's language becomes the account's
            )  # fmt: skip
        except OboloError as error:
            name, message = field_error(error, page.t)
            errors[name] = message
    if errors:
        return render(page, "signup.html", 422, values=values, errors=errors)
    return finish(page, RedirectResponse("/signin?new=1", status_code=303))


@router.post("/signout")
def sign_out(page: VisitorDep, form: Form) -> Response:
    if page.session_token:
        page.platform.identity.sign_out(page.session_token)
    response = RedirectResponse("/signin?out=1", status_code=303)
    security.clear_cookie(response, page.request, security.SESSION_COOKIE)
    return finish(page, response)
