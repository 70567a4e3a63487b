"""Per-token rate limit for /api/v1, counted in Redis so every web process shares it.

A fixed window (API_RATE_LIMIT requests per minute by default): each answer carries
`RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds until the window ends)
and `RateLimit-Policy`; over the limit it is 429 with `Retry-After`. If Redis is unreachable
requests go through (and a warning is logged), as the login throttle does.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass

from flask import current_app
from redis.exceptions import RedisError

from webapp.api.problems import ApiError
from webapp.config import ConfigError
from webapp.extensions import redis_ext

logger = logging.getLogger(__name__)

PREFIX = "api:rl"
UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
_SPEC = re.compile(r"\s*(\d+)\s*(?:/\s*([a-z]+))?\s*")


@dataclass(frozen=True)
class Limit:
    count: int
    window: int  # seconds


@dataclass(frozen=True)
class Usage:
    limit: Limit
    used: int
    reset: int  # seconds until the window ends

    @property
    def remaining(self) -> int:
        return max(0, self.limit.count - self.used)

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit.count),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
            "RateLimit-Policy": f"{self.limit.count};w={self.limit.window}",
        }


def parse_limit(text: str) -> Limit:
    """ "60/min", "5/s", "1000/hour" or a bare number (per minute)."""
    match = _SPEC.fullmatch(str(text).lower())
    unit = match and (match.group(2) or "min")
    if not match or unit not in UNITS or int(match.group(1)) < 1:
        raise ConfigError(f"API_RATE_LIMIT must look like 60/min, 5/s or 1000/hour, got {text!r}")
    return Limit(int(match.group(1)), UNITS[unit])


def check(token_id: int) -> Usage | None:
    """Count this request for the token; raises ApiError(429) past the limit. None if Redis
    cannot count."""
    limit = parse_limit(current_app.config.get("API_RATE_LIMIT", "60/min"))
    now = time.time()
    window = int(now // limit.window)
    key = f"{PREFIX}:{token_id}:{window}"
    try:
        pipe = redis_ext.conn.pipeline()
        pipe.incr(key)
        pipe.expire(key, limit.window + 1)
        used = int(pipe.execute()[0])
    except (RedisError, OSError) as exc:
        logger.warning("api rate limit not counted, Redis: %s", type(exc).__name__)
        return None
    reset = max(1, int((window + 1) * limit.window - now + 0.999))
    usage = Usage(limit, used, reset)
    if used > limit.count:
        raise ApiError(
            429,
            f"This token may make {limit.count} requests per {limit.window} s; "
            f"try again in {reset} s.",
            code="rate_limited",
            headers={"Retry-After": str(reset), **usage.headers()},
        )
    return usage
