"""Technical indicators carried forward one closed candle at a time: O(1) per candle.

Live cycles and backtests feed the same objects, so a strategy reads the same value in both.
Each follows TA-Lib's definitions (the EMA seeded with the simple average of its first
`period` values, Wilder's smoothing for the RSI, MACD's two averages starting on the same
candle, population deviation for the bands), and `tests/strategies/test_indicators.py` finds
every value equal to TA-Lib's to 1e-9 relative. `update` returns None until the indicator has
seen enough values (TA-Lib's lookback), then the value.

`webapp.strategies.ema_cross` keeps its own EMA, seeded with the first close as pandas does:
its crossovers are the ones users have run and backtested, and they must not move.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


def _check_period(period: int, least: int = 1) -> int:
    if not isinstance(period, int) or isinstance(period, bool) or period < least:
        raise ValueError(f"period must be an integer >= {least}")
    return period


class Sma:
    """Simple moving average of the last `period` values (a running total)."""

    __slots__ = ("period", "total", "window")

    def __init__(self, period: int) -> None:
        self.period = _check_period(period)
        self.window: deque[float] = deque()
        self.total = 0.0

    def update(self, value: float) -> float | None:
        self.total += value
        self.window.append(value)
        if len(self.window) < self.period:
            return None
        average = self.total / self.period
        self.total -= self.window.popleft()
        return average


class Ema:
    """Exponential moving average, k = 2 / (period + 1), seeded with the SMA of the first
    `period` values."""

    __slots__ = ("k", "period", "seed", "value")

    def __init__(self, period: int) -> None:
        self.period = _check_period(period)
        self.k = 2.0 / (period + 1)
        self.seed: list[float] | None = []
        self.value = 0.0

    def update(self, value: float) -> float | None:
        if self.seed is not None:
            self.seed.append(value)
            if len(self.seed) < self.period:
                return None
            total = 0.0
            for seen in self.seed:
                total += seen
            self.value, self.seed = total / self.period, None
            return self.value
        self.value = (value - self.value) * self.k + self.value
        return self.value


class Rsi:
    """Relative strength index with Wilder's smoothing; the first value needs `period`
    changes, so `period + 1` values."""

    __slots__ = ("changes", "gain", "loss", "period", "previous")

    def __init__(self, period: int = 14) -> None:
        self.period = _check_period(period, 2)
        self.previous: float | None = None
        self.changes = 0
        self.gain = self.loss = 0.0

    def update(self, value: float) -> float | None:
        previous, self.previous = self.previous, value
        if previous is None:
            return None
        change = value - previous
        period = self.period
        if self.changes < period:  # the first average is a plain one
            if change < 0:
                self.loss -= change
            else:
                self.gain += change
            self.changes += 1
            if self.changes < period:
                return None
            self.loss /= period
            self.gain /= period
        else:
            self.loss *= period - 1
            self.gain *= period - 1
            if change < 0:
                self.loss -= change
            else:
                self.gain += change
            self.loss /= period
            self.gain /= period
        total = self.gain + self.loss
        return 100.0 * (self.gain / total) if total != 0.0 else 0.0


@dataclass(frozen=True, slots=True)
class MacdValue:
    macd: float
    signal: float
    histogram: float


class Macd:
    """MACD line (fast EMA - slow EMA), its signal line (an EMA of the MACD line) and the
    histogram (their difference); values come once the signal line has its seed. As in
    TA-Lib, both averages start on the same candle: the fast one is seeded with the last
    `fast` of the slow one's first `slow` values."""

    __slots__ = ("fast", "seen", "signal", "skip", "slow")

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        _check_period(fast, 2)
        _check_period(slow, 2)
        if slow < fast:  # as TA-Lib does: the slow average is the longer one
            fast, slow = slow, fast
        self.fast, self.slow, self.signal = Ema(fast), Ema(slow), Ema(_check_period(signal))
        self.skip, self.seen = slow - fast, 0

    def update(self, value: float) -> MacdValue | None:
        self.seen += 1
        slow = self.slow.update(value)
        fast = self.fast.update(value) if self.seen > self.skip else None
        if fast is None or slow is None:
            return None
        line = fast - slow
        signal = self.signal.update(line)
        if signal is None:
            return None
        return MacdValue(line, signal, line - signal)


@dataclass(frozen=True, slots=True)
class BandsValue:
    upper: float
    middle: float
    lower: float


class BollingerBands:
    """The SMA of the last `period` values and `deviations` population standard deviations
    above and below it.

    The deviation comes from a sliding Welford sum of squared differences from the mean, not
    from a running sum of squares: at a price of 70,000 the squares' rounding alone is worth a
    spread of cents, which would draw bands around a market that did not move. Every
    `REFRESH` candles the sum is recomputed from the window (O(period), so O(1) per candle on
    average), and a window of one repeated value has no spread at all, so neither can drift."""

    REFRESH = 4096
    __slots__ = ("count", "deviations", "m2", "mean", "period", "same", "sma", "window")

    def __init__(self, period: int = 20, deviations: float = 2.0) -> None:
        self.period = _check_period(period, 2)
        if not math.isfinite(deviations) or deviations < 0:
            raise ValueError("deviations must be a finite number >= 0")
        self.deviations = float(deviations)
        self.sma = Sma(period)
        self.window: deque[float] = deque()
        self.mean = self.m2 = 0.0
        self.count = self.same = 0

    def update(self, value: float) -> BandsValue | None:
        middle = self.sma.update(value)
        window, n = self.window, self.period
        self.same = self.same + 1 if window and window[-1] == value else 1
        window.append(value)
        self.count += 1
        if len(window) <= n:
            delta = value - self.mean
            self.mean += delta / len(window)
            self.m2 += delta * (value - self.mean)
        else:
            oldest = window.popleft()
            previous = self.mean
            self.mean = previous + (value - oldest) / n
            self.m2 += (value - oldest) * (value - self.mean + oldest - previous)
        if middle is None:
            return None
        if self.same >= n:  # a market that did not move: no spread, and nothing to drift
            self.mean, self.m2 = value, 0.0
        elif self.count % self.REFRESH == 0:
            self.mean = math.fsum(window) / n
            self.m2 = math.fsum((x - self.mean) ** 2 for x in window)
        variance = self.m2 / n
        deviation = math.sqrt(variance) * self.deviations if variance > 0 else 0.0
        return BandsValue(middle + deviation, middle, middle - deviation)
