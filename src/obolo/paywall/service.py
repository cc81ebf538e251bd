"""Paywall use cases: register a provider, open a channel (reserve funds, sign the
certificate), settle claims (post what was used, release the rest).

A channel is one pending ledger transfer from the payer's wallet to the provider's for
length x price, with a timeout past the certificate's expiry by a grace period. Its
settlement posts index x price of it (and the platform fee, linked) and releases the
rest: one reservation and one settlement for any number of payments in between.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine, func, insert, select, update

from obolo.adapters.clock import NS_PER_SECOND, Clock
from obolo.adapters.db.schema import channel_refunds, channels, providers, user_roles
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.ids import derived_id, keyed_id
from obolo.adapters.signing import SigningKeys
from obolo.identity.standing import check_may_move_money
from obolo.ledger import Ledger, LedgerSession, Transfer, TransferFlags, TransferResult, expect_ok
from obolo.money import Amount
from obolo.paywall.credit import apply_credit_notes, plan_credit_notes
from obolo.paywall.errors import InvalidChannel, InvalidPass, NotAProvider, PassNotOnSale, ProviderNotFound
from obolo.paywall.model import (
    GRACE_SECONDS,
    MAX_CHAIN,
    Claim,
    ClaimResult,
    ClaimStatus,
    Provider,
    chain_reaches,
    check_reaccess_seconds,
    pass_on_sale,
)
from obolo.sdk.encoding import unb64url
from obolo.sdk.passes import Pass
from obolo.sdk.payword import Certificate
from obolo.settings import FeeRule, Settings
from obolo.wallets.model import PlatformAccount, TransferCode, fee_for
from obolo.wallets.service import WalletService

_R = TransferResult


def _b64decode(text: str) -> bytes:
    try:
        return unb64url(text)
    except ValueError as error:
        raise InvalidChannel("the root is base64url of 32 bytes") from error


def _channel_key(channel_id: str) -> str | None:
    try:
        return str(uuid.UUID(channel_id))
    except (ValueError, AttributeError, TypeError):
        return None


def _is_public_key(text: str) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(_b64decode(text))
    except (ValueError, InvalidChannel):
        return False
    return True


def _provider_of(row: Any) -> Provider:
    return Provider(row.id, row.user_id, row.name, row.origin, int(row.reaccess_seconds))


class PaywallService:
    def __init__(
        self,
        engine: Engine,
        ledger: Ledger,
        clock: Clock,
        wallets: WalletService,
        keys: SigningKeys,
        settings: Settings,
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.clock = clock
        self.wallets = wallets
        self.keys = keys
        self.settings = settings

    # -- providers ---------------------------------------------------------------------------
    def register_provider(
        self, user_id: str, name: str, origin: str, idempotency_key: str | None = None
    ) -> Provider:
        """Register a site or API that accepts payments. Needs the provider role. With an
        idempotency key, a retry finds the provider its first request registered."""
        provider_id = keyed_id(idempotency_key, "provider", user_id)

        def work(connection: Connection) -> Provider:
            found = connection.execute(select(providers).where(providers.c.id == provider_id)).first()
            if found is not None:
                return _provider_of(found)
            roles = connection.execute(
                select(user_roles.c.role).where(user_roles.c.user_id == user_id)
            ).scalars()
            if "provider" not in set(roles):
                raise NotAProvider("take the provider role first (POST /v1/me/roles)")
            provider = Provider(provider_id, user_id, name.strip(), origin.strip())
            connection.execute(
                insert(providers).values(
                    id=provider.id,
                    user_id=user_id,
                    name=provider.name,
                    origin=provider.origin,
                    created_at=self.clock(),
                )
            )
            return provider

        return run_in_transaction(self.engine, work)

    def set_price_rules(self, user_id: str, provider_id: str, rules: dict[str, Any]) -> None:
        """Store the provider's prices and passes (already validated by the caller's
        schema) for its SDK to fetch. Someone else's provider is ProviderNotFound."""

        def work(connection: Connection) -> None:
            provider = self._provider(connection, provider_id)
            if provider.user_id != user_id:
                raise ProviderNotFound("no such provider")
            connection.execute(
                update(providers)
                .where(providers.c.id == provider.id)
                .values(price_rules=json.dumps(rules, sort_keys=True))
            )

        run_in_transaction(self.engine, work)

    def price_rules(self, provider_id: str) -> dict[str, Any]:
        """The provider's published prices and passes (empty lists when none are set)."""

        def work(connection: Connection) -> dict[str, Any]:
            provider = self._provider(connection, provider_id)
            text = connection.execute(
                select(providers.c.price_rules).where(providers.c.id == provider.id)
            ).scalar_one()
            rules: dict[str, Any] = json.loads(text) if text else {"prices": [], "passes": []}
            return rules

        return run_in_transaction(self.engine, work, read_only=True)

    def provider(self, connection: Connection, provider_id: str) -> Provider:
        """The provider, inside the caller's transaction; ProviderNotFound if none."""
        return self._provider(connection, provider_id)

    def _provider(self, connection: Connection, provider_id: str) -> Provider:
        try:
            key = str(uuid.UUID(provider_id))
        except ValueError as error:
            raise ProviderNotFound("no such provider") from error
        row = connection.execute(select(providers).where(providers.c.id == key)).first()
        if row is None:
            raise ProviderNotFound("no such provider")
        return _provider_of(row)

    def set_reaccess_period(self, user_id: str, provider_id: str, seconds: int) -> int:
        """How long a purchase from this provider reopens its page on any of the reader's
        devices, from now on (what was bought keeps the period it was bought under).
        Raises InvalidReaccessPeriod (nothing changed), ProviderNotFound (also someone
        else's provider)."""
        seconds = check_reaccess_seconds(seconds)

        def work(connection: Connection) -> None:
            provider = self._provider(connection, provider_id)
            if provider.user_id != user_id:
                raise ProviderNotFound("no such provider")
            connection.execute(
                update(providers).where(providers.c.id == provider.id).values(reaccess_seconds=seconds)
            )

        run_in_transaction(self.engine, work)
        return seconds

    def reaccess_period(self, provider_id: str) -> int:
        """The provider's re-access period in seconds (public: the reader may know it
        before paying). Raises ProviderNotFound."""
        return run_in_transaction(
            self.engine, lambda c: self._provider(c, provider_id).reaccess_seconds, read_only=True
        )

    # -- channels ----------------------------------------------------------------------------
    def open_channel(
        self,
        payer_id: str,
        provider_id: str,
        price: Amount,
        length: int,
        root: str,
        ttl_seconds: int = 3600,
        idempotency_key: str | None = None,
        *,
        reader_key: str = "",
    ) -> tuple[str, str]:
        """Reserve length x price from the payer's wallet for one provider and return
        (channel id, signed certificate token). The certificate names `reader_key` (the
        reader's Ed25519 public key, base64url): past a cap, only signatures by it open a
        page. Raises InvalidChannel, ProviderNotFound, InsufficientFunds, AmountOutOfLimits."""
        if not 1 <= length <= MAX_CHAIN:
            raise InvalidChannel(f"a channel holds 1 to {MAX_CHAIN} payments")
        if not 60 <= ttl_seconds <= 30 * 86400:
            raise InvalidChannel("a channel lives from a minute to 30 days")
        if len(_b64decode(root)) != 32:
            raise InvalidChannel("the root is base64url of 32 bytes")
        if reader_key and not _is_public_key(reader_key):
            raise InvalidChannel("the reader key is base64url of an Ed25519 public key (32 bytes)")
        self.wallets.asset(price.asset.code)
        if price.units <= 0:
            raise InvalidChannel("the price must be positive")
        total = Amount(price.units * length, price.asset)  # raises past 64 bits
        self.wallets.check_amount(total, 1, self.settings.payment_max)
        channel_id = keyed_id(idempotency_key, "channel", payer_id)
        now = self.clock()
        expires_at = now // NS_PER_SECOND + ttl_seconds

        def work(session: LedgerSession) -> int:
            connection = session.connection
            found = connection.execute(
                select(channels.c.expires_at).where(channels.c.id == channel_id)
            ).first()
            if found is not None:
                return int(found.expires_at)
            provider = self._provider(connection, provider_id)
            if provider.user_id == payer_id:
                raise InvalidChannel("a provider does not pay itself")
            check_may_move_money(connection, payer_id)
            asset = price.asset.code
            payer = self.wallets.wallet(session, payer_id, asset)
            payee = self.wallets.wallet(session, provider.user_id, asset)
            hold_id = derived_id("transfer", channel_id, "hold")
            self.wallets.debit(
                session, payer, payee.account_id, hold_id, total.units, 0, TransferCode.PAYMENT,
                hold=True, timeout=ttl_seconds + GRACE_SECONDS,
            )  # fmt: skip
            connection.execute(
                insert(channels).values(
                    id=channel_id, payer_id=payer_id, provider_id=provider.id, asset=asset, price=price.units,
                    length=length, root=root, expires_at=expires_at, hold_id=hold_id.to_bytes(16, "big"),
                    status="open", claimed_index=0, created_at=now,
                )
            )  # fmt: skip
            return expires_at

        expires = self.ledger.run(work)
        payer = hashlib.sha256(f"{payer_id}:{provider_id}".encode()).hexdigest()[:24]
        certificate = Certificate(
            channel_id,
            provider_id,
            price.asset.code,
            price.units,
            length,
            root,
            expires,
            self.keys.current_id,
            payer,
            reader_key,
        )
        return channel_id, certificate.encode(certificate.sign(self.keys.current))

    def buy_pass(
        self,
        reader_id: str,
        provider_id: str,
        pattern: str,
        price: Amount,
        *,
        visits: int | None = None,
        hours: int | None = None,
        idempotency_key: str | None = None,
    ) -> str:
        """Pay the provider the pass price now and return the signed pass token. Sold only
        on the exact terms (pattern, price, asset, visits, hours) of a pass the provider
        published (`set_price_rules`): its middleware honours nothing else, so anything
        else would take the reader's money for a refused pass. Raises InvalidPass,
        PassNotOnSale, ProviderNotFound, InsufficientFunds."""
        if (visits is None) == (hours is None):
            raise InvalidPass("a pass is for a number of visits or a number of hours")
        if visits is not None and not 1 <= visits <= 100_000:
            raise InvalidPass("a pass holds 1 to 100,000 visits")
        if hours is not None and not 1 <= hours <= 24 * 366:
            raise InvalidPass("a pass lasts 1 hour to a year")
        provider = run_in_transaction(self.engine, lambda c: self._provider(c, provider_id), read_only=True)
        if not pass_on_sale(self.price_rules(provider.id), pattern, price.units, price.asset, visits, hours):
            raise PassNotOnSale(
                "the provider does not offer a pass on these terms; its offers are at "
                f"/v1/providers/{provider.id}/prices"
            )
        note = f"pass: {visits} visits" if visits else f"pass: {hours} hours"
        movement = self.wallets.pay(reader_id, provider.user_id, price, note, idempotency_key)
        starts = movement.created_at // NS_PER_SECOND
        expires_at = starts + (hours * 3600 if hours else 30 * 86400)
        value = Pass(movement.id, provider.id, pattern, price.units, price.asset.code, visits, expires_at,
                     self.keys.current_id)  # fmt: skip
        return value.encode(self.keys.current)

    def settle_claims(self, provider_user_id: str, claims: list[Claim]) -> list[ClaimResult]:
        """Settle each claim (the highest payment a provider received on a channel):
        post index x price to the provider less the fee, release the rest to the payer.
        A claim settles a channel once; sending it again answers already_settled.

        The whole batch is one transaction. A claim refused (not found, beyond its channel,
        a bad preimage, expired) answers its status and moves nothing; the others settle."""
        rule = self.settings.fees.get("paywall", FeeRule())

        def work(session: LedgerSession) -> list[ClaimResult]:
            # Every channel of the batch locked up front, in one order, so two batches
            # sharing channels queue rather than deadlock (PostgreSQL).
            keys = sorted(filter(None, (_channel_key(claim.channel_id) for claim in claims)))
            if keys:
                session.connection.execute(
                    select(channels.c.id)
                    .where(channels.c.id.in_(keys))
                    .order_by(channels.c.id)
                    .with_for_update()
                ).all()
            return [self._settle(session, provider_user_id, claim, rule) for claim in claims]

        return self.ledger.run(work)

    def _settle(
        self, session: LedgerSession, provider_user_id: str, claim: Claim, rule: FeeRule
    ) -> ClaimResult:
        """One claim of the batch, inside its transaction."""
        connection = session.connection
        key = _channel_key(claim.channel_id)
        if key is None:
            return ClaimResult(claim.channel_id, ClaimStatus.NOT_FOUND)
        # Locked so a refund cannot slip in between reading the refunds and settling.
        row = connection.execute(
            select(channels, providers.c.user_id.label("owner"))
            .join(providers, providers.c.id == channels.c.provider_id)
            .where(channels.c.id == key)
            .with_for_update(of=channels)
        ).first()
        if row is None or row.owner != provider_user_id:
            return ClaimResult(claim.channel_id, ClaimStatus.NOT_FOUND)
        if row.status == "settled":
            used = row.claimed_index * row.price
            settled = used if row.settled_paid is None else row.settled_paid  # settled before refunds
            return ClaimResult(
                key, ClaimStatus.ALREADY_SETTLED, row.claimed_index, settled,
                refunded=used - settled, asset=row.asset,
            )  # fmt: skip
        if not 0 <= claim.index <= row.length:
            return ClaimResult(key, ClaimStatus.BEYOND_CHANNEL)
        if not chain_reaches(claim.token, claim.index, _b64decode(row.root)):
            return ClaimResult(key, ClaimStatus.BAD_PREIMAGE)
        hold_id = int.from_bytes(row.hold_id, "big")
        used = claim.index * row.price
        refunded = connection.execute(
            select(func.coalesce(func.sum(channel_refunds.c.amount), 0)).where(
                channel_refunds.c.channel_id == key, channel_refunds.c.idx <= claim.index
            )
        ).scalar_one()
        paid, notes_spent = plan_credit_notes(
            connection, row.payer_id, row.provider_id, row.asset, used - int(refunded)
        )
        fee = min(paid, fee_for(paid, rule))
        settle_id = derived_id("transfer", key, "settle")
        if paid:
            post = TransferFlags.POST_PENDING_TRANSFER | (TransferFlags.LINKED if fee else TransferFlags.NONE)
            transfers = [Transfer(settle_id, pending_id=hold_id, amount=paid, flags=post)]
            if fee:
                payee = self.wallets.wallet(session, provider_user_id, row.asset)
                fee_account = PlatformAccount.FEE_REVENUE.account_id(row.asset)
                fee_id = derived_id("transfer", key, "fee")
                code = int(TransferCode.FEE)
                transfers.append(Transfer(fee_id, payee.account_id, fee_account, fee, row.asset, code=code))
        else:
            transfers = [Transfer(settle_id, pending_id=hold_id, flags=TransferFlags.VOID_PENDING_TRANSFER)]
        results = session.create_transfers(transfers)
        if _R.PENDING_EXPIRED in results:
            return ClaimResult(key, ClaimStatus.EXPIRED)
        expect_ok(results, f"settling channel {key}")
        apply_credit_notes(connection, notes_spent)
        connection.execute(
            update(channels)
            .where(channels.c.id == key)
            .values(status="settled", claimed_index=claim.index, settled_at=self.clock(), settled_paid=paid)
        )
        return ClaimResult(
            key, ClaimStatus.SETTLED, claim.index, paid, fee, row.length * row.price - paid,
            refunded=used - paid, asset=row.asset,
        )  # fmt: skip
