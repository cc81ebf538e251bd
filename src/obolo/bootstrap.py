"""The one place real adapters are wired to services. Tests build the same `Platform`
with fakes (a clock they move by hand, an HTTP transport they script)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

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
from obolo.sms.payment_requests import PaymentRequestsBySms  # checkout
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


@dataclass
class Platform:
    settings: Settings
    engine: Engine
    clock: Clock
    ledger: Ledger
    cards: CardProcessor
    bank: BankPayouts
    secrets: SecretBox
    identity: IdentityService
    wallets: WalletService
    webhooks: WebhookService
    keys: SigningKeys
    paywall: PaywallService
    tabs: TabService
    channel_refunds: ChannelRefunds
    # tasks
    tasks: TaskService
    tap: TapService  # tap
    # sms
    sms_gateway: SmsGateway
    sms: SmsService
    # every outbound HTTP request goes through a client from here (never a bare httpx.Client)
    egress: EgressGuard = field(default_factory=EgressGuard)
    # invitations: money to an email or number without an account, held until claimed;
    # notices by email (the console gateway until a provider adapter is configured)
    invitations: Invitations = field(init=False)
    email_gateway: EmailGateway = field(default_factory=ConsoleEmailGateway)
    # the one write path: every write transaction of the process, group-committed
    writer: WritePath | None = None

    def __post_init__(self) -> None:
        self.identity.challenge_key = self.secrets.derive("sign-in-challenge")  # two-factor sign-in
        self.invitations = Invitations(self.wallets)
        # A number verified by SMS claims what API payments hold for it.
        self.sms.claimers.append(self.invitations.claim_phone)
        self.sms.payment_requests = PaymentRequestsBySms(self.sms, self.checkout)  # checkout: PAY <code>

    # widget: paying on another site through the wallet's popup, and anonymous trial tabs
    @cached_property
    def widget(self) -> WidgetService:
        return WidgetService(
            self.engine, self.clock, self.paywall, self.tabs, self.keys, self.wallets.assets, self.purchases
        )

    # what a reader bought follows them to any device; passes bought through the wallet
    @cached_property
    def purchases(self) -> PurchaseService:
        return PurchaseService(
            self.engine, self.clock, self.paywall, self.channel_refunds, self.keys, self.wallets.assets
        )

    @cached_property
    def anonymous(self) -> AnonymousTabs:
        limits = (self.settings.anonymous_tab_limit, self.settings.anonymous_tabs_per_address)
        return AnonymousTabs(self.engine, self.ledger, self.clock, self.tabs, self.widget, self.keys, *limits)

    # people who joined by SMS sign in on the web with a code texted to their number
    @cached_property
    def phone_sign_in(self) -> PhoneSignIn:
        return PhoneSignIn(self.identity, self.sms_gateway, self.secrets.derive("phone-sign-in-code"))

    # an account its holder manages: password, email, phone, sessions, two-factor sign-in
    @cached_property
    def account(self) -> AccountService:
        return AccountService(self.identity, self.phone_sign_in, self.secrets.derive("contact-codes"))

    @cached_property
    def two_factor(self) -> TwoFactor:
        return TwoFactor(self.identity, self.secrets)

    # settlement: paying people out, and reconciling with the processor and the bank
    @cached_property
    def payouts(self) -> PayoutService:
        return PayoutService(self.engine, self.ledger, self.clock, self.wallets, self.secrets, self.settings)

    @cached_property
    def reconciler(self) -> Reconciler:
        return Reconciler(self.engine, self.ledger, self.cards, self.bank)

    # checkout: payment requests for shops and auctions, paid from the wallet
    @cached_property
    def checkout(self) -> CheckoutService:
        return CheckoutService(self.engine, self.ledger, self.clock, self.wallets, self.keys, self.settings)

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
) -> Platform:
    """Wire the platform over the database at `url` (else settings, else the default).
    Migrations run when `migrate` is true, or by default on SQLite. Outbound requests
    follow `egress`, else the allow-list in the settings (a bad entry raises ValueError)."""
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
        writer = WritePath(engine, threads=settings.write_threads).install()
    local = None
    if is_sqlite(engine) and engine.url.database not in (None, "", ":memory:"):
        local = Path(str(engine.url.database))
    if secrets is None:
        secrets = SecretBox.from_environment(local.with_suffix(".secret-key") if local else None)
    if keys is None:
        keys = SigningKeys.from_environment(local.with_suffix(".signing-key") if local else None)
    cards = SandboxCardProcessor(engine, clock)
    bank = SandboxBank(engine, clock)
    identity = IdentityService(engine, clock, settings)
    wallets = WalletService(engine, ledger, clock, cards, bank, settings, secrets=secrets)
    webhooks = WebhookService(engine, clock, secrets, egress)
    paywall = PaywallService(engine, ledger, clock, wallets, keys, settings)
    tabs = TabService(engine, ledger, clock, wallets, paywall, keys, settings)
    channel_refunds = ChannelRefunds(engine, clock, paywall, secrets, settings)
    tasks = TaskService(engine, ledger, clock, wallets, settings)
    # tap: card UIDs are keyed by OBOLO_CARD_KEY (a key file beside a local SQLite database)
    if card_key is None:
        card_key = card_key_from_environment(local.with_suffix(".card-key") if local else None)
    tap = TapService(engine, ledger, clock, wallets, keys, card_key, settings)
    # history: each product names its own transfers in people's wallet history
    wallets.register_describer(describe_paywall_transfers)
    wallets.register_describer(describe_task_transfers)
    wallets.register_describer(describe_tap_transfers)
    wallets.register_describer(describe_checkout_transfers)  # checkout
    wallets.register_describer(describe_invitation_transfers)
    # spending: what was bought on holds, shown as it happens, and summed
    wallets.register_spending(paywall_purchases, paywall_spent, paywall_held_spent)
    wallets.register_spending(tap_purchases, tap_spent, tap_held_spent)
    sms_gateway = sms_gateway_for(settings, egress)
    sms = SmsService(engine, clock, wallets, sms_gateway, settings)
    return Platform(
        settings,
        engine,
        clock,
        ledger,
        cards,
        bank,
        secrets,
        identity,
        wallets,
        webhooks,
        keys,
        paywall,
        tabs,
        channel_refunds,
        tasks,
        tap,
        sms_gateway,
        sms,
        egress,
        writer=writer,
    )
