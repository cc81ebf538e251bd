"""Background work: deliver due webhooks and expire pending transfers past their
timeout. `obolo serve` runs it in a thread beside the API (enough for SQLite and one
process); each step is safe to run from several processes at once."""

from __future__ import annotations

import threading

import httpx
import structlog

from obolo.bootstrap import Platform
from obolo.entrypoints.metrics import WEBHOOK_FAILURES, record_job
from obolo.webhooks.delivery import deliver_due

log = structlog.get_logger("obolo.workers")


def run_once(platform: Platform, client: httpx.Client) -> dict[str, int]:
    """One pass of every periodic job; how much each did."""
    return {
        "webhooks_attempted": deliver_due(
            platform.engine, platform.secrets, platform.clock, client, on_failure=WEBHOOK_FAILURES.inc
        ),
        "pending_expired": platform.ledger.expire_pending(),
        "tabs_settled": platform.tabs.settle_due_tabs(),
        # tasks: silence is approval; timed-out slots and past-deadline tasks give money back
        "tasks_auto_approved": platform.tasks.auto_approve_due(),
        "task_slots_released": platform.tasks.release_expired(),
        # tap: post transit days past their close, bill late taps at the week's end, collect debts
        "tap_days_closed": platform.tap.close_days(),
        "tap_weeks_corrected": platform.tap.close_weeks(),
        "tap_debts_collected": platform.tap.collect_debts(),
        # sms: cooling-off holds paid, unclaimed invitations returned, outbox delivered
        "sms_released": platform.sms.release_due(),
        "sms_delivered": platform.sms.deliver_outbox(),
    }


def run_forever(platform: Platform, stop: threading.Event, interval: float = 1.0) -> None:
    with httpx.Client(timeout=5.0, follow_redirects=False) as client:
        while not stop.is_set():
            try:
                done = run_once(platform, client)
                for job, items in done.items():
                    record_job(job, items)
                if any(done.values()):
                    log.info("jobs", **done)
            except Exception as error:  # a failing pass must not stop the next one
                record_job("pass", 0, failed=True)
                log.warning("jobs failed", error=type(error).__name__)
            stop.wait(interval)


def start_in_background(platform: Platform) -> threading.Event:
    stop = threading.Event()
    threading.Thread(target=run_forever, args=(platform, stop), name="obolo-jobs", daemon=True).start()
    return stop
