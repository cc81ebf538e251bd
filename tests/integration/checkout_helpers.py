"""A shop for checkout tests: a merchant with a registered site, buyers with money."""

from __future__ import annotations

from sqlalchemy import func, select

from obolo.adapters.cards import Card
from obolo.adapters.db.schema_checkout import checkout_refunds, checkout_requests
from obolo.checkout.model import LineItem, Terms
from obolo.identity.model import Role
from obolo.money import EUR, Amount
from obolo.settings import FeeRule, Settings
from obolo.wallets.model import PlatformAccount
from tests.factories import make_user

# 1% of each sale to the platform: 20.00 → the seller gets 19.80.
SETTINGS = Settings(
    fees={"payment": FeeRule(), "topup": FeeRule(), "withdrawal": FeeRule(), "checkout": FeeRule(100, 0)}
)
CARD = Card("4242424242424242", 12, 2031, "123")
SHOP = "https://shop.example"


def eur(text: str) -> Amount:
    return Amount.parse(text, EUR)


def units(text: str) -> int:
    return eur(text).units


def person(platform, name: str, top_up: str | None = None) -> str:
    user_id = make_user(platform.engine, f"{name}@example.com")
    if top_up:
        platform.wallets.top_up(user_id, eur(top_up), CARD)
    return user_id


def merchant(platform, name: str = "seller", origin: str = SHOP) -> tuple[str, str]:
    """(the merchant's user id, its provider id) for a site on `origin`."""
    user_id = person(platform, name)
    platform.identity.add_role(user_id, Role.PROVIDER)
    return user_id, platform.paywall.register_provider(user_id, f"{name.title()} Shop", origin).id


def terms(amount: str | int = "20.00", **more) -> Terms:
    """A camera for `amount` (decimal text, or units as an int)."""
    amount = units(amount) if isinstance(amount, str) else amount
    values = {
        "amount": amount, "description": "Vintage camera", "reference": "order-1",
        "return_url": f"{SHOP}/orders/1/paid",
        "items": (LineItem("Camera", 1, amount),),
    } | more  # fmt: skip
    return Terms(**values)


def balance(platform, user_id) -> tuple[int, int]:
    """(available, reserved) of the user's EUR wallet."""
    for b in platform.wallets.balances(user_id):
        if b.asset == "EUR":
            return b.available, b.reserved
    return 0, 0


def revenue(platform) -> int:
    found = platform.ledger.lookup_accounts([PlatformAccount.FEE_REVENUE.account_id("EUR")])
    return found[0].balance if found else 0


def snapshot(platform, *people) -> tuple:
    """Every balance that could move, how many transfers the ledger holds, and how many
    payment requests and refunds exist."""
    with platform.engine.connect() as connection:
        transfers = connection.exec_driver_sql("SELECT COUNT(*) FROM ledger_transfers").scalar()
        requests = connection.execute(select(func.count()).select_from(checkout_requests)).scalar()
        refunds = connection.execute(select(func.count()).select_from(checkout_refunds)).scalar()
    return (*tuple(balance(platform, p) for p in people), revenue(platform), transfers, requests, refunds)
