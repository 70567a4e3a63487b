"""Reachability checks for the services the app depends on (health endpoint, admin page)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import sqlalchemy as sa
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from webapp.extensions import db, redis_ext

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    latency_ms: float
    error: str | None = None

    def as_dict(self, *, public: bool = False) -> dict:
        """`public` (the unauthenticated health endpoint) names only the kind of failure; the
        driver's message can carry internal host and user names."""
        data: dict = {"ok": self.ok, "latency_ms": round(self.latency_ms, 1)}
        if self.error:
            data["error"] = self.error.split(":", 1)[0] if public else self.error
        return data


def _describe(exc: Exception) -> str:
    # The first line of the driver's message names the cause (refused, timeout, auth) without
    # the SQL or connection string that SQLAlchemy appends.
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else 'unreachable'}"[:300]


def check_database() -> CheckResult:
    start = time.perf_counter()
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError as exc:
        db.session.rollback()
        logger.warning("database health check failed: %s", _describe(exc))
        return CheckResult(False, (time.perf_counter() - start) * 1000, _describe(exc))
    finally:
        db.session.remove()
    return CheckResult(True, (time.perf_counter() - start) * 1000)


def check_redis() -> CheckResult:
    start = time.perf_counter()
    try:
        redis_ext.conn.ping()
    except (RedisError, OSError) as exc:
        logger.warning("redis health check failed: %s", _describe(exc))
        return CheckResult(False, (time.perf_counter() - start) * 1000, _describe(exc))
    return CheckResult(True, (time.perf_counter() - start) * 1000)


def check_all() -> dict[str, CheckResult]:
    return {"database": check_database(), "redis": check_redis()}
