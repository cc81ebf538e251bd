"""Conditions of people and access, each with a stable code."""

from __future__ import annotations

from obolo.errors import Forbidden, InvalidRequest, NotFound, OboloError, Unauthorized


class InvalidEmail(InvalidRequest):
    code = "invalid_email"


class InvalidPhone(InvalidRequest):
    code = "invalid_phone"


class WeakPassword(InvalidRequest):
    code = "weak_password"


class EmailTaken(OboloError):
    code = "email_taken"


class PhoneTaken(OboloError):
    code = "phone_taken"


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"


class InsufficientScope(Forbidden):
    code = "insufficient_scope"


class UnknownScope(InvalidRequest):
    code = "unknown_scope"


class RoleNotSelfService(Forbidden):
    code = "role_not_self_service"


class ApiKeyNotFound(NotFound):
    code = "not_found"


class InvalidCode(Unauthorized):
    """A sign-in code that is wrong, expired, used, worn out by wrong tries, or for a number
    without a wallet: one code for all of them, so the answer tells a guesser nothing."""

    code = "invalid_code"
