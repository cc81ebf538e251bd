"""Obolo as an x402 facilitator for its own network (`batch-settlement` on `obolo:<asset>`):
resource servers in any language point x402's middleware at `{server}/x402` and accept
channel payments without running Obolo's SDK.

- verify: the same offline checks the SDK's middleware makes (the platform's signature on
  the certificate, the provider, the price, one hash per payment against the highest
  payment settled so far); nothing is written.
- settle: the same checks, then the channel's highest payment moves forward by one
  compare-and-set on its row: a payment settles once, and no ledger write is made per
  payment. The channel is claimed in bulk later (`claim_due`, a periodic job), exactly as a
  provider's own claims are: one ledger settlement per channel.
"""

from __future__ import annotations

import hmac
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from obolo.adapters.clock import NS_PER_SECOND, Clock
from obolo.adapters.db.schema import channels, providers
from obolo.adapters.db.schema_x402 import x402_channel_states
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.signing import SigningKeys
from obolo.paywall.model import Claim
from obolo.paywall.service import PaywallService
from obolo.sdk import x402
from obolo.sdk.encoding import unb64url
from obolo.sdk.payword import (
    CLOSED,
    MALFORMED,
    Certificate,
    ChannelState,
    PaymentRefused,
    accept_payment,
    b64,
    unb64,
    verify_certificate,
)

ASSETS = ("EUR", "USD")
#: A channel is claimed once used up or this close to its expiry (the claim still pays
#: within the platform's grace hour after it).
CLAIM_MARGIN_SECONDS = 600


def _seconds(clock: Clock) -> float:
    return clock() / NS_PER_SECOND


def _requirements(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    payload, requirements = body.get("paymentPayload"), body.get("paymentRequirements")
    if not isinstance(payload, dict) or not isinstance(requirements, dict):
        raise PaymentRefused(MALFORMED, "paymentPayload and paymentRequirements are objects")
    accepted = payload.get("accepted")
    fields = ("scheme", "network", "asset", "amount", "payTo")
    if not isinstance(accepted, dict) or any(accepted.get(f) != requirements.get(f) for f in fields):
        raise PaymentRefused("requirements_mismatch", "the payload accepted other terms than these")
    asset = str(requirements.get("asset", ""))
    if requirements.get("network") != x402.network(asset) or asset not in ASSETS:
        raise PaymentRefused("unsupported_network", f"Obolo settles {x402.SCHEME} on obolo:eur and obolo:usd")
    return payload, requirements


class Facilitator:
    def __init__(self, engine: Engine, clock: Clock, keys: SigningKeys, paywall: PaywallService) -> None:
        self.engine = engine
        self.clock = clock
        self.keys = keys
        self.paywall = paywall

    def supported(self) -> dict[str, Any]:
        kinds = [{"x402Version": x402.VERSION, "scheme": x402.SCHEME, "network": x402.network(a)}
                 for a in ASSETS]  # fmt: skip
        return {"kinds": kinds, "extensions": [], "signers": {}}

    def verify(self, body: dict[str, Any]) -> dict[str, Any]:
        """VerifyResponse: is the proof good now (nothing is spent)."""
        try:
            certificate, index, token, _ = self._check(body)
            run_in_transaction(
                self.engine, lambda c: self._advance(c, certificate, index, token, write=False)
            )
        except PaymentRefused as refused:
            return {"isValid": False, "invalidReason": refused.reason, "invalidMessage": str(refused)}
        return {"isValid": True, "payer": certificate.payer}

    def settle(self, body: dict[str, Any]) -> dict[str, Any]:
        """SettleResponse: the proof spent (once), its commitment id `<channel>:<index>`."""
        asset = str((body.get("paymentRequirements") or {}).get("asset", "EUR"))
        try:
            certificate, index, token, requirements = self._check(body)
            run_in_transaction(self.engine, lambda c: self._advance(c, certificate, index, token, write=True))
        except PaymentRefused as refused:
            return x402.settlement(
                success=False, asset=asset if asset in ASSETS else "EUR", error=refused.reason
            )
        return x402.settlement(
            success=True, asset=certificate.asset, transaction=f"{certificate.channel_id}:{index}",
            amount=str(requirements["amount"]), payer=certificate.payer,
        )  # fmt: skip

    def _check(self, body: dict[str, Any]) -> tuple[Certificate, int, bytes, dict[str, Any]]:
        try:
            return self._checked(body)
        except (TypeError, ValueError, KeyError, AttributeError) as error:
            # A body of the right shape holding values of the wrong types: a refusal, never a 500.
            raise PaymentRefused(MALFORMED, "not an Obolo channel payment") from error

    def _checked(self, body: dict[str, Any]) -> tuple[Certificate, int, bytes, dict[str, Any]]:
        payload, requirements = _requirements(body)
        proof = x402.proof_of(payload)
        if proof.get("scheme") != x402.CHANNEL:
            raise PaymentRefused(MALFORMED, "the facilitator settles channel payments only")
        certificate, signature = Certificate.decode(str(proof.get("certificate", "")))
        verify_certificate(certificate, signature, self.keys.public_keys(),
                           provider=str(requirements["payTo"]), now=_seconds(self.clock))  # fmt: skip
        if (certificate.asset, str(certificate.price)) != (
            requirements["asset"],
            str(requirements["amount"]),
        ):
            raise PaymentRefused("wrong_price", "this channel pays another price than this resource costs")
        index = proof.get("index")
        if not isinstance(index, int) or isinstance(index, bool):
            raise PaymentRefused(MALFORMED, "index is an integer")
        return certificate, index, unb64(str(proof.get("token", ""))), requirements

    def _advance(
        self, connection: Connection, certificate: Certificate, index: int, token: bytes, *, write: bool
    ) -> None:
        status = connection.execute(
            select(channels.c.status).where(channels.c.id == certificate.channel_id)
        ).scalar_one_or_none()
        if status != "open":
            raise PaymentRefused(CLOSED, "this channel was settled; open a new one")
        row = connection.execute(
            select(x402_channel_states.c.idx, x402_channel_states.c.token).where(
                x402_channel_states.c.channel_id == certificate.channel_id
            )
        ).first()
        if write and row is not None and row.idx == index and hmac.compare_digest(row.token, b64(token)):
            return  # this very proof settled already: a retried settle answers the same success
        state = (
            ChannelState(certificate, row.idx, unb64(row.token)) if row else ChannelState.open(certificate)
        )
        accept_payment(state, index, token)
        if not write:
            return
        now = self.clock()
        if row is None:
            # A concurrent first settle of the same channel conflicts on the key: the unit of
            # work runs again, reads that row, and this proof is then refused as replayed.
            values = {
                "channel_id": certificate.channel_id,
                "idx": index,
                "token": b64(token),
                "updated_at": now,
            }
            connection.execute(insert(x402_channel_states).values(**values))
            return
        moved = connection.execute(
            update(x402_channel_states)
            .where(
                x402_channel_states.c.channel_id == certificate.channel_id,
                x402_channel_states.c.idx == row.idx,
            )
            .values(idx=index, token=b64(token), updated_at=now)
        ).rowcount
        if moved != 1:
            raise PaymentRefused("replayed", "another settle took this payment first")

    def claim_due(self, *, close_all: bool = False) -> int:
        """Claim, in bulk, every facilitated channel used up or near expiry (every one with
        `close_all`): one ledger settlement per channel, paid to its provider less the fee.
        Returns how many channels settled."""
        horizon = int(_seconds(self.clock)) + CLAIM_MARGIN_SECONDS
        query = (
            select(
                x402_channel_states.c.channel_id,
                x402_channel_states.c.idx,
                x402_channel_states.c.token,
                providers.c.user_id,
            )
            .join(channels, channels.c.id == x402_channel_states.c.channel_id)
            .join(providers, providers.c.id == channels.c.provider_id)
            .where(channels.c.status == "open")
        )
        if not close_all:
            query = query.where(
                (x402_channel_states.c.idx >= channels.c.length) | (channels.c.expires_at <= horizon)
            )
        with self.engine.connect() as connection:
            due = connection.execute(query).all()
        settled = 0
        for channel_id, index, token, owner in due:
            claim = Claim(channel_id, index, unb64url(token))
            (result,) = self.paywall.settle_claims(owner, [claim])
            settled += result.status.value == "settled"
        return settled
