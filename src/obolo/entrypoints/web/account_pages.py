"""Sign up, sign in, sign out: the session cookie carries the identity service's token."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from obolo.entrypoints.web import security
from obolo.entrypoints.web.context import Form, VisitorDep, finish, render, secret, text
from obolo.entrypoints.web.problems import field_error
from obolo.errors import OboloError

router = APIRouter(include_in_schema=False)


def _signed_in_response(page: VisitorDep, token: str, target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    ttl = page.platform.settings.session_ttl_seconds
    security.set_cookie(response, page.request, security.SESSION_COOKIE, token, ttl)
    return finish(page, response)


@router.get("/signin")
def sign_in_page(page: VisitorDep, next: str = "", out: str = "") -> Response:
    if page.principal is not None:
        return finish(page, RedirectResponse(security.local_path(next), status_code=303))
    notice = page.t("You are signed out.") if out else None
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
            email, password, page.request.client.host if page.request.client else "unknown"
        )
    except OboloError as error:
        name, message = field_error(error, page.t)
        status = 429 if error.code == "rate_limited" else 401
        return render(page, "signin.html", status, values=values, errors={name: message})
    return _signed_in_response(page, token, target)


@router.get("/signup")
def sign_up_page(page: VisitorDep) -> Response:
    if page.principal is not None:
        return finish(page, RedirectResponse("/wallet", status_code=303))
    return render(page, "signup.html")


@router.post("/signup")
def sign_up(page: VisitorDep, form: Form) -> Response:
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
                values["email"], password, values["display_name"], values["phone"] or None
            )
        except OboloError as error:
            name, message = field_error(error, page.t)
            errors[name] = message
    if errors:
        return render(page, "signup.html", 422, values=values, errors=errors)
    address = page.request.client.host if page.request.client else "unknown"
    token, _expires, _user = page.platform.identity.sign_in(values["email"], password, address)
    return _signed_in_response(page, token, "/wallet")


@router.post("/signout")
def sign_out(page: VisitorDep, form: Form) -> Response:
    if page.session_token:
        page.platform.identity.sign_out(page.session_token)
    response = RedirectResponse("/signin?out=1", status_code=303)
    security.clear_cookie(response, page.request, security.SESSION_COOKIE)
    return finish(page, response)
