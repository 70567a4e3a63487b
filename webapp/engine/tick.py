"""The scheduler's tick: find the bots that are due and queue their cycles in batches.

rq-scheduler runs `workers.bots.tick` every BOT_TICK_SECONDS (a PeriodicJob). The tick reads
the database (the source of truth for which bots run), advances each due bot's `next_run_at`
by its interval, and enqueues one job per BOT_BATCH_SIZE bots of a market, so 10,000 bots do
not mean 10,000 forks and the bots of one market share one market-data fetch.

Job ids are derived from the bot ids and the tick's time slot, and a cycle skips a slot its
bot already ran, so a doubled tick (two schedulers, a retried job) cannot double a cycle.
The tick fetches no market data itself: the first cycle of each market in a slot does,
in parallel across workers, so a slow exchange never delays the tick.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from redis.exceptions import RedisError
from rq import Queue

from webapp.engine.locks import RedisLock
from webapp.extensions import db, redis_ext
from webapp.models import ACTIVE_STATUSES, Bot, BotOrder, BotState, BotStatus
from webapp.models.types import utcnow

logger = logging.getLogger(__name__)

CYCLE_JOB = "workers.bots.run_cycles"
TICK_LOCK_KEY = "bots:tick:lock"
#: Set while a bot's cycle waits in the queue: the tick queues no second one behind it.
QUEUED_KEY = "bots:queued:{}"


@dataclass
class TickResult:
    slot: int
    bots: int = 0
    markets: int = 0
    job_ids: list[str] = field(default_factory=list)
    skipped: bool = False  # another tick was running

    def __str__(self) -> str:
        if self.skipped:
            return "another tick is running; nothing done"
        return (
            f"slot {self.slot}: {self.bots} due bots on {self.markets} markets, "
            f"{len(self.job_ids)} jobs queued"
        )


def slot_for(now: datetime) -> int:
    """The tick's time slot: whole BOT_TICK_SECONDS periods since the epoch."""
    return int(now.timestamp()) // max(1, int(current_app.config["BOT_TICK_SECONDS"]))


def batch_job_id(bot_ids: list[int], slot: int) -> str:
    digest = hashlib.blake2b(",".join(map(str, bot_ids)).encode(), digest_size=8).hexdigest()
    return f"bots-cycle-{slot}-{bot_ids[0]}-{digest}"


def due_bots(now: datetime) -> list[sa.Row]:
    return list(
        db.session.execute(
            sa.select(
                BotState.bot_id,
                BotState.next_run_at,
                Bot.interval_seconds,
                Bot.exchange,
                Bot.symbol,
                Bot.timeframe,
            )
            .join(Bot, Bot.id == BotState.bot_id)
            .where(
                BotState.status == BotStatus.RUNNING,
                BotState.next_run_at <= now,
                sa.or_(BotState.paused_until.is_(None), BotState.paused_until <= now),
            )
            .order_by(BotState.next_run_at, BotState.bot_id)
        )
    )


def winding_down() -> list[sa.Row]:
    """Stopped bots that still have resting orders: their cycle cancels them, and each tick
    queues one until none is left (so no way of stopping a bot leaves orders behind)."""
    active = sa.select(BotOrder.id).where(
        BotOrder.bot_id == BotState.bot_id, BotOrder.status.in_(ACTIVE_STATUSES)
    )
    return list(
        db.session.execute(
            sa.select(BotState.bot_id, Bot.exchange, Bot.symbol, Bot.timeframe)
            .join(Bot, Bot.id == BotState.bot_id)
            .where(BotState.status != BotStatus.RUNNING, active.exists())
            .order_by(BotState.bot_id)
        )
    )


def tick(now: datetime | None = None, *, queue: Queue | None = None) -> TickResult:
    """Queue the cycles of every due bot; returns what was queued."""
    cfg = current_app.config
    now = now or utcnow()
    slot = slot_for(now)
    conn = redis_ext.conn
    lock = RedisLock(conn, TICK_LOCK_KEY, max(30, 6 * int(cfg["BOT_TICK_SECONDS"])))
    if not lock.acquire():
        return TickResult(slot=slot, skipped=True)
    try:
        return _tick(now, slot, queue or redis_ext.queue("bots"))
    finally:
        lock.release()


def _tick(now: datetime, slot: int, queue: Queue) -> TickResult:
    cfg = current_app.config
    rows = due_bots(now) + winding_down()
    result = TickResult(slot=slot, bots=len(rows))
    if not rows:
        db.session.rollback()
        return result
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    updates = []
    conn = redis_ext.conn
    waiting = conn.mget([QUEUED_KEY.format(row.bot_id) for row in rows])
    behind = [row for row, queued in zip(rows, waiting, strict=True) if queued]
    if behind:  # the workers have not reached their last cycle yet: one is enough
        logger.info("tick %s: %s bots still have a cycle queued", slot, len(behind))
        rows = [row for row, queued in zip(rows, waiting, strict=True) if not queued]
        result.bots = len(rows)
        if not rows:
            db.session.rollback()
            return result
    for row in rows:
        groups[(row.exchange, row.symbol, row.timeframe)].append(row.bot_id)
        if "interval_seconds" not in row._fields:  # winding down: it runs no more
            continue
        interval = timedelta(seconds=row.interval_seconds)
        next_run = row.next_run_at + interval  # from the due time: no drift
        if next_run <= now:  # far behind (scheduler was down): start afresh from now
            next_run = now + interval
        updates.append({"id": row.bot_id, "next": next_run})
    # Only `next_run_at` is written, so a bot stopped meanwhile stays stopped (and one
    # deleted meanwhile is simply not matched). Committed only once the jobs are queued: if
    # Redis fails, the bots stay due and the next tick queues them, no cycle is skipped.
    table = BotState.__table__
    if updates:
        db.session.execute(
            sa.update(table)
            .where(table.c.bot_id == sa.bindparam("id"))
            .values(next_run_at=sa.bindparam("next", type_=table.c.next_run_at.type)),
            updates,
        )

    batch = max(1, int(cfg["BOT_BATCH_SIZE"]))
    timeout = int(cfg["BOT_JOB_TIMEOUT"])
    tick_seconds = int(cfg["BOT_TICK_SECONDS"])
    jobs = []
    for bot_ids in groups.values():
        for start in range(0, len(bot_ids), batch):
            chunk = bot_ids[start : start + batch]
            job_id = batch_job_id(chunk, slot)
            jobs.append(
                Queue.prepare_data(
                    CYCLE_JOB,
                    args=(chunk, slot),
                    job_id=job_id,
                    timeout=timeout,
                    result_ttl=60,
                    failure_ttl=24 * 3600,
                    # A cycle still queued this long after its tick is stale: a newer one
                    # will be queued when the bot is due again.
                    ttl=max(60, 12 * tick_seconds),
                    description=f"bots cycle slot {slot}: {len(chunk)} bots",
                )
            )
            result.job_ids.append(job_id)
    try:
        queue.enqueue_many(jobs)
        marks = conn.pipeline(transaction=False)
        for row in rows:
            marks.set(QUEUED_KEY.format(row.bot_id), slot, ex=max(60, 12 * tick_seconds))
        marks.execute()
    except Exception:
        db.session.rollback()
        logger.warning("tick %s: queueing failed; %s bots stay due", slot, len(rows))
        raise
    db.session.commit()
    result.markets = len(groups)
    logger.info("tick %s", result)
    return result


LATE_KEY = "bots:late:{:%Y-%m-%d}"


def count_late_cycle(now: datetime) -> None:
    """Count a dropped late cycle for the admin page (per UTC day, kept a week)."""
    key = LATE_KEY.format(now.astimezone(UTC))
    try:
        redis_ext.conn.pipeline(transaction=False).incr(key).expire(key, 8 * 86400).execute()
    except RedisError:
        logger.warning("a late cycle could not be counted: Redis is unreachable")


def late_cycles(now: datetime) -> int:
    """Late cycles dropped today (UTC)."""
    try:
        return int(redis_ext.conn.get(LATE_KEY.format(now.astimezone(UTC))) or 0)
    except RedisError:
        return 0
