"""Notification jobs: deliver one outbox row, sweep for rows without a job, clean up."""

from __future__ import annotations

import logging

from webapp.notify import delivery, jobs, outbox
from workers import app_job

logger = logging.getLogger(__name__)


#: Seconds a job keeps taking new batches before it hands over to a follow-up job.
BUDGET = 10.0


@app_job
def deliver(public_id: str | None = None, wake: int | None = None) -> str:
    """Deliver the due notifications, `public_id` (the row the job was queued for) among them,
    in batches until none is left; safe to run more than once. `wake` is the wake slot the job
    holds (see `jobs.schedule`), freed first. Returns what happened to `public_id`
    ("skipped" if another job had already done it)."""
    if wake is not None:
        jobs.free_wake_slot(wake)
    outcomes = delivery.deliver_due(first=public_id, budget=BUDGET)
    if outcomes:
        logger.debug("delivery job handled %d notification(s)", len(outcomes))
    for outcome in reversed(outcomes):  # the last thing that happened to it
        if outcome.public_id == public_id:
            return outcome.status.value
    return delivery.Status.SKIPPED.value


@app_job
def sweep() -> int:
    """Enqueue due notifications that have no job (Redis was down, a worker died)."""
    return jobs.sweep()


@app_job
def cleanup() -> dict[str, int]:
    """Delete old sent and failed notifications (see NOTIFY_KEEP_*_DAYS)."""
    return outbox.cleanup()
