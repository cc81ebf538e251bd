"""Operators rule on SMS undo requests made too late: reverse (the amount back from the
recipient, the fee refunded) or decline. The rules are obolo.sms.undo_requests'."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from obolo.entrypoints.web.context import Form, SignedIn, Visitor, finish, render, require_operator, text
from obolo.entrypoints.web.problems import FORM
from obolo.errors import OboloError
from obolo.reports import tasks as reports
from obolo.sms import undo_requests

router = APIRouter(include_in_schema=False)


def _requests_page(page: Visitor, status: int = 200, **context: Any) -> Response:
    found = undo_requests.open_requests(page.platform.sms, 100)
    people = reports.names(
        page.platform.engine, [r.sender_id for r in found] + [r.recipient_id or "" for r in found]
    )
    return render(
        page,
        "sms_undos.html",
        status,
        title=page.t("SMS undo requests"),
        requests=found,
        people=people,
        **context,
    )


@router.get("/operator/sms-undos")
def requests(page: SignedIn, done: str = "") -> Response:
    require_operator(page)
    notices = {
        "reversed": page.t("Reversed: the money is back with the sender, and both were told."),
        "declined": page.t("Declined: the payment stands; the sender was told."),
    }
    return _requests_page(page, notice=notices.get(done))


@router.post("/operator/sms-undos/{send_id}")
def decide(page: SignedIn, send_id: str, form: Form) -> Response:
    require_operator(page)
    reverse = text(form, "decision", 10) == "reverse"
    try:
        undo_requests.decide(
            page.platform.sms,
            page.user_id,
            send_id[:36],
            reverse=reverse,
            note=text(form, "note", 2_000) or None,
        )
    except OboloError as error:
        messages = {
            "recipient_cannot_repay": page.t(
                "The recipient's wallet cannot cover it now; the request stays open."
            ),
            "undo_decided": page.t("That request was already decided."),
            "undo_request_not_found": page.t("No such request."),
        }
        message = messages.get(error.code, page.t("That did not work."))
        return _requests_page(page, 409, errors={FORM: message})
    return finish(
        page, RedirectResponse("/operator/sms-undos?done=" + ("reversed" if reverse else "declined"), 303)
    )
