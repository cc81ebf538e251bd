"""The root of every domain error. Each carries a stable machine `code` and its data;
the HTTP status for a code is decided in one place (`entrypoints/api/errors.py`).

    OboloError
    ├── NotFound               a thing that does not exist, or is someone else's
    ├── InvalidRequest         input that breaks a rule (amount, card, IBAN, ...)
    ├── Forbidden              authenticated, but not allowed
    ├── Unauthorized           no valid credentials
    └── RateLimited            slow down; `retry_after` seconds
"""

from __future__ import annotations

from typing import Any


class OboloError(Exception):
    code = "error"

    def __init__(self, detail: str, **data: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.data = data


class NotFound(OboloError):
    code = "not_found"


class InvalidRequest(OboloError):
    code = "invalid_request"


class Forbidden(OboloError):
    code = "forbidden"


class Unauthorized(OboloError):
    code = "unauthorized"


class RateLimited(OboloError):
    code = "rate_limited"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after
