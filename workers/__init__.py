"""RQ job functions. Jobs take ids (never ORM objects) and run inside an app context.

Run a worker with `rq worker --worker-class workers.AppWorker bots default notifications`:
the app is built once in the parent process, so each forked job starts warm instead of
re-importing and re-configuring everything.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import Flask, has_app_context
from rq.worker import Worker

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

_app: Flask | None = None


def get_app() -> Flask:
    """The process-wide app, built from the environment on first use."""
    global _app
    if _app is None:
        from webapp import create_app

        _app = create_app()
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


class AppWorker(Worker):
    """An RQ worker that builds the app before forking its work horses."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        get_app()
