"""Idempotency as a property of the route table: every POST, PUT, PATCH and DELETE of the
API is a `WriteRoute` (each router's `route_class`), and how it keeps `Idempotency-Key`
is decided here, once, not by the route.

- By default a write route is **one unit of work** (see `adapters/db/write_path.py`): in
  one transaction the stored answer for (principal, key) is looked up and replayed
  (`Idempotent-Replayed: true`; 422 `idempotency_key_reused` for another request), else
  the use case runs and its answer is inserted with it, committed together — one commit
  for the request, shared with whatever else the writer commits then. A domain error
  rolls the use case back to its savepoint and its answer (4xx) is what is stored.
  Without a key the use case is still one unit, only nothing is stored.
- `CLAIM_THEN_STORE`: the use case calls the outside world mid-way (a card network, a
  bank, DNS), which a transaction cannot hold nor a rerun repeat: the key is claimed
  first (committed), the use case runs its own transactions, the answer is stored after
  (`idempotency.py`).
- `UNKEYED`: routes an Idempotency-Key does not apply to, each with its reason.

A route's keyed answer is scoped to the principal of the credential that called it.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar, get_type_hints

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.params import Header as HeaderParam
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import Connection, bindparam, delete, insert, select

from obolo.adapters.db.schema import idempotency_keys
from obolo.adapters.db.transactions import Isolate, optimistic, submit_in_transaction
from obolo.adapters.ids import unused_key
from obolo.entrypoints.api.errors import problem
from obolo.entrypoints.api.idempotency import (
    ABANDONED_AFTER_NS,
    Idempotency,
    IdempotencyKeyHeader,
    error_answer,
    fingerprint,
    owner_gone,
    respond,
)
from obolo.errors import OboloError
from obolo.identity.model import Principal
from obolo.money import MoneyError

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Keeping(StrEnum):
    """How a write route keeps its Idempotency-Key."""

    UNIT = "unit"
    CLAIM_THEN_STORE = "claim_then_store"
    UNKEYED = "unkeyed"


#: The use case calls the outside world mid-way: claim the key, run, store the answer.
CLAIM_THEN_STORE: dict[tuple[str, str], str] = {
    ("POST", "/v1/topups"): "charges the card between recording the top-up and crediting it",
    ("POST", "/v1/withdrawals"): "sends the payout to the bank between the hold and its outcome",
    ("POST", "/v1/payouts"): "sends the payout to the bank between the hold and its outcome",
    ("POST", "/v1/webhook-endpoints"): "resolves the endpoint's host (DNS) to refuse internal addresses",
    ("POST", "/v1/me/close"): "pays the balance out to the bank before closing, and a wrong password "
    "must stay counted by the sign-in throttle",
}

#: Routes an Idempotency-Key does not apply to.
UNKEYED: dict[tuple[str, str], str] = {
    ("POST", "/v1/users"): "sign-up: no principal to scope a key to; an email makes one account once",
    ("POST", "/v1/sessions"): "sign-in: its throttle must commit a failed attempt, and its answer "
    "is a session token, never stored",
    ("POST", "/v1/sessions/phone-codes"): "texts a code (the outside world), no principal; "
    "throttled per number and address",
    ("DELETE", "/v1/sessions/current"): "ends the credential a key would be scoped to: a retry is "
    "401, and signing out twice is signing out",
    ("POST", "/v1/api-keys"): "the answer holds the new key in clear, never stored",
    ("POST", "/v1/merchants/{merchant_id}/terminals"): "the answer holds the terminal's key in "
    "clear, never stored",
    ("POST", "/v1/sms/link"): "the answer is a code that links a phone to the account, never "
    "stored; a new code replaces the last",
    ("POST", "/v1/sms/inbound"): "the gateway's webhook (signed, no principal): deduplicated by MessageSid",
    ("POST", "/v1/taps"): "terminals (their own credential): deduplicated by tap id",
    ("POST", "/v1/terminals/{terminal_id}/offline-taps"): "terminals: each tap deduplicated by its id",
    ("POST", "/v1/ledger/transfers"): "the raw ledger (the admin token, no principal): the "
    "transfer ids are the keys",
    ("POST", "/v1/sessions/two-factor"): "sign-in's second step: a wrong code must stay counted by "
    "the throttle, and the answer is a session token, never stored",
    ("PUT", "/v1/me/password"): "a wrong current password must stay counted by the sign-in throttle",
    ("POST", "/v1/me/email"): "a wrong password must stay counted by the sign-in throttle",
    ("POST", "/v1/me/email/confirm"): "a wrong code must stay counted against the code",
    ("POST", "/v1/me/phone"): "texts a code (the outside world); a new code replaces the last",
    ("POST", "/v1/me/phone/confirm"): "a wrong code must stay counted against the code",
    ("POST", "/v1/me/two-factor"): "the answer holds a new TOTP secret in clear, never stored",
    ("POST", "/v1/me/two-factor/confirm"): "a wrong code must stay counted, and the answer holds the "
    "recovery codes in clear, never stored",
    ("POST", "/v1/me/two-factor/disable"): "a wrong code must stay counted by the throttle",
    ("POST", "/x402/verify"): "the public facilitator (no principal): verifying changes nothing",
    ("POST", "/x402/settle"): "the public facilitator (no principal): the proof (channel, index) "
    "is spent once, its own key",
}


def revealed_by(reveal: Callable[[Any, Any], Any]) -> Callable[[Endpoint], Endpoint]:
    """For a route whose answer holds a secret: the endpoint answers with it sealed (what
    is stored), and `reveal(platform, sealed_body)` makes each 2xx answer sent of it."""

    def declare(endpoint: Endpoint) -> Endpoint:
        endpoint.obolo_reveal = reveal  # type: ignore[attr-defined]
        return endpoint

    return declare


def keeping(method: str, path: str) -> Keeping:
    if (method, path) in UNKEYED:
        return Keeping.UNKEYED
    if (method, path) in CLAIM_THEN_STORE:
        return Keeping.CLAIM_THEN_STORE
    return Keeping.UNIT


class WriteRoute(APIRoute):
    """An API route whose writes keep `Idempotency-Key` as the table above says. Reads
    (GET) are left as they are."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        methods = {m.upper() for m in options.get("methods") or ()}
        write_methods = methods & WRITE_METHODS
        self.keeping: Keeping | None = None
        if write_methods:
            (method,) = sorted(write_methods)
            self.keeping = keeping(method, path)
            if self.keeping is not Keeping.UNKEYED:
                endpoint = _keyed(endpoint, self.keeping, options.get("status_code") or 200)
        super().__init__(path, endpoint, **options)


_REQUEST = "obolo_request"
_KEY = "obolo_idempotency_key"


def _keyed(endpoint: Callable[..., Any], how: Keeping, status_code: int) -> Callable[..., Any]:
    """The endpoint, run as the table says: its signature gains the request and the
    Idempotency-Key header (documented once, in the OpenAPI) unless it has them."""
    if inspect.iscoroutinefunction(endpoint):
        raise TypeError(
            f"{endpoint.__name__}: a keyed write route is a plain function (it runs in the writer)"
        )
    signature = inspect.signature(endpoint)
    hints = get_type_hints(endpoint, include_extras=True)
    parameters = [
        p.replace(annotation=hints.get(p.name, p.annotation)) for p in signature.parameters.values()
    ]
    request_name = next((p.name for p in parameters if p.annotation is Request), None)
    key_name = next(
        (
            p.name
            for p in parameters
            if isinstance(p.default, HeaderParam) and p.default.alias == "Idempotency-Key"
        ),
        None,
    )
    added = []
    if request_name is None:
        added.append(inspect.Parameter(_REQUEST, inspect.Parameter.KEYWORD_ONLY, annotation=Request))
    if key_name is None:
        added.append(
            inspect.Parameter(
                _KEY, inspect.Parameter.KEYWORD_ONLY, annotation=str | None, default=IdempotencyKeyHeader
            )
        )
    # keyword-only parameters after the others (and their defaults)
    ordered = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in parameters] + added
    reveal = getattr(endpoint, "obolo_reveal", None)

    def prepared(arguments: dict[str, Any]) -> tuple[Any, str | None, str, str]:
        """(platform, key, principal id, request hash), taken out of the arguments."""
        request: Request = arguments[request_name] if request_name else arguments.pop(_REQUEST)
        key: str | None = arguments[key_name] if key_name else arguments.pop(_KEY)
        principal = next((v for v in arguments.values() if isinstance(v, Principal)), None)
        if principal is None:
            raise TypeError(f"{endpoint.__name__}: a keyed write route needs a Principal argument")
        request_hash = fingerprint(request.method, request.url.path, _inputs(request, arguments))
        return request.app.state.platform, key, principal.user_id, request_hash

    def shown(platform: Any, answer: Response) -> Response:
        if reveal is None or not 200 <= answer.status_code < 300:
            return answer
        revealed = JSONResponse(
            jsonable_encoder(reveal(platform, json.loads(bytes(answer.body)))), answer.status_code
        )
        if "Idempotent-Replayed" in answer.headers:
            revealed.headers["Idempotent-Replayed"] = answer.headers["Idempotent-Replayed"]
        return revealed

    route: Callable[..., Any]
    if how is Keeping.CLAIM_THEN_STORE:  # its own transactions and the outside world: a worker thread

        def claim_then_store(**arguments: Any) -> Response:
            platform, key, principal, request_hash = prepared(arguments)
            answer = Idempotency(platform.engine, platform.clock).run(
                principal, key, request_hash, lambda: _answer(endpoint(**arguments), status_code)
            )
            return shown(platform, answer)

        route = claim_then_store
    else:
        # A coroutine: the unit runs on the writer's thread, and awaiting it here on the
        # event loop spares a hop through the thread pool (two thread switches and the
        # GIL handed over each way) on every write. (With no writer, an in-memory SQLite
        # database, the unit runs where it is submitted, as every write there does.)
        async def unit(**arguments: Any) -> Response:
            platform, key, principal, request_hash = prepared(arguments)
            answer = await asyncio.wrap_future(
                submit_in_transaction(
                    platform.engine,
                    lambda connection: _one_unit(
                        connection, platform.clock, principal, key, request_hash,
                        lambda: endpoint(**arguments), status_code,
                    ),
                )
            )  # fmt: skip
            return shown(platform, answer)

        route = unit
    route = functools.wraps(endpoint, assigned=("__module__", "__name__", "__qualname__", "__doc__"))(route)

    returned = hints.get("return", inspect.Signature.empty)
    returned = inspect.Signature.empty if returned is Any else returned  # the route's response_model says
    route.__signature__ = signature.replace(parameters=ordered, return_annotation=returned)  # type: ignore[attr-defined]
    return route


def _inputs(request: Request, arguments: dict[str, Any]) -> Any:
    """What the request asks for, beyond its method and path: its body as the route read
    it (`{}` for none) and its query, if any."""
    bodies = [value.model_dump(mode="json") for value in arguments.values() if isinstance(value, BaseModel)]
    body: Any = bodies[0] if len(bodies) == 1 else (bodies or {})
    if request.query_params:
        return {"body": body, "query": sorted(request.query_params.multi_items())}
    return body


def _answer(result: Any, status_code: int) -> tuple[int, Any]:
    """An endpoint's result as (status, JSON body), as FastAPI would send it."""
    if isinstance(result, Response):
        return result.status_code, json.loads(bytes(result.body)) if result.body else None
    # Most endpoints answer `model_dump(mode="json")` already: walking that again with
    # jsonable_encoder cost more than the check that it is plain JSON.
    return status_code, result if _plain_json(result) else jsonable_encoder(result)


def _plain_json(value: Any) -> bool:
    """Is `value` made only of what `json.dumps` writes as it is: str, int, float, bool,
    None, and lists and str-keyed dicts of them?"""
    if value is None or type(value) in (str, int, float, bool):
        return True
    if type(value) is dict:
        return all(type(key) is str and _plain_json(item) for key, item in value.items())
    if type(value) is list:
        return all(_plain_json(item) for item in value)
    return False


# Built once: a statement made per request costs more Python than its database work
# (construction and the compiled-statement cache key, memoized on the object).
_ANSWER = select(idempotency_keys).where(
    idempotency_keys.c.principal == bindparam("principal"), idempotency_keys.c.key == bindparam("key")
)
_STORE_ANSWER = insert(idempotency_keys)


def _one_unit(
    connection: Connection,
    clock: Callable[[], int],
    principal: str,
    key: str | None,
    request_hash: str,
    use_case: Callable[[], Any],
    status_code: int,
) -> Response:
    """Inside the request's one transaction: the stored answer, or the use case and its
    answer stored with it."""
    table = idempotency_keys
    if key is None:  # a domain error rolls the unit back and is answered by the app's handlers
        status, body = _answer(use_case(), status_code)
        return respond(status, body, replayed=False)
    stored = connection.execute(_ANSWER, {"principal": principal, "key": key}).first()
    now = clock()
    if stored is not None:
        if stored.request_hash != request_hash:
            return problem("idempotency_key_reused", "this Idempotency-Key was used with a different request")
        if stored.status_code is not None:
            return respond(stored.status_code, json.loads(stored.response_body), replayed=True)
        # A claim with no answer: left by a process that died (of a version that claimed
        # first, or of a route that does) is taken over; one still running is waited for.
        if not (owner_gone(stored.owner, principal, key) or now - stored.created_at > ABANDONED_AFTER_NS):
            return problem("idempotency_key_in_use", "a request with this Idempotency-Key is still running")
        connection.execute(delete(table).where((table.c.principal == principal) & (table.c.key == key)))
        run = use_case  # its work may have committed before its claim died: it looks for it
    else:
        # No answer stored, and every answer is stored with its work: nothing was made with
        # this key, so the use case need not look for what a first request made.
        def run() -> Any:
            with unused_key(principal, key):
                return use_case()

    if optimistic():  # no savepoint (two statements): a refusal reruns the unit with one
        try:
            status, body = _answer(run(), status_code)
        except (OboloError, MoneyError) as error:
            raise Isolate() from error
    else:
        connection.exec_driver_sql("SAVEPOINT use_case")
        try:
            status, body = _answer(run(), status_code)
        except (OboloError, MoneyError) as error:
            connection.exec_driver_sql("ROLLBACK TO SAVEPOINT use_case")
            status, body = error_answer(error)
        connection.exec_driver_sql("RELEASE SAVEPOINT use_case")
    if status < 500:
        store_answer(connection, principal, key, request_hash, now, status, body)
    return respond(status, body, replayed=False)


def store_answer(
    connection: Connection, principal: str, key: str, request_hash: str, now: int, status: int, body: Any
) -> None:
    """The key and its answer, in the transaction of the work it answers for."""
    connection.execute(
        _STORE_ANSWER,
        {"principal": principal, "key": key, "request_hash": request_hash, "created_at": now,
         "status_code": status, "response_body": json.dumps(body), "completed_at": now},
    )  # fmt: skip
