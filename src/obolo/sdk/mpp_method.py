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
        proof = self.paying.proof_for(offer)
        self.paying.took(proof, taken=True)
        self._sent[(str(proof.payload["certificate"]), proof.index)] = proof
        echo = {"id": challenge.id, "realm": challenge.realm, "method": challenge.method,
                "intent": challenge.intent, "request": challenge.request_b64}  # fmt: skip
        if challenge.expires:
            echo["expires"] = challenge.expires
        return mpp.credential(echo, proof.payload)

    def watch(self, target: Any) -> None:
        """Listen to `target`'s events (a PaymentTransport or an Mpp: anything with `.on`)."""
        target.on(PAYMENT_RESPONSE, self._answered)
        target.on(PAYMENT_FAILED, self._failed)

    def _proof(self, payload: dict[str, Any]) -> Proof | None:
        credential = payload.get("credential")
        if credential is None:
            return None
        key = (str(credential.payload.get("certificate")), int(credential.payload.get("index", 0)))
        return self._sent.pop(key, None)

    def _answered(self, payload: dict[str, Any]) -> None:
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

    def _failed(self, payload: dict[str, Any]) -> None:
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
