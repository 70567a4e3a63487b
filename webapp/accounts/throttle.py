"""Failed-login throttling per account and per client IP, counted in Redis.

Counting lives in Redis so that every web process shares it. When Redis is unreachable
logins still work (and a warning is logged): locking everyone out during a Redis outage
would be worse than briefly losing the throttle.
"""

from __future__ import annotations

import hashlib
import logging
import math

from flask import current_app
from redis.exceptions import RedisError

from webapp.accounts.errors import LoginThrottledError
from webapp.extensions import redis_ext
from webapp.i18n.current import gettext as _
from webapp.i18n.current import ngettext

logger = logging.getLogger(__name__)

PREFIX = "throttle"


def _key(kind: str, value: str) -> str:
    # Hash the identifier: Redis dumps and monitors should not list who is being attacked.
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return f"{PREFIX}:{kind}:{digest}"


def _limits() -> tuple[int, int, int]:
    cfg = current_app.config
    return (
        cfg["LOGIN_MAX_FAILURES_PER_ACCOUNT"],
        cfg["LOGIN_MAX_FAILURES_PER_IP"],
        cfg["LOGIN_THROTTLE_WINDOW_SECONDS"],
    )


def _minutes(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext("%(num)d minute", "%(num)d minutes", minutes)


def check(email: str, ip: str) -> None:
    """Raise LoginThrottledError when this account or this IP has failed too often."""
    per_account, per_ip, _window = _limits()
    account_key, ip_key = _key("login-acct", email), _key("login-ip", ip)
    try:
        pipe = redis_ext.conn.pipeline()
        pipe.get(account_key).ttl(account_key).get(ip_key).ttl(ip_key)
        account_count, account_ttl, ip_count, ip_ttl = pipe.execute()
    except RedisError as exc:
        logger.warning("login throttle unavailable, allowing attempt: %s", exc)
        return
    if int(account_count or 0) >= per_account:
        wait = max(int(account_ttl), 1)
        raise LoginThrottledError(
            _(
                "Too many failed logins for this account. Try again in %(wait)s, "
                "or reset your password.",
                wait=_minutes(wait),
            ),
            wait,
        )
    if int(ip_count or 0) >= per_ip:
        wait = max(int(ip_ttl), 1)
        raise LoginThrottledError(
            _(
                "Too many failed logins from your network. Try again in %(wait)s.",
                wait=_minutes(wait),
            ),
            wait,
        )


def record_failure(email: str, ip: str) -> None:
    _per_account, _per_ip, window = _limits()
    try:
        pipe = redis_ext.conn.pipeline()
        for key in (_key("login-acct", email), _key("login-ip", ip)):
            pipe.incr(key)
            pipe.expire(key, window, nx=True)
        pipe.execute()
    except RedisError as exc:
        logger.warning("could not record failed login: %s", exc)


def clear_account(email: str) -> None:
    """A successful login or password reset forgives the account's earlier failures."""
    try:
        redis_ext.conn.delete(_key("login-acct", email))
    except RedisError as exc:
        logger.warning("could not clear login throttle: %s", exc)


def allow(kind: str, value: str, limit: int, window: int) -> bool:
    """Count one attempt of `kind` for `value`; False once `limit` were made within `window`
    seconds. Fails open (True) when Redis is unreachable, like the login throttle."""
    key = _key(kind, value)
    try:
        pipe = redis_ext.conn.pipeline()
        pipe.incr(key)
        pipe.expire(key, window, nx=True)
        count, _ = pipe.execute()
    except RedisError as exc:
        logger.warning("throttle %s unavailable, allowing: %s", kind, exc)
        return True
    return int(count) <= limit
