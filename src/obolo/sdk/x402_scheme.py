"""Obolo for the x402 Python library (`pip install 'obolo-sdk[x402]'`): a client scheme
that pays `batch-settlement` on `obolo:<asset>` from a PayingClient's channels, and a
server scheme for resource servers that use x402's own middleware with Obolo as their
facilitator.

    paying = PayingClient("https://obolo.example", token, budget=1_000_000, wallet_file="wallet.json")
    client = x402ClientSync()   # or x402Client()
    client.register("obolo:*", OboloScheme(paying))
    # x402 lets through only assets it knows unless told: allow EUR on Obolo, capped per payment.
    client.set_spend_controls({"allowed_assets": [
        {"network": "obolo:eur", "asset": "EUR", "max_amount_per_payment": "100000"}]})

The proof is counted spent only once the site's PAYMENT-RESPONSE says it took it: a
failed or capped request leaves it to pay again, and a channel the site settled or that
expired is dropped and the request paid once more from a new one (x402's recovery retry).

Purchases belong to the account: before paying, the plugin asks the platform whether the
account bought this resource within its re-access period (on any device, with any client)
and, if so, sends the platform's re-access receipt as the payload instead of a payment
(an `obolo-charge` proof of amount 0); should the site refuse it, x402's recovery retry
pays. A paid view is told to the platform with the site's view receipt, so the account's
other clients find it.
"""

from __future__ import annotations

from typing import Any

from x402.interfaces import PaymentPayloadContext
from x402.schemas import AssetAmount, PaymentRequirements, SupportedKind
from x402.schemas.hooks import PaymentResponseContext, RecoveredResponseResult

from obolo.money import Asset, MoneyError, format_units, parse_units
from obolo.sdk import x402
from obolo.sdk.client import PayingClient, PaymentFailed, Proof
from obolo.sdk.paywall import CHARGE_SCHEME

_SCALE = 6  # EUR and USD on Obolo: micro-units


class _ResponseHooks:
    def __init__(self, scheme: OboloScheme) -> None:
        self._scheme = scheme

    def on_payment_response(self, context: PaymentResponseContext) -> RecoveredResponseResult | None:
        return self._scheme.answered(context)


class OboloScheme:
    """x402 client scheme `batch-settlement` for Obolo's networks, backed by `paying`'s
    channels, budget and stored chains."""

    scheme = x402.SCHEME

    def __init__(self, paying: PayingClient) -> None:
        self.paying = paying
        self._sent: dict[tuple[str, int], Proof] = {}
        #: Re-access receipts sent, with the (provider, resource) each reopens.
        self._reopening: dict[str, tuple[str, str]] = {}
        #: Purchases a site would not reopen: the next payload for them pays.
        self._refused: set[tuple[str, str]] = set()
        self.scheme_hooks = _ResponseHooks(self)

    def create_payment_payload(
        self, requirements: PaymentRequirements, context: PaymentPayloadContext | None = None
    ) -> dict[str, Any]:
        extra = requirements.extra or {}
        if extra.get("commitment") != x402.CHANNEL:
            raise PaymentFailed("this plugin pays Obolo channel offers only")
        cap = context.max_amount_per_payment if context is not None else None
        if cap is not None and int(requirements.amount) > int(cap):
            raise PaymentFailed(f"{requirements.amount} is over the cap of {cap} per payment")
        resource = extra.get("resource")
        if isinstance(resource, str) and resource:
            reopened = self._reopen(requirements.pay_to, resource)
            if reopened is not None:
                return reopened
        offer = {"payTo": requirements.pay_to, "asset": requirements.asset, "amount": requirements.amount,
                 "price": str(extra.get("price", "")), "resource": resource}  # fmt: skip
        proof = self.paying.proof_for(offer)
        self._sent[(str(proof.payload["certificate"]), proof.index)] = proof
        return dict(proof.payload)

    def _reopen(self, provider: str, resource: str) -> dict[str, Any] | None:
        """The re-access payload for a resource the account bought, if it did (and the site
        did not just refuse it)."""
        purchase = (provider, resource)
        if purchase in self._refused:
            self._refused.discard(purchase)
            return None
        receipt = self.paying.reaccess(provider, resource)
        if receipt is None:
            return None
        self._reopening[receipt] = purchase
        return {"scheme": CHARGE_SCHEME, "receipt": receipt}

    def answered(self, context: PaymentResponseContext) -> RecoveredResponseResult | None:
        """What the site said of a proof: keep it spent, give it back, or drop its channel;
        a re-access receipt it refused is paid for instead."""
        payload = context.payment_payload.payload
        settled = context.settle_response
        if payload.get("scheme") == CHARGE_SCHEME:
            purchase = self._reopening.pop(str(payload.get("receipt")), None)
            if purchase is None or (settled is not None and settled.success):
                return None
            self._refused.add(purchase)
            return RecoveredResponseResult()
        proof = self._sent.pop((str(payload.get("certificate")), int(payload.get("index", 0))), None)
        if proof is None:
            return None
        taken = bool(settled and settled.success and not (settled.extra or {}).get("capped"))
        refused = "" if settled is None or settled.success else str(settled.error_reason or "")
        view = (settled.extra or {}).get("view") if settled is not None and settled.success else None
        if view:
            self.paying.record(str(view))
        if self.paying.took(proof, taken=taken, refused=refused):
            return RecoveredResponseResult()
        return None


class OboloServerScheme:
    """x402 server scheme for resource servers using x402's middleware with Obolo as
    facilitator: prices (a decimal string, e.g. "0.001", never a float) become
    PaymentRequirements naming where payers open channels."""

    scheme = x402.SCHEME
    default_asset_transfer_method = "default"
    payment_flows: dict[str, Any] = {"default": {"supported": ["authorization"], "default": "authorization"}}

    def __init__(self, server: str) -> None:
        self.server = server.rstrip("/")

    def parse_price(self, price: Any, network: str) -> AssetAmount:
        code = network.removeprefix(x402.NETWORK_PREFIX).upper()
        asset = Asset(code, _SCALE)
        if isinstance(price, AssetAmount):
            units = int(price.amount)
        elif isinstance(price, str):
            try:
                units = parse_units(price.strip().lstrip("€$").strip(), asset)
            except MoneyError as error:
                raise ValueError(f"not a price in {code}: {price!r}") from error
        elif isinstance(price, int) and not isinstance(price, bool):
            units = price  # atomic units
        else:
            raise TypeError("a price is a decimal string or atomic units, never a float")
        extra = {
            "commitment": x402.CHANNEL,
            "price": format_units(units, asset),
            "server": self.server,
            "channels": f"{self.server}/v1/channels",
            "keys": f"{self.server}/.well-known/obolo-keys",
        }
        return AssetAmount(amount=str(units), asset=code, extra=extra)

    def enhance_payment_requirements(
        self, requirements: PaymentRequirements, supported_kind: SupportedKind, extensions: list[str]
    ) -> PaymentRequirements:
        return requirements


__all__ = ["OboloScheme", "OboloServerScheme"]
