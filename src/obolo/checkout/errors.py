"""What can go wrong with payment requests, each with a stable `code` (HTTP statuses are
decided in `entrypoints/api/errors.py`).

    OboloError
    ├── NotFound
    │   └── PaymentRequestNotFound       no such payment request, or not the caller's
    ├── Forbidden
    │   ├── OriginNotRegistered          a page of an origin the merchant did not register
    │   ├── NotTheBuyer                  only the payer confirms receipt or opens a dispute
    │   └── PartyToDispute               an operator never rules on their own purchase or sale
    ├── InvalidRequest
    │   ├── InvalidPaymentRequest        terms that break a rule (field named in `field`)
    │   ├── InvalidReturnUrl             a return URL outside the merchant's origin
    │   ├── AmountMismatch               the browser's amount is not the request's
    │   └── InvalidRefund                nothing, or more than was paid, to refund
    └── CheckoutConflict (409)           the request is not in a state that allows this
        ├── PaymentRequestPaid           someone already paid it
        ├── PaymentRequestExpired        past its expiry: nothing can be paid
        ├── NotHeld                      no buyer protection hold to act on
        ├── DisputeNotAllowed            outside the window, or already disputed
        └── RefundWhileHeld              a held payment is refunded in full or released first
"""

from __future__ import annotations

from obolo.errors import Forbidden, InvalidRequest, NotFound, OboloError


class PaymentRequestNotFound(NotFound):
    code = "payment_request_not_found"


class OriginNotRegistered(Forbidden):
    code = "origin_not_registered"


class NotTheBuyer(Forbidden):
    code = "not_the_buyer"


class PartyToDispute(Forbidden):
    code = "party_to_dispute"


class InvalidPaymentRequest(InvalidRequest):
    code = "invalid_payment_request"


class InvalidReturnUrl(InvalidRequest):
    code = "invalid_return_url"


class AmountMismatch(InvalidRequest):
    code = "amount_mismatch"


class InvalidRefund(InvalidRequest):
    code = "invalid_refund"


class CheckoutConflict(OboloError):
    code = "checkout_conflict"


class PaymentRequestPaid(CheckoutConflict):
    code = "payment_request_paid"


class PaymentRequestExpired(CheckoutConflict):
    code = "payment_request_expired"


class NotHeld(CheckoutConflict):
    code = "not_held"


class DisputeNotAllowed(CheckoutConflict):
    code = "checkout_dispute_not_allowed"


class RefundWhileHeld(CheckoutConflict):
    code = "refund_while_held"
