"""What every page handler needs: who is visiting (`Visitor`), in which language, and
`render` to answer with a template, the page headers and the browser cookie."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.responses import Response

from obolo import locale
from obolo.bootstrap import Platform
from obolo.entrypoints.web import format as fmt
from obolo.entrypoints.web import labels, security
from obolo.entrypoints.web.i18n import LANGUAGE_NAMES, LANGUAGES, Translate, negotiate, translator
from obolo.entrypoints.web.problems import problem_message
from obolo.identity.model import Principal, Role, User
from obolo.identity.service import API_KEY_PREFIX

R = TypeVar("R", bound=Response)
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html", "svg"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


class SignInRequired(Exception):
    """The page needs a signed-in person: answered with a redirect to /signin."""


class PageForbidden(Exception):
    """Signed in, but not allowed here: answered with a 403 page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def require_operator(page: Visitor) -> None:
    """PageForbidden unless the visitor holds the operator role."""
    if not page.has(Role.OPERATOR):
        raise PageForbidden("This page is for operators only.")


class CsrfRefused(Exception):
    """A form without a valid CSRF token: answered with a 403 page; nothing is done."""


@dataclass
class Visitor:
    request: Request
    platform: Platform
    language: str
    t: Translate
    browser_id: str
    new_browser: bool
    session_token: str | None = None
    principal: Principal | None = None
    #: The person's time zone (the browser tells it in a cookie), else UTC.
    zone: tzinfo = UTC
    _user: User | None = field(default=None, repr=False)

    @property
    def user(self) -> User | None:
        if self._user is None and self.principal is not None:
            self._user = self.platform.identity.get_user(self.principal.user_id)
        return self._user

    @property
    def user_id(self) -> str:
        if self.principal is None:
            raise SignInRequired
        return self.principal.user_id

    def has(self, role: Role) -> bool:
        return self.principal is not None and role in self.principal.roles

    @property
    def csrf(self) -> str:
        return security.csrf_token(self.csrf_key, self.browser_id, self.session_token)

    @property
    def csrf_key(self) -> bytes:
        return self.platform.secrets.derive("web-csrf")

    # formatting in the page's language, exact
    def money(self, units: int, asset: str) -> str:
        return fmt.money(units, self.platform.wallets.asset(asset), self.language)

    def number(self, units: int, asset: str) -> str:
        return fmt.number(units, self.platform.wallets.asset(asset), self.language)

    def plain(self, units: int, asset: str) -> str:
        """A form field's value: exact, ungrouped, in the page's decimal mark."""
        return fmt.plain(units, self.platform.wallets.asset(asset), self.language)

    def date_time(self, ns: int) -> str:
        return fmt.date_time(ns, self.language, self.zone)

    def date(self, ns: int) -> str:
        return fmt.date(ns, self.language, self.zone)

    def day(self, ns: int) -> str:
        return fmt.day(ns, self.language, self.zone)

    def span(self, seconds: int) -> str:
        return fmt.span(seconds, self.language)


def _speaks_any(accept_language: str | None) -> bool:
    """Whether the browser names a language the pages speak."""
    tags = (part.split(";")[0].strip().lower() for part in (accept_language or "").split(","))
    return any(tag.split("-")[0] in LANGUAGES for tag in tags)


def visitor(request: Request) -> Visitor:
    """Built once per request (and kept on request.state for the error handlers)."""
    existing = getattr(request.state, "visitor", None)
    if isinstance(existing, Visitor):
        return existing
    platform: Platform = request.app.state.platform
    browser_id = request.cookies.get(security.BROWSER_COOKIE) or ""
    new_browser = not (16 <= len(browser_id) <= 64)
    if new_browser:
        browser_id = security.new_browser_id()
    principal, session_token = None, None
    token = request.cookies.get(security.SESSION_COOKIE)
    if token and not token.startswith(API_KEY_PREFIX):
        found_principal = platform.identity.authenticate(token)
        if found_principal is not None and found_principal.via == "session":
            principal, session_token = found_principal, token
    chosen = request.cookies.get(security.LANGUAGE_COOKIE)
    header = request.headers.get("accept-language")
    user = None
    if chosen not in LANGUAGES and principal is not None and not _speaks_any(header):
        # No switch in this browser and no language of ours asked: the account's.
        user = platform.identity.get_user(principal.user_id)
        chosen = user.language
    language = negotiate(header, chosen)
    found = Visitor(
        request,
        platform,
        language,
        translator(language),
        browser_id,
        new_browser,
        session_token,
        principal,
        zone=locale.zone(request.cookies.get(security.ZONE_COOKIE)),
        _user=user,
    )
    request.state.visitor = found
    return found


VisitorDep = Annotated[Visitor, Depends(visitor)]


def signed_in(page: VisitorDep) -> Visitor:
    if page.principal is None:
        raise SignInRequired
    return page


SignedIn = Annotated[Visitor, Depends(signed_in)]


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token is checked (raises CsrfRefused)."""
    page = visitor(request)
    form = await request.form()
    browser_id = request.cookies.get(security.BROWSER_COOKIE)
    if not security.csrf_valid(page.csrf_key, browser_id, page.session_token, form.get(security.CSRF_FIELD)):
        raise CsrfRefused
    return form


Form = Annotated[FormData, Depends(checked_form)]


def text(form: FormData, name: str, limit: int = 300) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def secret(form: FormData, name: str, limit: int = 300) -> str:
    """A password as typed: spaces are part of it."""
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def finish(page: Visitor, response: R, *, private: bool = True) -> R:
    for name, value in security.PAGE_HEADERS.items():
        response.headers.setdefault(name, value)
    if private:
        response.headers.setdefault("Cache-Control", "no-store")
    if page.new_browser:
        security.set_cookie(
            response, page.request, security.BROWSER_COOKIE, page.browser_id, security.BROWSER_COOKIE_SECONDS
        )
    return response


def render(page: Visitor, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    values = {
        "page": page,
        "t": page.t,
        "_": page.t,
        "user": page.user,
        "Role": Role,
        "languages": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        "path": page.request.url.path,
        "full_path": page.request.url.path + (f"?{page.request.url.query}" if page.request.url.query else ""),
        "csrf_field": security.CSRF_FIELD,
        "new_key": lambda: str(uuid.uuid4()),
        "errors": {},
        "values": {},
        # a service's refusal as a sentence in the page's language (never its code)
        "refusal": lambda error: problem_message(error, page.t),
        "labels": labels,
        "label": labels.label,
    }
    values.update(context)
    html = environment.get_template(template).render(values)
    return finish(page, HTMLResponse(html, status_code=status))
