"""RQ job functions. Jobs take ids (never ORM objects) and run inside an app context.

Run a worker with `rq worker --worker-class workers.AppWorker bots default notifications`:
the app is built once in the parent process, so each forked job starts warm instead of
re-importing and re-configuring everything. A worker only for notifications can run
`rq worker --worker-class workers.NotifyWorker notifications`, which does not fork at all.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import Flask, has_app_context
from rq.worker import SimpleWorker, Worker

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

_app: Flask | None = None


def get_app() -> Flask:
    """The process-wide app, built from the environment on first use."""
    global _app
    if _app is None:
        from webapp import create_app
        from webapp.config import ConfigError

        try:
            _app = create_app()
        except ConfigError as exc:  # one line, as the web process prints it
            sys.stderr.write(f"Configuration error: {exc}\n")
            raise SystemExit(2) from None
    return _app


def app_job(func: Callable[P, R]) -> Callable[P, R]:
    """Run the job inside an app context (reusing the caller's when there is one)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if has_app_context():
            return func(*args, **kwargs)
        with get_app().app_context():
            return func(*args, **kwargs)

    return wrapper


def _forget_inherited_connections() -> None:
    # A forked child must not reuse the parent's database sockets.
    if _app is not None:
        from webapp.extensions import db

        with _app.app_context():
            db.engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_inherited_connections)


def _configure_rq_logging() -> None:
    """rq's own lines in the app's log format (JSON with LOG_FORMAT=json)."""
    from webapp import logs

    logs.configure_rq_logging(get_app())


class AppWorker(Worker):
    """An RQ worker that builds the app before forking its work horses."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _configure_rq_logging()


class NotifyWorker(SimpleWorker):
    """A worker for the `notifications` queue that runs jobs in its own process, unforked.

    A delivery job waits on the network and needs a few milliseconds of CPU per message; a
    forked work horse costs more than that (the fork, cold SQL statement caches, new database,
    Redis and TLS connections each time). Unforked, database pools, compiled statements and
    kept-alive HTTPS connections carry over from job to job.

    What is given up is a fork's isolation, which these jobs do not need: they hold no state
    between runs (each runs in a fresh app context and session), their threads only do
    network work and stop with the job, and a job timeout still interrupts them (SIGALRM in
    this process). If the process dies mid-job, the rows it claimed go out again once their
    claim expires (the sweeper), as with a killed work horse. Bot cycles keep AppWorker.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _configure_rq_logging()
        others = [name for name in self.queue_names() if name != "notifications"]
        if others:
            logger.warning(
                "NotifyWorker is meant for the notifications queue only; it also listens on %s "
                "without forking",
                ", ".join(others),
            )
