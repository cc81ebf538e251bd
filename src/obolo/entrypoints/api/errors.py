"""Every error leaves the API as RFC 9457 `application/problem+json` with a stable
machine `code`; the HTTP status for each code is decided here and only here."""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from obolo.adapters.db.transactions import TransactionBusy, is_retryable, storage_failure
from obolo.errors import OboloError, RateLimited
from obolo.money import MoneyError

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("obolo.api")
#: What a client is told when the database itself fails, by code.
STORAGE_DETAILS = {
    "database_unavailable": "the database cannot be reached just now; retry with the same "
    "Idempotency-Key (a change is made whole or not at all, and never twice)",
    "database_read_only": "the database accepts no changes just now (read-only); reading works: "
    "retry later with the same Idempotency-Key",
    "database_full": "the database has no space left; nothing half-done was kept: retry later with "
    "the same Idempotency-Key (a change is never made twice)",
}
#: Seconds a client should wait before retrying after each storage failure.
STORAGE_RETRY_AFTER = {"database_unavailable": 1, "database_read_only": 30, "database_full": 30}

STATUS_BY_CODE: dict[str, int] = {
    "validation_error": 422,
    "invalid_amount": 422,
    "unknown_asset": 422,
    "unauthorized": 401,
    "forbidden": 403,
    "admin_api_disabled": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "batch_too_large": 413,
    "payload_too_large": 413,
    "ledger_busy": 503,
    # the database itself failed: nothing was half-written; retry with the same Idempotency-Key
    "database_unavailable": 503,
    "database_read_only": 503,
    "database_full": 503,
    "internal_error": 500,
    "invalid_request": 422,
    "insufficient_funds": 422,
    "amount_out_of_limits": 422,
    "too_many_decimals": 422,
    "amount_out_of_range": 422,
    "asset_mismatch": 422,
    "invalid_card": 422,
    "card_declined": 402,
    "invalid_iban": 422,
    "recipient_not_found": 404,
    "invitation_not_found": 404,
    "cannot_pay_yourself": 422,
    "idempotency_key_reused": 422,
    "idempotency_key_in_use": 409,
    "rate_limited": 429,
    "busy": 503,
    "invalid_email": 422,
    "invalid_phone": 422,
    "weak_password": 422,
    "email_taken": 409,
    "phone_taken": 409,
    "invalid_credentials": 401,
    "invalid_code": 401,
    "insufficient_scope": 403,
    "unknown_scope": 422,
    "role_not_self_service": 403,
    "account_frozen": 403,
    "account_closed": 403,
    "wrong_password": 403,
    "two_factor_required": 401,
    "invalid_two_factor_code": 401,
    "two_factor_not_enabled": 409,
    "two_factor_already_enabled": 409,
    "balance_not_zero": 409,
    "unknown_event_type": 422,
    "invalid_url": 422,
    "url_not_allowed": 422,
    "provider_role_required": 403,
    "provider_not_found": 404,
    "invalid_channel": 422,
    "invalid_pass": 422,
    "pass_not_on_sale": 422,
    "no_consent": 403,
    "over_consent_limit": 402,
    "charge_id_reused": 422,
    "not_refundable": 422,
    "channel_not_found": 404,
    "not_purchased": 404,
    "no_payout_account": 404,
    "invalid_payout_settings": 422,
    "nothing_to_pay_out": 409,
    "reason_required": 422,
    "invalid_view_receipt": 422,
    "invalid_title": 422,
    "invalid_reaccess_period": 422,
    # tasks
    "task_not_found": 404,
    "assignment_not_found": 404,
    "dispute_not_found": 404,
    "not_qualified": 403,
    "own_task": 403,
    "not_the_employer": 403,
    "invalid_task": 422,
    "invalid_answer": 422,
    "invalid_review": 422,
    "task_conflict": 409,
    "task_not_open": 409,
    "no_assignment_left": 409,
    "already_took_part": 409,
    "assignment_expired": 409,
    "already_submitted": 409,
    "not_reviewable": 409,
    "bonus_not_allowed": 409,
    "dispute_not_allowed": 409,
    "dispute_decided": 409,
    "undo_request_not_found": 404,
    "undo_decided": 409,
    "recipient_cannot_repay": 409,
    "employer_cannot_pay": 409,
    # tap
    "bad_terminal_credential": 401,
    "tap_replayed": 409,
    "tap_id_reused": 422,
    "terminal_not_found": 404,
    "card_not_found": 404,
    "merchant_not_found": 404,
    "invalid_tap": 422,
    "invalid_terminal": 422,
    "invalid_merchant": 422,
    "invalid_card_uid": 422,
    "card_already_linked": 409,
    # checkout
    "payment_request_not_found": 404,
    "origin_not_registered": 403,
    "not_the_buyer": 403,
    "party_to_dispute": 403,
    "invalid_payment_request": 422,
    "invalid_return_url": 422,
    "amount_mismatch": 422,
    "invalid_refund": 422,
    "checkout_conflict": 409,
    "payment_request_paid": 409,
    "payment_request_expired": 409,
    "not_held": 409,
    "checkout_dispute_not_allowed": 409,
    "refund_while_held": 409,
    # sms: the gateway webhook's own refusals (commands are refused by reply, not by status)
    "invalid_signature": 403,
    "sms_not_configured": 404,
    "sms_message_id_required": 422,
}


def allowed_methods(request: Request) -> list[str]:
    """The methods some route of the app serves at this request's path."""
    path = request.scope.get("path", "")
    return sorted(
        {
            method
            for context in iter_route_contexts(request.app.router.routes)
            if context.path and context.methods and compile_path(context.path)[0].fullmatch(path)
            for method in context.methods
        }
    )


_RESERVED = frozenset({"type", "title", "status", "code", "detail"})


def _extra(data: dict[str, Any]) -> dict[str, Any]:
    """An error's data as problem members, never overriding the standard ones (a `status`
    in an error's data is the thing's status, not the HTTP status)."""
    return {(f"{key}_" if key in _RESERVED else key): value for key, value in data.items()}


class ApiError(Exception):
    """Raised by route handlers; carries the stable code and optional data."""

    def __init__(self, code: str, detail: str, **data: Any) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.data = data


def problem(code: str, detail: str, *, status: int | None = None, **data: Any) -> JSONResponse:
    status = status or STATUS_BY_CODE.get(code, 400)
    body = {"type": f"https://obolo.dev/problems/{code}", "title": code.replace("_", " "), "status": status}
    body.update({"code": code, "detail": detail, **data})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, error: ApiError) -> JSONResponse:
        return problem(error.code, error.detail, **_extra(error.data))

    @app.exception_handler(OboloError)
    async def _domain_error(_request: Request, error: OboloError) -> JSONResponse:
        response = problem(error.code, error.detail, **_extra(error.data))
        if isinstance(error, RateLimited):
            response.headers["Retry-After"] = str(error.retry_after)
        if error.code == "unauthorized":
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(MoneyError)
    async def _money_error(_request: Request, error: MoneyError) -> JSONResponse:
        return problem(error.code, str(error))

    @app.exception_handler(TransactionBusy)
    async def _busy(_request: Request, _error: TransactionBusy) -> JSONResponse:
        return problem("busy", "the service is busy; retry with the same Idempotency-Key", status=503)

    async def _storage(_request: Request, error: Exception) -> JSONResponse:
        code = storage_failure(error)
        if code is None and is_retryable(error):  # a race lost outside the retrying helper
            return problem("busy", "the service is busy; retry with the same Idempotency-Key", status=503)
        if code is None:
            log.error("unexpected database error", error_type=type(error).__name__)
            return problem("internal_error", "something went wrong on our side; nothing was charged twice")
        log.warning("database failure", code=code, error_type=type(error).__name__)
        response = problem(code, STORAGE_DETAILS[code])
        response.headers["Retry-After"] = str(STORAGE_RETRY_AFTER[code])
        return response

    for database_error in (DBAPIError, sqlite3.Error, psycopg.Error):
        app.add_exception_handler(database_error, _storage)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": [str(part) for part in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": e.get("type"),
            }
            for e in error.errors()
        ]
        return problem("validation_error", "the request does not match the schema", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}.get(
            error.status_code, "http_error"
        )
        response = problem(code, str(error.detail), status=error.status_code)
        if error.status_code == 405:
            # Every method served at this path (the router names only the first route it met).
            response.headers["Allow"] = ", ".join(allowed_methods(request))
        return response

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, _error: Exception) -> JSONResponse:
        return problem("internal_error", "something went wrong on our side; nothing was charged twice")
