"""The backtest trades as the real engine does: the same candles, cycle by cycle.

The simulator walks its seeded price path while the test moves its market clock one minute at
a time; a paper bot's real cycles (run_cycle: market data through ccxt, the strategy, exits,
sizing, paper fills, accounting, the database) trade on it. Then the same minutes are fetched
into the candles store and backtested with the bot's settings. Every trade must match: side,
quantity, price, fee and realized PnL to the last decimal, and the candle it happened in.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.backtest.conftest import NOW
from webapp.backtest import candles as store
from webapp.backtest import service
from webapp.engine import service as bots
from webapp.engine.cycle import Outcome, run_cycle
from webapp.extensions import db
from webapp.models import Trade

CYCLES = 90
#: A trigger price this far above the start: the seeded walk reaches it 10 minutes in.
TRIGGER = Decimal("1.0035")


def run_live(bot, clock, outcomes) -> tuple[list[Trade], dict[int, int]]:
    """CYCLES real cycles a minute apart, each at a candle's open; the trades, and when each
    was made (epoch ms)."""
    traded_at: dict[int, int] = {}
    for _ in range(CYCLES):
        result = run_cycle(bot.id)
        assert result.outcome in outcomes, result
        for trade_id in result.trade_ids:
            traded_at[trade_id] = int(clock.now * 1000)
        clock.advance(60)
    live = db.session.scalars(sa.select(Trade).where(Trade.bot_id == bot.id).order_by(Trade.id))
    return list(live), traded_at


def replay_as_the_bot(bot, start, end):
    """The bot's settings replayed over the minutes it traded, and the window it first saw."""
    warm = service.warmup_candles()
    store.fetch("binance", "BTC/USDT", "1m", start - timedelta(minutes=warm), end)
    settings = service.build_settings("binance", service.bot_fields(bot), bot.params)
    return service.replay(settings, store.source_for("binance"), start, end)


def trades_of(replay) -> list[tuple]:
    """(time, side, qty, price, fee, realized) of each replayed trade, as Decimals."""
    return [
        (
            t["time"],
            t["side"],
            Decimal(t["qty"]),
            Decimal(t["price"]),
            Decimal(t["fee"]),
            None if t["realized_pnl"] is None else Decimal(t["realized_pnl"]),
        )
        for t in replay.result.trades
    ]


def test_backtest_trades_equal_the_real_engines_paper_trades(bt_app, clock, sim, trader, sim_key):
    bt_app.config.update(BOT_OHLCV_LIMIT=200)
    start = NOW - timedelta(minutes=90)
    end = start + timedelta(minutes=CYCLES)
    clock.now = start.timestamp()  # on a minute boundary: the price is the new candle's open
    bot = bots.create_bot(
        trader,
        name="Crossing",
        api_key_id=sim_key.id,
        symbol="BTC/USDT",
        timeframe="1m",
        strategy="ema_cross",
        params={"fast": "3", "slow": "8"},
        quote_amount="100",
        stop_loss_pct="0.15",
        take_profit_pct="0.2",
        interval_seconds=60,
        mode="paper",
    )
    bots.start_bot(bot)
    db.session.commit()

    live, traded_at = run_live(bot, clock, (Outcome.TRADED, Outcome.HOLD, Outcome.REFUSED))
    reasons = {t.reason.value for t in live}
    assert len(live) >= 6 and {"signal", "stop_loss", "take_profit"} <= reasons, reasons

    # The same minutes (and the window the first cycle saw) into the store, then replayed.
    warm = service.warmup_candles()
    store.fetch("binance", "BTC/USDT", "1m", start - timedelta(minutes=warm), end)
    fields = {**service.bot_fields(bot), "exit_model": "open"}
    settings = service.build_settings("binance", fields, bot.params)
    replay = service.replay(settings, store.source_for("binance"), start, end)
    assert replay.result.summary["warmup_candles"] == warm
    assert replay.result.summary["candles"] == CYCLES

    expected = [
        (traded_at[t.id], t.side.value, t.qty, t.price, t.fee, t.realized_pnl, t.reason.value)
        for t in live
    ]
    got = [
        (*row, t["reason"]) for row, t in zip(trades_of(replay), replay.result.trades, strict=True)
    ]
    assert got == expected
    realized = sum((t.realized_pnl for t in live if t.realized_pnl is not None), Decimal(0))
    assert Decimal(replay.result.summary["realized_pnl"]) == realized


@pytest.mark.parametrize("trigger", [False, True])
def test_a_grid_backtest_trades_as_the_real_engines_paper_grid(
    bt_app, clock, sim, trader, sim_key, trigger
):
    """The same for a grid: the real engine's paper book (resting orders in the database,
    filled by the candles after they were placed) and the replay's in-memory book run the
    same reconcile rule, so every order fills in the same candle at the same price; with a
    trigger price, both wait for it the same number of minutes."""
    bt_app.config.update(BOT_OHLCV_LIMIT=200)
    start = NOW - timedelta(minutes=90)
    end = start + timedelta(minutes=CYCLES)
    clock.now = start.timestamp()
    price = sim.price("BTC/USDT")
    # Levels 0.1% apart around the price: the seeded walk crosses them back and forth.
    lower, upper = ((price * Decimal(f)).quantize(Decimal("1")) for f in ("0.996", "1.004"))
    params = {"lower": str(lower), "upper": str(upper), "grids": 8, "investment": "800"}
    if trigger:
        params["trigger_price"] = str((price * TRIGGER).quantize(Decimal("1")))
    bot = bots.create_bot(
        trader,
        name="Ladder",
        api_key_id=sim_key.id,
        symbol="BTC/USDT",
        timeframe="1m",
        strategy="grid",
        params=params,
        quote_amount="100",
        interval_seconds=60,
        mode="paper",
    )
    bots.start_bot(bot)
    db.session.commit()

    live, traded_at = run_live(bot, clock, (Outcome.TRADED, Outcome.HOLD))
    sells = [t for t in live if t.side.value == "sell"]
    assert len(live) >= 8 and len(sells) >= 3, [(t.side.value, t.price) for t in live]
    waited = (traded_at[live[0].id] - int(start.timestamp() * 1000)) // 60_000
    assert waited == (10 if trigger else 0)

    replay = replay_as_the_bot(bot, start, end)
    assert trades_of(replay) == [
        (traded_at[t.id], t.side.value, t.qty, t.price, t.fee, t.realized_pnl) for t in live
    ]


def test_a_dca_backtest_trades_as_the_real_engines_paper_dca(bt_app, clock, sim, trader, sim_key):
    """The same for DCA deals: base orders at the open, safety orders and take-profits resting
    in the paper book, the take-profit replaced as safety orders fill, and the cooldown
    counted in market time, so each deal opens and closes in the same candle."""
    bt_app.config.update(BOT_OHLCV_LIMIT=200)
    start = NOW - timedelta(minutes=90)
    end = start + timedelta(minutes=CYCLES)
    clock.now = start.timestamp()
    params = {
        "base_order": "100",
        "safety_order": "50",
        "max_safety_orders": 4,
        "deviation_pct": "0.08",
        "step_scale": "1.2",
        "volume_scale": "1.5",
        "max_active_safety_orders": 2,
        "take_profit_pct": "0.1",
        "cooldown_minutes": 2,
    }
    bot = bots.create_bot(
        trader,
        name="Averaging",
        api_key_id=sim_key.id,
        symbol="BTC/USDT",
        timeframe="1m",
        strategy="dca",
        params=params,
        quote_amount="100",
        interval_seconds=60,
        mode="paper",
    )
    bots.start_bot(bot)
    db.session.commit()

    live, traded_at = run_live(bot, clock, (Outcome.TRADED, Outcome.HOLD))
    sells = [t for t in live if t.side.value == "sell"]
    assert len(sells) >= 2 and len(live) >= len(sells) * 2 + 1, [
        (t.side.value, t.price) for t in live
    ]

    replay = replay_as_the_bot(bot, start, end)
    assert trades_of(replay) == [
        (traded_at[t.id], t.side.value, t.qty, t.price, t.fee, t.realized_pnl) for t in live
    ]
    closed = [d for d in replay.result.summary["deals"] if d["closed_by"]]
    assert [Decimal(d["profit"]) for d in closed] == [t.realized_pnl for t in sells]
