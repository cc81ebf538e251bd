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


class AccountFrozen(Forbidden):
    """An operator froze the account: no sign-in, no money in or out until unfrozen."""

    code = "account_frozen"


class AccountClosed(Forbidden):
    code = "account_closed"


class WrongPassword(Forbidden):
    """The current password, asked again before a change to the account, is wrong."""

    code = "wrong_password"


class TwoFactorRequired(Unauthorized):
    """The password was right; the sign-in is finished with a code and the `challenge`."""

    code = "two_factor_required"


class InvalidTwoFactorCode(Unauthorized):
    """A TOTP or recovery code that is wrong, used already, or a challenge that expired."""

    code = "invalid_two_factor_code"


class TwoFactorNotEnabled(OboloError):
    code = "two_factor_not_enabled"


class TwoFactorAlreadyEnabled(OboloError):
    code = "two_factor_already_enabled"


class BalanceNotZero(OboloError):
    """An account holding money is not closed: its balance is paid out first."""

    code = "balance_not_zero"


class ReasonRequired(InvalidRequest):
    """An operator's action on an account says why (the same code as an adjustment's)."""

    code = "reason_required"
