"""What `make run` prints: its processes, run with Procfile.local's own commands, keep the
periodic jobs' chatter out of the terminal unless asked for (RQ_LOG_LEVEL=INFO)."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.support.processes import BIN, ROOT, process_env
from tests.support.served import procfile_command
from webapp.extensions import redis_ext
from workers.maintenance import HEARTBEAT_KEY

CHATTER = ("Job OK", "result will never expire", "Successfully completed", "cleaning registries")


def run_process(app, name: str, *extra: str, **env: str) -> str:
    command = f"{procfile_command(name)} {' '.join(extra)}"
    result = subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT,
        env=process_env(app, PATH=f"{BIN}:{os.environ['PATH']}", **env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def run_periodic_jobs_once(app, **env: str) -> tuple[str, str]:
    """The scheduler's start-up and one pass, then the worker until the queues are empty."""
    before = time.time()
    scheduler = run_process(app, "scheduler", "--burst", **env)
    worker = run_process(app, "worker", "--burst", **env)
    beat = redis_ext.conn.get(HEARTBEAT_KEY)
    assert beat is not None and float(beat) >= before, worker  # the jobs really ran
    return scheduler, worker


def test_periodic_jobs_run_quietly(app):
    scheduler, worker = run_periodic_jobs_once(app)
    for line in CHATTER:
        assert line not in worker
    # The schedule is announced once per job, not once by the log and again by the command.
    assert scheduler.count("scheduled periodic-heartbeat every 60s") == 1
    assert "Schedule in sync" in scheduler


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_the_chatter_comes_back_when_asked_for(app, level):
    _, worker = run_periodic_jobs_once(app, RQ_LOG_LEVEL=level)
    assert "Job OK" in worker
