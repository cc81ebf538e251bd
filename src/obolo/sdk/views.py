"""View receipts: the provider's word that it served payment `index` of a channel for
`path` at time `at`, MACed with a key the provider shares with the platform only.

A channel payment never reaches the platform when it happens, so the platform cannot see
which view a reader wants back, nor when it was bought. The middleware hands the reader
one of these with each paid view; the reader shows it to the platform to take the view
back within the refund window. One HMAC-SHA256 per paid view keeps the payment path at
microseconds (an Ed25519 signature would cost the provider ten times more, and the only
party that must check it, the platform, already holds the shared key).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

from obolo.sdk.payword import PaymentRefused, b64, unb64


class InvalidViewReceipt(ValueError):
    """The receipt is malformed, or not MACed with the key it is checked against."""


@dataclass(frozen=True, slots=True)
class ViewReceipt:
    channel_id: str
    index: int
    path: str
    at: int  # unix seconds, the provider's clock
    title: str | None = None  # the provider's name for what was viewed (an article's title)

    def sign(self, key: bytes) -> str:
        fields: dict[str, object] = {"c": self.channel_id, "i": self.index, "p": self.path, "t": self.at}
        if self.title:
            fields["n"] = self.title
        body = b64(json.dumps(fields, separators=(",", ":")).encode())
        return body + "." + b64(hmac.new(key, body.encode(), hashlib.sha256).digest())

    @classmethod
    def verify(cls, token: str, key: bytes) -> ViewReceipt:
        """The receipt `token` carries, if `key` MACed it. Raises InvalidViewReceipt."""
        body, _, mac = token.partition(".")
        expected = b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
        if not mac or not hmac.compare_digest(expected, mac):
            raise InvalidViewReceipt("the view receipt was not issued by this provider")
        try:
            fields = json.loads(unb64(body))
            title = fields.get("n")
            receipt = cls(
                str(fields["c"]),
                fields["i"],
                str(fields["p"]),
                fields["t"],
                title if isinstance(title, str) else None,
            )
        except (PaymentRefused, ValueError, KeyError, TypeError) as error:
            raise InvalidViewReceipt("the view receipt is malformed") from error
        if type(receipt.index) is not int or type(receipt.at) is not int or receipt.index < 1:
            raise InvalidViewReceipt("the view receipt is malformed")
        return receipt

    @staticmethod
    def channel_of(token: str) -> str:
        """The channel a receipt names, read without checking it (to find its key)."""
        try:
            return str(json.loads(unb64(token.partition(".")[0]))["c"])
        except (PaymentRefused, ValueError, KeyError, TypeError) as error:
            raise InvalidViewReceipt("the view receipt is malformed") from error
