"""Task rules: pure functions and values, no I/O.

How the money of a task moves (every arrow a ledger transfer):

    post       employer wallet ──pending hold (reward + fee)──▶ task escrow     one per slot
    approve    post that hold in full; escrow ─▶ worker (reward - payout fee)
                                       escrow ─▶ fee revenue (fee + payout fee)  one linked chain
    reject     void the slot's hold (the employer's money is free again)
    cancel     void the holds of slots nobody has taken
    bonus      employer wallet ─▶ worker, employer wallet ─▶ fee revenue       linked

A pending transfer can be posted once, so each assignment slot has a hold of its own:
approving N submissions is N independent chains in ONE ledger batch.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Final

from obolo.ledger import Transfer, TransferFlags
from obolo.money import round_half_even, split_fee
from obolo.settings import FeeRule
from obolo.tasks.errors import InvalidTask

NS_PER_SECOND: Final = 1_000_000_000
#: Slots per task: each is a pending hold and posting them is one batch (the ledger takes 8,000).
MAX_ASSIGNMENTS: Final = 2_000
#: Submissions per review call: an approval is up to three transfers, so 2,000 fit one batch.
MAX_REVIEW: Final = 2_000
MAX_ANSWER_CHARS: Final = 20_000
MAX_TIME_ALLOWED_SECONDS: Final = 7 * 24 * 3600
MAX_AUTO_APPROVE_SECONDS: Final = 30 * 24 * 3600
MAX_DEADLINE_SECONDS: Final = 365 * 24 * 3600


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    CANCELLED = "cancelled"
    #: The deadline passed; slots nobody took were released.
    CLOSED = "closed"


class AssignmentStatus(enum.StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    #: The slot's hold went back to the employer without anyone being paid.
    RELEASED = "released"


S = AssignmentStatus

#: The only moves an assignment slot makes. REJECTED → APPROVED is an overturned rejection.
TRANSITIONS: Final[dict[AssignmentStatus, frozenset[AssignmentStatus]]] = {
    S.OPEN: frozenset({S.ACCEPTED, S.RELEASED}),
    S.ACCEPTED: frozenset({S.SUBMITTED, S.OPEN, S.RELEASED}),
    S.SUBMITTED: frozenset({S.APPROVED, S.REJECTED}),
    S.REJECTED: frozenset({S.APPROVED}),
    S.APPROVED: frozenset(),
    S.RELEASED: frozenset(),
}

#: Slots whose hold is still reserved in the ledger.
HELD: Final = frozenset({S.OPEN, S.ACCEPTED, S.SUBMITTED})


def can_move(current: AssignmentStatus, target: AssignmentStatus) -> bool:
    return target in TRANSITIONS[current]


class Reviewer(enum.StrEnum):
    EMPLOYER = "employer"
    AUTO = "auto"
    OPERATOR = "operator"


class DisputeStatus(enum.StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    OVERTURNED = "overturned"


class AccountCode(enum.IntEnum):
    """Ledger account codes of this product (wallets use 1-10)."""

    TASK_ESCROW = 20


class TransferCode(enum.IntEnum):
    """Why money moved, for this product's transfers (wallets use 1-4; 3 is a fee)."""

    FEE = 3
    TASK_HOLD = 20
    TASK_PAYOUT = 21
    TASK_BONUS = 22


# -- terms -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Terms:
    """What an employer offers. `reward` is in units of the task's asset; `deadline` in ns."""

    title: str
    instructions: str
    reward: int
    assignments: int
    time_allowed_seconds: int
    deadline: int
    auto_approve_seconds: int = 72 * 3600
    min_approval_rate_bp: int = 0
    min_approved: int = 0


def check_terms(terms: Terms, now: int) -> None:
    """Raises InvalidTask naming the first field that breaks a rule."""
    problems = [
        ("title", 1 <= len(terms.title.strip()) <= 200, "a title of 1-200 characters"),
        (
            "instructions",
            1 <= len(terms.instructions.strip()) <= 20_000,
            "instructions of 1-20,000 characters",
        ),
        ("reward", terms.reward > 0, "a positive reward"),
        ("assignments", 1 <= terms.assignments <= MAX_ASSIGNMENTS, f"1 to {MAX_ASSIGNMENTS} assignments"),
        (
            "time_allowed_seconds",
            60 <= terms.time_allowed_seconds <= MAX_TIME_ALLOWED_SECONDS,
            "between a minute and a week to do one assignment",
        ),
        (
            "deadline",
            now < terms.deadline <= now + MAX_DEADLINE_SECONDS * NS_PER_SECOND,
            "a deadline in the future, within a year",
        ),
        (
            "auto_approve_seconds",
            0 <= terms.auto_approve_seconds <= MAX_AUTO_APPROVE_SECONDS,
            "an auto-approval delay of at most 30 days",
        ),
        (
            "min_approval_rate_bp",
            0 <= terms.min_approval_rate_bp <= 10_000,
            "a minimum approval rate from 0 to 10,000 basis points",
        ),
        ("min_approved", 0 <= terms.min_approved <= 1_000_000, "a minimum approved count from 0"),
    ]
    for field, ok, wanted in problems:
        if not ok:
            raise InvalidTask(f"the task needs {wanted}", field=field)


# -- money -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pricing:
    """One assignment's money, in units: the employer pays `reward + fee`, the worker gets
    `reward - payout_fee`, the platform keeps `fee + payout_fee`. Parts add up exactly."""

    reward: int
    fee: int
    payout_fee: int

    @property
    def hold(self) -> int:
        return self.reward + self.fee

    @property
    def payout(self) -> int:
        return self.reward - self.payout_fee

    @property
    def revenue(self) -> int:
        return self.fee + self.payout_fee


def price(reward: int, employer_fee: FeeRule, payout_fee: FeeRule) -> Pricing:
    """Fees per assignment, each by `split_fee`'s one rounding rule (half to even). Fees
    are computed per slot, not on the task's total, so every slot's hold is the same and
    releasing one slot gives back exactly what it held."""
    _, fee = split_fee(reward, employer_fee.basis_points, employer_fee.fixed)
    _, taken = split_fee(reward, payout_fee.basis_points, payout_fee.fixed)
    return Pricing(reward, fee, taken)


def bonus_fee(amount: int, employer_fee: FeeRule) -> int:
    """The employer's fee on a bonus: the same rule as on rewards."""
    _, fee = split_fee(amount, employer_fee.basis_points, employer_fee.fixed)
    return fee


@dataclass(frozen=True, slots=True)
class Accounts:
    """The ledger accounts one task's money moves between."""

    asset: str
    employer_wallet: int
    escrow: int
    revenue: int


def hold_transfers(hold_ids: list[int], accounts: Accounts, pricing: Pricing) -> list[Transfer]:
    """One pending hold per slot, linked so the task is funded in full or not at all."""
    last = len(hold_ids) - 1
    return [
        Transfer(
            hold_id,
            accounts.employer_wallet,
            accounts.escrow,
            pricing.hold,
            accounts.asset,
            code=int(TransferCode.TASK_HOLD),
            flags=TransferFlags.PENDING | (TransferFlags.LINKED if index < last else TransferFlags.NONE),
        )
        for index, hold_id in enumerate(hold_ids)
    ]


def approval_transfers(
    ids: tuple[int, int, int], hold_id: int, worker_account: int, accounts: Accounts, pricing: Pricing
) -> list[Transfer]:
    """Post the slot's hold into escrow and pay it out at once, as one linked chain:
    all of it happens or none. `ids` are (post, payout, fee) transfer ids."""
    post_id, payout_id, fee_id = ids
    chain = [
        Transfer(
            post_id, pending_id=hold_id, flags=TransferFlags.POST_PENDING_TRANSFER | TransferFlags.LINKED
        )
    ]
    if pricing.payout:
        chain.append(
            Transfer(payout_id, accounts.escrow, worker_account, pricing.payout, accounts.asset,
                     code=int(TransferCode.TASK_PAYOUT), flags=TransferFlags.LINKED)
        )  # fmt: skip
    if pricing.revenue:
        chain.append(
            Transfer(fee_id, accounts.escrow, accounts.revenue, pricing.revenue, accounts.asset,
                     code=int(TransferCode.FEE), flags=TransferFlags.LINKED)
        )  # fmt: skip
    return _close_chain(chain)


def direct_transfers(
    ids: tuple[int, int], worker_account: int, accounts: Accounts, amount: int, fee: int, code: TransferCode
) -> list[Transfer]:
    """Pay straight from the employer's wallet (a bonus, an overturned rejection): the
    amount to the worker and the fee to revenue, linked."""
    pay_id, fee_id = ids
    chain = [
        Transfer(pay_id, accounts.employer_wallet, worker_account, amount, accounts.asset, code=int(code),
                 flags=TransferFlags.LINKED)
    ]  # fmt: skip
    if fee:
        chain.append(
            Transfer(fee_id, accounts.employer_wallet, accounts.revenue, fee, accounts.asset,
                     code=int(TransferCode.FEE), flags=TransferFlags.LINKED)
        )  # fmt: skip
    return _close_chain(chain)


def release_transfer(transfer_id: int, hold_id: int) -> Transfer:
    return Transfer(transfer_id, pending_id=hold_id, flags=TransferFlags.VOID_PENDING_TRANSFER)


def _close_chain(chain: list[Transfer]) -> list[Transfer]:
    chain[-1] = replace(chain[-1], flags=chain[-1].flags & ~TransferFlags.LINKED)
    return chain


# -- reputation ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReviewRecord:
    """One reviewed assignment of a worker, as reputation sees it. `final` is true once
    the rejection can no longer change (a dispute upheld it)."""

    employer_id: str
    approved: bool
    reviewed_at: int
    final: bool = False


@dataclass(frozen=True, slots=True)
class Reputation:
    approved: int
    rejected: int
    #: Rejections that count against the rate now (see `reputation`).
    counted_rejections: int
    #: Approval rate in basis points; None for a worker nobody has reviewed yet.
    rate_bp: int | None


def reputation(
    records: Iterable[ReviewRecord], now: int, dispute_window_seconds: int, cap_per_employer: int
) -> Reputation:
    """Approval rate and counts. A rejection still open to dispute counts, but at most
    `cap_per_employer` of them per employer: one employer rejecting everything at once can
    lower the rate only so far until the dispute window passes (or a dispute is decided);
    then each rejection counts in full."""
    approved = rejected = settled = 0
    recent: Counter[str] = Counter()
    window = dispute_window_seconds * NS_PER_SECOND
    for record in records:
        if record.approved:
            approved += 1
            continue
        rejected += 1
        if record.final or record.reviewed_at + window <= now:
            settled += 1
        else:
            recent[record.employer_id] += 1
    counted = settled + sum(min(count, cap_per_employer) for count in recent.values())
    reviewed = approved + counted
    rate = round_half_even(approved * 10_000, reviewed) if reviewed else None
    return Reputation(approved, rejected, counted, rate)


def qualifies(record: Reputation, min_rate_bp: int, min_approved: int) -> bool:
    """Does the worker meet a task's qualification? Nobody reviewed yet has no rate to
    fall short of, so only a minimum approved count can keep newcomers out."""
    if record.approved < min_approved:
        return False
    return record.rate_bp is None or record.rate_bp >= min_rate_bp


# -- fair pay --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FairPay:
    """Effective hourly pay of a task from the time workers spent on it, in units per hour."""

    samples: int
    hourly: int | None
    minimum: int
    below_minimum: bool
    #: A bonus per assignment that would lift the task to the minimum (when below it).
    bonus_to_reach_minimum: int | None


def fair_pay(payout: int, seconds_spent: list[int], min_samples: int, minimum_hourly: int) -> FairPay:
    """The worker's pay per hour on this task once `min_samples` answers are in: what one
    assignment pays, over the mean time spent. `minimum_hourly` 0 means no minimum."""
    samples = len(seconds_spent)
    if samples < max(1, min_samples):
        return FairPay(samples, None, minimum_hourly, False, None)
    total = sum(max(1, s) for s in seconds_spent)
    hourly = round_half_even(payout * samples * 3600, total)
    below = minimum_hourly > 0 and hourly < minimum_hourly
    bonus = None
    if below:
        # The smallest whole-unit bonus per assignment that reaches the minimum (ceiling).
        needed = -(-minimum_hourly * total // (3600 * samples))
        bonus = max(0, needed - payout)
    return FairPay(samples, hourly, minimum_hourly, below, bonus)
