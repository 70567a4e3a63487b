"""Notification jobs: deliver one outbox row, sweep for rows without a job, clean up."""

from __future__ import annotations

import logging

from webapp.notify import delivery, outbox
from workers import app_job

logger = logging.getLogger(__name__)


#: Rows of one user and channel a job delivers in a row before handing over to a new job.
CHAIN = 25


@app_job
def deliver(public_id: str) -> str:
    """Deliver (or postpone) one notification, then the ones of the same user and channel that
    waited for it; safe to run more than once."""
    return delivery.deliver(public_id, chain=CHAIN).status


@app_job
def sweep() -> int:
    """Enqueue due notifications that have no job (Redis was down, a worker died)."""
    return outbox.sweep()


@app_job
def cleanup() -> dict[str, int]:
    """Delete old sent and failed notifications (see NOTIFY_KEEP_*_DAYS)."""
    return outbox.cleanup()
