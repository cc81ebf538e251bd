"""A form's idempotency key, kept where the API keeps its `Idempotency-Key`s.

A page renders a random key into each form that moves money or makes something
(`new_key()`), and the use case takes it as its idempotency key, as it takes the API's:
it fixes the ids of what the use case makes. Both are one person's keys, so both are
kept in one place: the form's key is claimed in `idempotency_keys` before the work and
its answer (where the browser goes next) stored after, as the API's claim-then-store
routes do (`entrypoints/api/idempotency.py`). A key is then one request's, whichever way
it came in: the same form sent again goes where the first went, and the key on another
form or on the API is refused (`idempotency_key_reused`), nothing made.

Kept only by the API, a key a form had used looked unused to it: the use case, told so,
did not look for the form's work and collided with it in the ledger (a 503, no answer).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.datastructures import FormData

from obolo.entrypoints.api.idempotency import KEY_PATTERN, Idempotency, fingerprint
from obolo.entrypoints.web.context import Visitor
from obolo.errors import OboloError

#: Fields that say nothing of what the form asks for: its CSRF token and the key itself.
_NOT_ASKED = frozenset({"csrf", "key"})
_KEY = re.compile(KEY_PATTERN)
_DONE = 303  # the status a form's stored answer is kept with: it sends the browser on


class FormKeyReused(OboloError):
    """The form's key was used for another request (another form, other values, the API)."""

    code = "idempotency_key_reused"


class FormKeyInUse(OboloError):
    """The same form is still being sent (a double click whose first request runs on)."""

    code = "idempotency_key_in_use"


def form_key(form: FormData) -> str | None:
    """The key rendered in the form (a UUID), on the API's rule for a key (1 to 255
    printable characters, no space); None for a form without one, whose use case then
    makes something new each time."""
    given = form.get("key")
    return given if isinstance(given, str) and _KEY.fullmatch(given) else None


def kept(page: Visitor, owner: str, key: str | None, form: FormData, work: Callable[[], str]) -> str:
    """What `work()` answers (for most forms, where the browser goes next), run once under
    `owner`'s `key`; or the answer stored for it when the same form (same page, same
    values) comes again. Raises what `work` raises (the key is then free again: the form
    is corrected and sent anew), FormKeyReused and FormKeyInUse."""
    platform = page.platform
    asked = sorted(
        (name, value if isinstance(value, str) else "")
        for name, value in form.multi_items()
        if name not in _NOT_ASKED
    )
    request_hash = fingerprint("POST", page.request.url.path, asked)
    status, body, _replayed = Idempotency(platform.engine, platform.clock).keep(
        owner, key, request_hash, lambda: (_DONE, {"answer": work()})
    )
    if status == _DONE:
        return str(body["answer"])
    if body.get("code") == FormKeyInUse.code:
        raise FormKeyInUse("this form is being sent already")
    raise FormKeyReused("this form's key was used for another request")
