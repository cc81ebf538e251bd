"""`Idempotency-Key` claimed before the work and stored after it, as Stripe does it: for
the routes whose use case calls the outside world mid-way (`write_route.CLAIM_THEN_STORE`),
and for the web pages' forms, whose keys are the same person's (`web/form_keys.py`); every
other write route stores its answer in its own one transaction (`write_route.py`).

The first request with a key claims it (a committed row) before any work; a retry with
the same key and body replays the stored status and body; the same key with another
body is refused (422 `idempotency_key_reused`); a retry while the first is still running
waits for it, then replays (409 `idempotency_key_in_use` if it takes too long).
Responses below 500 are stored; after an unexpected error the claim is released so a
retry can run. A claim names the process that made it: when that process died (killed
mid-request, on this host) or lost track of it (the database failed before the release),
a retry takes the key over at once; a claim of another host's process is taken over
once it is two minutes old. Money is protected a second time below this layer: the key
also fixes the ledger transfer ids, so even two racing requests can move money once.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import Header
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from obolo.adapters.clock import Clock
from obolo.adapters.db.schema import idempotency_keys
from obolo.adapters.db.transactions import transaction
from obolo.entrypoints.api import errors
from obolo.entrypoints.api.errors import problem
from obolo.errors import OboloError
from obolo.money import MoneyError

#: What a key may be, whichever way it comes (this header, a web form's `key` field).
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
IdempotencyKeyHeader = Header(
    None,
    alias="Idempotency-Key",
    min_length=1,
    max_length=255,
    pattern=KEY_PATTERN,
    description="Any unique string (a UUID is good): a retry with the same key and body replays the "
    "first response and moves no money again.",
)

_WAIT_SECONDS = 10.0
ABANDONED_AFTER_NS = 120 * 1_000_000_000  # a claim older than this was left by a dead process
Handler = Callable[[], tuple[int, Any]]
Answer = tuple[int, Any, bool]  # status, body, replayed
_HOST = socket.gethostname()[:40]
_owner: tuple[int, str] | None = None
# (principal, key) of the claims this process holds and is still working on, each with a
# token of the request that holds it
_running: dict[tuple[str, str], object] = {}
_running_lock = threading.Lock()


def process_owner() -> str:
    """This process's name on its claims: host, pid and a nonce (a pid can come back)."""
    global _owner
    if _owner is None or _owner[0] != os.getpid():
        _owner = (os.getpid(), f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}")
    return _owner[1]


def owner_gone(owner: str | None, principal: str, key: str) -> bool:
    """Is the process that claimed this key known to have stopped working on it?"""
    if owner is None:
        return False
    if owner == process_owner():
        with _running_lock:
            return (principal, key) not in _running
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != _HOST or not pid_text.isdigit() or os.name != "posix":
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True  # an earlier process that had our pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def error_answer(error: Exception) -> tuple[int, dict[str, Any]]:
    """A domain error as the (status, problem body) the API answers with."""
    if isinstance(error, OboloError):
        response = problem(error.code, error.detail, **error.data)
    elif isinstance(error, MoneyError):
        response = problem(error.code, str(error))
    else:
        raise error
    return response.status_code, json.loads(bytes(response.body))


def _refusal(code: str, detail: str) -> Answer:
    response = problem(code, detail)
    return response.status_code, json.loads(bytes(response.body)), False


def respond(status: int, body: Any, *, replayed: bool) -> Response:
    """The answer as sent (and as replayed: `Idempotent-Replayed: true`)."""
    media = "application/problem+json" if status >= 400 else "application/json"
    response = (
        Response(status_code=status)
        if status == 204
        else JSONResponse(body, status_code=status, media_type=media)
    )
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


class Idempotency:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self._token: object | None = None  # this request's mark on a claim it holds

    def run(self, principal: str, key: str | None, request_hash: str, handler: Handler) -> Response:
        """The API's answer: a domain error is answered (4xx) and stored like any other."""
        status, body, replayed = self.keep(principal, key, request_hash, lambda: self._call(handler))
        return respond(status, body, replayed=replayed)

    def keep(self, principal: str, key: str | None, request_hash: str, handler: Handler) -> Answer:
        """(status, body, replayed): the handler's answer, stored under the key; the stored
        one replayed; or a refusal (422 `idempotency_key_reused`, 409 `idempotency_key_in_use`).
        An error the handler raises is raised with the claim released, nothing stored: a
        web form, whose refusals are shown beside their fields, is corrected and sent
        again with its key."""
        if key is None:
            return (*handler(), False)
        replay = self._claim(principal, key, request_hash)
        if replay is not None:
            return replay
        try:
            status, body = handler()
            self._store(principal, key, status, body)
        except BaseException:
            self._release_if_possible(principal, key)
            raise
        finally:
            self._done_running(principal, key)
        return status, body, False

    @staticmethod
    def _call(handler: Handler) -> tuple[int, Any]:
        try:
            return handler()
        except (OboloError, MoneyError) as error:
            return error_answer(error)

    def _claim(self, principal: str, key: str, request_hash: str) -> Answer | None:
        """None when this request now owns the key; otherwise the answer to send."""
        deadline = time.monotonic() + _WAIT_SECONDS
        table = idempotency_keys
        where = (table.c.principal == principal) & (table.c.key == key)
        while True:
            now = self.clock()
            owner = process_owner()
            mine = False  # set once this attempt has claimed the key (before it commits)
            try:
                with transaction(self.engine) as connection:
                    row = connection.execute(select(table).where(where)).first()
                    if row is None:
                        connection.execute(
                            insert(table).values(
                                principal=principal,
                                key=key,
                                request_hash=request_hash,
                                created_at=now,
                                owner=owner,
                            )
                        )
                        mine = self._mark_running(principal, key)
                        return None
                    if row.request_hash != request_hash:
                        return _refusal(
                            "idempotency_key_reused",
                            "this Idempotency-Key was used with a different request",
                        )
                    if row.status_code is not None:
                        return row.status_code, json.loads(row.response_body), True
                    if owner_gone(row.owner, principal, key) or now - row.created_at > ABANDONED_AFTER_NS:
                        # take it over unless another retry just did (PostgreSQL reads without locking)
                        taken = connection.execute(
                            update(table)
                            .where(
                                where
                                & table.c.owner.is_not_distinct_from(row.owner)
                                & (table.c.created_at == row.created_at)
                            )
                            .values(created_at=now, owner=owner)
                        ).rowcount
                        if taken == 1:
                            mine = self._mark_running(principal, key)
                            return None
            except IntegrityError:
                continue  # another request claimed it between our read and insert
            except BaseException:
                if mine:
                    self._done_running(principal, key)
                raise
            if time.monotonic() > deadline:
                return _refusal(
                    "idempotency_key_in_use", "a request with this Idempotency-Key is still running"
                )
            time.sleep(0.05)

    def _mark_running(self, principal: str, key: str) -> bool:
        """Note the claim as running here before it commits: once others see it, it is."""
        self._token = object()
        with _running_lock:
            _running[(principal, key)] = self._token
        return True

    def _done_running(self, principal: str, key: str) -> None:
        """Forget the claim, unless a later request of this process holds it by now."""
        with _running_lock:
            if _running.get((principal, key)) is self._token:
                del _running[(principal, key)]

    def _store(self, principal: str, key: str, status: int, body: Any) -> None:
        table = idempotency_keys
        if status >= 500:
            self._release(principal, key)
            return
        with transaction(self.engine) as connection:
            connection.execute(
                update(table)
                .where((table.c.principal == principal) & (table.c.key == key))
                .values(status_code=status, response_body=json.dumps(body), completed_at=self.clock())
            )

    def _release_if_possible(self, principal: str, key: str) -> None:
        """Release after a failure; when the database fails too, the claim stays, and a
        retry takes it over (this process no longer runs it)."""
        try:
            self._release(principal, key)
        except Exception as error:
            errors.log.warning("idempotency claim not released", error_type=type(error).__name__)

    def _release(self, principal: str, key: str) -> None:
        table = idempotency_keys
        with transaction(self.engine) as connection:
            connection.execute(delete(table).where((table.c.principal == principal) & (table.c.key == key)))
