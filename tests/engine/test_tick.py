"""The tick: due bots, batches, shared market data, and a schedule that survives Redis."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.engine.conftest import step
from tests.support.processes import run
from webapp.engine import marketdata
from webapp.engine.tick import tick
from webapp.extensions import db, redis_ext
from webapp.models import BotState, BotStatus
from webapp.models.types import utcnow

WORKER = ("rq", "worker", "--burst", "--worker-class", "workers.AppWorker")


def worker_burst(app, *queues: str, **env: str):
    result = run(app, *WORKER, "--url", app.config["REDIS_URL"], *queues, **env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def cycle_counts(bots) -> list[int]:
    db.session.expire_all()
    return [bot.state.cycle_count for bot in bots]


def test_tick_queues_due_bots_in_batches_per_market_and_advances_them(
    bot_app, sim, clock, make_bot
):
    bot_app.config["BOT_BATCH_SIZE"] = 2
    btc = [make_bot(mode="paper") for _ in range(3)]
    eth = make_bot(mode="paper", symbol="ETH/USDT", params={"buy_below": "1", "sell_above": "2"})
    stopped = make_bot(mode="paper", start=False)
    later = make_bot(mode="paper")
    later.state.next_run_at = utcnow() + timedelta(minutes=5)
    db.session.commit()

    now = utcnow()
    result = tick(now)
    assert (result.bots, result.markets, len(result.job_ids)) == (4, 2, 3)
    queue = redis_ext.queue("bots")
    batches = sorted(queue.fetch_job(job_id).args[0] for job_id in result.job_ids)
    assert batches == sorted([[btc[0].id, btc[1].id], [btc[2].id], [eth.id]])

    db.session.expire_all()
    for bot in [*btc, eth]:
        # From the due time, not from now: a bot due at :00 every 10 s runs at :10, :20, ...
        due = bot.state.started_at
        assert bot.state.next_run_at == due + timedelta(seconds=10)
    assert stopped.state.next_run_at is None

    # Nothing is due any more, so a second tick right away queues nothing.
    assert tick(now).job_ids == []
    assert queue.count == 3


def test_a_bot_far_behind_is_rescheduled_from_now(bot_app, make_bot):
    bot = make_bot(mode="paper")
    bot.state.next_run_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    now = utcnow()
    tick(now)
    db.session.expire_all()
    assert bot.state.next_run_at == now + timedelta(seconds=10)


def test_paused_bots_are_not_queued_until_their_pause_ends(bot_app, make_bot):
    bot = make_bot(mode="paper")
    bot.state.paused_until = utcnow() + timedelta(hours=1)
    db.session.commit()
    assert tick().bots == 0
    bot.state.paused_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert tick().bots == 1


def test_bots_of_one_market_share_one_candle_request(bot_app, sim, clock, make_bot):
    bot_app.config["BOT_BATCH_SIZE"] = 3
    bots = [make_bot(mode="paper") for _ in range(7)]
    step(sim, clock, "BTC/USDT", "55000")
    sim.reset_stats()

    assert len(tick().job_ids) == 3
    worker_burst(bot_app, "bots")

    assert cycle_counts(bots) == [1] * 7
    stats = sim.stats()
    assert stats["requests"].get("GET /api/v3/klines") == 1
    assert stats["market_data"] == 1  # the market list came from the cache too


def test_concurrent_cycles_of_one_slot_fetch_candles_once(bot_app, sim, clock, make_bot):
    make_bot(mode="paper")  # loads the market list
    step(sim, clock, "BTC/USDT", "55000")
    sim.reset_stats()
    prices, errors = [], []

    def fetch():
        with bot_app.app_context():
            try:
                prices.append(marketdata.get_snapshot("binance", "BTC/USDT", "1m", 42).price)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert prices == [Decimal(55000)] * 8
    assert sim.stats()["requests"].get("GET /api/v3/klines") == 1


@pytest.mark.slow
def test_flushing_redis_loses_no_running_bot(bot_app, sim, clock, make_bot):
    running = [make_bot(mode="paper") for _ in range(3)]
    stopped = make_bot(mode="paper", start=False)
    step(sim, clock, "BTC/USDT", "55000")

    # One-second tick slots, so the two passes below never share a slot.
    env = {"BOT_TICK_SECONDS": "1"}

    def scheduler_pass():
        # The scheduler process for one pass (it syncs the schedule, then queues the tick),
        # then a worker: the tick queues cycles, which it runs too.
        result = run(bot_app, "flask", "schedule", "run", "--burst", **env)
        assert result.returncode == 0, result.stderr
        worker_burst(bot_app, "bots", "default", "notifications", **env)

    scheduler_pass()
    assert cycle_counts(running) == [1, 1, 1]

    redis_ext.conn.flushall()  # Redis restarted empty: no schedule, no jobs, no caches
    db.session.execute(
        sa.update(BotState)
        .where(BotState.status == BotStatus.RUNNING)
        .values(next_run_at=utcnow() - timedelta(seconds=1))
    )  # their interval has passed
    db.session.commit()

    scheduler_pass()
    assert cycle_counts(running) == [2, 2, 2]
    assert cycle_counts([stopped]) == [0]


@pytest.mark.slow
def test_the_tick_stays_scheduled_after_waiting_behind_other_jobs(bot_app, make_bot):
    """rq-scheduler forgets a periodic job whose hash expired; the tick's must not expire."""
    from webapp import scheduling

    bot = make_bot(mode="paper")
    env = {"BOT_TICK_SECONDS": "1"}
    assert run(bot_app, "flask", "schedule", "run", "--burst", **env).returncode == 0
    worker_burst(bot_app, "bots", **env)
    assert cycle_counts([bot]) == [1]

    time.sleep(3)  # the workers were busy for a while: longer than a few tick intervals
    ids = [job_id for job_id, _, _ in scheduling.scheduled_jobs(redis_ext.conn)]
    assert "periodic-bots-tick" in ids
    db.session.execute(sa.update(BotState).values(next_run_at=utcnow()))
    db.session.commit()
    assert run(bot_app, "flask", "schedule", "run", "--burst", **env).returncode == 0
    worker_burst(bot_app, "bots", **env)
    assert cycle_counts([bot]) == [2]


def test_a_failed_enqueue_leaves_the_bots_due_for_the_next_tick(
    bot_app, sim, clock, make_bot, tmp_path
):
    from redis import Redis
    from redis.exceptions import RedisError
    from rq import Queue

    from tests.support.services import RedisServer

    bot = make_bot(mode="paper")
    due_at = bot.state.next_run_at
    server = RedisServer(tmp_path).start()
    dead = Queue("bots", connection=Redis.from_url(server.url, socket_connect_timeout=1))
    server.stop()

    with pytest.raises(RedisError):
        tick(utcnow(), queue=dead)
    db.session.expire_all()
    assert bot.state.next_run_at == due_at  # not advanced: the cycle was not skipped

    result = tick(utcnow())
    assert result.bots == 1 and len(result.job_ids) == 1
    db.session.expire_all()
    assert bot.state.next_run_at > due_at
