"""Run the real Procfile commands (rq worker, `flask schedule run`) against the test services."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def process_env(app: Flask | Mapping, **extra: str) -> dict[str, str]:
    """The environment a worker, scheduler or web process needs to join this test app
    (`app` may also be just its config)."""
    cfg = app.config if isinstance(app, Flask) else app
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


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`, children first (read from /proc, Linux only)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                # "pid (comm) state ppid ...": comm may hold spaces, so split after its ")"
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether `pid` still runs (a zombie waiting to be reaped does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def kill_tree(proc: subprocess.Popen, timeout: float = 10) -> None:
    """SIGKILL a process and everything it started.

    Killing the process group is not enough for `rq worker`: its work horse calls setpgrp(),
    so a horse left alive would go on writing into the next test's database.
    """
    below = descendants(proc.pid)
    for pid in [*below, proc.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=timeout)
    deadline = time.monotonic() + timeout  # SIGKILL lands asynchronously
    while any(alive(pid) for pid in below):
        if time.monotonic() > deadline:
            raise TimeoutError(f"processes {below} outlived SIGKILL")
        time.sleep(0.02)
