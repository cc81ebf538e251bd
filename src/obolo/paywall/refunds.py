"""Refunds of channel payments. A channel payment happens between reader and provider
alone, so the reader proves what to take back with the provider's view receipt (MACed
with a key the provider shares with the platform). Nothing moves in the ledger at refund
time: an open channel settles for that much less; a settled one leaves a credit note
netted against the provider's next settlement with this reader.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Engine, insert, select, update

from obolo.adapters.clock import NS_PER_SECOND, Clock
from obolo.adapters.db.schema import channel_refunds, channels, providers
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.secretbox import SecretBox
from obolo.audit import service as audit
from obolo.paywall.credit import issue_credit_note, refunds_in_last_day
from obolo.paywall.errors import ChannelNotFound, InvalidViewReceipt, NotRefundable, ProviderNotFound
from obolo.paywall.service import PaywallService
from obolo.sdk.payword import b64, unb64
from obolo.sdk.views import InvalidViewReceipt as MalformedReceipt
from obolo.sdk.views import ViewReceipt
from obolo.settings import Settings

# A receipt dated this far in the provider's future is refused: clocks drift, forgeries jump.
CLOCK_SKEW_SECONDS = 300


@dataclass(frozen=True, slots=True)
class ChannelRefund:
    channel_id: str
    index: int
    amount: int
    asset: str
    netted: Literal["settlement", "credit_note"]  # the channel is open, or had settled


class ChannelRefunds:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        paywall: PaywallService,
        secrets_box: SecretBox,
        settings: Settings,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.paywall = paywall
        self.secrets_box = secrets_box
        self.settings = settings

    def issue_receipt_key(self, user_id: str, provider_id: str) -> bytes:
        """A new key for the provider's view receipts, returned once and stored sealed.
        Receipts MACed with the previous key stop being refundable. Raises ProviderNotFound."""
        key = secrets.token_bytes(32)

        def work(connection: Connection) -> None:
            provider = self.paywall.provider(connection, provider_id)
            if provider.user_id != user_id:
                raise ProviderNotFound("no such provider")
            sealed = self.secrets_box.seal(b64(key))
            connection.execute(
                update(providers).where(providers.c.id == provider.id).values(receipt_key=sealed)
            )
            audit.record(connection, self.clock(), user_id, "provider.receipt_key_issued", provider.id)

        run_in_transaction(self.engine, work)
        return key

    def refund_view(self, reader_id: str, channel_id: str, token: str) -> ChannelRefund:
        """Take back the channel payment a view receipt names, within the refund window and
        the daily limit. Raises ChannelNotFound (not the reader's channel), InvalidViewReceipt,
        NotRefundable."""
        try:
            key_id = str(uuid.UUID(channel_id))
            named = ViewReceipt.channel_of(token)
        except (ValueError, MalformedReceipt) as error:
            raise InvalidViewReceipt("the view receipt is malformed") from error
        if named != key_id:
            raise InvalidViewReceipt("the view receipt is for another channel")

        def work(connection: Connection) -> ChannelRefund:
            channel = connection.execute(
                select(channels).where(channels.c.id == key_id).with_for_update()
            ).first()
            if channel is None or channel.payer_id != reader_id:
                raise ChannelNotFound("no such channel of yours")
            receipt = self._verified(connection, channel.provider_id, token)
            now = self.clock()
            self._check_refundable(connection, channel, receipt, reader_id, now)
            note_id = None
            if channel.status == "settled":
                if receipt.index > channel.claimed_index:
                    raise NotRefundable("the provider never claimed this payment: it came back to you")
                note_id = issue_credit_note(
                    connection, reader_id, channel.provider_id, channel.asset, int(channel.price), now
                )
            connection.execute(
                insert(channel_refunds).values(
                    channel_id=key_id, idx=receipt.index, reader_id=reader_id, amount=channel.price,
                    viewed_at=receipt.at, created_at=now, credit_note_id=note_id,
                )
            )  # fmt: skip
            amount = int(channel.price)
            if note_id:
                return ChannelRefund(key_id, receipt.index, amount, channel.asset, "credit_note")
            return ChannelRefund(key_id, receipt.index, amount, channel.asset, "settlement")

        return run_in_transaction(self.engine, work)

    def view_receipt(self, connection: Connection, provider_id: str, token: str) -> ViewReceipt:
        """The view receipt `token`, checked with the provider's key inside the caller's
        transaction. Raises InvalidViewReceipt."""
        return self._verified(connection, provider_id, token)

    def _verified(self, connection: Connection, provider_id: str, token: str) -> ViewReceipt:
        sealed = connection.execute(
            select(providers.c.receipt_key).where(providers.c.id == provider_id)
        ).scalar_one_or_none()
        if sealed is None:
            raise InvalidViewReceipt("this provider issues no view receipts")
        try:
            return ViewReceipt.verify(token, unb64(self.secrets_box.open(sealed)))
        except MalformedReceipt as error:
            raise InvalidViewReceipt(str(error)) from error

    def _check_refundable(
        self, connection: Connection, channel: Any, receipt: ViewReceipt, reader_id: str, now: int
    ) -> None:
        if receipt.index > channel.length:
            raise InvalidViewReceipt("the view receipt names a payment beyond the channel")
        window = self.settings.refund_window_seconds
        now_seconds = now // NS_PER_SECOND
        if receipt.at > now_seconds + CLOCK_SKEW_SECONDS:
            raise InvalidViewReceipt("the view receipt is dated in the future")
        if now_seconds - receipt.at > window:
            raise NotRefundable(f"refunds are possible for {window // 60} minutes after a view")
        already = connection.execute(
            select(channel_refunds.c.idx).where(
                channel_refunds.c.channel_id == channel.id,
                channel_refunds.c.idx == receipt.index,
            )
        ).first()
        if already is not None:
            raise NotRefundable("this view was refunded already")
        if refunds_in_last_day(connection, reader_id, now) >= self.settings.refunds_per_day:
            raise NotRefundable(f"at most {self.settings.refunds_per_day} refunds a day")
