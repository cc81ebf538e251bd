"""The provider dashboard: earnings (chart), views and revenue per resource, open
channels, settlements and fees, the price rules editor, API keys and the snippet."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from obolo.entrypoints.api.paywall_routes import PriceRules
from obolo.entrypoints.web.charts import Chart, series_from, stacked_bars
from obolo.entrypoints.web.context import Form, PageForbidden, SignedIn, Visitor, finish, render, text
from obolo.entrypoints.web.format import in_language, parse_amount, plain
from obolo.entrypoints.web.problems import FORM
from obolo.errors import NotFound, OboloError
from obolo.identity.model import Role
from obolo.locale import SPAN_UNITS, span_in_units
from obolo.money import MoneyError
from obolo.paywall.errors import InvalidReaccessPeriod
from obolo.paywall.model import MAX_REACCESS_SECONDS, Provider
from obolo.reports import provider as reports
from obolo.reports.reader import DAY_NS, day_of

router = APIRouter(include_in_schema=False)
CHART_DAYS = 30
PRICE_ROWS = 3  # blank rows offered below the existing rules
PASS_ROWS = 2
#: The re-access form's units, as the page names them (translated).
UNIT_NAMES = {"day": "days", "hour": "hours", "minute": "minutes", "second": "seconds"}
KEY_SCOPES = {
    "provider": ["provider:*"],
    "read": ["provider:read"],
}


def _provider(page: Visitor) -> Visitor:
    if not page.has(Role.PROVIDER):
        raise PageForbidden("This page is for providers only.")
    return page


def _site(page: Visitor, sites: list[Provider], wanted: str) -> Provider | None:
    """The chosen site, which must be one of this person's own."""
    if not sites:
        return None
    if not wanted:
        return sites[0]
    for site in sites:
        if site.id == wanted:
            return site
    raise NotFound("no such site of yours")


def earnings_chart(page: Visitor, site: Provider) -> tuple[Chart | None, int, str]:
    now = page.platform.clock()
    days = [day_of(now) - n * DAY_NS for n in range(CHART_DAYS - 1, -1, -1)]
    rows = reports.earnings(page.platform.engine, site, days[0])
    if not rows:
        return None, 0, "EUR"
    asset = rows[0].asset
    names = {"views": page.t("Views"), "channels": page.t("Channels"), "passes": page.t("Passes")}
    series = series_from([(r.day, names[r.source], r.units) for r in rows if r.asset == asset])
    svg = stacked_bars(
        days,
        series,
        label=page.t("Earnings over the last 30 days"),
        day_label=page.day,
        amount_label=lambda units: page.money(units, asset),
    )
    legend = [(f"s{i}", one.name, page.money(one.total, asset)) for i, one in enumerate(series)]
    return Chart(svg, legend), sum(one.total for one in series), asset


AMOUNT_FIELDS = frozenset({"price", "daily_cap", "monthly_cap"})
PLAIN = re.compile(r"[0-9]+\.[0-9]+")  # as the API writes amounts; what a person typed stays as typed


def _rules_rows(page: Visitor, rules: dict[str, Any]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The rules document as the editor's rows, amounts in the page's decimal mark."""

    def shown(key: str, value: Any) -> str:
        text = str(value or "")
        return in_language(text, page.language) if key in AMOUNT_FIELDS and PLAIN.fullmatch(text) else text

    def row(rule: dict[str, Any]) -> dict[str, str]:
        return {k: shown(k, v) for k, v in rule.items()}

    prices = [row(rule) for rule in rules.get("prices", [])] + [{} for _ in range(PRICE_ROWS)]
    passes = [row(rule) for rule in rules.get("passes", [])] + [{} for _ in range(PASS_ROWS)]
    return prices, passes


def _dashboard(page: Visitor, site_id: str = "", status: int = 200, **context: Any) -> Response:
    sites = reports.sites_of(page.platform.engine, page.user_id)
    try:
        site = _site(page, sites, site_id)
    except NotFound:
        return render(
            page, "error.html", 404, title=page.t("Page not found"), message=page.t("Page not found")
        )
    values: dict[str, Any] = {"sites": sites, "site": site}
    if site is not None:
        engine, now = page.platform.engine, page.platform.clock()
        chart, total, chart_asset = earnings_chart(page, site)
        rules = context.pop("rules", None) or page.platform.paywall.price_rules(site.id)
        price_rows, pass_rows = _rules_rows(page, rules)
        values.update(
            chart=chart,
            total=total,
            chart_asset=chart_asset,
            resources=reports.resources(engine, site, now - CHART_DAYS * DAY_NS),
            open_channels=reports.open_channels(engine, site),
            settlements=reports.settlements(engine, site),
            price_rows=price_rows,
            pass_rows=pass_rows,
            reaccess=context.pop("reaccess", None) or _reaccess_fields(site.reaccess_seconds),
            span_units=[(unit, page.t(UNIT_NAMES[unit])) for unit, _ in SPAN_UNITS],
            server=_server(page),
        )
    values["keys"] = [k for k in page.platform.identity.list_api_keys(page.user_id) if k.revoked_at is None]
    values.update(context)
    return render(page, "provider.html", status, title=page.t("Provider"), **values)


def _server(page: Visitor) -> str:
    configured = page.platform.settings.public_url
    return (configured or str(page.request.base_url)).rstrip("/")


@router.get("/provider")
def dashboard(page: SignedIn, site: Annotated[str, Query(max_length=40)] = "", done: str = "") -> Response:
    if not page.has(Role.PROVIDER):
        return render(page, "provider_join.html", title=page.t("Provider"))
    notices = {
        "prices": page.t("Prices published."),
        "site": page.t("Site registered."),
        "revoked": page.t("The key is revoked."),
        "reaccess": page.t("Re-access period saved."),
    }
    return _dashboard(page, site, notice=notices.get(done))


@router.post("/provider/join")
def join(page: SignedIn, form: Form) -> Response:
    page.platform.identity.add_role(page.user_id, Role.PROVIDER)
    return finish(page, RedirectResponse("/provider", status_code=303))


@router.post("/provider/sites")
def register_site(page: SignedIn, form: Form) -> Response:
    _provider(page)
    name, origin = text(form, "name", 100), text(form, "origin", 300)
    errors = {}
    if not name:
        errors["name"] = page.t("Give the site a name.")
    if not origin.startswith(("https://", "http://")) or len(origin) < 10:
        errors["origin"] = page.t("The site's address, like https://magazine.example.")
    if errors:
        return _dashboard(page, "", 422, errors=errors, values={"name": name, "origin": origin})
    site = page.platform.paywall.register_provider(page.user_id, name, origin.rstrip("/"))
    return finish(page, RedirectResponse(f"/provider?site={site.id}&done=site", status_code=303))


@router.post("/provider/prices")
def set_prices(page: SignedIn, form: Form) -> Response:
    """The editor's rows → the same rules document as PUT /v1/providers/{id}/prices."""
    _provider(page)
    site_id = text(form, "site", 40)
    prices: list[dict[str, Any]] = []
    passes: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for index in range(_rows(text(form, "price_rows", 4), 100 + PRICE_ROWS)):
        row = {
            k: text(form, f"price-{index}-{k}", 200) for k in ("pattern", "price", "daily_cap", "monthly_cap")
        }
        if not row["pattern"] and not row["price"]:
            continue
        rule: dict[str, Any] = {"pattern": row["pattern"], "asset": "EUR"}
        for key in ("price", "daily_cap", "monthly_cap"):
            if row[key] or key == "price":
                rule[key] = _amount(page, row[key], f"price-{index}-{key}", errors)
        prices.append(rule)
    for index in range(_rows(text(form, "pass_rows", 4), 20 + PASS_ROWS)):
        row = {
            k: text(form, f"pass-{index}-{k}", 200) for k in ("name", "pattern", "price", "visits", "hours")
        }
        if not row["name"] and not row["price"]:
            continue
        rule = {"name": row["name"], "pattern": row["pattern"], "asset": "EUR"}
        rule["price"] = _amount(page, row["price"], f"pass-{index}-price", errors)
        for key in ("visits", "hours"):
            if row[key]:
                rule[key] = int(row[key]) if row[key].isdigit() else -1
        passes.append(rule)
    document = {"prices": prices, "passes": passes}
    if not errors:
        try:
            PriceRules.model_validate(document)
        except ValidationError as error:
            errors[FORM] = page.t("Check the rules: {problem}", problem=error.errors()[0]["msg"])
    if errors:
        return _dashboard(page, site_id, 422, errors=errors, rules=document)
    try:
        page.platform.paywall.set_price_rules(page.user_id, site_id, document)
    except NotFound:
        return _dashboard(page, site_id, 404, errors={FORM: page.t("Page not found")})
    return finish(page, RedirectResponse(f"/provider?site={quote(site_id)}&done=prices", status_code=303))


def _reaccess_fields(seconds: int) -> dict[str, str]:
    count, unit = span_in_units(seconds)
    return {"count": str(count), "unit": unit}


@router.post("/provider/reaccess")
def set_reaccess(page: SignedIn, form: Form) -> Response:
    """How long a purchase reopens for free, as a count of a unit: the same setting as
    PUT /v1/providers/{id}/reaccess-period."""
    _provider(page)
    site_id = text(form, "site", 40)
    fields = {"count": text(form, "count", 12), "unit": text(form, "unit", 10)}
    sizes = dict(SPAN_UNITS)
    problem = ""
    if not fields["count"].isdigit() or fields["unit"] not in sizes:
        problem = page.t("Write a whole number, 0 or more.")
    else:
        try:
            page.platform.paywall.set_reaccess_period(
                page.user_id, site_id, int(fields["count"]) * sizes[fields["unit"]]
            )
        except InvalidReaccessPeriod:
            problem = page.t("At most a year ({most}).", most=page.span(MAX_REACCESS_SECONDS))
        except NotFound:
            return _dashboard(page, site_id, 404, errors={FORM: page.t("Page not found")})
    if problem:
        return _dashboard(page, site_id, 422, errors={"count": problem}, reaccess=fields)
    return finish(page, RedirectResponse(f"/provider?site={quote(site_id)}&done=reaccess", status_code=303))


def _rows(value: str, most: int) -> int:
    return min(int(value), most) if value.isdigit() else 0


def _amount(page: Visitor, value: str, name: str, errors: dict[str, str]) -> str:
    try:
        amount = parse_amount(value, page.platform.wallets.asset("EUR"))
    except MoneyError:
        errors[name] = page.t("Write an amount like 2.50.")
        return value
    if amount.units <= 0:
        errors[name] = page.t("The amount must be positive.")
        return value
    return plain(amount.units, amount.asset)


@router.post("/provider/keys")
def create_key(page: SignedIn, form: Form) -> Response:
    _provider(page)
    name = text(form, "name", 100) or "site"
    scopes = KEY_SCOPES.get(text(form, "scope", 20), KEY_SCOPES["provider"])
    key, secret = page.platform.identity.create_api_key(page.user_id, name, scopes)
    # Shown once, on this answer only: the secret is kept nowhere but as a hash.
    return _dashboard(page, text(form, "site", 40), created_key=(key, secret))


@router.post("/provider/keys/revoke")
def revoke_key(page: SignedIn, form: Form) -> Response:
    _provider(page)
    try:
        page.platform.identity.revoke_api_key(page.user_id, text(form, "key_id", 40))
    except OboloError:
        return _dashboard(page, text(form, "site", 40), 404, errors={FORM: page.t("No such key.")})
    target = f"/provider?site={quote(text(form, 'site', 40))}&done=revoked"
    return finish(page, RedirectResponse(target, status_code=303))
