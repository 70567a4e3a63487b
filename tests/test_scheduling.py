"""The pinned rq and rq-scheduler work together: a real scheduled job reaches a real worker."""

from __future__ import annotations

import time

from tests.support.processes import run
from webapp import scheduling
from webapp.extensions import redis_ext
from workers.maintenance import HEARTBEAT_KEY


def test_sync_is_idempotent_and_removes_stale_jobs(app):
    conn = redis_ext.conn
    first = scheduling.sync_schedule(conn)
    assert "scheduled periodic-heartbeat every 60s on default" in first
    assert len(first) == len(scheduling.PERIODIC_JOBS)
    assert scheduling.sync_schedule(conn) == []
    stale = scheduling.PeriodicJob("old", "workers.maintenance.heartbeat", 5)
    scheduling.sync_schedule(conn, [*scheduling.PERIODIC_JOBS, stale])
    changes = scheduling.sync_schedule(conn)
    assert changes == ["removed periodic-old"]
    ids = sorted(job_id for job_id, _, _ in scheduling.scheduled_jobs(conn))
    assert ids == sorted(job.job_id for job in scheduling.PERIODIC_JOBS)


def test_scheduled_job_runs_through_rqscheduler_and_rq_worker(app):
    conn = redis_ext.conn
    assert conn.get(HEARTBEAT_KEY) is None
    # The scheduler process's own start-up command, then one pass of rqscheduler.
    result = run(app, "flask", "schedule", "sync")
    assert result.returncode == 0, result.stderr
    assert "scheduled periodic-heartbeat" in result.stdout
    before = time.time()
    result = run(app, "rqscheduler", "--url", app.config["REDIS_URL"], "--burst")
    assert result.returncode == 0, result.stderr
    result = run(
        app, "rq", "worker", "--url", app.config["REDIS_URL"], "--burst",
        "--worker-class", "workers.AppWorker", "bots", "default", "notifications",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    beat = conn.get(HEARTBEAT_KEY)
    assert beat is not None, result.stdout + result.stderr
    assert float(beat) >= before
    # The periodic job is still scheduled for its next run, a minute later.
    next_runs = {job_id: when for job_id, _func, when in scheduling.scheduled_jobs(conn)}
    assert next_runs["periodic-heartbeat"].timestamp() > before + 30
