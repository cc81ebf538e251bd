"""Wallet conditions, each with a stable code."""

from __future__ import annotations

from obolo.errors import InvalidRequest, NotFound, OboloError


class InsufficientFunds(OboloError):
    code = "insufficient_funds"

    def __init__(self, asset: str, needed: str, available: str) -> None:
        super().__init__(
            f"the wallet holds {available} {asset} available; {needed} {asset} is needed",
            asset=asset,
            needed=needed,
            available=available,
        )


class InvalidAmount(InvalidRequest):
    code = "invalid_amount"


class UnknownAsset(InvalidRequest):
    code = "unknown_asset"


class AmountOutOfLimits(InvalidRequest):
    code = "amount_out_of_limits"


class InvalidCard(InvalidRequest):
    code = "invalid_card"


class CardDeclined(OboloError):
    code = "card_declined"


class InvalidIban(InvalidRequest):
    code = "invalid_iban"


class RecipientNotFound(NotFound):
    code = "recipient_not_found"


class CannotPayYourself(InvalidRequest):
    code = "cannot_pay_yourself"


class InvitationNotFound(NotFound):
    """A claim code that is wrong, used, past its claim period, or not for the signed-in
    account's address: one code for all of them, so the answer tells a guesser nothing."""

    code = "invitation_not_found"
