"""What can go wrong with tasks, each with a stable `code` (HTTP statuses are decided in
`entrypoints/api/errors.py`).

    OboloError
    ├── NotFound
    │   ├── TaskNotFound             no such task (or not visible to this person)
    │   ├── AssignmentNotFound       no such assignment, or someone else's
    │   └── DisputeNotFound          no dispute on that assignment
    ├── Forbidden
    │   ├── NotQualified             the worker's record does not meet the task's qualification
    │   ├── OwnTask                  an employer working on (so approving) their own task
    │   └── NotTheEmployer           only the task's employer may review, pay bonuses, cancel
    ├── InvalidRequest
    │   ├── InvalidTask              terms that break a rule (field named in `field`)
    │   ├── InvalidAnswer            an empty or oversized answer, or dispute message
    │   ├── ReasonRequired           a rejection without a reason
    │   └── InvalidReview            a bulk review naming an assignment twice or of another task
    └── TaskConflict (409)           the thing is not in a state that allows this
        ├── TaskNotOpen              cancelled, closed or past its deadline
        ├── NoAssignmentLeft         every slot is taken
        ├── AlreadyTookPart          one assignment per worker per task
        ├── AssignmentExpired        the time allowed has passed
        ├── AlreadySubmitted         an answer is final
        ├── NotReviewable            only submitted work is approved or rejected
        ├── BonusNotAllowed          a bonus for an assignment nobody has done
        ├── DisputeNotAllowed        not rejected, already disputed, or the window has passed
        ├── DisputeDecided           the operator already ruled
        └── EmployerCannotPay        an overturned rejection the employer's wallet cannot cover
"""

from __future__ import annotations

from obolo.errors import Forbidden, InvalidRequest, NotFound, OboloError


class TaskNotFound(NotFound):
    code = "task_not_found"


class AssignmentNotFound(NotFound):
    code = "assignment_not_found"


class DisputeNotFound(NotFound):
    code = "dispute_not_found"


class NotQualified(Forbidden):
    code = "not_qualified"


class OwnTask(Forbidden):
    code = "own_task"


class NotTheEmployer(Forbidden):
    code = "not_the_employer"


class InvalidTask(InvalidRequest):
    code = "invalid_task"


class InvalidAnswer(InvalidRequest):
    code = "invalid_answer"


class ReasonRequired(InvalidRequest):
    code = "reason_required"


class InvalidReview(InvalidRequest):
    code = "invalid_review"


class TaskConflict(OboloError):
    code = "task_conflict"


class TaskNotOpen(TaskConflict):
    code = "task_not_open"


class NoAssignmentLeft(TaskConflict):
    code = "no_assignment_left"


class AlreadyTookPart(TaskConflict):
    code = "already_took_part"


class AssignmentExpired(TaskConflict):
    code = "assignment_expired"


class AlreadySubmitted(TaskConflict):
    code = "already_submitted"


class NotReviewable(TaskConflict):
    code = "not_reviewable"


class BonusNotAllowed(TaskConflict):
    code = "bonus_not_allowed"


class DisputeNotAllowed(TaskConflict):
    code = "dispute_not_allowed"


class DisputeDecided(TaskConflict):
    code = "dispute_decided"


class EmployerCannotPay(TaskConflict):
    code = "employer_cannot_pay"
