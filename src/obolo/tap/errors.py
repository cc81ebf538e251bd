"""What can go wrong with tap to pay; each condition has a stable `code`.

    OboloError
    ├── NotFound        TerminalNotFound, CardNotFound, MerchantNotFound
    ├── InvalidRequest  InvalidTap, InvalidTerminal, InvalidMerchant, InvalidCard, CardTaken, TapIdReused
    ├── Forbidden       TapReplayed, NotAMerchant
    └── Unauthorized    BadTerminalCredential

A declined tap is not an error: it is an answer (`TapOutcome` with a reason).
"""

from __future__ import annotations

from obolo.errors import Forbidden, InvalidRequest, NotFound, Unauthorized


class BadTerminalCredential(Unauthorized):
    code = "bad_terminal_credential"


class TapReplayed(Forbidden):
    """A tap id already used by another terminal."""

    code = "tap_replayed"


class NotAMerchant(Forbidden):
    code = "provider_role_required"


class TerminalNotFound(NotFound):
    code = "terminal_not_found"


class CardNotFound(NotFound):
    code = "card_not_found"


class MerchantNotFound(NotFound):
    code = "merchant_not_found"


class InvalidTap(InvalidRequest):
    code = "invalid_tap"


class TapIdReused(InvalidRequest):
    """The same tap id from the same terminal with a different card, amount or time."""

    code = "tap_id_reused"


class InvalidTerminal(InvalidRequest):
    code = "invalid_terminal"


class InvalidMerchant(InvalidRequest):
    code = "invalid_merchant"


class InvalidCardUid(InvalidRequest):
    code = "invalid_card_uid"


class CardTaken(InvalidRequest):
    code = "card_already_linked"
