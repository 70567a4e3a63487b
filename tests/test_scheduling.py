"""The pinned rq and rq-scheduler work together: a real scheduled job reaches a real worker
through the scheduler process (`flask schedule run`)."""

from __future__ import annotations

import json
import re
import signal
import time

import pytest
from redis import Redis
from rq import Queue
from rq_scheduler import Scheduler

from tests.support.processes import kill_tree, run, start
from tests.support.services import RedisServer
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


def json_lines(output: str) -> list[dict]:
    entries = []
    for line in output.splitlines():
        entry = json.loads(line)  # fails the test on any plain-text (or blank) line
        assert isinstance(entry, dict), line
        entries.append(entry)
    return entries


def test_scheduled_job_runs_through_the_scheduler_command_and_rq_worker(app):
    conn = redis_ext.conn
    assert conn.get(HEARTBEAT_KEY) is None
    before = time.time()
    # The scheduler process (it syncs the periodic jobs first), for one pass, logging JSON.
    result = run(app, "flask", "schedule", "run", "--burst", LOG_FORMAT="json")
    assert result.returncode == 0, result.stdout + result.stderr
    entries = json_lines(result.stdout + result.stderr)
    keys = {"time", "level", "logger", "message", "request_id", "user_id", "bot_id"}
    assert entries and all(keys <= set(entry) for entry in entries), entries
    messages = [(entry["logger"], entry["message"]) for entry in entries]
    assert ("webapp.cli", "scheduled periodic-heartbeat every 60s on default") in messages
    assert ("rq_scheduler.scheduler", "RQ scheduler done, quitting") in messages
    # The due heartbeat was moved onto its queue, and a worker runs it.
    queued = set(Queue("default", connection=conn).job_ids)
    assert queued == {job.job_id for job in scheduling.PERIODIC_JOBS if job.queue == "default"}
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
    # A second start changes nothing in the schedule.
    result = run(app, "flask", "schedule", "run", "--burst", LOG_FORMAT="json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not any(e["message"].startswith("scheduled ") for e in json_lines(result.stderr))


TEXT_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR) [\w.]+: ")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_scheduler_stops_cleanly_on_a_signal(app, sig):
    """honcho stops the process with SIGTERM, a terminal with Ctrl-C (SIGINT); either ends
    the wait between passes at once, however long the interval."""
    conn = redis_ext.conn
    proc = start(app, "flask", "schedule", "run", "--interval", "60")
    try:
        deadline = time.monotonic() + 30
        # Its first pass, at start-up, moves the due jobs onto their queues; then it waits.
        while "periodic-heartbeat" not in Queue("default", connection=conn).job_ids:
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "the scheduler never queued the heartbeat"
            time.sleep(0.05)
        proc.send_signal(sig)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            kill_tree(proc)
    output = proc.stdout.read()
    lines = output.splitlines()
    # The default format is the app's own text lines, like the web and worker processes'.
    assert lines and all(TEXT_LINE.match(line) for line in lines), output
    assert f"webapp.scheduling: Scheduler stopping ({sig.name})" in output
    assert lines[-1].endswith("webapp.scheduling: Scheduler stopped"), output
    assert conn.get("rq:scheduler_lock") is None  # the next scheduler need not wait for it
    (key,) = conn.keys(f"{Scheduler.redis_scheduler_namespace_prefix}*")
    assert conn.hexists(key, "death")
    # The stop lost no periodic job: every one is still in the schedule.
    ids = {job_id for job_id, _, _ in scheduling.scheduled_jobs(conn)}
    assert ids == {job.job_id for job in scheduling.PERIODIC_JOBS}


def wait_until(condition, proc, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_the_scheduler_outlives_a_redis_restart_and_restores_the_schedule(app, tmp_path):
    """A Redis restarted empty loses the periodic jobs; the running scheduler puts them back."""
    own = RedisServer(tmp_path).start()
    conn = Redis.from_url(own.url)
    proc = start(app, "flask", "schedule", "run", "--interval", "0.2", REDIS_URL=own.url)
    try:
        queued = lambda: "periodic-heartbeat" in Queue("default", connection=conn).job_ids  # noqa: E731
        wait_until(queued, proc, "the scheduler never queued the heartbeat")
        own.stop()
        time.sleep(1)  # a few passes with Redis down
        own.start()  # empty: no schedule, no queues
        wait_until(queued, proc, "the heartbeat was not queued again after the restart")
        # Every periodic job is back (polled: a job is briefly out of the schedule while the
        # scheduler moves it to its queue and schedules its next run).
        wanted = {job.job_id for job in scheduling.PERIODIC_JOBS}
        scheduled = lambda: {job_id for job_id, _, _ in scheduling.scheduled_jobs(conn)} == wanted  # noqa: E731
        wait_until(scheduled, proc, "the periodic jobs were not all scheduled again", timeout=10)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            kill_tree(proc)
        own.stop()
    output = proc.stdout.read()
    assert output.count("Scheduler cannot reach Redis (retrying)") == 1, output
    assert "Redis lost the scheduler's state; syncing the periodic jobs again" in output
    assert "Traceback" not in output
