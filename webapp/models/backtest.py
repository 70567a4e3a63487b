"""Historical candles (`CandleBar`) and backtests replayed over them (`Backtest`).

Candle prices are doubles: the engine's strategies see candles as floats anyway (ccxt's
layout), a double holds every 8-decimal exchange price to its shortest repr, and a year of
1m bars (525,600 rows) loads several times faster than as exact decimals. Money computed from
them (fills, fees, PnL) is Decimal, as in live trading.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.extensions import db
from webapp.models.types import UTCDateTime, string_enum, utcnow


class CandleBar(db.Model):
    """One OHLCV bar of one market; `ts` is its open time in epoch milliseconds.

    `source` says where it came from: an exchange id ("binance": its API or its public kline
    files) or that exchange's simulator/testnet ("binance-sim"), which never share prices.
    """

    __tablename__ = "candles"

    source: so.Mapped[str] = so.mapped_column(sa.String(40), primary_key=True)
    symbol: so.Mapped[str] = so.mapped_column(sa.String(32), primary_key=True)
    timeframe: so.Mapped[str] = so.mapped_column(sa.String(8), primary_key=True)
    ts: so.Mapped[int] = so.mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    open: so.Mapped[float] = so.mapped_column(sa.Double)
    high: so.Mapped[float] = so.mapped_column(sa.Double)
    low: so.Mapped[float] = so.mapped_column(sa.Double)
    close: so.Mapped[float] = so.mapped_column(sa.Double)
    volume: so.Mapped[float] = so.mapped_column(sa.Double)

    def __repr__(self) -> str:
        return f"<CandleBar {self.source} {self.symbol} {self.timeframe} {self.ts}>"


class BacktestStatus(enum.StrEnum):
    QUEUED = "queued"
    FETCHING = "fetching"  # getting the missing candles first
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (BacktestStatus.DONE, BacktestStatus.FAILED, BacktestStatus.CANCELLED)

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Backtest(db.Model):
    """One replay of a strategy with a bot's settings over a range of stored candles.

    `settings` holds everything the result depends on besides the candles (strategy and
    parameters, order size, exits, daily limits, fill model, the market's filters);
    `fingerprint` hashes it with the candles' checksum and the engine's code version, so equal
    fingerprints mean byte-identical `summary`/`trades`/`equity`.
    """

    __tablename__ = "backtests"
    __table_args__ = (sa.Index("ix_backtests_user_id_id", "user_id", "id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    bot_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("bots.id", ondelete="SET NULL"), index=True
    )
    status: so.Mapped[BacktestStatus] = so.mapped_column(
        string_enum(BacktestStatus), default=BacktestStatus.QUEUED
    )
    source: so.Mapped[str] = so.mapped_column(sa.String(40))
    symbol: so.Mapped[str] = so.mapped_column(sa.String(32))
    timeframe: so.Mapped[str] = so.mapped_column(sa.String(8))
    strategy: so.Mapped[str] = so.mapped_column(sa.String(40))
    start: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    end: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    settings: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)
    # A parameter sweep's runs share a `sweep` id; `segment` is "in" / "out" of sample.
    sweep: so.Mapped[str | None] = so.mapped_column(sa.String(32), index=True)
    segment: so.Mapped[str | None] = so.mapped_column(sa.String(8))
    progress: so.Mapped[int] = so.mapped_column(default=0)  # percent
    cancel_requested: so.Mapped[bool] = so.mapped_column(default=False)
    job_id: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    fingerprint: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    summary: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    # Every trade and the curve grow with the run's range (tens of thousands of trades on
    # 1-minute candles); lists of runs never show them, so they are read, together, only
    # when first used.
    trades: so.Mapped[list[dict[str, Any]] | None] = so.mapped_column(
        sa.JSON, deferred=True, deferred_group="results"
    )
    equity: so.Mapped[list[list[Any]] | None] = so.mapped_column(
        sa.JSON, deferred=True, deferred_group="results"
    )
    error: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    started_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    finished_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<Backtest {self.id} {self.strategy} {self.symbol} {self.status}>"
