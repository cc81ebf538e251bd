"""What every tap use case shares: its dependencies, the terminal a credential proves,
and the charge (fee linked) or debt both taps and the periodic jobs record. The use-case
modules (`merchants`, `cards`, `taps`, `jobs`) build on `TapStore`; nothing else should."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine, insert, update

from obolo.adapters.clock import Clock
from obolo.adapters.db.schema_tap import tap_cards, tap_debts
from obolo.adapters.ids import derived_id, new_id
from obolo.adapters.signing import SigningKeys
from obolo.ledger import Ledger, LedgerSession, Transfer, TransferFlags, TransferResult, expect_ok
from obolo.settings import FeeRule, Settings
from obolo.tap.errors import BadTerminalCredential, InvalidTerminal
from obolo.tap.model import offline_key
from obolo.tap.sql import AUTH_SQL, fetch
from obolo.tap.views import Credential
from obolo.wallets.model import PlatformAccount, TransferCode, fee_for
from obolo.wallets.service import WalletService

_R = TransferResult


def b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error) as error:
        raise InvalidTerminal("not base64url") from error


def uuid_text(value: str, error: type[Exception], what: str) -> str:
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError) as exc:
        raise error(f"{what} is not a UUID") from exc


def key_hash(api_key: str) -> str:
    """Terminal keys carry 256 random bits, so one SHA-256 is as good as a slow hash here,
    and keeps argon2 off the path every tap takes."""
    return hashlib.sha256(api_key.encode()).hexdigest()


class TapStore:
    """The dependencies and shared steps of the tap use cases."""

    def __init__(
        self,
        engine: Engine,
        ledger: Ledger,
        clock: Clock,
        wallets: WalletService,
        keys: SigningKeys,
        card_key: bytes,
        settings: Settings,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.wallets = wallets
        self.ledger = ledger
        self.keys = keys
        self.card_key = card_key
        self.tag_key = offline_key(card_key)
        self.settings = settings
        self.key_id = keys.current_id  # derived from the public key: once, not per receipt

    def terminal_row(self, session: LedgerSession, credential: Credential) -> Any:
        """The terminal's row joined with its merchant's, if the credential is its own."""
        try:
            key = str(uuid.UUID(credential.terminal_id))
        except (ValueError, AttributeError) as error:
            raise BadTerminalCredential("unknown terminal or wrong credential") from error
        row = fetch(session, AUTH_SQL, (key,))
        if row is None or row.disabled_at is not None:
            raise BadTerminalCredential("unknown terminal or wrong credential")
        if row.key_hash is not None:
            given = key_hash(credential.api_key or "")
            if credential.api_key is None or not hmac.compare_digest(given, row.key_hash):
                raise BadTerminalCredential("unknown terminal or wrong credential")
            return row
        try:
            Ed25519PublicKey.from_public_bytes(b64decode(row.public_key)).verify(
                b64decode(credential.signature or ""), hashlib.sha256(credential.signed_message).digest()
            )
        except (InvalidSignature, InvalidTerminal, ValueError) as error:
            raise BadTerminalCredential("unknown terminal or wrong credential") from error
        return row

    def fee_transfer(self, base_id: int, merchant_account: int, asset: str, amount: int) -> Transfer | None:
        """The merchant's fee on `amount`, as the transfer linked after the charge (None if free)."""
        fee = min(amount, fee_for(amount, self.settings.fees.get("tap", FeeRule())))
        if not fee:
            return None
        fee_account = PlatformAccount.FEE_REVENUE.account_id(asset)
        return Transfer(
            derived_id("transfer", str(base_id), "fee"), merchant_account, fee_account, fee, asset,
            code=int(TransferCode.FEE),
        )  # fmt: skip

    def pay_now(
        self,
        session: LedgerSession,
        card: Any,
        terminal: Any,
        transfer_id: int,
        amount: int,
        *,
        partial: bool,
    ) -> int:
        """One posted transfer of `amount` (or, if `partial`, of what the wallet has) from the
        card's wallet to the merchant, fee linked; returns what moved."""
        payer = int.from_bytes(card.account_id, "big")
        if partial:
            (account,) = session.lookup_accounts([payer])
            amount = min(amount, max(0, account.available))
            if amount == 0:
                return 0
        payee = int.from_bytes(terminal.account_id, "big")
        fee_transfer = self.fee_transfer(transfer_id, payee, terminal.asset, amount)
        flags = TransferFlags.LINKED if fee_transfer else TransferFlags.NONE
        transfers = [
            Transfer(
                transfer_id, payer, payee, amount, terminal.asset, code=int(TransferCode.PAYMENT), flags=flags
            )
        ]
        if fee_transfer is not None:
            transfers.append(fee_transfer)
        results = session.create_transfers(transfers)
        if _R.EXCEEDS_CREDITS in results:
            return -1
        expect_ok(results, f"tap transfer {transfer_id:x}")
        return amount

    def record_debt(
        self, connection: Connection, card: Any, merchant_id: str, tap_id: str | None, amount: int, now: int
    ) -> None:
        connection.execute(
            insert(tap_debts).values(
                id=new_id(), tap_id=tap_id, card_id=card.id, user_id=card.user_id, merchant_id=merchant_id,
                asset=card.asset, amount=amount, remaining=amount, created_at=now, settled_at=None,
            )
        )  # fmt: skip
        connection.execute(
            update(tap_cards).where(tap_cards.c.id == card.id).values(owed=tap_cards.c.owed + amount)
        )


__all__ = ["TapStore", "b64decode", "key_hash", "uuid_text"]
