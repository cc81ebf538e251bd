"""Service errors as messages next to the form field they concern. The services decide
what is wrong (each error has a stable code); this only says where and in which words."""

from __future__ import annotations

from obolo.entrypoints.web.i18n import Translate
from obolo.errors import OboloError, RateLimited
from obolo.money import MoneyError, TooManyDecimals

FORM = "_form"  # an error about the whole form, shown above it

# A weak password's `reason` (obolo.identity.passwords.REASONS), as the pages say it.
_PASSWORD = {
    "too_short": "A password needs at least 10 characters.",
    "too_long": "A password has at most 256 characters.",
    "personal": "A password may not be made of your email address or your name.",
    "common": "That is one of the most common passwords.",
    "pattern": "Keyboard rows, repeats and sequences are easy to guess.",
    "dates": "Dates and years are easy to guess.",
    "guessable": "That password is easy to guess: add a word or two, uncommon ones.",
}


def field_error(error: Exception, t: Translate, amount_field: str = "amount") -> tuple[str, str]:
    """(field name, message in the page's language) for a refused form."""
    if isinstance(error, TooManyDecimals):
        return amount_field, t("At most {scale} decimals.", scale=6)
    if isinstance(error, MoneyError):
        return amount_field, t("Write an amount like 2.50.")
    if isinstance(error, RateLimited):
        return FORM, t("Too many failed sign-ins; try again in {seconds} s.", seconds=error.retry_after)
    if not isinstance(error, OboloError):
        raise error
    code, data = error.code, error.data
    match code:
        case "invalid_email" | "email_taken":
            if code == "invalid_email":
                return "email", t("That is not an email address.")
            return "email", t("An account with that email exists.")
        case "invalid_phone":
            return "phone", t("Write the number with its country code, e.g. +393331234567.")
        case "phone_taken":
            return "phone", t("An account with that phone number exists.")
        case "weak_password":
            return "password", t(_PASSWORD.get(str(data.get("reason")), _PASSWORD["guessable"]))
        case "invalid_credentials":
            return FORM, t("Wrong email or password.")
        case "account_frozen":
            return FORM, t("This account is frozen. Contact support.")
        case "account_closed":
            return FORM, t("This account is closed.")
        case "invalid_code":
            return "code", t("That code is wrong, expired or already used. Ask for a new one.")
        case "invitation_not_found":
            return "code", t("That code is wrong, already used, or not for this account's email.")
        case "invalid_amount":
            return amount_field, t("The amount must be positive.")
        case "amount_out_of_limits":
            return amount_field, t(
                "The amount must be between {minimum} and {maximum}.",
                minimum=data.get("minimum", ""),
                maximum=data.get("maximum", ""),
            )
        case "insufficient_funds":
            available = data.get("available")
            return amount_field, t("Not enough money: {available} available.", available=available)
        case "recipient_not_found":
            return "to", t("Nobody with that email or phone number.")
        case "cannot_pay_yourself":
            return "to", t("You cannot send money to yourself.")
        case "invalid_card":
            return "number", t("That card number is not valid.")
        case "card_declined":
            return "number", t("The card was declined ({reason}).", reason=data.get("decline_code", ""))
        case "invalid_iban":
            return "iban", t("That IBAN is not valid.")
        case "unknown_asset":
            return "asset", t("Unknown asset.")
    return FORM, error.detail
