"""Every error on a page is a page: a browser asking for HTML gets error.html in its
language, with a translated sentence and the status the API would give, never problem+json.
The API and programs (paths under API_PATHS, or no HTML asked for) keep the API's answers.

`install(app)` wraps each exception handler the API installed, so the two never disagree on
which errors exist or which status each one has (`entrypoints/api/errors.py` decides it)."""

from __future__ import annotations

import inspect
import sqlite3
from collections.abc import Callable
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from obolo.adapters.db.transactions import TransactionBusy, storage_failure
from obolo.entrypoints.api.errors import STATUS_BY_CODE, ApiError
from obolo.entrypoints.web import security
from obolo.entrypoints.web.context import Visitor, render, visitor
from obolo.entrypoints.web.i18n import negotiate, translator
from obolo.entrypoints.web.problems import problem_message
from obolo.errors import OboloError, RateLimited
from obolo.money import MoneyError

API_PATHS = ("/v1/", "/.well-known/", "/docs", "/openapi.json", "/healthz", "/livez", "/metrics")

_TITLES = {
    401: "Please sign in to continue.",
    403: "Forbidden",
    404: "Page not found",
    405: "That could not be done",
    429: "Too many tries",
    503: "The service is busy",
}
_HTTP_MESSAGES = {
    401: "Please sign in to continue.",
    403: "You are not allowed to see this page.",
    404: "There is no page at this address.",
    405: "This address does not take that kind of request.",
    413: "What was sent is too large.",
}


def wants_page(request: Request) -> bool:
    """A browser's navigation or form (it asks for HTML) on a page's path."""
    if request.url.path.startswith(API_PATHS):
        return False
    return "text/html" in request.headers.get("accept", "")


def _visitor(request: Request) -> Visitor:
    """The page's visitor; when even that fails (the database is down), an anonymous one in
    the browser's language, which needs no database."""
    try:
        return visitor(request)
    except Exception:
        language = negotiate(
            request.headers.get("accept-language"), request.cookies.get(security.LANGUAGE_COOKIE)
        )
        found = Visitor(
            request,
            request.app.state.platform,
            language,
            translator(language),
            security.new_browser_id(),
            False,
        )
        request.state.visitor = found
        return found


def status_of(error: Exception) -> tuple[int, str | None]:
    """(HTTP status, the problem code) for an error, as the API decides them."""
    if isinstance(error, StarletteHTTPException):
        return error.status_code, None
    if isinstance(error, OboloError | MoneyError | ApiError):
        return STATUS_BY_CODE.get(error.code, 400), error.code
    if isinstance(error, RequestValidationError):
        return 422, "validation_error"
    if isinstance(error, TransactionBusy):
        return 503, "busy"
    if isinstance(error, DBAPIError | sqlite3.Error | psycopg.Error):
        code = storage_failure(error)
        return (503, code) if code else (500, "internal_error")
    return 500, "internal_error"


def error_page(request: Request, error: Exception) -> Response:
    page = _visitor(request)
    status, code = status_of(error)
    if code is None:
        message = page.t(_HTTP_MESSAGES.get(status, "That could not be done. Nothing was changed."))
    else:
        known = isinstance(error, OboloError | MoneyError | ApiError)
        message = problem_message(error if known else _Coded(code), page.t)
    default_title = "Something went wrong" if status >= 500 else "That could not be done"
    title = page.t(_TITLES.get(status, default_title))
    response = render(page, "error.html", status, title=title, message=message)
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


class _Coded(Exception):
    """An error known only by its code (a database failure, a malformed request)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code
        self.data: dict[str, Any] = {}


Handler = Callable[[Request, Exception], Any]


def _page_first(api_handler: Handler | None) -> Handler:
    async def handle(request: Request, error: Exception) -> Any:
        if api_handler is None or wants_page(request):
            return error_page(request, error)
        answer = api_handler(request, error)
        return await answer if inspect.isawaitable(answer) else answer

    return handle


def install(app: FastAPI) -> None:
    """Put the page answer in front of every exception handler the app has (call it after
    the API's `errors.install`), and of the ones the API leaves to Starlette."""
    handled: list[type[Exception]] = [
        ApiError, OboloError, MoneyError, RequestValidationError, TransactionBusy, StarletteHTTPException,
        DBAPIError, sqlite3.Error, psycopg.Error, Exception,
    ]  # fmt: skip
    for kind in handled:
        app.add_exception_handler(kind, _page_first(app.exception_handlers.get(kind)))
