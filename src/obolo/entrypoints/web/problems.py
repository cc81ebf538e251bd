"""Service errors as a person reads them: a sentence in the page's language, by the error's
stable code, with its data (amounts, limits, waits) formatted by `obolo.locale`. The
services decide what is wrong; this only says where (the form field) and in which words.
A code never reaches the page, nor does a six-decimal amount or the English `detail`
written for API clients."""

from __future__ import annotations

from typing import Any

from obolo import locale
from obolo.entrypoints.web.i18n import Translate
from obolo.errors import OboloError, RateLimited
from obolo.money import DEFAULT_ASSETS, EUR, MoneyError, NotAnAmount, TooManyDecimals, parse_units

FORM = "_form"  # an error about the whole form, shown above it
AMOUNT = "_amount"  # the form's amount field, whatever it is called there

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

#: Why a card's bank said no (the card processor's decline codes).
_DECLINES = {
    "card_declined": "The card was declined by its bank.",
    "insufficient_funds": "The card was declined: not enough funds on it.",
    "expired_card": "The card was declined: it has expired.",
    "incorrect_cvc": "The card was declined: the security code is wrong.",
}

#: (field, message) by code. Messages name their data as {placeholders}; amounts among
#: them are formatted for the page's language before they are filled in.
MESSAGES: dict[str, tuple[str, str]] = {
    "invalid_email": ("email", "That is not an email address."),
    "email_taken": ("email", "An account with that email exists."),
    "invalid_phone": ("phone", "Write the number with its country code, e.g. +393331234567."),
    "phone_taken": ("phone", "An account with that phone number exists."),
    "invalid_credentials": (FORM, "Wrong email or password."),
    "account_frozen": (FORM, "This account is frozen. Contact support."),
    "account_closed": (FORM, "This account is closed."),
    "invalid_code": ("code", "That code is wrong, expired or already used. Ask for a new one."),
    "invitation_not_found": ("code", "That code is wrong, already used, or not for this account's email."),
    "invalid_amount": (AMOUNT, "The amount must be positive."),
    "amount_out_of_limits": (AMOUNT, "The amount must be between {minimum} and {maximum}."),
    "insufficient_funds": (AMOUNT, "Not enough money: {available} available, {needed} needed."),
    "too_many_decimals": (AMOUNT, "Too many decimals for this currency."),
    "amount_out_of_range": (AMOUNT, "That amount is too large."),
    "not_an_amount": (AMOUNT, "Write an amount like 2.50."),
    "recipient_not_found": ("to", "Nobody with that email or phone number."),
    "cannot_pay_yourself": ("to", "You cannot send money to yourself."),
    "invalid_card": ("number", "That card number is not valid."),
    "invalid_iban": ("iban", "That IBAN is not valid."),
    "unknown_asset": ("asset", "Unknown asset."),
    "asset_mismatch": ("asset", "That amount is in another currency."),
    "rate_limited": (FORM, "Too many tries; try again in {wait}."),
    "busy": (FORM, "The service is busy just now. Nothing was changed; please try again."),
    "ledger_busy": (FORM, "The service is busy just now. Nothing was changed; please try again."),
    "unauthorized": (FORM, "Please sign in to continue."),
    "forbidden": (FORM, "You are not allowed to do that."),
    "insufficient_scope": (FORM, "You are not allowed to do that."),
    "not_found": (FORM, "We could not find that."),
    "validation_error": (FORM, "Some of what was sent is not valid. Nothing was changed."),
    "invalid_request": (FORM, "Some of what was sent is not valid. Nothing was changed."),
    "idempotency_key_reused": (FORM, "This form was already sent with other values. Reload the page."),
    "idempotency_key_in_use": (FORM, "This form is being sent already; wait a moment."),
    "provider_not_found": ("provider_id", "No such site."),
    "provider_role_required": (FORM, "This page is for providers only."),
    "no_consent": (FORM, "You have not allowed this site to charge you without asking."),
    "over_consent_limit": (FORM, "That would go over the limits you set for this site."),
    "not_refundable": (FORM, "This view can no longer be refunded."),
    "channel_not_found": (FORM, "No such payment channel."),
    "pass_not_on_sale": (FORM, "That pass is not on sale."),
    "invalid_pass": (FORM, "That pass is not valid."),
    "invalid_url": ("address", "That is not a web address (https://…)."),
    "url_not_allowed": ("address", "That address is not allowed."),
    "no_payout_account": ("iban", "Add a bank account for payouts first."),
    "invalid_payout_settings": ("iban", "Those payout settings are not valid."),
    "nothing_to_pay_out": (FORM, "There is nothing to pay out."),
    "reason_required": ("reason", "Give a reason."),
    "role_not_self_service": (FORM, "You cannot take that role yourself."),
    "payment_request_not_found": (FORM, "No such payment request."),
    "payment_request_paid": (FORM, "This payment request was already paid."),
    "payment_request_expired": (FORM, "This payment request has expired. Nothing was paid."),
    "origin_not_registered": (FORM, "This payment was asked for by a site that is not registered."),
    "undo_request_not_found": (FORM, "No such request."),
    "undo_decided": (FORM, "That request was already decided."),
    "recipient_cannot_repay": (FORM, "The recipient's wallet cannot cover it now; the request stays open."),
    "database_unavailable": (FORM, "The service is busy just now. Nothing was changed; please try again."),
    "database_read_only": (FORM, "Changes are paused for a moment; nothing was changed. Try again later."),
    "database_full": (FORM, "Changes are paused for a moment; nothing was changed. Try again later."),
    "internal_error": (FORM, "Something went wrong on our side. Nothing was charged twice."),
    "payload_too_large": (FORM, "What was sent is too large."),
    "wrong_origin": (FORM, "This payment was asked for by a page that is not the site's registered one."),
    "no_price": (FORM, "The site has set no price for this page."),
    "trial_limit_reached": (FORM, "The trial tab is full: sign up and settle it to go on."),
    "trial_already_claimed": (FORM, "This trial tab was already settled."),
    "too_many_trials": (FORM, "Too many trial tabs from this address today: sign up to read on."),
    "trial_not_found": (FORM, "There is no trial tab in this browser."),
    "charge_id_reused": (FORM, "This payment was already made with other details."),
    "invalid_channel": (FORM, "That payment channel is not valid."),
    "invalid_view_receipt": (FORM, "That receipt is not valid."),
    "invalid_title": (FORM, "The site's name for this page is not valid: nothing was charged."),
    "not_the_buyer": (FORM, "Only the buyer can do that."),
    "party_to_dispute": (FORM, "You cannot decide a dispute you are part of."),
    "invalid_payment_request": (FORM, "That payment request is not valid."),
    "invalid_return_url": (FORM, "The shop's return address is not valid."),
    "amount_mismatch": (FORM, "The amount shown does not match the payment request."),
    "invalid_refund": (AMOUNT, "That refund is not valid."),
    "checkout_conflict": (FORM, "Someone else just changed this payment; reload the page."),
    "not_held": (FORM, "This payment is no longer held."),
    "checkout_dispute_not_allowed": (FORM, "This payment can no longer be disputed."),
    "refund_while_held": (FORM, "A held payment cannot be refunded; decide the dispute first."),
}
_AMOUNT_DATA = ("available", "needed", "minimum", "maximum", "amount", "price", "limit", "cap")
GENERIC = "That could not be done. Nothing was changed."


def _asset(data: dict[str, Any], asset: str | None) -> str:
    named = data.get("asset")
    return named if isinstance(named, str) and named in DEFAULT_ASSETS else (asset or EUR.code)


def _formatted(value: object, asset_code: str, language: str) -> object:
    """A decimal string ("4.000000") as money in the language ("4,00 €"); anything else as is."""
    asset = DEFAULT_ASSETS.get(asset_code, EUR)
    if isinstance(value, str):
        try:
            return locale.money(parse_units(value, asset), asset, language)
        except MoneyError:
            return value
    return value


def wait(seconds: int, t: Translate) -> str:
    """ "45 s", "3 min" in the page's language."""
    if seconds < 120:
        return t("{seconds} s", seconds=seconds)
    return t("{minutes} min", minutes=-(-seconds // 60))


def problem_message(error: Exception, t: Translate, *, asset: str | None = None) -> str:
    """What the page says about `error`, in the page's language (never its code)."""
    return refusal(error, t, asset=asset)[1]


def refusal(error: Exception, t: Translate, *, asset: str | None = None) -> tuple[str, str]:
    """(field or FORM or AMOUNT, message) for any error a service or `obolo.money` raises."""
    if isinstance(error, TooManyDecimals):
        return AMOUNT, t("At most {scale} decimals.", scale=6)
    if isinstance(error, NotAnAmount) or (isinstance(error, MoneyError) and error.code not in MESSAGES):
        return AMOUNT, t("Write an amount like 2.50.")
    code = getattr(error, "code", "")
    data: dict[str, Any] = dict(getattr(error, "data", {}) or {})
    if code == "weak_password":
        return "password", t(_PASSWORD.get(str(data.get("reason")), _PASSWORD["guessable"]))
    if code == "card_declined":
        return "number", t(_DECLINES.get(str(data.get("decline_code")), _DECLINES["card_declined"]))
    if isinstance(error, RateLimited):
        data["wait"] = wait(error.retry_after, t)
    if code not in MESSAGES:
        return FORM, t(GENERIC)
    field, message = MESSAGES[code]
    asset_code = _asset(data, asset)
    language = t.language
    values = {
        key: _formatted(value, asset_code, language) if key in _AMOUNT_DATA else value
        for key, value in data.items()
    }
    try:
        return field, t(message, **values)
    except (KeyError, IndexError):  # the error lacks a value the sentence names
        return field, t(GENERIC)


def field_error(
    error: Exception, t: Translate, amount_field: str = "amount", *, asset: str | None = None
) -> tuple[str, str]:
    """(field name, message in the page's language) for a refused form. Errors that are not
    the platform's own (a bug) are raised again."""
    if not isinstance(error, OboloError | MoneyError):
        raise error
    field, message = refusal(error, t, asset=asset)
    if isinstance(error, RateLimited) and "sign-in" in error.detail:
        message = t("Too many failed sign-ins; try again in {seconds} s.", seconds=error.retry_after)
    return (amount_field if field == AMOUNT else field), message
