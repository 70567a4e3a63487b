"""Finished backtests for pages and benchmarks: the engine's own result over synthetic candles,
stored as a job stores it, without fetching candles or running a worker."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

from webapp.backtest import engine, service
from webapp.extensions import db
from webapp.models import Backtest, BacktestStatus, Bot
from webapp.strategies import Candle

T0 = 1_767_571_200_000  # 2026-01-05 00:00 UTC
MINUTE = 60_000


def wave_candles(count: int, *, period: int = 40) -> list[Candle]:
    """1-minute candles around 100 on a sine wave: an ema_cross bot trades every half period."""
    candles = []
    for i in range(count):
        close = 100 + 10 * math.sin(2 * math.pi * i / period) + (i % 7) * 0.01
        candles.append(Candle(T0 + i * MINUTE, close, close + 0.5, close - 0.5, close, 1.0))
    return candles


def finished_backtest(bot: Bot, *, candles: int = 2000) -> Backtest:
    """A done backtest of `bot`'s settings over `candles` wave candles (about one trade per
    twenty candles with the default ema_cross 3/5), stored as the job stores its result."""
    settings = engine.Settings(
        symbol=bot.symbol,
        timeframe="1m",
        strategy=bot.strategy,
        params=dict(bot.params or {}),
        quote_amount=bot.quote_amount,
        fee_rate=Decimal("0.001"),
        amount_step=Decimal("0.00001"),
        min_qty=Decimal("0.00001"),
        min_notional=Decimal(5),
    )
    bars = wave_candles(candles)
    result = engine.run(settings, bars)
    start = datetime.fromtimestamp(bars[0].ts / 1000, UTC)
    end = datetime.fromtimestamp((bars[-1].ts + MINUTE) / 1000, UTC)
    backtest = service.create(bot.user_id, settings, bot.exchange, start, end, bot=bot)
    backtest.status, backtest.progress = BacktestStatus.DONE, 100
    backtest.summary, backtest.trades, backtest.equity = (
        result.summary,
        result.trades,
        result.equity,
    )
    backtest.started_at = backtest.finished_at = end
    db.session.commit()
    return backtest
