"""Workers that fall behind: a cycle due more than an interval ago is dropped and counted, not
run on a market that has moved on; and the tick queues no second cycle behind a queued one."""

from __future__ import annotations

from datetime import timedelta

from webapp.engine import tick as ticks
from webapp.engine.cycle import Outcome, run_cycle
from webapp.engine.tick import late_cycles, slot_for, tick
from webapp.extensions import db, redis_ext
from webapp.models import Trade
from webapp.models.types import utcnow
from workers.bots import run_cycles


def test_a_cycle_due_more_than_an_interval_ago_is_dropped_and_counted(bot_app, make_bot):
    bot = make_bot(mode="paper", params={"buy_below": "1000000", "sell_above": "2000000"})
    now = utcnow()
    stale = slot_for(now - timedelta(seconds=bot.interval_seconds * 3))
    result = run_cycle(bot.id, stale)
    assert result.outcome is Outcome.LATE
    db.session.expire_all()
    assert bot.state.cycle_count == 0 and db.session.query(Trade).count() == 0
    assert late_cycles(now) == 1
    assert run_cycle(bot.id, stale).outcome is Outcome.ALREADY_RAN  # the same job again

    # The current slot's cycle runs as usual (this threshold strategy buys at once).
    assert run_cycle(bot.id, slot_for(utcnow())).outcome is Outcome.TRADED
    assert late_cycles(now) == 1


def test_the_tick_queues_no_second_cycle_behind_a_queued_one(bot_app, make_bot):
    bot = make_bot(mode="paper")
    now = utcnow()
    first = tick(now)
    assert first.bots == 1
    # The bot is due again before the workers reached its first cycle.
    later = now + timedelta(seconds=bot.interval_seconds)
    db.session.expire_all()
    assert bot.state.next_run_at <= later
    assert tick(later).bots == 0
    assert len(redis_ext.queue("bots").job_ids) == 1
    # Once a worker takes the queued cycle, the next tick may queue the bot again.
    job = redis_ext.queue("bots").fetch_job(first.job_ids[0])
    run_cycles(*job.args)
    assert redis_ext.conn.get(ticks.QUEUED_KEY.format(bot.id)) is None
    assert tick(later).bots == 1
