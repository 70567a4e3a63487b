"""Run the real Procfile commands (rq worker, rqscheduler, flask) against the test services."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def process_env(app: Flask, **extra: str) -> dict[str, str]:
    """The environment a worker or scheduler process needs to join this test app."""
    cfg = app.config
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLASK_", "DATABASE_", "REDIS_", "MAIL_"))
    }
    env.update(
        FLASK_APP="wsgi",
        SECRET_KEY=cfg["SECRET_KEY"],
        ENCRYPTION_KEY=cfg["ENCRYPTION_KEY"],
        DATABASE_URL=cfg["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=cfg["REDIS_URL"],
        MAIL_SERVER=str(cfg["MAIL_SERVER"]),
        MAIL_PORT=str(cfg["MAIL_PORT"]),
        BASE_URL=cfg["BASE_URL"],
        EXCHANGE_SIM_URL=cfg.get("EXCHANGE_SIM_URL") or "",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def run(app: Flask, *argv: str, timeout: float = 60, **extra: str) -> subprocess.CompletedProcess:
    """Run a venv command (e.g. "rq", "worker", "--burst") to completion with the app's env."""
    command = [str(BIN / argv[0]), *argv[1:]]
    return subprocess.run(
        command,
        cwd=ROOT,
        env=process_env(app, **extra),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start(app: Flask, *argv: str, **extra: str) -> subprocess.Popen:
    command = [str(BIN / argv[0]), *argv[1:]]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=process_env(app, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
