"""Bot jobs: the scheduler's tick and the batched cycles it queues (on the `bots` queue)."""

from __future__ import annotations

import logging

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

    counts: dict[str, int] = {}
    for bot_id in bot_ids:
        try:
            outcome = run_cycle(bot_id, slot).outcome.value
        except Exception:  # the cycle records its own failures; this is the last resort
            logger.exception("bot %s: cycle crashed", bot_id)
            outcome = "crashed"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
