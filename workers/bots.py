"""Bot jobs: the scheduler's tick and the batched cycles it queues (on the `bots` queue)."""

from __future__ import annotations

import contextlib
import logging
import time

from flask import current_app
from redis.exceptions import RedisError

from webapp import metrics
from workers import app_job

logger = logging.getLogger(__name__)


@app_job
def tick() -> str:
    """Queue the cycles of every due bot (run by rq-scheduler every BOT_TICK_SECONDS)."""
    from webapp.engine.tick import tick as run_tick

    return str(run_tick())


@app_job
def run_cycles(bot_ids: list[int], slot: int) -> dict[str, int]:
    """Run one cycle of each bot in turn; one bot's failure never stops the others.

    Returns how many cycles ended in each outcome (kept briefly as the job's result).
    """
    from webapp.engine.cycle import run_cycle
    from webapp.engine.tick import QUEUED_KEY
    from webapp.extensions import redis_ext
    from webapp.logs import current_bot_id

    # These bots' cycles are out of the queue now: the next tick may queue them again.
    with contextlib.suppress(RedisError):
        redis_ext.conn.delete(*(QUEUED_KEY.format(bot_id) for bot_id in bot_ids))
    counts: dict[str, int] = {}
    for bot_id in bot_ids:
        token = current_bot_id.set(bot_id)
        started = time.perf_counter()
        _count_late(slot)
        try:
            result = run_cycle(bot_id, slot)
            outcome = result.outcome.value
        except Exception as exc:  # the cycle records its own failures; this is the last resort
            logger.exception("bot %s: cycle crashed", bot_id)
            metrics.cycle_error(exc)
            result, outcome = None, "crashed"
        finally:
            current_bot_id.reset(token)
        _observe(result, outcome, time.perf_counter() - started)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def _count_late(slot: int) -> None:
    """A cycle starting after its tick's successor was due means the workers fall behind."""
    tick = max(1, int(current_app.config["BOT_TICK_SECONDS"]))
    if time.time() >= (slot + 2) * tick:
        metrics.BOT_CYCLES_LATE.inc()


def _observe(result, outcome: str, seconds: float) -> None:
    from webapp.engine.cycle import Outcome

    metrics.BOT_CYCLES.labels(outcome=outcome).inc()
    if outcome in {Outcome.LOCKED, Outcome.ALREADY_RAN, Outcome.NOT_RUNNING, Outcome.NOT_FOUND}:
        return  # nothing ran: no duration worth charting
    metrics.BOT_CYCLE_DURATION.observe(seconds)
    if result is not None and result.outcome is Outcome.TRADED:
        metrics.ORDERS.labels(result="filled").inc(max(1, len(result.trade_ids)))
    elif result is not None and result.outcome is Outcome.REFUSED:
        metrics.ORDERS.labels(result="refused").inc()
