"""A cycle job that runs twice, or two cycles of one bot at once, trade once."""

from __future__ import annotations

import threading
import time

from tests.engine.conftest import step, trades
from webapp.engine.cycle import Outcome, run_cycle
from webapp.engine.locks import bot_lock
from webapp.engine.tick import slot_for
from webapp.exchange.sim import FailureMode
from webapp.extensions import redis_ext
from webapp.models.types import utcnow


def test_the_same_slot_twice_trades_once(bot_app, sim, clock, make_bot):
    bot = make_bot()
    slot = slot_for(utcnow())
    step(sim, clock, "BTC/USDT", "49000")
    assert run_cycle(bot.id, slot).outcome is Outcome.TRADED
    step(sim, clock, "BTC/USDT", "52000")  # the strategy would now sell ...
    assert run_cycle(bot.id, slot).outcome is Outcome.ALREADY_RAN  # ... but not in this slot
    assert len(trades(bot)) == 1
    assert len(sim.orders()) == 1
    assert run_cycle(bot.id, slot + 1).outcome is Outcome.TRADED  # the next slot does
    assert [t.side.value for t in trades(bot)] == ["buy", "sell"]


def test_a_cycle_waits_for_no_one_while_another_holds_the_bot(bot_app, sim, clock, make_bot):
    bot = make_bot()
    step(sim, clock, "BTC/USDT", "49000")
    lock = bot_lock(redis_ext.conn, bot.id, 10)
    assert lock.acquire()
    try:
        assert run_cycle(bot.id).outcome is Outcome.LOCKED
    finally:
        lock.release()
    assert sim.orders() == []
    assert run_cycle(bot.id).outcome is Outcome.TRADED


def test_two_concurrent_cycles_of_one_bot_place_one_order(bot_app, sim, clock, make_bot):
    bot = make_bot()
    step(sim, clock, "BTC/USDT", "49000")
    # The first cycle's order is carried out but its answer is late: the cycle waits for it,
    # holding the bot's lock, then finds the order by its client order id.
    bot_app.config.update(EXCHANGE_TIMEOUT_MS=1500, BOT_LOCK_TTL_SECONDS=10)
    sim.hang_seconds = 5
    sim.set_failure(FailureMode.LOST_ANSWER, count=1, endpoint="POST /api/v3/order")
    results = []

    def cycle():
        with bot_app.app_context():
            results.append(run_cycle(bot.id).outcome)

    first = threading.Thread(target=cycle)
    first.start()
    # The first cycle has sent its order and waits for the answer, holding the bot's lock.
    deadline = time.monotonic() + 20
    while not sim.orders() and time.monotonic() < deadline:
        time.sleep(0.02)
    cycle()
    first.join(timeout=30)
    sim.set_failure(None)
    assert sorted(results) == sorted([Outcome.LOCKED, Outcome.TRADED])
    assert len(sim.orders()) == 1
    assert len(trades(bot)) == 1
