"""LOG_FORMAT=json reaches every line the Procfile processes print: gunicorn's access and error
logs, rq's own worker lines and the scheduler's lines are JSON objects too, with secrets
redacted."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time

import requests
from rq import Queue

from tests.support.processes import BIN, ROOT, process_env
from tests.support.served import ServedApp, procfile_command
from webapp.extensions import redis_ext


def json_lines(output: str) -> list[dict]:
    entries = []
    for line in output.splitlines():
        if line.strip():
            entry = json.loads(line)  # fails the test on any plain-text line
            assert isinstance(entry, dict), line
            entries.append(entry)
    return entries


def api_token_shaped() -> str:
    return "tb_" + secrets.token_urlsafe(24)


def test_gunicorn_access_and_error_logs_are_json(app, tmp_path):
    token = api_token_shaped()
    env = process_env(app, LOG_FORMAT="json", LOG_LEVEL="INFO")
    server = ServedApp(env, tmp_path / "web.log").start()
    try:
        assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200
        secret_key = app.config["SECRET_KEY"]
        for path in (f"/no-such/{token}", f"/no-such/{secret_key}"):
            assert requests.get(server.url + path, timeout=10).status_code == 404
    finally:
        server.stop()
    log = server.log()
    entries = json_lines(log)
    access = [e for e in entries if e["logger"] == "gunicorn.access"]
    assert any('"GET /healthz" 200' in e["message"] for e in access), log
    missing = [e["message"] for e in access if '"GET /no-such/' in e["message"]]
    assert len(missing) == 2 and all("/no-such/[redacted]" in m for m in missing), missing
    assert token not in log and app.config["SECRET_KEY"] not in log
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)


def test_plain_text_stays_the_default(served):
    mark = served.mark()
    requests.get(f"{served.url}/healthz", timeout=10)
    # gunicorn writes the access line after the response has gone, so give it a moment.
    deadline = time.monotonic() + 10
    while not (lines := [x for x in served.log_since(mark).splitlines() if "/healthz" in x]):
        assert time.monotonic() < deadline, "no access-log line for /healthz"
        time.sleep(0.05)
    line = lines[0]
    assert line.startswith("127.0.0.1 [") and '"GET /healthz" 200' in line


def test_rq_worker_lines_are_json(app):
    """The `worker` process (AppWorker); NotifyWorker configures rq's loggers the same way."""
    token = api_token_shaped()
    description = f"heartbeat with token {token} and key {app.config['SECRET_KEY']}"
    Queue("default", connection=redis_ext.conn).enqueue(
        "workers.maintenance.heartbeat", description=description
    )
    command = procfile_command("worker") + " --burst"
    env = process_env(
        app, PATH=f"{BIN}:{os.environ['PATH']}", LOG_FORMAT="json", RQ_LOG_LEVEL="INFO"
    )
    result = subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    entries = json_lines(output)
    rq_lines = [e for e in entries if e["logger"].startswith("rq.")]
    assert any("Job OK" in e["message"] for e in rq_lines), output
    assert any("heartbeat with token [redacted]" in e["message"] for e in rq_lines), output
    assert token not in output and app.config["SECRET_KEY"] not in output


def test_scheduler_lines_are_json(app):
    """The `scheduler` process as the Procfile starts it: its sync lines and rq-scheduler's."""
    command = procfile_command("scheduler") + " --burst"
    env = process_env(app, PATH=f"{BIN}:{os.environ['PATH']}", LOG_FORMAT="json")
    result = subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    entries = json_lines(output)
    loggers = {e["logger"] for e in entries}
    assert {"webapp.cli", "rq_scheduler.scheduler", "webapp.scheduling"} <= loggers, output
    assert any(e["message"] == "Registering birth" for e in entries), output
    assert app.config["SECRET_KEY"] not in output
    keys = {"time", "level", "logger", "message", "request_id", "user_id", "bot_id"}
    assert all(keys <= set(e) for e in entries)
