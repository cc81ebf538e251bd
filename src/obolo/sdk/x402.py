"""x402 version 2 on the wire: Obolo's network binding for the `batch-settlement` scheme.

Pure encodings (no x402 library needed): the 402 answer's `PAYMENT-REQUIRED`, the
paid request's `PAYMENT-SIGNATURE`, the answer's `PAYMENT-RESPONSE`, each standard
base64 (padded) of JSON, as x402's HTTP transport defines them.

The binding (docs/protocol.md states it in full): scheme `batch-settlement`, network
`obolo:<asset>` (`obolo:eur`), `asset` the ISO 4217 code, `amount` atomic units, `payTo`
the provider id. A `PaymentPayload.payload` is exactly the JSON Obolo's own `Payment`
header carries (`{"scheme": "obolo-channel", "certificate", "index", "token"}`, or an
`obolo-pass` / `obolo-charge` proof), so one offline verifier serves both encodings.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from obolo.sdk.payword import MALFORMED, PaymentRefused

VERSION = 2
SCHEME = "batch-settlement"
NETWORK_PREFIX = "obolo:"
#: What a commitment is, in `accepts[].extra.commitment`: a channel payment, a pass, a tab charge.
CHANNEL, PASS, CHARGE = "obolo-channel", "obolo-pass", "obolo-charge"
#: Seconds a 402's terms hold; the proof itself is good until its channel expires.
TIMEOUT_SECONDS = 300
_PROOF_SCHEMES = {CHANNEL, PASS, CHARGE}


def network(asset: str) -> str:
    """`obolo:eur` for EUR: the network is Obolo's ledger for that asset."""
    return NETWORK_PREFIX + asset.lower()


def encode(value: dict[str, Any]) -> str:
    """Standard base64 (with padding) of compact JSON: what x402 clients decode."""
    return base64.b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()


def decode(text: str) -> dict[str, Any]:
    """The JSON object in an x402 header; PaymentRefused(malformed) otherwise."""
    try:
        value = json.loads(base64.b64decode(text.strip(), validate=True))
    except (ValueError, binascii.Error) as error:
        raise PaymentRefused(MALFORMED, "an x402 header is standard base64 of a JSON object") from error
    if not isinstance(value, dict):
        raise PaymentRefused(MALFORMED, "an x402 header is standard base64 of a JSON object")
    return value


def accepts(offers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """x402 PaymentRequirements for Obolo's offers: the channel first (what a client with
    Obolo's plugin pays), then a tab charge at the same price, then each pass."""
    listed: list[dict[str, Any]] = []
    for offer in offers:
        common = {
            "scheme": SCHEME,
            "network": network(str(offer["asset"])),
            "amount": str(offer["amount"]),
            "asset": str(offer["asset"]),
            "payTo": str(offer["payTo"]),
            "maxTimeoutSeconds": TIMEOUT_SECONDS,
        }
        if offer.get("scheme") == CHANNEL:
            server = str(offer["server"])
            fields = ("price", "resource", "server", "channels", "keys")
            channel: dict[str, Any] = {"commitment": CHANNEL, **{k: offer[k] for k in fields if k in offer}}
            listed.append({**common, "extra": channel})
            charge = {"commitment": CHARGE, "price": offer["price"], "server": server,
                      "charges": f"{server}/v1/charges", "keys": offer["keys"]}  # fmt: skip
            listed.append({**common, "extra": charge})
        elif offer.get("scheme") == PASS:
            details = ("name", "price", "visits", "hours", "pattern", "buy")
            listed.append({**common, "extra": {"commitment": PASS, **{k: offer.get(k) for k in details}}})
    return listed


def payment_required(
    url: str, offers: list[dict[str, Any]], error: str, *, description: str = ""
) -> dict[str, Any]:
    """The `PAYMENT-REQUIRED` object. It also carries Obolo's own `offers` list, so Obolo's
    clients (which read the same header name) keep working."""
    resource = {"url": url, "description": description or "a priced resource", "mimeType": ""}
    return {"x402Version": VERSION, "error": error, "resource": resource, "accepts": accepts(offers),
            "offers": offers}  # fmt: skip


def proof(text: str) -> dict[str, Any]:
    """The Obolo proof inside a `PAYMENT-SIGNATURE` header (PaymentRefused if it is not
    an x402 v2 payload for Obolo's network)."""
    return proof_of(decode(text))


def proof_of(payload: dict[str, Any]) -> dict[str, Any]:
    """The Obolo proof in a decoded PaymentPayload (PaymentRefused as `proof`)."""
    accepted = payload.get("accepted")
    if payload.get("x402Version") != VERSION or not isinstance(accepted, dict):
        raise PaymentRefused(MALFORMED, "only x402 version 2 payloads are accepted")
    if accepted.get("scheme") != SCHEME or not str(accepted.get("network", "")).startswith(NETWORK_PREFIX):
        raise PaymentRefused(MALFORMED, f"only {SCHEME} on {NETWORK_PREFIX}<asset> is accepted here")
    inner = payload.get("payload")
    if not isinstance(inner, dict) or inner.get("scheme") not in _PROOF_SCHEMES:
        raise PaymentRefused(MALFORMED, "the payload is an Obolo channel, pass or charge proof")
    return inner


def settlement(
    *,
    success: bool,
    asset: str,
    transaction: str = "",
    amount: str | None = None,
    payer: str = "",
    error: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A SettleResponse (`PAYMENT-RESPONSE`, and the facilitator's /settle answer)."""
    answer: dict[str, Any] = {"success": success, "transaction": transaction, "network": network(asset),
                              "payer": payer}  # fmt: skip
    if amount is not None:
        answer["amount"] = amount
    if error is not None:
        answer["errorReason"] = error
    if extra:
        answer["extra"] = extra
    return answer


def transaction_of(receipt: dict[str, Any]) -> str:
    """The commitment identifier of a paid view, from Obolo's own receipt: the channel
    and index (what the provider's claim will settle), the charge id, or the pass id."""
    if "channel" in receipt and "index" in receipt:
        return f"{receipt['channel']}:{receipt['index']}"
    if "charge" in receipt:
        return f"charge:{receipt['charge']}"
    if "pass" in receipt:
        return f"pass:{receipt['pass']}"
    return f"capped:{receipt.get('channel', '')}"
