"""Microtasks over HTTP, for both sides: employers post, review in bulk, pay bonuses and
cancel; workers browse, accept, submit and dispute; operators rule on disputes.

Employers' calls that move money need the employer role and the `payments:write`
scope; workers' calls the worker role and `wallets:write`; reads `wallets:read`.
Every POST takes `Idempotency-Key`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from obolo.adapters.clock import from_iso, iso
from obolo.bootstrap import Platform
from obolo.entrypoints.api.auth import PlatformDep, require_scope
from obolo.entrypoints.api.common import Strict
from obolo.entrypoints.api.idempotency import IdempotencyKeyHeader
from obolo.entrypoints.api.wallet_routes import ERRORS, AmountText, AssetCode
from obolo.entrypoints.api.write_route import WriteRoute
from obolo.errors import Forbidden, InvalidRequest
from obolo.identity.model import Principal, Role
from obolo.money import Amount, format_units
from obolo.tasks.model import MAX_ASSIGNMENTS, MAX_REVIEW, AssignmentStatus, DisputeStatus, TaskStatus, Terms
from obolo.tasks.service import Assignment, Decision, Dispute, Task

router = APIRouter(route_class=WriteRoute, prefix="/v1/tasks", tags=["tasks"])
Id = Annotated[str, Path(min_length=1, max_length=36)]


def _acting_as(role: Role, scope: str) -> Callable[..., Principal]:
    scoped = require_scope(scope)

    # A default, not an Annotated hint: the hint would name a closure variable, which
    # FastAPI cannot resolve from a postponed annotation.
    def dependency(principal: Principal = Depends(scoped)) -> Principal:  # noqa: B008
        if role not in principal.roles:
            raise Forbidden(f"this needs the {role.value} role (POST /v1/me/roles)")
        return principal

    return dependency


Employer = Annotated[Principal, Depends(_acting_as(Role.EMPLOYER, "payments:write"))]
Worker = Annotated[Principal, Depends(_acting_as(Role.WORKER, "wallets:write"))]
Operator = Annotated[Principal, Depends(_acting_as(Role.OPERATOR, "*"))]
Reader = Annotated[Principal, Depends(require_scope("wallets:read"))]
# Paging deeper than this is a scan, not a page; the bound also keeps the number a database integer.
MAX_OFFSET = 1_000_000


class _Empty(Strict):
    """Accept and cancel take no body; the idempotency key still fingerprints the call."""


class TaskIn(Strict):
    multiline = frozenset({"instructions"})
    title: Annotated[str, Field(min_length=1, max_length=200)]
    instructions: Annotated[str, Field(min_length=1, max_length=20_000)]
    reward: AmountText
    asset: AssetCode
    assignments: Annotated[int, Field(ge=1, le=MAX_ASSIGNMENTS)]
    time_allowed_seconds: Annotated[int, Field(ge=60, le=7 * 86400)]
    deadline: Annotated[str, Field(max_length=40, description="ISO 8601, e.g. 2026-12-01T00:00:00Z")]
    auto_approve_seconds: Annotated[int | None, Field(ge=0, le=30 * 86400)] = None
    min_approval_rate_bp: Annotated[int, Field(ge=0, le=10_000, description="basis points: 9500 is 95%")] = 0
    min_approved: Annotated[int, Field(ge=0, le=1_000_000)] = 0


class FairPayOut(BaseModel):
    samples: int
    effective_hourly: str | None = Field(description="The worker's pay per hour, once enough work is in")
    minimum_hourly: str | None
    below_minimum: bool
    bonus_to_reach_minimum: str | None = Field(description="A bonus per assignment that would reach it")


class TaskOut(BaseModel):
    id: str
    employer_id: str
    asset: str
    title: str
    instructions: str
    reward: str
    worker_gets: str = Field(description="The reward less the platform's fee")
    employer_pays: str = Field(description="Per assignment: the reward plus the employer's fee")
    assignments: int
    time_allowed_seconds: int
    auto_approve_seconds: int
    deadline: str
    min_approval_rate_bp: int
    min_approved: int
    status: Literal["open", "cancelled", "closed"]
    counts: dict[str, int]
    held: str
    fair_pay: FairPayOut
    created_at: str
    closed_at: str | None

    @classmethod
    def of(cls, task: Task, platform: Platform) -> TaskOut:
        asset = platform.wallets.asset(task.asset)
        pay = task.fair_pay

        def money(units: int | None) -> str | None:
            return None if units is None else format_units(units, asset)

        return cls(
            id=task.id,
            employer_id=task.employer_id,
            asset=task.asset,
            title=task.title,
            instructions=task.instructions,
            reward=format_units(task.pricing.reward, asset),
            worker_gets=format_units(task.pricing.payout, asset),
            employer_pays=format_units(task.pricing.hold, asset),
            assignments=task.assignments,
            time_allowed_seconds=task.time_allowed_seconds,
            auto_approve_seconds=task.auto_approve_seconds,
            deadline=iso(task.deadline),
            min_approval_rate_bp=task.min_approval_rate_bp,
            min_approved=task.min_approved,
            status=task.status.value,
            counts=task.counts,
            held=format_units(task.held, asset),
            fair_pay=FairPayOut(
                samples=pay.samples,
                effective_hourly=money(pay.hourly),
                minimum_hourly=money(pay.minimum or None),
                below_minimum=pay.below_minimum,
                bonus_to_reach_minimum=money(pay.bonus_to_reach_minimum),
            ),
            created_at=iso(task.created_at),
            closed_at=iso(task.closed_at) if task.closed_at else None,
        )


class AssignmentOut(BaseModel):
    id: str
    task_id: str
    status: Literal["open", "accepted", "submitted", "approved", "rejected", "released"]
    worker_id: str | None
    accepted_at: str | None
    expires_at: str | None
    submitted_at: str | None
    seconds_spent: int | None
    answer: str | None
    auto_approve_at: str | None
    reviewed_at: str | None
    reviewed_by: str | None
    reason: str | None
    paid: str | None
    dispute: Literal["open", "upheld", "overturned"] | None

    @classmethod
    def of(cls, a: Assignment, platform: Platform, asset: str | None = None) -> AssignmentOut:
        code = asset or platform.tasks.task(a.task_id).asset

        def when(ns: int | None) -> str | None:
            return iso(ns) if ns else None

        return cls(
            id=a.id,
            task_id=a.task_id,
            status=a.status.value,
            worker_id=a.worker_id,
            accepted_at=when(a.accepted_at),
            expires_at=when(a.expires_at),
            submitted_at=when(a.submitted_at),
            seconds_spent=a.seconds_spent,
            answer=a.answer,
            auto_approve_at=when(a.due_at) if a.status == AssignmentStatus.SUBMITTED else None,
            reviewed_at=when(a.reviewed_at),
            reviewed_by=a.reviewed_by,
            reason=a.reason,
            paid=None if a.paid is None else format_units(a.paid, platform.wallets.asset(code)),
            dispute=a.dispute.value if a.dispute else None,
        )


class SubmitIn(Strict):
    multiline = frozenset({"answer"})
    answer: Annotated[str | dict[str, Any], Field(description="Text, or a JSON object")]


class ReviewItem(Strict):
    multiline = frozenset({"reason"})
    assignment_id: Annotated[str, Field(min_length=1, max_length=36)]
    decision: Literal["approve", "reject"]
    reason: Annotated[str | None, Field(max_length=2_000)] = None


class ReviewIn(Strict):
    items: Annotated[list[ReviewItem], Field(min_length=1, max_length=MAX_REVIEW)]


class BonusIn(Strict):
    amount: AmountText
    asset: AssetCode
    reason: Annotated[str | None, Field(max_length=280)] = None


class BonusOut(BaseModel):
    id: str
    assignment_id: str
    worker_id: str
    asset: str
    amount: str
    fee: str
    reason: str | None
    created_at: str


class DisputeIn(Strict):
    multiline = frozenset({"message"})
    message: Annotated[str, Field(min_length=1, max_length=2_000)]


class DecisionIn(Strict):
    multiline = frozenset({"note"})
    decision: Literal["overturn", "uphold"]
    note: Annotated[str | None, Field(max_length=2_000)] = None


class DisputeOut(BaseModel):
    assignment_id: str
    task_id: str
    worker_id: str
    employer_id: str
    message: str
    rejection_reason: str | None
    status: Literal["open", "upheld", "overturned"]
    opened_at: str
    decided_at: str | None
    note: str | None

    @classmethod
    def of(cls, d: Dispute) -> DisputeOut:
        return cls(
            assignment_id=d.assignment_id,
            task_id=d.task_id,
            worker_id=d.worker_id,
            employer_id=d.employer_id,
            message=d.message,
            rejection_reason=d.reason,
            status=d.status.value,
            opened_at=iso(d.opened_at),
            decided_at=iso(d.decided_at) if d.decided_at else None,
            note=d.note,
        )


class WorkerOut(BaseModel):
    approved: int
    rejected: int
    counted_rejections: int
    approval_rate_bp: int | None
    earned: dict[str, str]
    awaiting_review: dict[str, str]


# -- workers (static paths first: they must not be read as task ids) --------------------------


@router.get("/assignments", responses=ERRORS)
def my_assignments(
    platform: PlatformDep,
    principal: Reader,
    status: Annotated[AssignmentStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[AssignmentOut]:
    """The caller's assignments as a worker, newest first."""
    found = platform.tasks.my_assignments(principal.user_id, status, limit, offset)
    assets = {a.task_id: platform.tasks.task(a.task_id).asset for a in found}
    return [AssignmentOut.of(a, platform, assets[a.task_id]) for a in found]


@router.get("/assignments/{assignment_id}", responses=ERRORS)
def get_assignment(assignment_id: Id, platform: PlatformDep, principal: Reader) -> AssignmentOut:
    """One assignment, for its worker or its task's employer."""
    return AssignmentOut.of(platform.tasks.assignment(principal.user_id, assignment_id), platform)


@router.post("/assignments/{assignment_id}/submit", responses=ERRORS)
def submit(
    assignment_id: Id,
    body: SubmitIn,
    request: Request,
    platform: PlatformDep,
    principal: Worker,
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Hand in the answer, once, within the time allowed."""

    answer = body.answer if isinstance(body.answer, str) else json.dumps(body.answer, sort_keys=True)
    done = platform.tasks.submit(principal.user_id, assignment_id, answer, idempotency_key)
    return AssignmentOut.of(done, platform).model_dump(mode="json")


@router.post("/assignments/{assignment_id}/dispute", status_code=201, responses=ERRORS)
def dispute(
    assignment_id: Id,
    body: DisputeIn,
    request: Request,
    platform: PlatformDep,
    principal: Worker,
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Contest a rejection, once, with a message for the operator."""

    opened = platform.tasks.dispute(principal.user_id, assignment_id, body.message, idempotency_key)
    return DisputeOut.of(opened).model_dump(mode="json")


@router.get("/workers/me", responses=ERRORS)
def my_record(platform: PlatformDep, principal: Reader) -> WorkerOut:
    """The caller's record as a worker: approval rate and counts, earnings, work awaiting review.
    Earnings are in the wallet at once; withdraw any amount with POST /v1/withdrawals."""
    record = platform.tasks.worker_record(principal.user_id)
    rep = record.reputation

    def money(values: dict[str, int]) -> dict[str, str]:
        return {code: format_units(units, platform.wallets.asset(code)) for code, units in values.items()}

    return WorkerOut(
        approved=rep.approved,
        rejected=rep.rejected,
        counted_rejections=rep.counted_rejections,
        approval_rate_bp=rep.rate_bp,
        earned=money(record.earned),
        awaiting_review=money(record.awaiting),
    )


@router.post("/assignments/{assignment_id}/bonus", status_code=201, responses=ERRORS)
def pay_bonus(
    assignment_id: Id,
    body: BonusIn,
    request: Request,
    platform: PlatformDep,
    principal: Employer,
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Pay the worker of an assignment a bonus (the employer's fee applies on top)."""

    amount = Amount.parse(body.amount, platform.wallets.asset(body.asset))
    paid = platform.tasks.bonus(principal.user_id, assignment_id, amount, body.reason, idempotency_key)
    asset = platform.wallets.asset(paid.asset)
    out = BonusOut(
        id=paid.id,
        assignment_id=paid.assignment_id,
        worker_id=paid.worker_id,
        asset=paid.asset,
        amount=format_units(paid.amount, asset),
        fee=format_units(paid.fee, asset),
        reason=paid.reason,
        created_at=iso(paid.created_at),
    )
    return out.model_dump(mode="json")


# -- operators ---------------------------------------------------------------------------------


@router.get("/disputes", responses=ERRORS)
def list_disputes(
    platform: PlatformDep,
    principal: Operator,
    status: Annotated[Literal["open", "upheld", "overturned"] | None, Query()] = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DisputeOut]:
    """Disputes waiting for a decision (operators only), oldest first."""
    found = platform.tasks.disputes(DisputeStatus(status) if status else None, limit)
    return [DisputeOut.of(d) for d in found]


@router.post("/disputes/{assignment_id}/decision", responses=ERRORS)
def decide_dispute(
    assignment_id: Id,
    body: DecisionIn,
    request: Request,
    platform: PlatformDep,
    principal: Operator,
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Rule on a dispute (operators only): `overturn` pays the worker from the employer's
    wallet, `uphold` keeps the rejection."""

    decided = platform.tasks.decide_dispute(
        principal.user_id, assignment_id, body.decision == "overturn", body.note, idempotency_key
    )
    return DisputeOut.of(decided).model_dump(mode="json")


# -- tasks ---------------------------------------------------------------------------------------


def _deadline(text: str) -> int:
    try:
        return from_iso(text)
    except ValueError as error:
        raise InvalidRequest(
            "the deadline is ISO 8601, e.g. 2026-12-01T00:00:00Z", field="deadline"
        ) from error


@router.post("", status_code=201, responses=ERRORS)
def post_task(
    body: TaskIn,
    request: Request,
    platform: PlatformDep,
    principal: Employer,
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Post a task: `(reward + fee) x assignments` is held from the wallet at once, or
    the task is refused (`insufficient_funds`) and nothing is created."""

    reward = Amount.parse(body.reward, platform.wallets.asset(body.asset))
    auto = body.auto_approve_seconds
    terms = Terms(
        title=body.title,
        instructions=body.instructions,
        reward=reward.units,
        assignments=body.assignments,
        time_allowed_seconds=body.time_allowed_seconds,
        deadline=_deadline(body.deadline),
        auto_approve_seconds=platform.settings.task_auto_approve_seconds if auto is None else auto,
        min_approval_rate_bp=body.min_approval_rate_bp,
        min_approved=body.min_approved,
    )
    task = platform.tasks.post_task(principal.user_id, terms, body.asset, idempotency_key)
    return TaskOut.of(task, platform).model_dump(mode="json")


@router.get("", responses=ERRORS)
def list_tasks(
    platform: PlatformDep,
    principal: Reader,
    mine: Annotated[bool, Query(description="The caller's own tasks, as employer")] = False,
    status: Annotated[TaskStatus | None, Query(description="With mine: open, cancelled or closed")] = None,
    asset: Annotated[str | None, Query(min_length=3, max_length=12)] = None,
    min_reward: Annotated[str | None, Query(max_length=40)] = None,
    qualified: Annotated[bool, Query(description="Only tasks the caller qualifies for")] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[TaskOut]:
    """Open tasks with a free assignment, newest first; or, with `mine`, the caller's own."""
    floor = None
    if min_reward is not None:
        floor = Amount.parse(min_reward, platform.wallets.asset(asset or "EUR")).units
    found = platform.tasks.list_tasks(
        principal.user_id,
        mine=mine,
        status=status,
        asset=asset,
        min_reward=floor,
        qualified=qualified,
        limit=limit,
        offset=offset,
    )
    return [TaskOut.of(t, platform) for t in found]


@router.get("/{task_id}", responses=ERRORS)
def get_task(task_id: Id, platform: PlatformDep, principal: Reader) -> TaskOut:
    return TaskOut.of(platform.tasks.task(task_id), platform)


@router.get("/{task_id}/assignments", responses=ERRORS)
def task_assignments(
    task_id: Id,
    platform: PlatformDep,
    principal: Reader,
    status: Annotated[AssignmentStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_REVIEW)] = 1_000,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[AssignmentOut]:
    """The task's assignments for its employer: `status=submitted` lists what to review."""
    asset = platform.tasks.task(task_id).asset
    found = platform.tasks.task_assignments(principal.user_id, task_id, status, limit, offset)
    return [AssignmentOut.of(a, platform, asset) for a in found]


@router.post("/{task_id}/accept", status_code=201, responses=ERRORS)
def accept(
    task_id: Id,
    request: Request,
    platform: PlatformDep,
    principal: Worker,
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Take one assignment; it is yours for the time allowed, then it goes back."""

    taken = platform.tasks.accept(principal.user_id, task_id, idempotency_key)
    return AssignmentOut.of(taken, platform).model_dump(mode="json")


@router.post("/{task_id}/reviews", responses=ERRORS)
def review(
    task_id: Id,
    body: ReviewIn,
    request: Request,
    platform: PlatformDep,
    principal: Employer,
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Approve or reject up to 2,000 submissions at once, all or none: approved workers
    are paid at once, rejected assignments release their money (a reason is required)."""

    decisions = [Decision(i.assignment_id, i.decision == "approve", i.reason) for i in body.items]
    done = platform.tasks.review(principal.user_id, task_id, decisions, idempotency_key)
    asset = platform.tasks.task(task_id).asset
    return [AssignmentOut.of(a, platform, asset).model_dump(mode="json") for a in done]


@router.post("/{task_id}/cancel", responses=ERRORS)
def cancel(
    task_id: Id,
    request: Request,
    platform: PlatformDep,
    principal: Employer,
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Stop the task: assignments nobody took give their money back now; work already
    accepted may still be submitted, and submitted work must still be reviewed (or is
    approved by silence)."""

    cancelled = platform.tasks.cancel(principal.user_id, task_id, idempotency_key)
    return TaskOut.of(cancelled, platform).model_dump(mode="json")
