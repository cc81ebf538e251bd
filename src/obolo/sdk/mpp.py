"""The IETF HTTP `Payment` authentication scheme on the wire (draft-httpauth-payment):
method `obolo`, intent `charge`. Pure encodings; no client library needed.

    402        WWW-Authenticate: Payment id="…", realm="<provider>", method="obolo", intent="charge",
                                 request="<base64url JSON>", expires="<ISO 8601>"
    request    Authorization: Payment <base64url {"challenge": {…echoed…}, "payload": <Obolo proof>}>
    answer     Payment-Receipt: <base64url {"status": "success", "method": "obolo", "reference", "timestamp"}>

The challenge id is HMAC-SHA256, under the provider's own secret, of realm, method,
intent, request and expiry (the draft's construction), and the request names the
resource and the amount: a credential answers exactly one resource at one price, until
the expiry, and a forged or altered challenge is refused as `challenge_invalid`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from typing import Any

from obolo.sdk.payword import EXPIRED, MALFORMED, PaymentRefused, b64, unb64

METHOD = "obolo"
INTENT = "charge"
CHALLENGE_INVALID = "challenge_invalid"
#: Seconds a challenge can be answered.
CHALLENGE_SECONDS = 300
_PROOF_SCHEMES = {"obolo-channel", "obolo-charge"}


def _json_b64url(value: dict[str, Any]) -> str:
    # Sorted compact JSON of strings and integers: RFC 8785's canonical form for these values.
    return b64(json.dumps(value, sort_keys=True, separators=(",", ":")).encode())


def _unjson(text: str) -> dict[str, Any]:
    try:
        value = json.loads(unb64(text))
    except ValueError as error:
        raise PaymentRefused(MALFORMED, "base64url of a JSON object expected") from error
    if not isinstance(value, dict):
        raise PaymentRefused(MALFORMED, "base64url of a JSON object expected")
    return value


def iso(seconds: float) -> str:
    """ISO 8601 in UTC with a Z, to the millisecond (what the draft's clients parse)."""
    whole = int(seconds)
    millis = round((seconds - whole) * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


def _epoch(text: str) -> float:
    from datetime import datetime

    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError as error:
        raise PaymentRefused(MALFORMED, "expires is an ISO 8601 time") from error


def challenge_id(secret: bytes, realm: str, request_b64: str, expires: str) -> str:
    """HMAC-SHA256 over realm|method|intent|request|expires|digest|opaque (no digest, no opaque)."""
    message = "|".join((realm, METHOD, INTENT, request_b64, expires, "", ""))
    return b64(hmac.new(secret, message.encode(), hashlib.sha256).digest())


def challenge(secret: bytes, realm: str, offer: dict[str, Any], now: float) -> str:
    """One `Payment` challenge for an Obolo offer (a channel, or a tab charge)."""
    fields = ("commitment", "price", "server", "keys", "channels", "charges")
    details = {k: offer[k] for k in fields if k in offer}
    request = {"amount": str(offer["amount"]), "currency": str(offer["asset"]), "recipient": realm,
               "resource": str(offer["resource"]), "methodDetails": details}  # fmt: skip
    request_b64 = _json_b64url(request)
    expires = iso(now + CHALLENGE_SECONDS)
    identifier = challenge_id(secret, realm, request_b64, expires)
    return (f'Payment id="{identifier}", realm="{realm}", method="{METHOD}", intent="{INTENT}", '
            f'request="{request_b64}", expires="{expires}"')  # fmt: skip


def challenges(secret: bytes, realm: str, offers: list[dict[str, Any]], now: float) -> list[str]:
    """Every challenge of a 402, each for a `WWW-Authenticate` field of its own (a parser
    reading one field then meets one challenge)."""
    listed = []
    for offer in offers:
        if offer.get("scheme") != "obolo-channel":
            continue
        server = str(offer["server"])
        listed.append(challenge(secret, realm, {**offer, "commitment": "obolo-channel"}, now))
        charge = {**offer, "commitment": "obolo-charge", "charges": f"{server}/v1/charges"}
        charge.pop("channels", None)
        listed.append(challenge(secret, realm, charge, now))
    return listed


def credential(echo: dict[str, Any], payload: dict[str, Any]) -> str:
    """`Authorization: Payment …` for an Obolo proof answering a challenge (its params echoed)."""
    return "Payment " + _json_b64url({"challenge": echo, "payload": payload})


def proof(
    header: str, *, secret: bytes, realm: str, resource: str, amount: int, asset: str, now: float
) -> dict[str, Any]:
    """The Obolo proof in an `Authorization: Payment` credential, once its challenge is
    shown to be this provider's, for this resource and price, and unexpired.
    Raises PaymentRefused: malformed, challenge_invalid, expired."""
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "payment":
        raise PaymentRefused(MALFORMED, "not a Payment credential")
    value = _unjson(token.strip())
    echo, inner = value.get("challenge"), value.get("payload")
    if not isinstance(echo, dict) or not isinstance(inner, dict):
        raise PaymentRefused(MALFORMED, "a credential has a challenge and a payload")
    request_b64, expires = str(echo.get("request", "")), str(echo.get("expires", ""))
    if (echo.get("method"), echo.get("intent"), echo.get("realm")) != (METHOD, INTENT, realm):
        raise PaymentRefused(CHALLENGE_INVALID, "this challenge was not issued here")
    terms = _challenge_terms(secret, realm, str(echo.get("id", "")), request_b64, expires)
    if terms[:3] != (resource, str(amount), asset):
        raise PaymentRefused(CHALLENGE_INVALID, "this challenge priced another resource or amount")
    if terms[3] <= now:
        raise PaymentRefused(EXPIRED, "the challenge expired; ask again")
    if inner.get("scheme") not in _PROOF_SCHEMES:
        raise PaymentRefused(MALFORMED, "the payload is an Obolo channel or charge proof")
    return inner


#: Challenges already checked: many credentials answer one challenge (a client paying the
#: same page again), and each would otherwise cost an HMAC and two decodings.
_CHECKED: dict[tuple[bytes, str, str, str, str], tuple[Any, Any, Any, float]] = {}
_CHECKED_MAX = 10_000


def _challenge_terms(
    secret: bytes, realm: str, identifier: str, request_b64: str, expires: str
) -> tuple[Any, Any, Any, float]:
    """(resource, amount, currency, expiry) of a challenge this provider issued; PaymentRefused
    (challenge_invalid) for one it did not, or that was altered."""
    key = (secret, realm, identifier, request_b64, expires)
    known = _CHECKED.get(key)
    if known is not None:
        return known
    if not hmac.compare_digest(challenge_id(secret, realm, request_b64, expires), identifier):
        raise PaymentRefused(CHALLENGE_INVALID, "this challenge was not issued here, or was altered")
    request = _unjson(request_b64)
    known = (request.get("resource"), request.get("amount"), request.get("currency"), _epoch(expires))
    if len(_CHECKED) >= _CHECKED_MAX:
        _CHECKED.clear()
    _CHECKED[key] = known
    return known


def receipt(reference: str, now: float, extra: dict[str, Any]) -> str:
    """The `Payment-Receipt` of a paid answer."""
    value = {"status": "success", "method": METHOD, "reference": reference, "timestamp": iso(now),
             "extra": extra}  # fmt: skip
    return _json_b64url(value)


def decode_challenge(header: str) -> dict[str, str]:
    """The parameters of one `Payment` challenge, as a credential echoes them (for clients
    that do without pympp)."""
    scheme, _, params = header.strip().partition(" ")
    if scheme.lower() != "payment":
        raise PaymentRefused(MALFORMED, "not a Payment challenge")
    echoed = ("id", "realm", "method", "intent", "request", "expires")
    found = dict(re.findall(r'([A-Za-z]+)="([^"]*)"', params))
    return {name: found[name] for name in echoed if name in found}


def decode_receipt(header: str) -> dict[str, Any]:
    """A `Payment-Receipt` (PaymentRefused(malformed) if it is not one)."""
    return _unjson(header.strip())


def decode_request(request_b64: str) -> dict[str, Any]:
    """A challenge's request object (for clients)."""
    return _unjson(request_b64)


__all__ = [
    "CHALLENGE_INVALID",
    "INTENT",
    "METHOD",
    "challenge",
    "challenge_id",
    "challenges",
    "credential",
    "decode_challenge",
    "decode_receipt",
    "decode_request",
    "proof",
    "receipt",
]
