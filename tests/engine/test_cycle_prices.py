"""A known price path on the simulator: every trade, every fee and the PnL to the last digit.

Threshold strategy (buy at or below 50000, sell at or above 51000), 100 USDT per buy, live
mode on the simulator (real orders through ccxt), Binance's 0.1% fee in USDT on both sides.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from tests.engine.conftest import events, step, trades
from tests.support.processes import run
from webapp.engine import service
from webapp.engine.cycle import Outcome, next_utc_midnight, run_cycle
from webapp.extensions import db
from webapp.models import ActivityKind, BotActivity, BotStatus, TradeReason
from webapp.models.types import utcnow

D = Decimal
FEE = D("0.001")


def expected_buy(quote: str, price: str, step_size: str = "0.00001"):
    price_d = D(price)
    qty = (D(quote) / price_d / D(step_size)).to_integral_value(rounding="ROUND_FLOOR") * D(
        step_size
    )
    fee = qty * price_d * FEE
    return qty, fee, (qty * price_d + fee) / qty  # qty, fee, average entry price


def expected_sell(qty: Decimal, price: str, avg: Decimal):
    fee = qty * D(price) * FEE
    return fee, qty * D(price) - fee - qty * avg


def test_signal_take_profit_and_daily_target_on_a_known_path(bot_app, sim, clock, make_bot, user):
    bot = make_bot(stop_loss_pct="2", take_profit_pct="3", daily_profit_target="4")

    step(sim, clock, "BTC/USDT", "51500")
    assert run_cycle(bot.id).outcome is Outcome.HOLD

    # 1. Buy by signal at 50000: 0.002 BTC, fee 0.1 USDT, entry 50050 (fee included).
    step(sim, clock, "BTC/USDT", "50000")
    result = run_cycle(bot.id)
    assert result.outcome is Outcome.TRADED, result
    qty1, fee1, avg1 = expected_buy("100", "50000")
    assert (qty1, fee1, avg1) == (D("0.002"), D("0.1"), D("50050"))

    # Between the stop (49049) and take-profit (51551.5) levels and below "sell above": hold.
    step(sim, clock, "BTC/USDT", "50500")
    assert run_cycle(bot.id).outcome is Outcome.HOLD

    # 2. Sell by signal at 51000 (take-profit would need 51551.5).
    step(sim, clock, "BTC/USDT", "51000")
    assert run_cycle(bot.id).outcome is Outcome.TRADED
    fee2, pnl2 = expected_sell(qty1, "51000", avg1)
    assert pnl2 == D("1.798")

    # 3. Buy at 48000, then take profit at 49500 (>= 48048 * 1.03 = 49489.44) although
    # the strategy would hold until 51000.
    step(sim, clock, "BTC/USDT", "48000")
    assert run_cycle(bot.id).outcome is Outcome.TRADED
    qty3, fee3, avg3 = expected_buy("100", "48000")
    step(sim, clock, "BTC/USDT", "49500")
    result = run_cycle(bot.id)
    assert result.outcome is Outcome.TRADED, result
    fee4, pnl4 = expected_sell(qty3, "49500", avg3)
    assert pnl4 == D("2.9172")

    rows = trades(bot)
    assert [(t.side.value, t.qty, t.price, t.fee, t.realized_pnl, t.reason) for t in rows] == [
        ("buy", qty1, D("50000"), fee1, None, TradeReason.SIGNAL),
        ("sell", qty1, D("51000"), fee2, pnl2, TradeReason.SIGNAL),
        ("buy", qty3, D("48000"), fee3, None, TradeReason.SIGNAL),
        ("sell", qty3, D("49500"), fee4, pnl4, TradeReason.TAKE_PROFIT),
    ]
    # Every trade is a real order on the exchange, with our client order id.
    orders = sim.orders()
    assert [o.client_order_id for o in orders] == [t.client_order_id for t in rows]
    assert [str(o.order_id) for o in orders] == [t.exchange_order_id for t in rows]

    # 1.798 + 2.9172 = 4.7152 >= the 4 USDT daily target: paused until next UTC midnight.
    state = bot.state
    assert state.realized_pnl_today == D("4.7152")
    assert service.bot_report(bot).total_realized_pnl == D("4.7152")
    assert state.status is BotStatus.RUNNING
    assert state.paused_until == next_utc_midnight(utcnow())
    assert state.position_qty == 0
    assert len(events(user, "take_profit_triggered")) == 1
    assert len(events(user, "daily_profit_target_reached")) == 1
    assert len(events(user, "trade_executed")) == 4

    step(sim, clock, "BTC/USDT", "45000")
    assert run_cycle(bot.id).outcome is Outcome.PAUSED
    assert len(trades(bot)) == 4

    # The next UTC day: the day's PnL starts again at 0 and the bot trades again.
    state.paused_until = utcnow() - timedelta(seconds=1)
    state.pnl_day = state.pnl_day - timedelta(days=1)
    db.session.commit()
    assert run_cycle(bot.id).outcome is Outcome.TRADED
    db.session.refresh(state)
    assert state.paused_until is None
    assert state.realized_pnl_today == 0


def test_stop_loss_then_daily_loss_limit_stops_the_bot(bot_app, sim, clock, make_bot, user):
    bot = make_bot(stop_loss_pct="2", daily_loss_limit="3")

    step(sim, clock, "BTC/USDT", "49500")
    assert run_cycle(bot.id).outcome is Outcome.TRADED
    qty, fee, avg = expected_buy("100", "49500")
    assert (qty, avg) == (D("0.00202"), D("49549.5"))

    # 48558.51 is the stop level (49549.5 * 0.98): one cent above it holds...
    step(sim, clock, "BTC/USDT", "48558.52")
    assert run_cycle(bot.id).outcome is Outcome.HOLD
    # ... and 48000 sells everything as a stop-loss, losing 3.22695 USDT > the 3 USDT limit.
    step(sim, clock, "BTC/USDT", "48000")
    result = run_cycle(bot.id)
    assert result.outcome is Outcome.TRADED, result
    sell_fee, pnl = expected_sell(qty, "48000", avg)
    assert pnl == D("-3.22695")

    buy, sell = trades(bot)
    assert (buy.side.value, buy.qty, buy.price, buy.fee) == ("buy", qty, D("49500"), fee)
    assert (sell.side.value, sell.qty, sell.price, sell.fee, sell.realized_pnl, sell.reason) == (
        "sell",
        qty,
        D("48000"),
        sell_fee,
        pnl,
        TradeReason.STOP_LOSS,
    )
    state = bot.state
    assert state.status is BotStatus.STOPPED
    assert "Daily loss limit reached" in state.status_reason
    assert state.next_run_at is None
    [stop] = events(user, "stop_loss_triggered")
    assert stop.payload["bot_name"] == bot.name
    assert (D(stop.payload["entry_price"]), D(stop.payload["price"])) == (avg, D("48000"))
    assert D(stop.payload["realized_pnl"]) == pnl
    assert len(events(user, "daily_loss_limit_reached")) == 1

    # A stopped bot's queued cycle does nothing.
    assert run_cycle(bot.id, 123).outcome is Outcome.NOT_RUNNING
    assert len(sim.orders()) == 2


def test_paper_mode_fills_at_the_market_price_without_touching_the_account(
    bot_app, sim, clock, make_bot
):
    bot = make_bot(mode="paper")
    step(sim, clock, "BTC/USDT", "40000")
    assert run_cycle(bot.id).outcome is Outcome.TRADED
    step(sim, clock, "BTC/USDT", "52000")
    assert run_cycle(bot.id).outcome is Outcome.TRADED
    buy, sell = trades(bot)
    assert (buy.qty, buy.price, buy.fee) == (D("0.0025"), D("40000"), D("0.1"))
    assert (sell.qty, sell.price, sell.fee) == (D("0.0025"), D("52000"), D("0.13"))
    assert sell.realized_pnl == D("29.77")  # 130 - 0.13 - 100.1
    assert sim.orders() == []
    assert sim.balances(sim.api_keys()[0])["USDT"].free == D("100000")


def test_a_cycle_through_the_real_tick_and_rq_worker(bot_app, sim, clock, make_bot):
    """`flask bots tick` queues the cycle, a real `rq worker --burst` trades."""
    bot = make_bot()
    step(sim, clock, "BTC/USDT", "49000")

    before_tick = utcnow()
    result = run(bot_app, "flask", "bots", "tick")
    assert result.returncode == 0, result.stderr
    assert "1 due bots on 1 markets, 1 jobs queued" in result.stdout
    result = run(
        bot_app, "rq", "worker", "--url", bot_app.config["REDIS_URL"], "--burst",
        "--worker-class", "workers.AppWorker", "bots",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr

    [buy] = trades(bot)
    assert (buy.side.value, buy.qty, buy.price, buy.fee) == (
        "buy",
        D("0.00204"),
        D("49000"),
        D("0.09996"),
    )
    [order] = sim.orders()
    assert order.client_order_id == buy.client_order_id
    db.session.expire_all()
    assert bot.state.last_slot is not None
    assert bot.state.next_run_at > before_tick  # rescheduled (how far depends on the worker's pace)
    kinds = db.session.scalars(
        sa.select(BotActivity.kind).where(BotActivity.bot_id == bot.id)
    ).all()
    assert ActivityKind.ORDER in kinds
