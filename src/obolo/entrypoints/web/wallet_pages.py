"""The wallet: balances, top-up, send, withdraw, history, statement CSV, spending chart."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from obolo.adapters.cards import Card
from obolo.entrypoints.web.context import Form, SignedIn, Visitor, finish, render, text
from obolo.entrypoints.web.format import parse_amount
from obolo.entrypoints.web.problems import field_error
from obolo.errors import NotFound, OboloError
from obolo.money import MoneyError
from obolo.wallets.errors import RecipientNotFound
from obolo.wallets.model import MovementStatus

router = APIRouter(include_in_schema=False)

TEST_CARDS = [
    ("4242 4242 4242 4242", "succeeds"),
    ("4000 0000 0000 0002", "is declined"),
    ("4000 0000 0000 9995", "has insufficient funds"),
]


def _assets(page: Visitor) -> list[str]:
    return sorted(page.platform.wallets.assets)


def _notice(page: Visitor, done: str, movement_id: str) -> str | None:
    """The result of the form just sent, read back from the movement it made (so a
    notice cannot claim what did not happen, nor show someone else's movement)."""
    if not done or not movement_id:
        return None
    try:
        movement = page.platform.wallets.movement(page.user_id, movement_id)
    except (NotFound, ValueError):  # a stale or foreign link shows no notice
        return None
    amount = page.money(movement.amount, movement.asset)
    if done == "topup":
        return page.t("Topped up {amount}.", amount=amount)
    if done == "payment":
        recipient = page.platform.identity.get_user(movement.to_user_id or "")
        return page.t("Sent {amount} to {to}.", amount=amount, to=recipient.display_name)
    if movement.status is MovementStatus.FAILED:
        return page.t("The bank refused the withdrawal; the money is back in your wallet.")
    if movement.status is MovementStatus.SUCCEEDED:
        return page.t("Withdrawal of {amount} paid.", amount=amount)
    return page.t("Withdrawal of {amount} requested.", amount=amount)


def _wallet_page(page: Visitor, status: int = 200, **context: object) -> Response:
    balances = page.platform.wallets.balances(page.user_id)
    return render(
        page,
        "wallet.html",
        status,
        title=page.t("Wallet"),
        balances=balances,
        asset_options=[(code, code) for code in _assets(page)],
        test_cards=TEST_CARDS,
        **context,
    )


@router.get("/wallet")
def wallet(page: SignedIn, done: str = "", m: str = "") -> Response:
    return _wallet_page(page, notice=_notice(page, done, m))


def _done(page: Visitor, kind: str, movement_id: str) -> Response:
    return finish(page, RedirectResponse(f"/wallet?done={kind}&m={movement_id}", status_code=303))


def _refused(page: Visitor, form_name: str, error: Exception, values: dict[str, str]) -> Response:
    name, message = field_error(error, page.t)
    return _wallet_page(page, 422, form=form_name, errors={name: message}, values={form_name: values})


def _key(given: str) -> str | None:
    """The form's idempotency key: a random value rendered into the form, so a double
    submit (or a refresh that re-posts) moves the money once."""
    try:
        return str(uuid.UUID(given))
    except ValueError:
        return None


@router.post("/wallet/topup")
def top_up(page: SignedIn, form: Form) -> Response:
    values = {
        name: text(form, name, 40) for name in ("amount", "asset", "number", "exp_month", "exp_year", "cvc")
    }
    try:
        asset = page.platform.wallets.asset(values["asset"] or "EUR")
        amount = parse_amount(values["amount"], asset)
        card = Card(
            values["number"],
            _int(values["exp_month"]),
            _int(values["exp_year"]),
            values["cvc"],
        )
        movement = page.platform.wallets.top_up(page.user_id, amount, card, _key(text(form, "key")))
    except (OboloError, MoneyError) as error:
        return _refused(page, "topup", error, values)
    return _done(page, "topup", movement.id)


@router.post("/wallet/send")
def send(page: SignedIn, form: Form) -> Response:
    values = {name: text(form, name, 254) for name in ("to", "amount", "asset", "note")}
    try:
        asset = page.platform.wallets.asset(values["asset"] or "EUR")
        amount = parse_amount(values["amount"], asset)
        if not values["to"]:
            raise RecipientNotFound("no recipient given")
        movement = page.platform.wallets.pay(
            page.user_id, values["to"], amount, values["note"][:280] or None, _key(text(form, "key"))
        )
    except (OboloError, MoneyError) as error:
        return _refused(page, "send", error, values)
    return _done(page, "payment", movement.id)


@router.post("/wallet/withdraw")
def withdraw(page: SignedIn, form: Form) -> Response:
    values = {name: text(form, name, 60) for name in ("amount", "asset", "iban")}
    try:
        asset = page.platform.wallets.asset(values["asset"] or "EUR")
        amount = parse_amount(values["amount"], asset)
        movement = page.platform.wallets.withdraw(
            page.user_id, amount, values["iban"], _key(text(form, "key"))
        )
    except (OboloError, MoneyError) as error:
        return _refused(page, "withdraw", error, values)
    return _done(page, "withdrawal", movement.id)


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0
