"""Obolo for pympp, the IETF `Payment` scheme's Python client (`pip install
'obolo-sdk[mpp]'`): the client method `obolo`/`charge`, paying from a PayingClient's
channels, budget and stored chains.

    paying = PayingClient("https://obolo.example", token, budget=1_000_000, wallet_file="wallet.json")
    async with Mpp(methods=[obolo_method(paying)]) as client:
        page = await client.fetch("https://magazine.example/articles/1")

pympp tells a method nothing of how the site answered, so a proof counts as spent once
its credential is made: a paid request the site then fails (5xx) costs its price, and a
capped view spends a payment (PayingClient and the x402 plugin learn both from the answer).
"""

from __future__ import annotations

from typing import Any

from mpp import Challenge
from mpp.methods import Method
from mpp.runtime import ClientMethod, CredentialParams
from pydantic import BaseModel, ConfigDict

from obolo.sdk import mpp
from obolo.sdk.client import PayingClient


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


def obolo_method(paying: PayingClient) -> ClientMethod:
    """The `obolo`/`charge` client method for pympp, backed by `paying`."""

    async def create_credential(params: CredentialParams) -> str:
        challenge = params.challenge
        request: dict[str, Any] = challenge.request
        details = request.get("methodDetails") or {}
        offer = {"payTo": request.get("recipient"), "asset": request.get("currency"),
                 "amount": request.get("amount"), "price": details.get("price")}  # fmt: skip
        proof = paying.proof_for(offer)
        paying.took(proof, taken=True)
        echo = {"id": challenge.id, "realm": challenge.realm, "method": challenge.method,
                "intent": challenge.intent, "request": challenge.request_b64}  # fmt: skip
        if challenge.expires:
            echo["expires"] = challenge.expires
        return mpp.credential(echo, proof.payload)

    return ClientMethod(method=OBOLO_CHARGE, create_credential=create_credential, can_handle_challenge=_pays)


__all__ = ["OBOLO_CHARGE", "obolo_method"]
