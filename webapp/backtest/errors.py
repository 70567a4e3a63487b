"""What backtesting raises: every message is meant for the user as it stands."""

from __future__ import annotations


class BacktestError(Exception):
    """Base class: bad input or missing data, reported to the user, never a traceback."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class BadRange(BacktestError):
    """From after to, a date that is not a date, a range beyond what can be replayed."""


class NoCandles(BacktestError):
    """The store holds no candles for the range (fetch or import them first)."""


class UnknownMarket(BacktestError):
    """The exchange does not list the symbol, or the timeframe is not one we know."""


class BadKlineFile(BacktestError):
    """An imported file is not a Binance kline file, or one of its rows is malformed."""


class Cancelled(BacktestError):
    """The user cancelled the backtest while it ran."""
