"""Prometheus metrics, counted in every process that does the work.

prometheus_client's multiprocess mode: each gunicorn worker and RQ worker writes its samples
to files under PROMETHEUS_MULTIPROC_DIR, and /metrics adds them up. The directory must be
known before prometheus_client is first imported, so this module sets it (default
instance/prometheus) and is imported first by `create_app`.
"""

from __future__ import annotations

import os
from pathlib import Path

from webapp.config import BASE_DIR

MULTIPROC_DIR = Path(
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(BASE_DIR / "instance" / "prometheus"))
)
MULTIPROC_DIR.mkdir(parents=True, exist_ok=True)

from prometheus_client import Counter, Histogram  # noqa: E402  (after the directory is set)

HTTP_REQUESTS = Counter(
    "tradebots_http_requests_total",
    "HTTP requests answered, by endpoint, method and status.",
    ["endpoint", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "tradebots_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint.",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BOT_CYCLES = Counter(
    "tradebots_bot_cycles_total", "Bot cycles run by the workers, by outcome.", ["outcome"]
)
BOT_CYCLE_DURATION = Histogram(
    "tradebots_bot_cycle_duration_seconds",
    "How long one bot cycle took.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
BOT_CYCLE_ERRORS = Counter(
    "tradebots_bot_cycle_errors_total", "Failed bot cycles, by kind of error.", ["kind"]
)
BOT_CYCLES_LATE = Counter(
    "tradebots_bot_cycles_late_total",
    "Cycles that started after the next tick was already due (workers falling behind).",
)
ORDERS = Counter("tradebots_orders_total", "Orders the bots placed, by result.", ["result"])
EXCHANGE_REQUESTS = Counter(
    "tradebots_exchange_requests_total",
    "Requests sent to exchanges, by exchange and result.",
    ["exchange", "result"],
)


def count_exchange_requests(client, exchange_id: str) -> None:
    """Count each HTTP response a ccxt client gets (by exchange and status class)."""

    def hook(response, *args, **kwargs):
        EXCHANGE_REQUESTS.labels(
            exchange=exchange_id, result=f"{response.status_code // 100}xx"
        ).inc()

    session = getattr(client, "session", None)
    if session is not None and hasattr(session, "hooks"):
        session.hooks.setdefault("response", []).append(hook)

    fetch = client.fetch

    def counted_fetch(*args, **kwargs):
        try:
            return fetch(*args, **kwargs)
        except Exception as exc:
            kind = no_response_kind(exc)
            if kind is not None:
                EXCHANGE_REQUESTS.labels(exchange=exchange_id, result=kind).inc()
            raise

    client.fetch = counted_fetch


def no_response_kind(exc: BaseException) -> str | None:
    """`timeout` or `connection_error` when a request got no HTTP response at all (ccxt
    wraps the requests error it met), else None: answered requests are counted by status."""
    import requests

    cause = exc.__cause__ if exc.__cause__ is not None else exc
    if not isinstance(cause, requests.RequestException | ConnectionError):
        return None  # ccxt's own errors for answered requests (a 504 is a RequestTimeout too)
    if isinstance(cause, requests.Timeout) or "timed out" in str(cause).lower():
        return "timeout"
    return "connection_error"


NOTIFICATION_DELIVERIES = Counter(
    "tradebots_notification_deliveries_total",
    "Notification delivery attempts, by channel and outcome (sent, retry, failed, rate_limited).",
    ["channel", "outcome"],
)
ATTEMPTED = {"sent", "retry", "failed", "rate_limited"}


def count_deliveries(results) -> None:
    """Count delivery attempts given as (channel, status) pairs once their outcome is
    recorded; rows held back (quiet hours, waiting, deferred) made no attempt."""
    for channel, status in results:
        outcome = str(getattr(status, "value", status))
        if outcome in ATTEMPTED:
            NOTIFICATION_DELIVERIES.labels(
                channel=str(getattr(channel, "value", channel)), outcome=outcome
            ).inc()


def cycle_error(exc: BaseException) -> None:
    """Count a failed cycle by the error's class (a short, bounded label)."""
    BOT_CYCLE_ERRORS.labels(kind=type(exc).__name__).inc()
