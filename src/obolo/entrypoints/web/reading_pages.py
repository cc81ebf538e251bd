"""Reading settings: auto-pay consent per provider (per item, per day), the sites whose
daily cap was reached today, open tabs and channels with what is left, passes with the
visits left, and refunds of recent views."""

from __future__ import annotations

from contextlib import suppress

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from obolo.adapters.clock import NS_PER_SECOND
from obolo.entrypoints.web.context import Form, SignedIn, Visitor, finish, render, text
from obolo.entrypoints.web.format import parse_amount
from obolo.entrypoints.web.problems import FORM, field_error, problem_message
from obolo.errors import OboloError
from obolo.money import MoneyError
from obolo.reports import reader
from obolo.reports import reading as reading_report

router = APIRouter(include_in_schema=False)
PASS_DAYS = 30  # a visits pass lasts 30 days (PaywallService.buy_pass)


def _reading_page(page: Visitor, status: int = 200, search: str = "", **context: object) -> Response:
    engine, now = page.platform.engine, page.platform.clock()
    window = page.platform.settings.refund_window_seconds * NS_PER_SECOND
    charges = reader.recent_charges(engine, page.user_id, now - reader.DAY_NS)
    consents = reader.consents_of(engine, page.user_id, now)
    if "form" in context and context["form"] not in {c.provider_id for c in consents}:
        context["form"] = "new"  # a refused first consent is shown on the "allow a site" form
    values = context.get("values")
    chosen = str(values.get("provider_id", "")) if isinstance(values, dict) else ""
    return render(
        page,
        "reading.html",
        status,
        title=page.t("Reading"),
        consents=consents,
        tabs=reader.open_tabs(engine, page.user_id),
        channels=reader.channels_of(engine, page.user_id),
        passes=reading_report.other_passes(engine, page.user_id, now - PASS_DAYS * reader.DAY_NS),
        held_passes=page.platform.purchases.passes(page.user_id),
        caps=reading_report.caps_reached(
            engine, page.user_id, now, page.platform.paywall.price_rules, page.platform.wallets.assets
        ),
        charges=charges,
        refundable={c.charge_id for c in charges if c.refunded_at is None and now - c.created_at <= window},
        window_minutes=page.platform.settings.refund_window_seconds // 60,
        provider_options=[("", "—")]
        + [
            (p.id, f"{p.name} ({p.origin})")
            for p in reading_report.sites_to_allow(engine, page.user_id, search, chosen)
        ],
        search=search,
        now_seconds=now // NS_PER_SECOND,
        **context,
    )


@router.get("/reading")
def reading(page: SignedIn, done: str = "", site: str = "") -> Response:
    notices = {
        "consent": page.t("Your auto-pay limits are saved."),
        "refund": page.t("Refunded. The charge is taken off your tab."),
        "revoked": page.t("That site can no longer charge you without asking."),
    }
    return _reading_page(page, search=" ".join(site.split())[:100], notice=notices.get(done))


@router.post("/reading/consent")
def set_consent(page: SignedIn, form: Form) -> Response:
    values = {name: text(form, name, 60) for name in ("provider_id", "asset", "per_item", "per_day")}
    try:
        asset = page.platform.wallets.asset(values["asset"] or "EUR")
        per_item = parse_amount(values["per_item"], asset)
    except (OboloError, MoneyError) as error:
        return _refused(page, error, values, "per_item")
    try:
        per_day = parse_amount(values["per_day"], asset)
        page.platform.tabs.set_consent(page.user_id, values["provider_id"], per_item, per_day)
    except (OboloError, MoneyError) as error:
        return _refused(page, error, values, "per_day")
    return finish(page, RedirectResponse("/reading?done=consent", status_code=303))


def _refused(page: Visitor, error: Exception, values: dict[str, str], amount_field: str) -> Response:
    name, message = field_error(error, page.t, amount_field)
    if getattr(error, "code", "") == "provider_not_found":
        name, message = "provider_id", page.t("Choose a site from the list.")
    elif getattr(error, "code", "") == "invalid_request":
        name, message = "per_day", page.t("The daily limit must be at least the limit per item.")
    errors = {name: message}
    return _reading_page(page, 422, errors=errors, values=values, form=values["provider_id"] or "new")


@router.post("/reading/consent/revoke")
def revoke_consent(page: SignedIn, form: Form) -> Response:
    with suppress(OboloError):  # an unknown site: there was nothing to revoke
        page.platform.tabs.revoke_consent(page.user_id, text(form, "provider_id", 40))
    return finish(page, RedirectResponse("/reading?done=revoked", status_code=303))


@router.post("/reading/refund")
def refund(page: SignedIn, form: Form) -> Response:
    try:
        page.platform.tabs.refund(page.user_id, text(form, "provider_id", 40), text(form, "charge_id", 64))
    except OboloError as error:
        return _reading_page(page, 422, errors={FORM: problem_message(error, page.t)})
    return finish(page, RedirectResponse("/reading?done=refund", status_code=303))
