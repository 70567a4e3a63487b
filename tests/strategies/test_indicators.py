"""The incremental indicators equal TA-Lib's on every value of long random candle series, to
1e-9 relative, and give nothing before TA-Lib does (its lookback).

Relative to the quantity's scale: a MACD line near zero is the difference of two averages near
the price, so its rounding is the price's (1e-9 of the price level is the floor), and an RSI is
on a 0-100 scale (1e-7 absolute). Flat stretches are in the series on purpose: zero changes
for the RSI, zero spread for the bands."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import talib

from webapp.strategies.indicators import BollingerBands, Ema, Macd, Rsi, Sma

LENGTH = 20_000


def closes(seed: int, start: float) -> list[float]:
    """A random walk on a 0.01 tick, sometimes flat for a while (zero changes, zero spread)."""
    rng = random.Random(seed)
    price, out = start, []
    while len(out) < LENGTH:
        if rng.random() < 0.01:  # a quiet market: the same close for a stretch
            out.extend([price] * rng.randint(2, 40))
            continue
        price = max(0.01, round(price * math.exp(rng.gauss(0, 0.004)), 2))
        out.append(price)
    return out[:LENGTH]


SERIES = {
    "btc-like": closes(1, 61_234.5),
    # A coin priced around one unit on a cent tick. (Far below the tick's size a walk stays
    # flat for 10,000 candles, where Wilder's averages sink into subnormal floats and no two
    # implementations, nor either of them and exact arithmetic, agree: not a market.)
    "cents": closes(2, 1.35),
    "flat-starts": [100.0] * 60 + closes(3, 100.0)[: LENGTH - 60],
}


def same(ours: list[float | None], theirs: np.ndarray, scale: float) -> None:
    assert len(ours) == len(theirs)
    for index, (mine, reference) in enumerate(zip(ours, theirs, strict=True)):
        if math.isnan(reference):
            assert mine is None, (index, mine)
        else:
            assert mine is not None, index
            assert math.isclose(mine, reference, rel_tol=1e-9, abs_tol=1e-9 * scale), (
                index,
                mine,
                reference,
            )


def run(indicator, values: list[float]) -> list:
    return [indicator.update(value) for value in values]


@pytest.mark.parametrize("name", SERIES)
@pytest.mark.parametrize("period", [2, 9, 21, 50, 200])
def test_sma_and_ema(name, period):
    values = SERIES[name]
    same(run(Sma(period), values), talib.SMA(np.array(values), period), values[0])
    same(run(Ema(period), values), talib.EMA(np.array(values), period), values[0])


@pytest.mark.parametrize("name", SERIES)
@pytest.mark.parametrize("period", [2, 6, 14, 30])
def test_rsi(name, period):
    values = SERIES[name]
    same(run(Rsi(period), values), talib.RSI(np.array(values), period), 100.0)


@pytest.mark.parametrize("name", SERIES)
@pytest.mark.parametrize(("fast", "slow", "signal"), [(12, 26, 9), (5, 35, 5), (3, 10, 16)])
def test_macd(name, fast, slow, signal):
    values = SERIES[name]
    out = run(Macd(fast, slow, signal), values)
    macd, line, histogram = talib.MACD(np.array(values), fast, slow, signal)
    same([v and v.macd for v in out], macd, values[0])
    same([v and v.signal for v in out], line, values[0])
    same([v and v.histogram for v in out], histogram, values[0])


@pytest.mark.parametrize("name", SERIES)
@pytest.mark.parametrize(("period", "deviations"), [(20, 2.0), (20, 1.0), (50, 2.5), (5, 0.5)])
def test_bollinger_bands(name, period, deviations):
    values = SERIES[name]
    out = run(BollingerBands(period, deviations), values)
    upper, middle, lower = talib.BBANDS(np.array(values), period, deviations, deviations, 0)
    same([v and v.upper for v in out], upper, values[0])
    same([v and v.middle for v in out], middle, values[0])
    same([v and v.lower for v in out], lower, values[0])


def test_a_swapped_macd_uses_the_longer_average_as_the_slow_one():
    values = SERIES["btc-like"][:500]
    swapped = [v and v.macd for v in run(Macd(26, 12, 9), values)]
    assert swapped == [v and v.macd for v in run(Macd(12, 26, 9), values)]


@pytest.mark.parametrize(
    "make",
    [
        lambda: Sma(0),
        lambda: Ema(1.5),
        lambda: Rsi(1),
        lambda: Macd(1, 26, 9),
        lambda: BollingerBands(20, float("nan")),
        lambda: BollingerBands(20, -1),
        lambda: Ema(True),
    ],
)
def test_bad_periods_are_refused(make):
    with pytest.raises(ValueError):
        make()
