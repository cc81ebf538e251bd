"""What an account holder is told when someone signs up with their email or phone number.

Sign-up answers such an attempt as it answers a new account (see `IdentityService.sign_up`),
so the owner hears of it here instead; the person who tried hears only if the address they
gave is a new one (and theirs to read): their number was on another account.
"""

from __future__ import annotations

from sqlalchemy import Connection

from obolo.mail.messages import Notice
from obolo.mail.outbox import notify_account, queue_email

TRIED_SUBJECT = "Someone tried to sign up with your details"


def taken_sign_up(
    connection: Connection,
    email: str,
    email_owner: str | None,
    phone_owner: str | None,
    now: int,
    language: str = "en",
) -> None:
    """Queue the notices for a sign-up that named someone's email or number (no secret in them)."""
    if email_owner is not None:
        notify_account(
            connection, email_owner, TRIED_SUBJECT,
            "Someone tried to open an Obolo account with your email address. Your account is "
            "unchanged. If it was you, sign in instead (or reset your password); if not, you need "
            "do nothing.",
            now,
        )  # fmt: skip
    if phone_owner is not None and phone_owner != email_owner:
        notify_account(
            connection, phone_owner, TRIED_SUBJECT,
            "Someone tried to open an Obolo account with your phone number. Your account is unchanged; "
            "if it was not you, you need do nothing.",
            now,
        )  # fmt: skip
    if email_owner is None:
        # The address is free, so whoever typed it may read it: say why no account was made.
        # No account, so no language kept: the language the sign-up page was read in.
        subject, body = Notice(
            "Your Obolo account was not opened",
            "The phone number you gave is on another Obolo account, so no account was opened. Sign up again "
            "without it, or with another number.",
        ).written(language)  # fmt: skip
        queue_email(connection, email, subject, body, now)
