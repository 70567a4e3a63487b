"""Housekeeping jobs that keep the scheduler honest."""

from __future__ import annotations

import logging
import time

from webapp.extensions import redis_ext
from workers import app_job

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "scheduler:heartbeat"


@app_job
def heartbeat() -> float:
    """Record that a scheduled job reached a worker; the admin page shows its age."""
    now = time.time()
    redis_ext.conn.set(HEARTBEAT_KEY, now, ex=3600)
    return now
