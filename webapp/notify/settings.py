"""Typed access to the notification settings in app.config (env strings or test values)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app

from webapp.config import ConfigError


def _split(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(part).strip() for part in value if str(part).strip()]


@dataclass(frozen=True)
class NotifySettings:
    max_attempts: int
    retry_delays: tuple[float, ...]
    retry_after_max: float
    endpoint_max_failures: int
    user_hourly_limit: int
    user_daily_limit: int
    global_per_minute: int
    keep_sent_days: int
    keep_failed_days: int
    allow_http: bool
    allowed_hosts: tuple[str, ...]
    ca_bundle: str | None
    webhook_timeout: float
    base_url: str
    batch_size: int  # rows one delivery batch claims at most
    send_threads: int  # concurrent sends per worker process
    wake_slots: int  # delivery jobs that may wait in the queue at once

    def retry_delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if not self.retry_delays:
            return 0.0
        return self.retry_delays[min(attempt, len(self.retry_delays)) - 1]


def _env(name: str, default: int) -> str | int:
    return os.environ.get(name) or default


def load(config=None) -> NotifySettings:
    config = config if config is not None else current_app.config
    try:
        delays = tuple(float(part) for part in _split(config.get("NOTIFY_RETRY_DELAYS", "")))
    except ValueError:
        raise ConfigError(
            "NOTIFY_RETRY_DELAYS must be comma-separated seconds, e.g. 10,60,300"
        ) from None
    if any(delay < 0 for delay in delays):
        raise ConfigError("NOTIFY_RETRY_DELAYS must not be negative")
    return NotifySettings(
        max_attempts=max(1, int(config.get("NOTIFY_MAX_ATTEMPTS", 3))),
        retry_delays=delays,
        retry_after_max=float(config.get("NOTIFY_RETRY_AFTER_MAX", 3600)),
        endpoint_max_failures=max(1, int(config.get("NOTIFY_ENDPOINT_MAX_FAILURES", 20))),
        user_hourly_limit=int(config.get("NOTIFY_USER_HOURLY_LIMIT", 60)),
        user_daily_limit=int(config.get("NOTIFY_USER_DAILY_LIMIT", 500)),
        global_per_minute=int(config.get("NOTIFY_GLOBAL_PER_MINUTE", 600)),
        keep_sent_days=int(config.get("NOTIFY_KEEP_SENT_DAYS", 30)),
        keep_failed_days=int(config.get("NOTIFY_KEEP_FAILED_DAYS", 7)),
        allow_http=bool(config.get("ALLOW_HTTP_WEBHOOKS", False)),
        allowed_hosts=tuple(_split(config.get("WEBHOOK_ALLOWED_HOSTS"))),
        ca_bundle=config.get("WEBHOOK_CA_BUNDLE") or None,
        webhook_timeout=float(config.get("WEBHOOK_TIMEOUT", 10)),
        base_url=str(config.get("BASE_URL", "")).rstrip("/"),
        # Tuning knobs, from the environment unless the app config sets them.
        batch_size=max(1, int(config.get("NOTIFY_BATCH_SIZE", _env("NOTIFY_BATCH_SIZE", 32)))),
        send_threads=max(1, int(config.get("NOTIFY_SEND_THREADS", _env("NOTIFY_SEND_THREADS", 8)))),
        wake_slots=max(1, int(config.get("NOTIFY_WAKE_SLOTS", _env("NOTIFY_WAKE_SLOTS", 4)))),
    )
