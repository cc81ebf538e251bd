"""The provider SDK: what a provider installs to accept Obolo payments and events.
It imports nothing of Obolo's server, only the standard library and `obolo.money`."""

from obolo.sdk.webhooks import InvalidSignature, sign, verify_signature

__all__ = ["InvalidSignature", "sign", "verify_signature"]
