"""Background work: every periodic job of the platform, claimed with a lease in the `jobs`
table so that any number of workers (`obolo worker`, or `obolo serve` in-process on
SQLite) can run beside each other, and a worker killed mid-job leaves the job to another
once its lease runs out. Each job is safe to rerun: money moves under ids derived from
what is settled, so a retried run never moves it twice. Webhook deliveries run in a lane
(a thread) of their own, so endpoints that answer slowly never hold up the other jobs;
their requests go through the platform's egress guard."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import structlog

from obolo.adapters.clock import NS_PER_SECOND
from obolo.bootstrap import Platform
from obolo.entrypoints.metrics import WEBHOOK_FAILURES, record_job
from obolo.jobs.model import Job
from obolo.jobs.service import JobRunner
from obolo.mail.outbox import deliver_emails
from obolo.webhooks.delivery import TIMEOUT_SECONDS, deliver_due

log = structlog.get_logger("obolo.workers")


class BooksDisagree(Exception):
    """Reconciliation found mismatches: the job fails, so the console shows it."""


def reconcile_yesterday(platform: Platform) -> int:
    """Reconcile the last whole UTC day; fails (visibly) when anything disagrees."""
    today = datetime.fromtimestamp(platform.clock() // NS_PER_SECOND, UTC).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    since = int((today - timedelta(days=1)).timestamp()) * NS_PER_SECOND
    result = platform.reconciler.run(since, int(today.timestamp()) * NS_PER_SECOND)
    if result.mismatches:
        kinds = sorted({m.kind.value for m in result.mismatches})
        raise BooksDisagree(
            f"{len(result.mismatches)} mismatch(es): {', '.join(kinds)}; run `obolo reconcile`"
        )
    return result.charges + result.payouts


def drain(step: Callable[..., int], batch: int, rounds: int = 100) -> Callable[[], int]:
    """A job that runs `step(limit=batch)` (one transaction each) until the queue is empty:
    a worker killed halfway leaves the batches it committed, and the next run goes on."""

    def run() -> int:
        done = 0
        for _ in range(rounds):
            handled = step(limit=batch)
            done += handled
            if handled < batch:
                break
        return done

    return run


def platform_jobs(platform: Platform, client: httpx.Client) -> list[Job]:
    """Every periodic job, how often it runs, and how long a run may take before its
    worker is presumed dead (the lease)."""
    lease, batch = platform.settings.job_lease_seconds, platform.settings.job_batch

    def job(name: str, every: int, run: Callable[[], int]) -> Job:
        return Job(name, every, run, lease_seconds=lease)

    return [
        Job(
            "webhooks",
            1,
            lambda: deliver_due(
                platform.engine, platform.secrets, platform.clock, client, on_failure=WEBHOOK_FAILURES.inc
            ),
            lease_seconds=lease,
            lane="webhooks",
        ),
        job("pending_expiry", 5, drain(platform.ledger.expire_pending, batch)),
        job("tabs_settle", 60, drain(platform.tabs.settle_due_tabs, batch)),
        # x402: channels paid through Obolo as a facilitator, claimed in bulk when done
        job("x402_claims", 300, lambda: claim_facilitated(platform)),
        # tasks: silence is approval; timed-out slots and past-deadline tasks give money back
        job("tasks_auto_approve", 10, drain(platform.tasks.auto_approve_due, batch)),
        job("tasks_release", 10, platform.tasks.release_expired),
        # tap: post transit days past their close, bill late taps at the week's end, collect debts
        job("tap_days", 60, drain(platform.tap.close_days, batch)),
        job("tap_weeks", 300, platform.tap.close_weeks),
        job("tap_debts", 60, platform.tap.collect_debts),
        # sms: cooling-off holds paid, unclaimed invitations returned, outbox delivered
        job("sms_release", 10, platform.sms.release_due),
        job("sms_outbox", 2, platform.sms.deliver_outbox),
        # checkout: requests past their expiry, held payments past their window to the seller
        job("checkout_expire", 10, drain(platform.checkout.expire_due, batch)),
        job("checkout_release", 60, drain(platform.checkout.release_due, batch)),
        # wallets: unclaimed invitations returned to their senders; mail delivered
        job("invitations_return", 60, drain(platform.invitations.return_due, batch)),
        job(
            "email_outbox", 2, lambda: deliver_emails(platform.engine, platform.email_gateway, platform.clock)
        ),
        # wallets: withdrawals whose request died between the hold and the settle, finished
        job("withdrawals_resume", 60, lambda: platform.wallets.resume_withdrawals(limit=min(batch, 100))),
        # settlement: daily payouts (the run checks hourly who is due), yesterday reconciled
        Job("payouts", 3600, platform.payouts.pay_out_due, lease_seconds=max(lease, 1800)),
        Job("reconcile", 86_400, lambda: reconcile_yesterday(platform), lease_seconds=max(lease, 1800)),
        # audit: the chain's head kept outside the database, if a place is configured
        *(
            [job("audit_anchor", 3600, lambda: anchor_audit(platform))]
            if platform.settings.audit_anchor_file
            else []
        ),
    ]


def anchor_audit(platform: Platform) -> int:
    """Append the audit chain's head to the configured anchor file; 1 line written."""
    from obolo.audit.service import current_anchor

    line = current_anchor(platform.engine, platform.clock()).line()
    with open(platform.settings.audit_anchor_file or "", "a") as kept:
        kept.write(line + "\n")
    return 1


def claim_facilitated(platform: Platform) -> int:
    """x402: the channels paid through Obolo as a facilitator, claimed when done."""
    from obolo.paywall.facilitator import Facilitator

    return Facilitator(platform.engine, platform.clock, platform.keys, platform.paywall).claim_due()


def run_once(platform: Platform, client: httpx.Client) -> dict[str, int]:
    """Every job once, now, in this process, without leases (tests and one-off runs)."""
    return {job.name: job.run() for job in platform_jobs(platform, client) if job.name != "reconcile"}


def outbound_client(platform: Platform) -> httpx.Client:
    """The jobs' HTTP client: the egress guard's, with the webhooks' timeout."""
    return platform.egress.client(timeout=TIMEOUT_SECONDS)


def run_forever(platform: Platform, stop: threading.Event, idle: float = 0.5) -> None:
    """Claim and run due jobs until `stop` is set: one thread per lane, each claiming only
    its own lane's jobs."""
    allowed = platform.egress.policy.describe()
    if allowed:
        log.warning("outbound requests may reach these internal hosts and networks", allowed=allowed)
    with outbound_client(platform) as client:
        lanes: dict[str, list[Job]] = {}
        for job in platform_jobs(platform, client):
            lanes.setdefault(job.lane, []).append(job)
        others = [
            threading.Thread(
                target=_run_lane, args=(platform, name, jobs, stop, idle), name=f"obolo-{name}", daemon=True
            )
            for name, jobs in lanes.items()
            if name != "main"
        ]
        for thread in others:
            thread.start()
        _run_lane(platform, "main", lanes.get("main", []), stop, idle)
        for thread in others:
            thread.join()


def _run_lane(platform: Platform, lane: str, jobs: list[Job], stop: threading.Event, idle: float) -> None:
    runner = JobRunner(platform.engine, platform.clock, jobs)
    log.info("worker started", owner=runner.owner, lane=lane, jobs=len(jobs))
    while not stop.is_set():
        try:
            outcome = runner.run_one()
        except Exception as error:  # the database away for a moment: try again shortly
            log.warning("jobs unavailable", error=type(error).__name__)
            outcome = None
        if outcome is None:
            stop.wait(idle)
            continue
        name, items, failure = outcome
        record_job(name, items, failed=failure is not None)
        if failure is not None:
            log.warning("job failed", job=name, error=f"{type(failure).__name__}: {failure}"[:300])
        elif items:
            log.info("job", job=name, items=items)


def start_in_background(platform: Platform) -> threading.Event:
    stop = threading.Event()
    threading.Thread(target=run_forever, args=(platform, stop), name="obolo-jobs", daemon=True).start()
    return stop
