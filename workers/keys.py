"""Scheduled re-validation of stored exchange API keys.

`revalidate_all` runs every KEY_REVALIDATE_INTERVAL seconds (see webapp.scheduling) and fans
out one `revalidate_key` job per key, so one slow or failing exchange call delays only its key.
"""

from __future__ import annotations

import logging

from webapp.extensions import db, redis_ext
from webapp.keys import service
from workers import app_job

logger = logging.getLogger(__name__)

JOB_TIMEOUT = 120  # seconds; one key check is a couple of requests with a 10 s timeout each


@app_job
def revalidate_all() -> int:
    """Enqueue a check of every stored key on the default queue; returns how many."""
    queue = redis_ext.queue("default")
    key_ids = service.all_key_ids()
    for key_id in key_ids:
        queue.enqueue(
            "workers.keys.revalidate_key",
            key_id,
            job_timeout=JOB_TIMEOUT,
            result_ttl=3600,
            description=f"revalidate api key {key_id}",
        )
    logger.info("queued revalidation of %s api keys", len(key_ids))
    return len(key_ids)


@app_job
def revalidate_key(key_id: int) -> str:
    """Check one key with the exchange and commit the result (and any api_key_invalid event)."""
    try:
        api_key = service.revalidate(key_id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if api_key is None:
        return "deleted"
    if api_key.is_valid:
        return "valid" if not api_key.last_error else "unchecked"
    return "invalid"
