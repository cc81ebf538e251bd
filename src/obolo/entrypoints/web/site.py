"""Mounting the pages on the app: routers, static files, and the answers to the page
conditions (sign-in redirect, 403 page, refused form)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from obolo.entrypoints.web import (
    account_pages,
    account_settings_pages,
    error_pages,
    operator_pages,
    operator_person_pages,
    provider_pages,
    reading_pages,
    sms_operator_pages,
    task_pages,
    wallet_pages,
)
from obolo.entrypoints.web.context import (
    STATIC,
    CsrfRefused,
    Form,
    PageForbidden,
    SignInRequired,
    VisitorDep,
    finish,
    render,
    text,
    visitor,
)
from obolo.entrypoints.web.i18n import LANGUAGES
from obolo.entrypoints.web.security import LANGUAGE_COOKIE, local_path, set_cookie

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(page: VisitorDep) -> Response:
    return render(page, "home.html")


@router.post("/language")
def choose_language(page: VisitorDep, form: Form) -> Response:
    """The language switch: remembered in a cookie for a year, and on the account of a
    signed-in person (their texts and emails follow it), then back where it was."""
    language = text(form, "language")
    target = local_path(text(form, "next", 2000), "/")
    response = RedirectResponse(target, status_code=303)
    if language in LANGUAGES:
        set_cookie(response, page.request, LANGUAGE_COOKIE, language, 365 * 24 * 3600)
        if page.principal is not None:
            page.platform.identity.set_language(page.principal.user_id, language)
    return finish(page, response)


def install(app: FastAPI) -> None:
    """Serve the pages and /static on `app` (the API's app)."""
    app.include_router(router)
    app.include_router(account_pages.router)
    app.include_router(account_settings_pages.router)  # the account its holder manages
    app.include_router(operator_person_pages.router)  # operator: one person's page
    app.include_router(wallet_pages.router)
    app.include_router(reading_pages.router)
    app.include_router(provider_pages.router)
    app.include_router(operator_pages.router)
    app.include_router(sms_operator_pages.router)
    app.include_router(task_pages.router)  # tasks: employer, worker and dispute pages
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    error_pages.install(app)  # every error on a page is a page

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _error: SignInRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response = RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)
        return finish(visitor(request), response)

    @app.exception_handler(PageForbidden)
    async def _forbidden(request: Request, error: PageForbidden) -> Response:
        page = visitor(request)
        return render(page, "error.html", 403, title=page.t("Forbidden"), message=page.t(error.message))

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _error: CsrfRefused) -> Response:
        page = visitor(request)
        message = page.t(
            "This form expired or did not come from this site. Nothing was changed; please try again."
        )
        return render(page, "error.html", 403, title=page.t("Forbidden"), message=message)
