"""A worker killed between "order sent" and "trade recorded" neither loses nor repeats it."""

from __future__ import annotations

import subprocess
import time

import pytest
import sqlalchemy as sa

from tests.engine.conftest import step, trades
from tests.support.processes import BIN, ROOT, alive, descendants, kill_tree, process_env, run
from webapp.engine.cycle import Outcome, run_cycle
from webapp.engine.tick import CYCLE_JOB, tick
from webapp.exchange.sim import FailureMode
from webapp.extensions import db, redis_ext

pytestmark = pytest.mark.slow


def wait_until(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_sigkill_after_the_order_then_the_job_again_trades_once(bot_app, sim, clock, make_bot):
    bot = make_bot()
    step(sim, clock, "BTC/USDT", "49000")
    [job_id] = tick().job_ids
    slot = redis_ext.queue("bots").fetch_job(job_id).args[1]

    # A real worker whose order the exchange carries out but answers only after 30 s ...
    sim.hang_seconds = 30
    sim.set_failure(FailureMode.LOST_ANSWER, count=1, endpoint="POST /api/v3/order")
    url = bot_app.config["REDIS_URL"]
    worker = subprocess.Popen(
        [str(BIN / "rq"), "worker", "--url", url, "--worker-class", "workers.AppWorker", "bots"],
        cwd=ROOT,
        env=process_env(bot_app, EXCHANGE_TIMEOUT_MS="60000", BOT_LOCK_TTL_SECONDS="2"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: len(sim.orders()) == 1)
    finally:
        # ... is killed while it waits, work horse included: nothing after the order ran.
        horses = descendants(worker.pid)
        kill_tree(worker)
        sim.set_failure(None)  # lets go of the held answer
    assert horses, "the worker ran its job in no work horse"
    assert not any(alive(pid) for pid in horses)

    [order] = sim.orders()
    assert trades(bot) == []
    db.session.expire_all()
    assert bot.state.pending_client_order_id == order.client_order_id

    # The same job once more (a retry), after the dead cycle's lock expired.
    time.sleep(2.2)
    redis_ext.queue("bots").enqueue(CYCLE_JOB, [bot.id], slot, job_id=job_id + "-retry")
    result = run(
        bot_app, "rq", "worker", "--url", bot_app.config["REDIS_URL"], "--burst",
        "--worker-class", "workers.AppWorker", "bots",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr

    [trade] = trades(bot)
    assert trade.client_order_id == order.client_order_id
    assert trade.exchange_order_id == str(order.order_id)
    assert (trade.side.value, trade.qty) == ("buy", order.executed_qty)
    assert trade.price == order.cum_quote / order.executed_qty == 49000
    assert trade.fee == sum(fill.commission for fill in order.fills) == order.cum_quote / 1000
    assert len(sim.orders()) == 1
    db.session.expire_all()
    assert bot.state.pending_client_order_id is None
    assert bot.state.position_qty == trade.qty

    # Later cycles hold the position; still one order, one trade.
    assert run_cycle(bot.id).outcome is Outcome.HOLD
    assert len(sim.orders()) == 1
    assert len(trades(bot)) == 1


def test_an_intent_whose_order_never_arrived_is_dropped_after_the_grace_period(
    bot_app, sim, clock, make_bot
):
    from datetime import timedelta

    from webapp.models.types import utcnow

    bot = make_bot()
    state = bot.state
    state.pending_client_order_id = f"tb{bot.id}x99b"
    state.pending_side = "buy"
    state.pending_reason = "signal"
    state.pending_since = utcnow()
    db.session.commit()
    step(sim, clock, "BTC/USDT", "49000")

    # Too recent: the request might still reach the exchange, so no new order yet.
    assert run_cycle(bot.id).outcome is Outcome.WAITING
    assert sim.orders() == []

    state.pending_since = utcnow() - timedelta(minutes=1)
    db.session.commit()
    result = run_cycle(bot.id)
    assert result.outcome is Outcome.TRADED, result
    assert len(sim.orders()) == 1
    db.session.expire_all()
    assert bot.state.pending_client_order_id is None


def test_sigkill_while_a_grid_order_is_out_leaves_a_known_intent_and_no_duplicate(
    bot_app, sim, clock, make_bot
):
    from webapp.models import BotOrder, OrderStatus

    bot = make_bot(
        strategy="grid",
        params={"lower": "49000", "upper": "51000", "grids": 4, "investment": "400"},
    )
    step(sim, clock, "BTC/USDT", "49800")
    tick()

    # A real worker sends the grid's start-up buy; the exchange fills it but answers only
    # after 30 s, and the worker is killed while it waits.
    sim.hang_seconds = 30
    sim.set_failure(FailureMode.LOST_ANSWER, count=1, endpoint="POST /api/v3/order")
    worker = subprocess.Popen(
        [str(BIN / "rq"), "worker", "--url", bot_app.config["REDIS_URL"], "--worker-class",
         "workers.AppWorker", "bots"],
        cwd=ROOT,
        env=process_env(bot_app, EXCHANGE_TIMEOUT_MS="60000", BOT_LOCK_TTL_SECONDS="2"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until(lambda: len(sim.orders()) == 1)
    finally:
        horses = descendants(worker.pid)
        kill_tree(worker)
        sim.set_failure(None)
    assert horses and not any(alive(pid) for pid in horses)

    [order] = sim.orders()
    assert order.status.value == "FILLED"
    db.session.expire_all()
    [row] = db.session.scalars(sa.select(BotOrder).where(BotOrder.bot_id == bot.id)).all()
    assert row.status is OrderStatus.INTENT and row.client_order_id == order.client_order_id
    assert trades(bot) == []

    # The next cycle, once the dead one's lock expired, finds it by its id: one trade, and the
    # ladder goes up without a second start-up buy.
    time.sleep(2.2)
    step(sim, clock, "BTC/USDT", "49800")
    assert run_cycle(bot.id).outcome is Outcome.TRADED
    [trade] = trades(bot)
    assert trade.client_order_id == order.client_order_id
    assert trade.qty == order.executed_qty
    step(sim, clock, "BTC/USDT", "49800")
    run_cycle(bot.id)
    ids = [o.client_order_id for o in sim.orders()]
    assert ids.count(order.client_order_id) == 1 and len(ids) == 5
    db.session.expire_all()
    rows = db.session.scalars(sa.select(BotOrder).where(BotOrder.bot_id == bot.id)).all()
    assert sorted(r.client_order_id for r in rows) == sorted(ids)
