""" "Sell position now": the user closes a bot's position through the engine, reason manual."""

from __future__ import annotations

from tests.conftest import PASSWORD
from tests.engine.conftest import step, trades
from webapp.engine import service
from webapp.engine.cycle import Outcome, close_position, run_cycle
from webapp.extensions import db
from webapp.models import TradeReason

HTMX = {"HX-Request": "true", "HX-Target": "bot-status"}


def test_the_user_sells_a_live_position_from_the_bot_page(bot_app, sim, clock, make_bot, client):
    client.post("/auth/login", data={"email": "trader@example.com", "password": PASSWORD})
    bot = make_bot()
    step(sim, clock, "BTC/USDT", "49000")
    assert run_cycle(bot.id).outcome is Outcome.TRADED
    service.stop_bot(bot)
    db.session.commit()
    page = client.get(f"/bots/{bot.id}").get_data(as_text=True)
    assert 'data-testid="sell-position"' in page

    step(sim, clock, "BTC/USDT", "49500")  # below sell-above: the strategy would hold
    response = client.post(f"/bots/{bot.id}/sell", headers=HTMX)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_data(as_text=True)
    assert "Sold 0.00204 BTC at 49500 USDT" in body
    assert 'data-testid="sell-position"' not in body  # nothing left to sell

    buy, sell = trades(bot)
    assert sell.side.value == "sell" and sell.reason is TradeReason.MANUAL
    assert sell.qty == buy.qty and len(sim.orders()) == 2
    db.session.expire_all()
    assert bot.state.position_qty == 0 and bot.state.pending_client_order_id is None

    response = client.post(f"/bots/{bot.id}/sell", headers=HTMX)
    assert response.status_code == 422
    assert "This bot holds nothing to sell." in response.get_data(as_text=True)
    assert len(sim.orders()) == 2


def test_selling_waits_for_a_running_cycle(bot_app, sim, clock, make_bot):
    from webapp.engine.locks import bot_lock
    from webapp.extensions import redis_ext

    bot = make_bot()
    lock = bot_lock(redis_ext.conn, bot.id, 30)
    assert lock.acquire()
    try:
        assert close_position(bot.id, wait_seconds=0).outcome is Outcome.LOCKED
    finally:
        lock.release()
