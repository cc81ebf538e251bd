"""The one place real adapters are wired to services. Tests build the same `Platform`
with fakes (a clock they move by hand, an HTTP transport they script)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from sqlalchemy import Engine

from obolo.account.service import AccountService
from obolo.adapters.bank import BankPayouts, SandboxBank
from obolo.adapters.cardkey import card_key_from_environment  # tap
from obolo.adapters.cards import CardProcessor, SandboxCardProcessor
from obolo.adapters.clock import Clock, system_clock
from obolo.adapters.db.engine import is_sqlite, make_engine
from obolo.adapters.db.migrate import upgrade
from obolo.adapters.db.write_path import WritePath
from obolo.adapters.egress import EgressGuard, EgressPolicy
from obolo.adapters.email_gateway import ConsoleEmailGateway, EmailGateway
from obolo.adapters.secretbox import SecretBox
from obolo.adapters.signing import SigningKeys
from obolo.adapters.sms_gateway import (
    ConsoleSmsGateway,
    HttpSmsGateway,
    SmsGateway,
    UnconfiguredSmsGateway,
)
from obolo.checkout.history import describe_checkout_transfers  # checkout
from obolo.checkout.service import CheckoutService  # checkout
from obolo.identity.service import IdentityService
from obolo.identity.two_factor import TwoFactor
from obolo.ledger import Ledger
from obolo.paywall.anonymous import AnonymousTabs
from obolo.paywall.channel_spending import ChannelSpending
from obolo.paywall.history import describe_paywall_transfers
from obolo.paywall.purchases import PurchaseService
from obolo.paywall.refunds import ChannelRefunds
from obolo.paywall.service import PaywallService
from obolo.paywall.spending import paywall_held_spent, paywall_purchases, paywall_spent
from obolo.paywall.tabs import TabService
from obolo.paywall.widget import WidgetService
from obolo.settings import Settings
from obolo.settlement.payouts import PayoutService
from obolo.settlement.reconciliation import Reconciler
from obolo.sms.phone_sign_in import PhoneSignIn
from obolo.sms.service import SmsService
from obolo.tap.history import describe_tap_transfers
from obolo.tap.service import TapService  # tap
from obolo.tap.spending import tap_held_spent, tap_purchases, tap_spent
from obolo.tasks.history import describe_task_transfers
from obolo.tasks.service import TaskService
from obolo.wallets.invitations import Invitations, describe_invitation_transfers
from obolo.wallets.service import WalletService
from obolo.webhooks.service import WebhookService


@dataclass(kw_only=True)
class Platform:
    """Every adapter and service of one process, built once by `build` in dependency order."""

    # -- adapters -----------------------------------------------------------------------------
    settings: Settings
    engine: Engine
    clock: Clock
    ledger: Ledger
    # the one write path: every write transaction of the process, group-committed
    writer: WritePath | None
    # every outbound HTTP request goes through a client from here (never a bare httpx.Client)
    egress: EgressGuard
    secrets: SecretBox
    keys: SigningKeys
    cards: CardProcessor
    bank: BankPayouts
    sms_gateway: SmsGateway
    # notices by email (the console gateway until a provider adapter is configured)
    email_gateway: EmailGateway
    # -- people: sign-in, two-factor, an account its holder manages ---------------------------
    identity: IdentityService
    two_factor: TwoFactor
    # people who joined by SMS sign in on the web with a code texted to their number
    phone_sign_in: PhoneSignIn
    account: AccountService
    # -- wallets ------------------------------------------------------------------------------
    wallets: WalletService
    # money to an email or number without an account, held until claimed
    invitations: Invitations
    webhooks: WebhookService
    # -- paywall ------------------------------------------------------------------------------
    paywall: PaywallService
    tabs: TabService
    channel_refunds: ChannelRefunds
    # what a reader bought follows them to any device; passes bought through the wallet
    purchases: PurchaseService
    # paying on another site through the wallet's popup, and anonymous trial tabs
    widget: WidgetService
    anonymous: AnonymousTabs
    # -- tasks, tap, checkout (payment requests for shops and auctions), sms ------------------
    tasks: TaskService
    tap: TapService
    checkout: CheckoutService
    sms: SmsService
    # -- settlement: paying people out, and reconciling with the processor and the bank -------
    payouts: PayoutService
    reconciler: Reconciler

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.engine.dispose()


def sms_gateway_for(settings: Settings, egress: EgressGuard | None = None) -> SmsGateway:
    """The HTTP gateway when one is configured; else, in a demo only, the console (texts in
    the log and on the simulator page); else none: texts wait in the outbox, unseen."""
    if settings.sms_gateway_url and settings.sms_auth_token:
        return HttpSmsGateway(
            settings.sms_gateway_url,
            settings.sms_gateway_user or "",
            settings.sms_auth_token,
            settings.sms_gateway_from or "Obolo",
            (egress or EgressGuard()).client(timeout=10.0),
        )
    if settings.demo:
        return ConsoleSmsGateway()
    return UnconfiguredSmsGateway()


def build(
    settings: Settings | None = None,
    *,
    url: str | None = None,
    clock: Clock = system_clock,
    migrate: bool | None = None,
    secrets: SecretBox | None = None,
    keys: SigningKeys | None = None,
    card_key: bytes | None = None,
    egress: EgressGuard | None = None,
    sms_gateway: SmsGateway | None = None,
    email_gateway: EmailGateway | None = None,
    hasher: PasswordHasher | None = None,
) -> Platform:
    """Wire the platform over the database at `url` (else settings, else the default).
    Migrations run when `migrate` is true, or by default on SQLite. Outbound requests
    follow `egress`, else the allow-list in the settings (a bad entry raises ValueError).
    Tests pass fakes for the adapters (a clock, gateways, a cheap password `hasher`)."""
    # -- adapters -----------------------------------------------------------------------------
    settings = settings or Settings.from_environment()
    egress = egress or EgressGuard(EgressPolicy.parse(settings.egress_allow))
    engine = make_engine(url or settings.database_url)
    if migrate or (migrate is None and is_sqlite(engine)):
        upgrade(engine)
    ledger = Ledger(engine, clock=clock)
    ledger.register_assets_defaults()
    # Every write from here on is group-committed by one writer (an in-memory SQLite database
    # is one connection shared by all threads: its writes stay where they are made).
    writer = None
    if not (is_sqlite(engine) and engine.url.database in (None, "", ":memory:")):
        writer = WritePath(engine, threads=settings.write_threads, max_batch=settings.write_batch).install()
    local = None
    if is_sqlite(engine) and engine.url.database not in (None, "", ":memory:"):
        local = Path(str(engine.url.database))
    if secrets is None:
        secrets = SecretBox.from_environment(local.with_suffix(".secret-key") if local else None)
    if keys is None:
        keys = SigningKeys.from_environment(local.with_suffix(".signing-key") if local else None)
    # tap: card UIDs are keyed by OBOLO_CARD_KEY (a key file beside a local SQLite database)
    if card_key is None:
        card_key = card_key_from_environment(local.with_suffix(".card-key") if local else None)
    cards = SandboxCardProcessor(engine, clock)
    bank = SandboxBank(engine, clock)
    sms_gateway = sms_gateway or sms_gateway_for(settings, egress)
    email_gateway = email_gateway or ConsoleEmailGateway()
    # -- people -------------------------------------------------------------------------------
    identity = IdentityService(
        engine, clock, settings, hasher, challenge_key=secrets.derive("sign-in-challenge")
    )
    two_factor = TwoFactor(identity, secrets)
    phone_sign_in = PhoneSignIn(identity, sms_gateway, secrets.derive("phone-sign-in-code"))
    account = AccountService(identity, phone_sign_in, secrets.derive("contact-codes"))
    # -- wallets ------------------------------------------------------------------------------
    wallets = WalletService(engine, ledger, clock, cards, bank, settings, secrets=secrets)
    invitations = wallets.invitations  # its payments hold what is sent to an address without an account
    webhooks = WebhookService(engine, clock, secrets, egress)
    # -- paywall ------------------------------------------------------------------------------
    paywall = PaywallService(engine, ledger, clock, wallets, keys, settings)
    tabs = TabService(engine, ledger, clock, wallets, paywall, keys, settings)
    channel_refunds = ChannelRefunds(engine, clock, paywall, secrets, settings)
    purchases = PurchaseService(engine, clock, paywall, channel_refunds, keys, wallets.assets)
    widget = WidgetService(engine, clock, paywall, tabs, keys, wallets.assets, purchases)
    anonymous = AnonymousTabs(
        engine, ledger, clock, tabs, widget, keys,
        settings.anonymous_tab_limit, settings.anonymous_tabs_per_address,
    )  # fmt: skip
    # -- tasks, tap, checkout -----------------------------------------------------------------
    tasks = TaskService(engine, ledger, clock, wallets, settings)
    tap = TapService(engine, ledger, clock, wallets, keys, card_key, settings)
    checkout = CheckoutService(engine, ledger, clock, wallets, keys, settings)
    # history: each product names its own transfers in people's wallet history
    wallets.register_describer(describe_paywall_transfers)
    wallets.register_describer(describe_task_transfers)
    wallets.register_describer(describe_tap_transfers)
    wallets.register_describer(describe_checkout_transfers)  # checkout
    wallets.register_describer(describe_invitation_transfers)
    # spending: what was bought on holds, shown as it happens, and summed
    wallets.register_spending(paywall_purchases, paywall_spent, paywall_held_spent)
    channel_views = ChannelSpending(clock)
    wallets.register_spending(channel_views.purchases, channel_views.spent, channel_views.held_spent)
    wallets.register_spending(tap_purchases, tap_spent, tap_held_spent)
    # -- sms ----------------------------------------------------------------------------------
    # PAY <code> pays checkout's requests; a number verified by SMS claims what API payments
    # hold for it.
    sms = SmsService(
        engine, ledger, clock, wallets, sms_gateway, settings,
        checkout=checkout, claimers=[invitations.claim_phone], hasher=hasher,
    )  # fmt: skip
    # -- settlement ---------------------------------------------------------------------------
    payouts = PayoutService(engine, ledger, clock, wallets, secrets, settings)
    reconciler = Reconciler(engine, ledger, cards, bank)
    return Platform(
        settings=settings, engine=engine, clock=clock, ledger=ledger, writer=writer, egress=egress,
        secrets=secrets, keys=keys, cards=cards, bank=bank, sms_gateway=sms_gateway,
        email_gateway=email_gateway,
        identity=identity, two_factor=two_factor, phone_sign_in=phone_sign_in, account=account,
        wallets=wallets, invitations=invitations, webhooks=webhooks,
        paywall=paywall, tabs=tabs, channel_refunds=channel_refunds, purchases=purchases, widget=widget,
        anonymous=anonymous,
        tasks=tasks, tap=tap, checkout=checkout, sms=sms,
        payouts=payouts, reconciler=reconciler,
    )  # fmt: skip
