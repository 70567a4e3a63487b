"""Telling the installation's admins that an exchange banned its IP (HTTP 418).

A ban stops every user's bots at once until it ends, and only the operator can do something
about it (find what ignored the 429s, move the installation to another IP), so every admin
gets an urgent notice, by email whatever their preferences, once per ban: the first process
to see the 418 queues one job (`webapp.exchange.budget`), which writes the notices.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from webapp.extensions import db
from webapp.models import Notification, User
from webapp.models.types import utcnow
from webapp.notify import kinds, outbox

logger = logging.getLogger(__name__)

NOTICE_JOB = "workers.exchange.tell_admins_of_ban"
ADMIN_PAGE = "/admin/exchange"
#: How far back a notice of the same ban is looked for (bans last minutes up to days).
RECENT = timedelta(days=4)


def queue_notice(redis: Redis, host: str, until: float) -> None:
    """Queue the job that tells the admins; never raises (the ban is already logged)."""
    try:
        Queue("default", connection=redis).enqueue(
            NOTICE_JOB,
            host,
            until,
            job_id=f"exchange-ban-{re.sub(r'[^A-Za-z0-9_-]', '-', host)}-{int(until)}",
            job_timeout=60,
            result_ttl=86400,
            description=f"tell the admins that {host} banned this installation",
        )
    except (RedisError, OSError) as exc:
        logger.warning("could not queue the ban notice for %s (%s)", host, type(exc).__name__)


def tell_admins(host: str, until: float, *, now: datetime | None = None) -> int:
    """Write one notice per admin for the ban of `host` ending at `until` (a Unix time), in
    the caller's transaction; an admin already told of this ban is skipped, so running it twice
    tells nobody twice. Returns how many were told."""
    ends = datetime.fromtimestamp(until, UTC)
    data = {
        "exchange": host,
        "banned_until": ends.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "message": (
            f"{host} answered HTTP 418: it banned this installation's IP address because "
            "requests went on after its 429 answers. Every request to it waits until the ban "
            "ends, so no bot can trade there meanwhile. The exchange page shows what used the "
            "weight; check whether another program shares this IP address."
        ),
        "url": ADMIN_PAGE,
    }
    admins = db.session.scalars(sa.select(User.id).where(User.is_admin).order_by(User.id)).all()
    recent = db.session.execute(
        sa.select(Notification.user_id, Notification.payload).where(
            Notification.event_type == kinds.EXCHANGE_BANNED,
            Notification.user_id.in_(admins),
            Notification.created_at >= (now or utcnow()) - RECENT,
        )
    )
    already = {
        user_id
        for user_id, payload in recent
        if (payload or {}).get("exchange") == host
        and (payload or {}).get("banned_until") == data["banned_until"]
    }
    told = 0
    for admin_id in admins:
        if admin_id not in already:
            outbox.record_system_notice(admin_id, kinds.EXCHANGE_BANNED, data)
            told += 1
    if told:
        logger.info("told %d admin(s) that %s banned this installation", told, host)
    return told
