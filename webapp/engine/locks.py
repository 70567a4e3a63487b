"""Short Redis locks: one cycle per bot at a time, one market-data fetch per market and slot.

A lock is `SET key token NX PX ttl`; only the holder of the token may release it (checked and
deleted atomically in Lua), so a cycle that outlived its TTL cannot free a lock that another
cycle has taken since. A crashed holder's lock simply expires.
"""

from __future__ import annotations

import logging
import secrets
import time
from types import TracebackType

from redis import Redis

logger = logging.getLogger(__name__)

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class RedisLock:
    """A non-reentrant lock with a time to live; use `acquire()`/`release()` or `with`."""

    def __init__(self, conn: Redis, key: str, ttl_seconds: float) -> None:
        self.conn = conn
        self.key = key
        self.ttl_ms = max(1, int(ttl_seconds * 1000))
        self.token: str | None = None

    def acquire(self, wait_seconds: float = 0.0, poll_seconds: float = 0.05) -> bool:
        """Take the lock, waiting up to `wait_seconds` for its holder; False if not taken."""
        token = secrets.token_hex(8)
        deadline = time.monotonic() + wait_seconds
        while True:
            if self.conn.set(self.key, token, nx=True, px=self.ttl_ms):
                self.token = token
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll_seconds)

    def release(self) -> bool:
        """Free the lock if it is still ours; False when it expired (and maybe was retaken)."""
        if self.token is None:
            return False
        token, self.token = self.token, None
        released = bool(self.conn.eval(_RELEASE, 1, self.key, token))
        if not released:
            logger.warning("lock %s expired before its holder released it", self.key)
        return released

    @property
    def held(self) -> bool:
        return self.token is not None

    def __enter__(self) -> RedisLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.held:
            self.release()


def bot_lock(conn: Redis, bot_id: int, ttl_seconds: float) -> RedisLock:
    return RedisLock(conn, f"bots:lock:{bot_id}", ttl_seconds)
