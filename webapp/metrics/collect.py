"""What /metrics serves: the processes' samples added up, plus gauges read at scrape time
(notification outbox by channel and status, RQ queue lengths)."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from webapp.extensions import QUEUES, db, redis_ext

logger = logging.getLogger(__name__)


class ScrapeTimeCollector:
    """Gauges that are facts about shared state, not counts of one process's work."""

    def collect(self):
        from webapp.models import Notification

        outbox = GaugeMetricFamily(
            "tradebots_notifications",
            "Notifications in the outbox, by channel and status.",
            labels=["channel", "status"],
        )
        try:
            rows = db.session.execute(
                sa.select(Notification.channel, Notification.status, sa.func.count()).group_by(
                    Notification.channel, Notification.status
                )
            ).all()
        except SQLAlchemyError as exc:
            logger.warning("metrics: outbox unavailable: %s", type(exc).__name__)
            db.session.rollback()
            rows = []
        for channel, status, count in rows:
            outbox.add_metric([_value(channel), _value(status)], count)
        yield outbox

        queues = GaugeMetricFamily(
            "tradebots_queue_length", "Jobs waiting in each RQ queue.", labels=["queue"]
        )
        try:
            for name in QUEUES:
                queues.add_metric([name], redis_ext.queue(name).count)
        except (RedisError, OSError) as exc:
            logger.warning("metrics: queues unavailable: %s", type(exc).__name__)
        yield queues


def _value(member) -> str:
    return str(getattr(member, "value", member))


def render() -> bytes:
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(ScrapeTimeCollector())
    return generate_latest(registry)
