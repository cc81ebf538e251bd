"""Microtask pages. Employers post a task, watch what it holds and pays per hour, review
submissions in bulk (one service call for the whole selection), pay bonuses and cancel.
Workers find work they qualify for, accept, submit, dispute a rejection once and see
their earnings and record. Operators decide disputes. Every rule is the TaskService's:
these handlers turn forms into its calls and its errors into messages beside fields."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse, Response

from obolo.adapters.clock import NS_PER_SECOND, from_iso
from obolo.entrypoints.web.context import (
    Form,
    PageForbidden,
    SignedIn,
    Visitor,
    finish,
    render,
    require_operator,
    text,
)
from obolo.entrypoints.web.form_keys import form_key, kept
from obolo.entrypoints.web.format import parse_amount
from obolo.entrypoints.web.problems import FORM, field_error
from obolo.errors import NotFound, OboloError
from obolo.identity.model import Role
from obolo.money import Amount, MoneyError
from obolo.reports import tasks as reports
from obolo.tasks.model import AssignmentStatus, DisputeStatus, Terms
from obolo.tasks.service import Assignment, Decision, Task

router = APIRouter(include_in_schema=False)
S = AssignmentStatus
DAY_NS = 86_400 * NS_PER_SECOND
_PERCENT = re.compile(r"^(\d{1,3})(?:[.,](\d{1,2}))?$")
#: The post form's fields, as the service names them in `InvalidTask.field`.
_TERM_FIELDS = {
    "title": "title",
    "instructions": "instructions",
    "reward": "reward",
    "assignments": "assignments",
    "time_allowed_seconds": "minutes",
    "deadline": "deadline",
    "auto_approve_seconds": "auto_hours",
    "min_approval_rate_bp": "min_rate",
    "min_approved": "min_approved",
}


# -- helpers ---------------------------------------------------------------------------------


def _redirect(page: Visitor, target: str) -> Response:
    return finish(page, RedirectResponse(target, status_code=303))


def _not_found(page: Visitor) -> Response:
    return render(page, "error.html", 404, title=page.t("Page not found"), message=page.t("Page not found"))


def _need(page: Visitor, role: Role) -> None:
    if not page.has(role):
        if role is Role.EMPLOYER:
            raise PageForbidden("This page is for employers only.")
        raise PageForbidden("This page is for workers only.")


def duration(page: Visitor, seconds: int) -> str:
    """A span in the largest whole unit that reads naturally: 45 min, 3 h, 2 d."""
    seconds = max(0, seconds)
    if seconds < 3600:
        return page.t("{count} min", count=max(1, -(-seconds // 60)) if seconds else 0)
    if seconds < 2 * 86_400:
        return page.t("{count} h", count=seconds // 3600)
    return page.t("{count} d", count=seconds // 86_400)


def rate(page: Visitor, basis_points: int | None) -> str:
    """An approval rate, exact to the basis point: 9550 → 95.5% (95,5% in Italian)."""
    if basis_points is None:
        return "—"
    whole, rest = divmod(basis_points, 100)
    point = "," if page.language == "it" else "."
    return f"{whole}{point}{rest:02d}".rstrip("0").rstrip(point) + "%"


def _hourly(page: Visitor, task: Task) -> str:
    pay = task.fair_pay
    if pay.hourly is None:
        return page.t("not known yet")
    return page.t("{amount} an hour", amount=page.money(pay.hourly, task.asset))


def _task_error(page: Visitor, error: Exception, amount_field: str = "reward") -> tuple[str, str]:
    """(field, message) for a refused task form, in the page's language."""
    t = page.t
    code = getattr(error, "code", "")
    data: dict[str, Any] = getattr(error, "data", {}) or {}
    match code:
        case "invalid_task":
            field = _TERM_FIELDS.get(str(data.get("field")), FORM)
            messages = {
                "title": t("A title of 1 to 200 characters."),
                "instructions": t("Instructions of 1 to 20,000 characters."),
                "reward": t("The amount must be positive."),
                "assignments": t("From 1 to 2,000 assignments."),
                "minutes": t("Between 1 minute and 7 days (10,080 minutes)."),
                "deadline": t("A deadline in the future, within a year."),
                "auto_hours": t("At most 30 days (720 hours)."),
                "min_rate": t("A rate from 0 to 100%."),
                "min_approved": t("A whole number from 0."),
            }
            return field, messages.get(field, t("Please correct the fields marked below."))
        case "reason_required":
            return "reason", t("A rejection needs a reason.")
        case "invalid_review":
            return FORM, t("Choose at least one submission of this task.")
        case "not_reviewable":
            return FORM, t("Some of the chosen work was already reviewed; nothing was changed.")
        case "task_not_open":
            return FORM, t("This task takes no more workers.")
        case "no_assignment_left":
            return FORM, t("Every assignment of this task is taken.")
        case "not_qualified":
            return FORM, t("This task asks for a better record than yours.")
        case "own_task":
            return FORM, t("You cannot work on your own task.")
        case "invalid_answer":
            return ("message" if data.get("field") == "message" else "answer"), t(
                "Write 1 to 20,000 characters."
            )
        case "already_submitted":
            return "answer", t("This assignment was already submitted.")
        case "assignment_expired":
            return "answer", t("The time allowed for this assignment has passed.")
        case "dispute_not_allowed":
            return "message", t("This rejection can no longer be disputed.")
        case "bonus_not_allowed":
            return "assignment_id", t("A bonus goes to work that was submitted.")
        case "dispute_decided":
            return FORM, t("That dispute was already decided.")
        case "dispute_not_found":
            return FORM, t("No such dispute.")
        case "employer_cannot_pay":
            return FORM, t("The employer's wallet cannot pay this now; the dispute stays open.")
    return field_error(error, t, amount_field)


# -- choosing a side ---------------------------------------------------------------------------


@router.get("/tasks")
def tasks_home(page: SignedIn) -> Response:
    """Where the nav's "Tasks" leads: straight to one's side, or a choice of sides."""
    if page.has(Role.EMPLOYER):
        return _redirect(page, "/tasks/employer")
    if page.has(Role.WORKER):
        return _redirect(page, "/tasks/work")
    return render(page, "tasks/join.html", title=page.t("Tasks"))


@router.post("/tasks/join")
def join(page: SignedIn, form: Form) -> Response:
    role = Role.EMPLOYER if text(form, "role", 20) == "employer" else Role.WORKER
    page.platform.identity.add_role(page.user_id, role)
    return _redirect(page, "/tasks/employer" if role is Role.EMPLOYER else "/tasks/work")


# -- employers ---------------------------------------------------------------------------------


def _post_values(page: Visitor) -> dict[str, str]:
    deadline = page.platform.clock() + 7 * DAY_NS
    return {
        "title": "",
        "instructions": "",
        "reward": "",
        "asset": "EUR",
        "assignments": "10",
        "minutes": "10",
        "deadline": from_ns_local(deadline),
        "auto_hours": str(page.platform.settings.task_auto_approve_seconds // 3600),
        "min_rate": "0",
        "min_approved": "0",
    }


def from_ns_local(ns: int) -> str:
    """A moment as a datetime-local field's value (UTC, to the minute)."""
    return datetime.fromtimestamp(ns // NS_PER_SECOND, tz=UTC).strftime("%Y-%m-%dT%H:%M")


def _employer_page(page: Visitor, status: int = 200, **context: Any) -> Response:
    mine = page.platform.tasks.list_tasks(page.user_id, mine=True, limit=100)
    context.setdefault("values", _post_values(page))
    return render(
        page,
        "tasks/employer.html",
        status,
        title=page.t("Your tasks"),
        tasks=mine,
        hourly=lambda task: _hourly(page, task),
        duration=lambda seconds: duration(page, seconds),
        asset_options=[(code, code) for code in sorted(page.platform.wallets.assets)],
        fee=page.platform.settings.task_fee,
        **context,
    )


@router.get("/tasks/employer")
def employer(page: SignedIn, done: str = "") -> Response:
    if not page.has(Role.EMPLOYER):
        return render(page, "tasks/join.html", title=page.t("Tasks"))
    notices = {"posted": page.t("Your task is posted; its money is held.")}
    return _employer_page(page, notice=notices.get(done))


def _whole(value: str, field: str, errors: dict[str, str], page: Visitor) -> int:
    if not value.isdigit() or len(value) > 9:
        errors[field] = page.t("Write a whole number.")
        return 0
    return int(value)


@router.post("/tasks/employer/post")
def post_task(page: SignedIn, form: Form) -> Response:
    _need(page, Role.EMPLOYER)
    values = {name: text(form, name, 200) for name in _post_values(page)}
    values["instructions"] = text(form, "instructions", 20_001)
    errors: dict[str, str] = {}
    assignments = _whole(values["assignments"], "assignments", errors, page)
    minutes = _whole(values["minutes"], "minutes", errors, page)
    hours = _whole(values["auto_hours"], "auto_hours", errors, page)
    min_approved = _whole(values["min_approved"], "min_approved", errors, page)
    found = _PERCENT.match(values["min_rate"])
    min_rate = int(found.group(1)) * 100 + int((found.group(2) or "0").ljust(2, "0")) if found else 0
    if found is None:
        errors["min_rate"] = page.t("A rate from 0 to 100%.")
    deadline = 0
    try:
        deadline = from_iso(values["deadline"])
    except ValueError:
        errors["deadline"] = page.t("Enter a date like 2026-11-01.")
    reward = 0
    try:
        asset = page.platform.wallets.asset(values["asset"] or "EUR")
        reward = parse_amount(values["reward"], asset).units
    except (OboloError, MoneyError) as error:
        name, message = field_error(error, page.t, "reward")
        errors[name] = message
    if errors:
        return _employer_page(page, 422, errors=errors, values=values)
    terms = Terms(
        title=values["title"],
        instructions=values["instructions"],
        reward=reward,
        assignments=assignments,
        time_allowed_seconds=minutes * 60,
        deadline=deadline,
        auto_approve_seconds=hours * 3600,
        min_approval_rate_bp=min_rate,
        min_approved=min_approved,
    )
    # The form's key (`form_keys`): a double submit posts the task once.
    key = form_key(form)
    tasks = page.platform.tasks
    try:
        location = kept(
            page, page.user_id, key, form,
            lambda: f"/tasks/employer/{tasks.post_task(page.user_id, terms, asset.code, key).id}?done=posted",
        )  # fmt: skip
    except (OboloError, MoneyError) as error:
        name, message = _task_error(page, error)
        return _employer_page(page, 422, errors={name: message}, values=values)
    return _redirect(page, location)


def _task_page(page: Visitor, task_id: str, status: int = 200, **context: Any) -> Response:
    try:
        task = page.platform.tasks.task(task_id)
        slots = page.platform.tasks.task_assignments(page.user_id, task_id)
    except NotFound:
        return _not_found(page)
    except OboloError as error:
        if error.code == "not_the_employer":
            raise PageForbidden("Only the task's employer sees its submissions.") from error
        raise
    workers = reports.names(page.platform.engine, (a.worker_id or "" for a in slots))
    submitted = [a for a in slots if a.status is S.SUBMITTED]
    reviewed = [a for a in slots if a.status in (S.APPROVED, S.REJECTED)]
    return render(
        page,
        "tasks/review.html",
        status,
        title=task.title,
        task=task,
        submitted=submitted,
        reviewed=reviewed,
        in_progress=[a for a in slots if a.status is S.ACCEPTED],
        workers=workers,
        hourly=_hourly(page, task),
        duration=lambda seconds: duration(page, seconds),
        now=page.platform.clock(),
        **context,
    )


@router.get("/tasks/employer/{task_id}")
def task_detail(
    page: SignedIn,
    task_id: str,
    done: str = "",
    select_all: Annotated[str, Query(alias="all", max_length=1)] = "",
) -> Response:
    _need(page, Role.EMPLOYER)
    notices = {
        "posted": page.t("Your task is posted; its money is held."),
        "reviewed": page.t("Your review is saved: approved work is paid, rejected work gave its money back."),
        "bonus": page.t("Bonus paid."),
        "cancelled": page.t("The task is cancelled; money nobody is working for is back in your wallet."),
    }
    picked = None if select_all != "1" else "all"
    return _task_page(page, task_id[:36], notice=notices.get(done), picked=picked)


@router.post("/tasks/employer/{task_id}/review")
def review(page: SignedIn, task_id: str, form: Form) -> Response:
    """Approve or reject every checked submission in ONE service call (one transaction)."""
    _need(page, Role.EMPLOYER)
    task_id = task_id[:36]
    picked = [value for value in form.getlist("pick") if isinstance(value, str)][:2_000]
    approve = text(form, "action", 10) == "approve"
    reason = text(form, "reason", 2_000)
    if not picked:
        errors = {FORM: page.t("Choose at least one submission of this task.")}
        return _task_page(page, task_id, 422, errors=errors, reason=reason)
    decisions = [Decision(aid[:36], approve, None if approve else reason or None) for aid in picked]
    try:
        page.platform.tasks.review(page.user_id, task_id, decisions)
    except NotFound:
        return _not_found(page)
    except OboloError as error:
        if error.code == "not_the_employer":
            raise PageForbidden("Only the task's employer sees its submissions.") from error
        name, message = _task_error(page, error)
        return _task_page(page, task_id, 422, errors={name: message}, reason=reason, picked=set(picked))
    return _redirect(page, f"/tasks/employer/{task_id}?done=reviewed")


@router.post("/tasks/employer/{task_id}/bonus")
def bonus(page: SignedIn, task_id: str, form: Form) -> Response:
    _need(page, Role.EMPLOYER)
    task_id = task_id[:36]
    values = {name: text(form, name, 280) for name in ("assignment_id", "amount", "bonus_reason")}
    # The form's key (`form_keys`): a double submit pays the bonus once.
    key = form_key(form)
    tasks = page.platform.tasks

    def pay(amount: Amount) -> str:
        tasks.bonus(page.user_id, values["assignment_id"][:36], amount, values["bonus_reason"] or None, key)
        return f"/tasks/employer/{task_id}?done=bonus"

    try:
        task = tasks.task(task_id)
        amount = parse_amount(values["amount"], page.platform.wallets.asset(task.asset))
        location = kept(page, page.user_id, key, form, lambda: pay(amount))
    except (OboloError, MoneyError) as error:
        if getattr(error, "code", "") == "not_the_employer":
            raise PageForbidden("Only the task's employer sees its submissions.") from error
        if getattr(error, "code", "") == "task_not_found":
            return _not_found(page)
        name, message = _task_error(page, error, "amount")
        if name == "to":  # an assignment that is not there
            name = "assignment_id"
        return _task_page(page, task_id, 422, errors={name: message}, bonus_values=values)
    return _redirect(page, location)


@router.post("/tasks/employer/{task_id}/cancel")
def cancel(page: SignedIn, task_id: str, form: Form) -> Response:
    _need(page, Role.EMPLOYER)
    task_id = task_id[:36]
    try:
        page.platform.tasks.cancel(page.user_id, task_id)
    except NotFound:
        return _not_found(page)
    except OboloError as error:
        if error.code == "not_the_employer":
            raise PageForbidden("Only the task's employer sees its submissions.") from error
        return _task_page(page, task_id, 409, errors={FORM: page.t("The task was already closed.")})
    return _redirect(page, f"/tasks/employer/{task_id}?done=cancelled")


# -- workers -----------------------------------------------------------------------------------


def _work_page(page: Visitor, status: int = 200, **context: Any) -> Response:
    service = page.platform.tasks
    open_tasks = service.list_tasks(page.user_id, qualified=True, limit=50)
    mine = service.my_assignments(page.user_id, limit=100)
    labels = reports.task_labels(page.platform.engine, (a.task_id for a in mine))
    record = service.worker_record(page.user_id)
    now = page.platform.clock()
    # Tasks the worker already holds a slot of get a link to it, not an Accept button (a
    # slot whose time ran out may be taken again, as the service allows).
    taken = {
        a.task_id: a.id
        for a in mine
        if a.status is not S.OPEN and not (a.status is S.ACCEPTED and (a.expires_at or 0) <= now)
    }
    return render(
        page,
        "tasks/work.html",
        status,
        title=page.t("Find work"),
        open_tasks=open_tasks,
        mine=mine,
        taken=taken,
        labels=labels,
        record=record,
        approval_rate=rate(page, record.reputation.rate_bp),
        hourly=lambda task: _hourly(page, task),
        duration=lambda seconds: duration(page, seconds),
        now=now,
        **context,
    )


@router.get("/tasks/work")
def work(page: SignedIn, done: str = "") -> Response:
    if not page.has(Role.WORKER):
        return render(page, "tasks/join.html", title=page.t("Tasks"))
    return _work_page(page)


@router.post("/tasks/work/{task_id}/accept")
def accept(page: SignedIn, task_id: str, form: Form) -> Response:
    _need(page, Role.WORKER)
    try:
        taken = page.platform.tasks.accept(page.user_id, task_id[:36])
    except NotFound:
        return _not_found(page)
    except OboloError as error:
        if error.code == "already_took_part" and error.data.get("assignment_id"):
            return _redirect(page, f"/tasks/work/assignments/{error.data['assignment_id']}")
        _, message = _task_error(page, error)
        return _work_page(page, 409, errors={FORM: message})
    return _redirect(page, f"/tasks/work/assignments/{taken.id}?done=accepted")


def _own_assignment(page: Visitor, assignment_id: str) -> Assignment:
    """The worker's own assignment; anyone else's is not found (not even its employer's
    view: employers review on the task's page)."""
    found = page.platform.tasks.assignment(page.user_id, assignment_id[:36])
    if found.worker_id != page.user_id:
        raise NotFound("no such assignment")
    return found


def _assignment_page(page: Visitor, assignment_id: str, status: int = 200, **context: Any) -> Response:
    try:
        assignment = _own_assignment(page, assignment_id)
    except NotFound:
        return _not_found(page)
    task = page.platform.tasks.task(assignment.task_id)
    now = page.platform.clock()
    open_for_answer = (
        assignment.status is S.ACCEPTED and assignment.expires_at is not None and now <= assignment.expires_at
    )
    window = page.platform.settings.task_dispute_window_seconds * NS_PER_SECOND
    can_dispute = (
        assignment.status is S.REJECTED
        and assignment.dispute is None
        and assignment.reviewed_at is not None
        and now <= assignment.reviewed_at + window
    )
    return render(
        page,
        "tasks/assignment.html",
        status,
        title=task.title,
        task=task,
        a=assignment,
        open_for_answer=open_for_answer,
        can_dispute=can_dispute,
        now=now,
        duration=lambda seconds: duration(page, seconds),
        DisputeStatus=DisputeStatus,
        **context,
    )


@router.get("/tasks/work/assignments/{assignment_id}")
def assignment(page: SignedIn, assignment_id: str, done: str = "") -> Response:
    notices = {
        "accepted": page.t("The assignment is yours until the time allowed runs out."),
        "submitted": page.t("Your answer is in: paid when approved, or by itself if nobody reviews it."),
        "disputed": page.t("Your dispute is with the operator."),
    }
    return _assignment_page(page, assignment_id, notice=notices.get(done))


@router.post("/tasks/work/assignments/{assignment_id}/submit")
def submit(page: SignedIn, assignment_id: str, form: Form) -> Response:
    _need(page, Role.WORKER)
    value = form.get("answer")
    answer = value[:20_001] if isinstance(value, str) else ""
    try:
        page.platform.tasks.submit(page.user_id, assignment_id[:36], answer)
    except NotFound:
        return _not_found(page)
    except OboloError as error:
        name, message = _task_error(page, error)
        return _assignment_page(page, assignment_id, 422, errors={name: message}, answer=answer)
    return _redirect(page, f"/tasks/work/assignments/{assignment_id[:36]}?done=submitted")


@router.post("/tasks/work/assignments/{assignment_id}/dispute")
def dispute(page: SignedIn, assignment_id: str, form: Form) -> Response:
    _need(page, Role.WORKER)
    message = text(form, "message", 2_001)
    try:
        page.platform.tasks.dispute(page.user_id, assignment_id[:36], message)
    except NotFound:
        return _not_found(page)
    except OboloError as error:
        name, text_ = _task_error(page, error)
        return _assignment_page(page, assignment_id, 422, errors={name: text_}, message=message)
    return _redirect(page, f"/tasks/work/assignments/{assignment_id[:36]}?done=disputed")


# -- operators ---------------------------------------------------------------------------------


def _disputes_page(page: Visitor, status: int = 200, **context: Any) -> Response:
    found = page.platform.tasks.disputes(DisputeStatus.OPEN, 100)
    engine = page.platform.engine
    people = reports.names(engine, [d.worker_id for d in found] + [d.employer_id for d in found])
    labels = reports.task_labels(engine, (d.task_id for d in found))
    return render(
        page,
        "tasks/disputes.html",
        status,
        title=page.t("Task disputes"),
        disputes=found,
        people=people,
        labels=labels,
        **context,
    )


@router.get("/operator/disputes")
def disputes(page: SignedIn, done: str = "") -> Response:
    require_operator(page)
    notices = {
        "overturned": page.t("Overturned: the worker is paid."),
        "upheld": page.t("Upheld: the rejection stands."),
    }
    return _disputes_page(page, notice=notices.get(done))


@router.post("/operator/disputes/{assignment_id}")
def decide(page: SignedIn, assignment_id: str, form: Form) -> Response:
    require_operator(page)
    overturn = text(form, "decision", 10) == "overturn"
    try:
        page.platform.tasks.decide_dispute(
            page.user_id, assignment_id[:36], overturn, text(form, "note", 2_000) or None
        )
    except OboloError as error:
        _, message = _task_error(page, error)
        return _disputes_page(page, 409, errors={FORM: message})
    return _redirect(page, "/operator/disputes?done=" + ("overturned" if overturn else "upheld"))


__all__ = ["duration", "rate", "router"]
