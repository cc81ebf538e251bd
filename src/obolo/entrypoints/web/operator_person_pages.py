"""One person, for the operator: balances, history, cards, SMS numbers, API keys (names and
scopes, never secrets), sessions, audit entries; freezing, unfreezing and adjustments, each
with a reason and audited under the operator. Operators only: 403 for anyone else."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import RedirectResponse, Response

from obolo.entrypoints.web.account_i18n import AUDIT_ACTIONS, WORDS
from obolo.entrypoints.web.context import Form, SignedIn, Visitor, finish, render, require_operator, text
from obolo.entrypoints.web.form_keys import form_key, kept
from obolo.entrypoints.web.format import parse_amount
from obolo.entrypoints.web.problems import FORM, field_error
from obolo.errors import OboloError
from obolo.identity import standing
from obolo.money import Amount, MoneyError
from obolo.reports.person import person_file
from obolo.wallets.adjustments import Direction, adjust

router = APIRouter(include_in_schema=False)
PersonId = Annotated[str, Path(max_length=36)]
_NOTICES = {
    "frozen": "The account is frozen.",
    "unfrozen": "The account is unfrozen.",
    "adjusted": "The adjustment is made.",
}


def _show(page: Visitor, user_id: str, status: int = 200, **context: object) -> Response:
    require_operator(page)
    found = person_file(page.platform.engine, user_id, page.platform.clock())
    if found is None:
        return render(
            page, "error.html", 404, title=page.t("Not found"), message=page.t("Nobody with that id.")
        )
    entries, _cursor = page.platform.wallets.history(user_id, 30)
    return render(
        page,
        "operator/person.html",
        status,
        title=found.display_name,
        person=found,
        balances=page.platform.wallets.balances(user_id),
        history=entries,
        action_name=lambda action: page.t(AUDIT_ACTIONS.get(action) or action),
        word=lambda code: page.t(WORDS.get(code) or code),
        **context,
    )


@router.get("/operator/people/{user_id}")
def person_page(page: SignedIn, user_id: PersonId, done: str = "") -> Response:
    notice = page.t(_NOTICES[done]) if done in _NOTICES else None
    return _show(page, user_id, notice=notice)


def _refused(page: Visitor, user_id: str, error: OboloError | MoneyError) -> Response:
    if isinstance(error, OboloError) and error.code == "reason_required":
        errors = {"reason": page.t("Say why, in 5 to 500 characters.")}
    else:
        name, message = field_error(error, page.t)
        errors = {name if name != FORM else "amount": message}
    return _show(page, user_id, 422, errors=errors)


@router.post("/operator/people/{user_id}/standing")
def change_standing(page: SignedIn, user_id: PersonId, form: Form) -> Response:
    require_operator(page)
    if person_file(page.platform.engine, user_id, page.platform.clock(), audit_limit=0) is None:
        return _show(page, user_id)
    action = text(form, "action", 10)
    change = standing.freeze if action == "freeze" else standing.unfreeze
    try:
        change(page.platform.engine, page.platform.clock, page.user_id, user_id, text(form, "reason", 500))
    except OboloError as error:
        return _refused(page, user_id, error)
    done = "frozen" if action == "freeze" else "unfrozen"
    return finish(page, RedirectResponse(f"/operator/people/{user_id}?done={done}", status_code=303))


@router.post("/operator/people/{user_id}/adjust")
def make_adjustment(page: SignedIn, user_id: PersonId, form: Form) -> Response:
    require_operator(page)
    direction = Direction.DEBIT if text(form, "direction", 10) == "debit" else Direction.CREDIT
    key = form_key(form)  # a double submit adjusts once (`form_keys`)
    wallets = page.platform.wallets

    def make(amount: Amount) -> str:
        adjust(wallets, page.user_id, user_id, amount, direction, text(form, "reason", 500), key)
        return f"/operator/people/{user_id}?done=adjusted"

    try:
        amount = parse_amount(text(form, "amount", 40), wallets.asset(text(form, "asset", 12) or "EUR"))
        location = kept(page, page.user_id, key, form, lambda: make(amount))
    except (OboloError, MoneyError) as error:
        return _refused(page, user_id, error)
    return finish(page, RedirectResponse(location, status_code=303))
