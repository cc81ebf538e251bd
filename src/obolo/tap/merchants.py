"""Merchants and their terminals: registering them, a terminal's credential, its offline kit."""

from __future__ import annotations

import secrets
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, insert, select

from obolo.adapters.clock import NS_PER_SECOND
from obolo.adapters.db.schema import providers, user_roles
from obolo.adapters.db.schema_tap import tap_cards, tap_merchants, tap_terminals
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.ids import keyed_id, new_id
from obolo.ledger import LedgerSession
from obolo.sdk.tap import sign_token
from obolo.tap.errors import InvalidMerchant, InvalidTerminal, MerchantNotFound, NotAMerchant
from obolo.tap.model import Caps, Mode, kit_fields
from obolo.tap.store import TapStore, b64decode, key_hash, uuid_text
from obolo.tap.views import Credential, Merchant, Terminal


class TapMerchants(TapStore):
    def register_merchant(
        self,
        user_id: str,
        name: str,
        origin: str,
        kind: Mode,
        asset: str,
        *,
        offline_limit: int,
        fare: int | None = None,
        daily_cap: int | None = None,
        weekly_cap: int | None = None,
        idempotency_key: str | None = None,
    ) -> Merchant:
        """A provider of the tap kind: a shop (`retail`) or a transit operator with its fare
        and caps. Needs the provider role. A repeated key returns the merchant it registered.
        Raises NotAMerchant, InvalidMerchant."""
        self.wallets.asset(asset)
        if kind is Mode.TRANSIT:
            if fare is None or daily_cap is None or weekly_cap is None:
                raise InvalidMerchant("a transit operator states its fare, daily cap and weekly cap")
            try:
                Caps(fare, daily_cap, weekly_cap)
            except ValueError as error:
                raise InvalidMerchant(str(error)) from error
        else:
            fare = daily_cap = weekly_cap = None
        if not 0 <= offline_limit <= self.settings.payment_max:
            raise InvalidMerchant("the offline limit is between 0 and the payment maximum")
        merchant_id = keyed_id(idempotency_key, "merchant", user_id)

        def work(session: LedgerSession) -> Merchant:
            connection = session.connection
            if connection.execute(select(providers.c.id).where(providers.c.id == merchant_id)).first():
                return self._merchant(connection, merchant_id, user_id)
            roles = connection.execute(select(user_roles.c.role).where(user_roles.c.user_id == user_id))
            if "provider" not in set(roles.scalars()):
                raise NotAMerchant("take the provider role first (POST /v1/me/roles)")
            wallet = self.wallets.wallet(session, user_id, asset)
            merchant = Merchant(
                merchant_id, user_id, name.strip(), kind, asset, fare, daily_cap, weekly_cap, offline_limit
            )
            now = self.clock()
            connection.execute(
                insert(providers).values(
                    id=merchant.id, user_id=user_id, name=merchant.name, origin=origin.strip(), created_at=now
                )
            )
            connection.execute(
                insert(tap_merchants).values(
                    provider_id=merchant.id, kind=str(kind), asset=asset,
                    account_id=wallet.account_id.to_bytes(16, "big"), fare=fare, daily_cap=daily_cap,
                    weekly_cap=weekly_cap, offline_limit=offline_limit, created_at=now,
                )
            )  # fmt: skip
            return merchant

        return self.ledger.run(work)

    def _merchant(self, connection: Connection, merchant_id: str, user_id: str | None = None) -> Merchant:
        key = uuid_text(merchant_id, MerchantNotFound, "the merchant id")
        row = connection.execute(
            select(tap_merchants, providers.c.user_id, providers.c.name)
            .join(providers, providers.c.id == tap_merchants.c.provider_id)
            .where(tap_merchants.c.provider_id == key)
        ).first()
        if row is None or (user_id is not None and row.user_id != user_id):
            raise MerchantNotFound("no such merchant")
        return Merchant(
            row.provider_id, row.user_id, row.name, Mode(row.kind), row.asset, row.fare, row.daily_cap,
            row.weekly_cap, row.offline_limit,
        )  # fmt: skip

    def register_terminal(
        self, user_id: str, merchant_id: str, name: str, mode: Mode, public_key: str | None = None
    ) -> tuple[Terminal, str | None]:
        """A terminal of the user's merchant, and its API key (shown once), unless it
        registers an Ed25519 public key (base64url, 32 bytes) to sign requests with.
        Raises MerchantNotFound, InvalidTerminal."""
        api_key = None
        if public_key is not None:
            try:
                Ed25519PublicKey.from_public_bytes(b64decode(public_key))
            except ValueError as error:
                raise InvalidTerminal("the public key is base64url of 32 bytes (Ed25519)") from error
        else:
            api_key = "tk_" + secrets.token_urlsafe(32)

        def work(connection: Connection) -> Terminal:
            merchant = self._merchant(connection, merchant_id, user_id)
            if mode is Mode.TRANSIT and merchant.kind is not Mode.TRANSIT:
                raise InvalidTerminal("a transit gate belongs to a transit operator (fares and caps)")
            terminal = Terminal(new_id(), merchant.id, name.strip(), mode)
            connection.execute(
                insert(tap_terminals).values(
                    id=terminal.id, merchant_id=merchant.id, name=terminal.name, mode=str(mode),
                    key_hash=key_hash(api_key) if api_key else None, public_key=public_key,
                    created_at=self.clock(),
                )
            )  # fmt: skip
            return terminal

        return run_in_transaction(self.engine, work), api_key

    def authenticate(self, credential: Credential) -> Terminal:
        """The terminal whose credential this is; BadTerminalCredential otherwise."""
        row = self.ledger.run(lambda session: self.terminal_row(session, credential), read_only=True)
        return Terminal(row.id, row.provider_id, "", Mode(row.mode))

    # -- offline kits --------------------------------------------------------------------------
    def offline_kit(self, credential: Credential) -> str:
        """The terminal's signed offline kit: the deny list (blocked cards, cards with debts,
        and wallets that could not pay the offline limit), the limit, version and expiry."""

        def work(session: LedgerSession) -> dict[str, Any]:
            connection = session.connection
            terminal = self.terminal_row(session, credential)
            rows = connection.execute(
                select(
                    tap_cards.c.offline_tag, tap_cards.c.blocked_at, tap_cards.c.owed, tap_cards.c.account_id
                ).where(tap_cards.c.asset == terminal.asset)
            ).all()
            accounts = {
                a.id: a.available
                for a in session.lookup_accounts([int.from_bytes(r.account_id, "big") for r in rows])
            }
            limit = int(terminal.offline_limit)
            deny = [
                r.offline_tag
                for r in rows
                if r.blocked_at is not None
                or r.owed
                or accounts.get(int.from_bytes(r.account_id, "big"), 0) < max(limit, 1)
            ]
            now = self.clock()
            return kit_fields(
                terminal_id=terminal.id, merchant_id=terminal.provider_id, asset=terminal.asset,
                version=now // 1_000_000, issued_at=now // NS_PER_SECOND,
                expires_at=now // NS_PER_SECOND + self.settings.tap_kit_ttl_seconds, offline_limit=limit,
                tag_key=self.tag_key, deny=deny, key_id=self.keys.current_id,
            )  # fmt: skip

        return sign_token(self.ledger.run(work, read_only=True), self.keys.current)


__all__ = ["TapMerchants"]
