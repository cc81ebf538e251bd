"""The checkout service: every use case of payment requests, by who acts (see the
modules named below); each is one function, one transaction."""

from __future__ import annotations

from obolo.checkout.merchant import MerchantSide
from obolo.checkout.paying import PayingSide
from obolo.checkout.store import CheckoutSettings, Payment, PaymentRequest
from obolo.checkout.sweeps import Sweeps

__all__ = ["CheckoutService", "CheckoutSettings", "Payment", "PaymentRequest"]


class CheckoutService(MerchantSide, PayingSide, Sweeps):
    """Merchants (`merchant`), payers (`paying`), buyer protection (`protection`) and
    the background jobs (`sweeps`)."""
