"""Rate limits (counted in Redis) and quiet hours: both postpone a notification, never drop it.

Limits use fixed clock windows (the current hour and UTC day per user, the current minute for
everyone). A notification over a limit waits for the start of the window that is full. The
check and the count happen in one Lua script, so concurrent workers cannot overshoot.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from redis import Redis
from redis.exceptions import RedisError

from webapp.models import QuietHours
from webapp.notify.settings import NotifySettings

logger = logging.getLogger(__name__)

KEY_PREFIX = "notify:rate:"

# KEYS: counters; ARGV: limit_1..limit_n, ttl_1..ttl_n. Returns 0 when counted, else the
# 1-based index of the first full window (nothing is counted then).
_CHECK_AND_COUNT = """
local n = #KEYS
for i = 1, n do
  local limit = tonumber(ARGV[i])
  if limit >= 0 then
    local current = tonumber(redis.call('GET', KEYS[i]) or '0')
    if current >= limit then
      return i
    end
  end
end
for i = 1, n do
  redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], tonumber(ARGV[n + i]))
end
return 0
"""


@dataclass(frozen=True)
class Window:
    name: str
    key: str
    limit: int
    ends_at: datetime


def _windows(user_id: int, now: datetime, cfg: NotifySettings) -> list[Window]:
    now = now.astimezone(UTC)
    minute = now.replace(second=0, microsecond=0)
    hour = minute.replace(minute=0)
    day = hour.replace(hour=0)
    return [
        Window(
            "per-user hourly",
            f"{KEY_PREFIX}user:{user_id}:h:{hour:%Y%m%d%H}",
            cfg.user_hourly_limit,
            hour + timedelta(hours=1),
        ),
        Window(
            "per-user daily",
            f"{KEY_PREFIX}user:{user_id}:d:{day:%Y%m%d}",
            cfg.user_daily_limit,
            day + timedelta(days=1),
        ),
        Window(
            "global per-minute",
            f"{KEY_PREFIX}global:m:{minute:%Y%m%d%H%M}",
            cfg.global_per_minute,
            minute + timedelta(minutes=1),
        ),
    ]


def acquire(conn: Redis, user_id: int, now: datetime, cfg: NotifySettings) -> Window | None:
    """Count one delivery if every window has room; else return the full window (uncounted).

    A negative limit means unlimited. If Redis cannot be reached the delivery goes ahead:
    a notification that is late because of the limiter would be worse than one extra.
    """
    windows = _windows(user_id, now, cfg)
    limits = [w.limit for w in windows]
    ttls = [int((w.ends_at - now).total_seconds()) + 120 for w in windows]
    try:
        full = int(
            conn.eval(_CHECK_AND_COUNT, len(windows), *[w.key for w in windows], *limits, *ttls)
        )
    except RedisError as exc:
        logger.warning(
            "rate limiter unavailable (%s); sending without counting", type(exc).__name__
        )
        return None
    if full:
        return windows[full - 1]
    return None


@functools.cache
def timezone_names() -> frozenset[str]:
    """The IANA names a user may choose (``America`` is a folder of the database, not a zone:
    ``ZoneInfo("America")`` raises IsADirectoryError, so only this list is trusted)."""
    return frozenset(available_timezones())


def is_valid_timezone(name: str) -> bool:
    return name in timezone_names()


def zone(name: str | None) -> ZoneInfo:
    """The zone called `name`; UTC (and a warning) for anything that is not a real zone, so a
    bad stored value can never stop a delivery."""
    if not name:
        return ZoneInfo("UTC")
    try:
        if is_valid_timezone(name):
            return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    logger.warning("quiet hours time zone %r is not a known zone; using UTC", name[:64])
    return ZoneInfo("UTC")


class QuietSettings(Protocol):
    enabled: bool
    start_time: time
    end_time: time
    timezone: str | None


@dataclass(frozen=True)
class QuietPeriod:
    """A detached copy of a user's quiet hours, safe to read outside the database session."""

    enabled: bool
    start_time: time
    end_time: time
    timezone: str | None

    @classmethod
    def of(cls, quiet: QuietHours | None) -> QuietPeriod | None:
        if quiet is None:
            return None
        return cls(quiet.enabled, quiet.start_time, quiet.end_time, quiet.timezone)


def quiet_until(quiet: QuietSettings | None, now: datetime) -> datetime | None:
    """When the current quiet period ends (UTC), or None if `now` is not in one."""
    if quiet is None or not quiet.enabled or quiet.start_time == quiet.end_time:
        return None
    tz = zone(quiet.timezone)
    local = now.astimezone(tz)
    t = local.time().replace(tzinfo=None)
    start, end = quiet.start_time, quiet.end_time
    if start < end:
        inside = start <= t < end
        end_date = local.date()
    else:  # spans midnight, e.g. 22:00-07:00
        inside = t >= start or t < end
        end_date = local.date() + timedelta(days=1) if t >= start else local.date()
    if not inside:
        return None
    ends = datetime.combine(end_date, time(end.hour, end.minute), tzinfo=tz)
    return ends.astimezone(UTC)
