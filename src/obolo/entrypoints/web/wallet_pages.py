"""The wallet: balances, top-up, send, withdraw, history, statement CSV, spending chart."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse, Response
from markupsafe import escape

from obolo.adapters.cards import Card
from obolo.adapters.clock import NS_PER_SECOND, from_iso
from obolo.entrypoints.web.charts import Chart, series_from, stacked_bars
from obolo.entrypoints.web.context import Form, SignedIn, Visitor, finish, render, text
from obolo.entrypoints.web.form_keys import form_key, kept
from obolo.entrypoints.web.format import parse_amount
from obolo.entrypoints.web.problems import field_error
from obolo.entrypoints.web.statement_csv import statement_csv
from obolo.errors import InvalidRequest, NotFound, OboloError
from obolo.money import MoneyError
from obolo.reports import reader
from obolo.wallets.model import MovementStatus

router = APIRouter(include_in_schema=False)
CHART_DAYS = 30

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
        # Not the recipient's name: the notice would then tell an address with an account
        # from one without (money to the latter is held for them, docs/security.md).
        return page.t("Sent {amount}.", amount=amount)
    if movement.status is MovementStatus.FAILED:
        return page.t("The bank refused the withdrawal; the money is back in your wallet.")
    if movement.status is MovementStatus.SUCCEEDED:
        return page.t("Withdrawal of {amount} paid.", amount=amount)
    return page.t("Withdrawal of {amount} requested.", amount=amount)


def spending_chart(page: Visitor) -> Chart | None:
    """The reader's spending on sites over the last 30 days, by provider (None if nothing)."""
    now = page.platform.clock()
    days = [reader.day_of(now) - n * reader.DAY_NS for n in range(CHART_DAYS - 1, -1, -1)]
    spent = reader.spending(page.platform.engine, page.platform.clock, page.user_id, days[0])
    if not spent:
        return None
    asset = spent[0].asset  # one chart per asset would be clearer; EUR is the only one sites use
    rows = [(s.day, s.provider, s.units) for s in spent if s.asset == asset]
    series = series_from(rows)
    chart = stacked_bars(
        days,
        series,
        label=page.t("Spending by provider over the last 30 days"),
        day_label=page.day,
        amount_label=lambda units: page.money(units, asset),
    )
    legend = [(f"s{min(i, 5)}", one.name, page.money(one.total, asset)) for i, one in enumerate(series)]
    return Chart(chart, legend)


def _wallet_page(page: Visitor, status: int = 200, **context: object) -> Response:
    balances = page.platform.wallets.balances(page.user_id)
    return render(
        page,
        "wallet.html",
        status,
        title=page.t("Wallet"),
        balances=balances,
        breakdown={b.asset: b for b in page.platform.wallets.breakdown(page.user_id)},
        asset_options=[(code, code) for code in _assets(page)],
        test_cards=TEST_CARDS,
        chart=spending_chart(page),
        **context,
    )


@router.get("/wallet")
def wallet(page: SignedIn, done: str = "", m: str = "", n: int = 0) -> Response:
    if done == "claim":
        return _wallet_page(page, notice=page.t("Money waiting for you is in your wallet."))
    return _wallet_page(page, notice=_notice(page, done, m))


def _done(kind: str, movement_id: str) -> str:
    """Where the browser goes after a form that made a movement: the wallet, saying so."""
    return f"/wallet?done={kind}&m={movement_id}"


def _refused(page: Visitor, form_name: str, error: Exception, values: dict[str, str]) -> Response:
    name, message = field_error(error, page.t)
    return _wallet_page(page, 422, form=form_name, errors={name: message}, values={form_name: values})


# Each money form carries a random key (`form_keys`), so a double submit (or a refresh
# that re-posts) moves the money once.


@router.post("/wallet/topup")
def top_up(page: SignedIn, form: Form) -> Response:
    values = {
        name: text(form, name, 40) for name in ("amount", "asset", "number", "exp_month", "exp_year", "cvc")
    }
    key = form_key(form)
    try:
        asset = page.platform.wallets.asset(values["asset"] or "EUR")
        amount = parse_amount(values["amount"], asset)
        card = Card(
            values["number"],
            _int(values["exp_month"]),
            _int(values["exp_year"]),
            values["cvc"],
        )
        wallets = page.platform.wallets
        location = kept(
            page,
            page.user_id,
            key,
            form,
            lambda: _done("topup", wallets.top_up(page.user_id, amount, card, key).id),
        )
    except (OboloError, MoneyError) as error:
        return _refused(page, "topup", error, values)
    return finish(page, RedirectResponse(location, status_code=303))


@router.post("/wallet/send")
def send(page: SignedIn, form: Form) -> Response:
    values = {name: text(form, name, 254) for name in ("to", "amount", "asset", "note")}
    if not values["to"]:
        # Said on its own, beside the field, whatever else the form lacks.
        missing = page.t("Write the email or phone number of the person to pay.")
        return _wallet_page(page, 422, form="send", errors={"to": missing}, values={"send": values})
    key = form_key(form)
    try:
        asset = page.platform.wallets.asset(values["asset"] or "EUR")
        amount = parse_amount(values["amount"], asset)
        wallets = page.platform.wallets
        note = values["note"][:280] or None
        location = kept(
            page, page.user_id, key, form,
            lambda: _done("payment", wallets.pay(page.user_id, values["to"], amount, note, key).id),
        )  # fmt: skip
    except (OboloError, MoneyError) as error:
        return _refused(page, "send", error, values)
    return finish(page, RedirectResponse(location, status_code=303))


@router.post("/wallet/withdraw")
def withdraw(page: SignedIn, form: Form) -> Response:
    values = {name: text(form, name, 60) for name in ("amount", "asset", "iban")}
    key = form_key(form)
    try:
        asset = page.platform.wallets.asset(values["asset"] or "EUR")
        amount = parse_amount(values["amount"], asset)
        wallets = page.platform.wallets
        location = kept(
            page, page.user_id, key, form,
            lambda: _done("withdrawal", wallets.withdraw(page.user_id, amount, values["iban"], key).id),
        )  # fmt: skip
    except (OboloError, MoneyError) as error:
        return _refused(page, "withdraw", error, values)
    return finish(page, RedirectResponse(location, status_code=303))


@router.post("/wallet/claim")
def claim(page: SignedIn, form: Form) -> Response:
    """Money sent to this account's email before it had one, on the code mailed with it."""
    values = {"code": text(form, "code", 40)}
    try:
        claimed = page.platform.invitations.claim(page.user_id, values["code"])
    except OboloError as error:
        return _refused(page, "claim", error, values)
    return finish(page, RedirectResponse(f"/wallet?done=claim&n={len(claimed)}", status_code=303))


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


def _when(text: str | None, default: int) -> int:
    """An ISO 8601 date or time from the statement link, as ns; InvalidRequest otherwise."""
    if not text:
        return default
    try:
        return from_iso(text)
    except ValueError as error:
        raise InvalidRequest("dates are ISO 8601, e.g. 2026-11-01") from error


def _date(value: str, page: Visitor, name: str, errors: dict[str, str], *, end: bool = False) -> int | None:
    """A yyyy-mm-dd filter as ns (UTC); an end date includes its whole day."""
    if not value:
        return None
    try:
        start = from_iso(value[:10])
    except ValueError:
        errors[name] = page.t("Enter a date like 2026-11-01.")
        return None
    return start + 86_400 * NS_PER_SECOND if end else start


#: The kinds a history entry can have (obolo.wallets.activity and the products' describers),
#: each with the label the filter shows (never the code).
HISTORY_KIND_LABELS = {
    "topup": "Top-ups", "payment": "Payments", "withdrawal": "Withdrawals", "fee": "Fees",
    "paywall": "Paid reading", "settlement": "Site earnings", "task": "Tasks", "reward": "Task rewards",
    "bonus": "Bonuses", "tap": "Card taps", "adjustment": "Adjustments", "checkout": "Shop purchases",
    "refund": "Shop refunds",
}  # fmt: skip
HISTORY_KINDS = tuple(HISTORY_KIND_LABELS)


@router.get("/wallet/history")
def history(
    page: SignedIn,
    kind: Annotated[str, Query(max_length=20)] = "",
    direction: Annotated[str, Query(max_length=5)] = "",
    asset: Annotated[str, Query(max_length=12)] = "",
    start: Annotated[str, Query(alias="from", max_length=30)] = "",
    end: Annotated[str, Query(alias="to", max_length=30)] = "",
    cursor: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    errors: dict[str, str] = {}
    chosen_kind = kind if kind in HISTORY_KINDS else None
    chosen_direction = direction if direction in ("in", "out") else None
    chosen_asset = asset if asset in page.platform.wallets.assets else None
    since = _date(start, page, "from", errors)
    until = _date(end, page, "to", errors, end=True)
    try:
        entries, next_cursor = page.platform.wallets.activity(
            page.user_id, 50, cursor or None, kind=chosen_kind, direction=chosen_direction,
            asset=chosen_asset, start=since, end=until,
        )  # fmt: skip
    except OboloError:  # a cursor that was not ours: start again from the newest
        entries, next_cursor = page.platform.wallets.activity(page.user_id, 50)
    filters = {"kind": kind, "direction": direction, "asset": asset, "from": start, "to": end}
    next_query = "&".join(f"{k}={escape(v)}" for k, v in filters.items() if v)
    return render(
        page,
        "history.html",
        422 if errors else 200,
        title=page.t("History"),
        entries=entries,
        next_cursor=next_cursor,
        next_query=next_query,
        filters=filters,
        errors=errors,
        kinds=[(kind, page.t(label)) for kind, label in HISTORY_KIND_LABELS.items()],
        asset_options=[("", page.t("All"))] + [(code, code) for code in _assets(page)],
    )


@router.get("/wallet/statement.csv")
def statement(
    page: SignedIn,
    asset: Annotated[str, Query(min_length=3, max_length=12)] = "EUR",
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
) -> Response:
    """The statement GET /v1/statements.csv gives, written for a person in the page's language."""
    try:
        since, until = _when(start, 0), _when(end, page.platform.clock() + NS_PER_SECOND)
        return finish(page, statement_csv(page, page.platform.wallets.asset(asset).code, since, until))
    except OboloError as error:
        return render(page, "error.html", 422, title=page.t("History"), message=field_error(error, page.t)[1])
