"""Why an SMS command was refused, each with a stable code. The service turns every one of
them into a short reply in the sender's language; the webhook's own refusals (signature,
configuration, a missing message id) become HTTP problems.

    OboloError
    ├── Unauthorized
    │   └── InvalidSignature        the request was not signed by the gateway
    ├── NotFound
    │   ├── SmsNotConfigured        no gateway secret set: the webhook is off
    │   ├── NotRegistered           the number has no wallet
    │   ├── NothingToConfirm        a PIN with no send waiting for it
    │   └── UnknownReference        UNDO of a reference that is not this number's
    └── InvalidRequest
        ├── MessageIdRequired       a delivery without a message id (the webhook's refusal:
        │                           it could not be told from a replay of itself)
        ├── InvalidSmsAmount        not a plain decimal amount of the asset
        ├── InvalidRecipient        neither a phone number nor an email
        ├── PinNotSet / WeakPin / WrongPin / SendingLocked
        ├── OverSmsLimit            per send, per day or per hour
        ├── AlreadyRegistered
        ├── CannotUndo              already settled one way or another
        ├── UndoAlreadyDecided      an operator already ruled on that request
        └── RecipientCannotRepay    a reversal the recipient's wallet cannot pay now
    NotFound
    └── UndoRequestNotFound         no open undo request for that send
"""

from __future__ import annotations

from obolo.errors import InvalidRequest, NotFound, Unauthorized


class InvalidSignature(Unauthorized):
    code = "invalid_signature"


class MessageIdRequired(InvalidRequest):
    code = "sms_message_id_required"


class SmsNotConfigured(NotFound):
    code = "sms_not_configured"


class NotRegistered(NotFound):
    code = "sms_not_registered"


class NothingToConfirm(NotFound):
    code = "sms_nothing_to_confirm"


class UnknownReference(NotFound):
    code = "sms_unknown_reference"


class InvalidSmsAmount(InvalidRequest):
    code = "sms_invalid_amount"


class InvalidRecipient(InvalidRequest):
    code = "sms_invalid_recipient"


class PinNotSet(InvalidRequest):
    code = "sms_pin_not_set"


class WeakPin(InvalidRequest):
    code = "sms_weak_pin"


class WrongPin(InvalidRequest):
    code = "sms_wrong_pin"


class SendingLocked(InvalidRequest):
    code = "sms_locked"


class OverSmsLimit(InvalidRequest):
    code = "sms_limit"


class AlreadyRegistered(InvalidRequest):
    code = "sms_already_registered"


class CannotUndo(InvalidRequest):
    code = "sms_cannot_undo"


class ConfirmationExpired(InvalidRequest):
    code = "sms_confirmation_expired"


class PinAlreadySet(InvalidRequest):
    code = "sms_pin_already_set"


class InvalidLinkCode(InvalidRequest):
    code = "sms_invalid_link_code"


class UndoRequestNotFound(NotFound):
    code = "undo_request_not_found"


class UndoAlreadyDecided(InvalidRequest):
    code = "undo_decided"


class RecipientCannotRepay(InvalidRequest):
    code = "recipient_cannot_repay"
