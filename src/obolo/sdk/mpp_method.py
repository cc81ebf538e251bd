"""Obolo for pympp, the IETF `Payment` scheme's Python client (`pip install
'obolo-sdk[mpp]'`): the client method `obolo`/`charge`, paying from a PayingClient's
channels, budget and stored chains.

    paying = PayingClient("https://obolo.example", token, budget=1_000_000, wallet_file="wallet.json")
    async with obolo_mpp(paying) as client:
        page = await client.fetch("https://magazine.example/articles/1")

A method alone hears nothing of how the site answered, so its proof counts as spent once
the credential is made. `obolo_mpp` (or `OboloMethod.watch` on a PaymentTransport) also
listens to pympp's events: a capped view (its Payment-Receipt says so) or a paid request
the site failed with a 5xx gives the proof back. A 4xx after payment is not reported by
pympp: that payment stays spent (the x402 plugin and PayingClient read every answer).

Purchases belong to the account: before paying, the method asks the platform whether the
account bought this resource within its re-access period (on any device, with any client)
and, if so, answers the challenge with the platform's re-access receipt (an `obolo-charge`
proof of amount 0) instead of a payment. Watched, it also tells the platform what a paid
view bought (the view receipt in the Payment-Receipt), and pays when a site answers a
re-access receipt with another 402 (pympp asks again); alone, it does neither.
"""

from __future__ import annotations

from typing import Any

from mpp import Challenge
from mpp.client.transport import Mpp
from mpp.events import PAYMENT_FAILED, PAYMENT_RESPONSE
from mpp.methods import Method
from mpp.runtime import ClientMethod, CredentialParams
from pydantic import BaseModel, ConfigDict

from obolo.sdk import mpp
from obolo.sdk.client import PayingClient, Proof
from obolo.sdk.paywall import CHARGE_SCHEME
from obolo.sdk.payword import PaymentRefused


class ChargeRequest(BaseModel):
    """An Obolo challenge's request (amount, currency, recipient, resource, methodDetails)."""

    model_config = ConfigDict(extra="allow")


class ChargePayload(BaseModel):
    """An Obolo proof: the JSON of Obolo's own `Payment` header."""

    model_config = ConfigDict(extra="allow")


OBOLO_CHARGE: Method[ChargeRequest, ChargePayload] = Method(
    name=mpp.METHOD, intent=mpp.INTENT, request_model=ChargeRequest, payload_model=ChargePayload
)


def _pays(challenge: Challenge) -> bool:
    details = challenge.request.get("methodDetails")
    return isinstance(details, dict) and details.get("commitment") == "obolo-channel"


class OboloMethod:
    """The `obolo`/`charge` method for pympp, backed by `paying`; `watch` a transport (or an
    Mpp) to give back the proofs of capped views and of requests the site failed."""

    def __init__(self, paying: PayingClient) -> None:
        self.paying = paying
        self._sent: dict[tuple[str, int], Proof] = {}
        #: (provider, resource) reopened with a re-access receipt, no answer heard yet: asked
        #: again for one of them (watched), the site refused the receipt, so pay.
        self._reopening: set[tuple[str, str]] = set()
        self._watched = False

    def client_method(self) -> ClientMethod:
        return ClientMethod(
            method=OBOLO_CHARGE, create_credential=self._credential, can_handle_challenge=_pays
        )

    async def _credential(self, params: CredentialParams) -> str:
        challenge = params.challenge
        request: dict[str, Any] = challenge.request
        details = request.get("methodDetails") or {}
        offer = {"payTo": request.get("recipient"), "asset": request.get("currency"),
                 "amount": request.get("amount"), "price": details.get("price"),
                 "resource": request.get("resource")}  # fmt: skip
        echo = {"id": challenge.id, "realm": challenge.realm, "method": challenge.method,
                "intent": challenge.intent, "request": challenge.request_b64}  # fmt: skip
        if challenge.expires:
            echo["expires"] = challenge.expires
        receipt = self._reaccess(str(request.get("recipient")), request.get("resource"))
        if receipt is not None:
            return mpp.credential(echo, {"scheme": CHARGE_SCHEME, "receipt": receipt})
        proof = self.paying.proof_for(offer)
        self.paying.took(proof, taken=True)
        self._sent[(str(proof.payload["certificate"]), proof.index)] = proof
        return mpp.credential(echo, proof.payload)

    def _reaccess(self, provider: str, resource: Any) -> str | None:
        """The platform's re-access receipt for a resource the account bought, unless the
        site was just given one for it and answered 402 (then None: pay)."""
        if not isinstance(resource, str) or not resource:
            return None
        purchase = (provider, resource)
        if purchase in self._reopening:
            self._reopening.discard(purchase)
            return None
        receipt = self.paying.reaccess(provider, resource)
        if receipt is not None and self._watched:
            self._reopening.add(purchase)
        return receipt

    def watch(self, target: Any) -> None:
        """Listen to `target`'s events (a PaymentTransport or an Mpp: anything with `.on`)."""
        target.on(PAYMENT_RESPONSE, self._answered)
        target.on(PAYMENT_FAILED, self._failed)
        self._watched = True

    def _proof(self, payload: dict[str, Any]) -> Proof | None:
        credential = payload.get("credential")
        if credential is None:
            return None
        key = (str(credential.payload.get("certificate")), int(credential.payload.get("index", 0)))
        return self._sent.pop(key, None)

    def _answered(self, payload: dict[str, Any]) -> None:
        self._reopened(payload)
        proof = self._proof(payload)
        header = payload["response"].headers.get("payment-receipt") if "response" in payload else None
        if proof is None or header is None:
            return
        try:
            extra = mpp.decode_receipt(header).get("extra") or {}
        except PaymentRefused:
            return
        if extra.get("capped"):
            self.paying.give_back(proof)
        elif extra.get("view"):
            self.paying.record(str(extra["view"]))

    def _reopened(self, payload: dict[str, Any]) -> None:
        """A page opened (or failed) after a re-access receipt: no payment for it follows."""
        challenge = payload.get("challenge")
        if challenge is not None and isinstance(challenge.request, dict):
            request = challenge.request
            self._reopening.discard((str(request.get("recipient")), str(request.get("resource"))))

    def _failed(self, payload: dict[str, Any]) -> None:
        self._reopened(payload)
        response = payload.get("response")
        proof = self._proof(payload)
        if proof is not None and response is not None and response.status_code >= 500:
            self.paying.give_back(proof)


def obolo_method(paying: PayingClient) -> ClientMethod:
    """The `obolo`/`charge` client method for pympp, backed by `paying` (alone: see above)."""
    return OboloMethod(paying).client_method()


def obolo_mpp(paying: PayingClient, **options: Any) -> Mpp:
    """pympp's Mpp paying with Obolo, watching its own events."""
    method = OboloMethod(paying)
    client = Mpp(methods=[method.client_method()], **options)
    method.watch(client)
    return client


__all__ = ["OBOLO_CHARGE", "OboloMethod", "obolo_method", "obolo_mpp"]
