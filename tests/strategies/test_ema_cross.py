"""EMA crossover: EMA values against pandas, and decisions on hand-built candles."""

from __future__ import annotations

from decimal import Decimal

import pytest

from webapp.strategies import Candle, Position, Signal
from webapp.strategies.ema_cross import EmaCrossStrategy, ema

FLAT = Position()
LONG = Position(qty=Decimal("1"), avg_price=Decimal("100"))

# Expected values below came from pandas 3.0.1:
#   pd.Series(closes, dtype="float64").ewm(span=n, adjust=False).mean().tolist()
FALLING_THEN_JUMP = [100.0, 99.0, 98.0, 97.0, 96.0, 95.0, 110.0]
PANDAS_SPAN2_FALLING = [
    100.0, 99.33333333333334, 98.44444444444446, 97.48148148148148,
    96.49382716049382, 95.49794238683128, 105.16598079561042,
]  # fmt: skip
PANDAS_SPAN4_FALLING = [
    100.0, 99.6, 98.96, 98.17599999999999, 97.3056, 96.38336, 101.830016,
]  # fmt: skip
RISING_THEN_DROP = [100.0, 101.0, 102.0, 103.0, 104.0, 105.0, 90.0]
PANDAS_SPAN2_RISING = [
    100.0, 100.66666666666666, 101.55555555555556, 102.5185185185185,
    103.50617283950618, 104.50205761316873, 94.83401920438959,
]  # fmt: skip
PANDAS_SPAN4_RISING = [
    100.0, 100.4, 101.04, 101.82400000000001, 102.6944, 103.61663999999999, 98.169984,
]  # fmt: skip
STEADY_RISE = [100.0, 101.0, 102.0, 103.0, 104.0, 105.0, 106.0]

BTC_CLOSES = [
    61000.0, 62723.37, 61696.74, 63380.0, 62353.37, 61326.74, 63010.0, 61983.37, 60956.74,
    62640.0, 61613.37, 60586.74, 62270.0, 61243.37, 62966.74, 61900.0, 60873.37, 62596.74,
    61530.0, 60503.37, 62226.74, 61160.0, 60133.37, 61856.74, 60790.0, 62513.37, 61486.74,
    60420.0, 62143.37, 61116.74,
]  # fmt: skip
PANDAS_SPAN9_BTC = [
    61000.0, 61344.674, 61415.0872, 61808.069760000006, 61917.129808000005,
    61799.051846400005, 62041.241477120006, 62029.66718169601, 61815.08174535681,
    61980.06539628545, 61906.72631702836, 61642.729053622694, 61768.18324289816,
    61663.220594318525, 61923.92447545482, 61919.13958036386, 61709.98566429109,
    61887.33653143287, 61815.8692251463, 61553.369380117045, 61688.043504093635,
    61582.43480327491, 61292.621842619934, 61405.44547409595, 61282.35637927676,
    61528.55910342141, 61520.19528273713, 61300.156226189705, 61468.79898095177,
    61398.387184761414,
]  # fmt: skip
PANDAS_SPAN21_BTC = [
    61000.0, 61156.67, 61205.76727272727, 61403.42479338843, 61489.78344853494,
    61474.96131684994, 61614.5102880454, 61648.042989132184, 61585.19726284744,
    61681.0884207704, 61674.932200700365, 61576.00563700033, 61639.096033636655,
    61603.12093966969, 61727.086308790625, 61742.805735264206, 61663.766122967456,
    61748.58192997041, 61728.710845427646, 61617.31622311604, 61672.71838465094,
    61626.107622409945, 61490.40420219085, 61523.707456537144, 61457.00677867013,
    61553.03979879103, 61547.01254435548, 61444.55685850498, 61508.08532591361,
    61472.508478103286,
]  # fmt: skip


def candles(closes: list[float]) -> list[Candle]:
    return [Candle(i * 60_000, c, c, c, c, 1.0) for i, c in enumerate(closes)]


@pytest.mark.parametrize(
    ("closes", "span", "expected"),
    [
        (FALLING_THEN_JUMP, 2, PANDAS_SPAN2_FALLING),
        (FALLING_THEN_JUMP, 4, PANDAS_SPAN4_FALLING),
        (RISING_THEN_DROP, 2, PANDAS_SPAN2_RISING),
        (RISING_THEN_DROP, 4, PANDAS_SPAN4_RISING),
        (BTC_CLOSES, 9, PANDAS_SPAN9_BTC),
        (BTC_CLOSES, 21, PANDAS_SPAN21_BTC),
    ],
)
def test_ema_matches_pandas_ewm_adjust_false(closes, span, expected):
    got = ema(closes, span)
    assert len(got) == len(expected)
    for ours, theirs in zip(got, expected, strict=True):
        assert ours == pytest.approx(theirs, rel=0, abs=1e-9)


def test_ema_of_nothing_is_empty():
    assert ema([], 5) == []


@pytest.fixture
def fast2_slow4() -> EmaCrossStrategy:
    return EmaCrossStrategy({"fast": 2, "slow": 4})


def test_cross_up_when_flat_buys(fast2_slow4):
    # Previous candle: fast 95.498 <= slow 96.383; last: fast 105.166 > slow 101.830.
    decision = fast2_slow4.decide(candles(FALLING_THEN_JUMP), FLAT)
    assert decision.signal is Signal.BUY
    assert decision.reason == "fast EMA(2) 105.1659808 crossed above slow EMA(4) 101.830016"
    assert decision.values["fast_ema"] == pytest.approx(105.16598079561042, abs=1e-9)


def test_cross_up_while_in_position_holds(fast2_slow4):
    decision = fast2_slow4.decide(candles(FALLING_THEN_JUMP), LONG)
    assert decision.signal is Signal.HOLD
    assert decision.reason.startswith("cross up but already in position")


def test_cross_down_in_position_sells(fast2_slow4):
    # Previous candle: fast 104.502 >= slow 103.617; last: fast 94.834 < slow 98.170.
    decision = fast2_slow4.decide(candles(RISING_THEN_DROP), LONG)
    assert decision.signal is Signal.SELL
    assert decision.reason == "fast EMA(2) 94.8340192 crossed below slow EMA(4) 98.169984"


def test_cross_down_when_flat_holds(fast2_slow4):
    decision = fast2_slow4.decide(candles(RISING_THEN_DROP), FLAT)
    assert decision.signal is Signal.HOLD
    assert decision.reason.startswith("cross down but no position to sell")


@pytest.mark.parametrize("position", [FLAT, LONG])
def test_no_cross_holds(fast2_slow4, position):
    decision = fast2_slow4.decide(candles(STEADY_RISE), position)
    assert decision.signal is Signal.HOLD
    assert decision.reason == "no cross: fast EMA(2) 105.5006859 > slow EMA(4) 104.569984"


def test_needs_slow_plus_one_candles(fast2_slow4):
    assert fast2_slow4.required_candles == 5
    decision = fast2_slow4.decide(candles(FALLING_THEN_JUMP[-4:]), FLAT)
    assert decision.signal is Signal.HOLD
    assert decision.reason == ("not enough data: need 5 closed candles for EMA(2)/EMA(4), have 4")
    # Five candles are enough: 96, 95 then the jump still crosses up.
    assert fast2_slow4.decide(candles(FALLING_THEN_JUMP[-5:]), FLAT).signal is Signal.BUY


def test_default_periods_on_realistic_prices():
    strategy = EmaCrossStrategy({})
    # Candle 20: fast 61688.04 >= slow 61672.72; candle 21: fast 61582.43 < slow 61626.11.
    decision = strategy.decide(candles(BTC_CLOSES[:22]), LONG)
    assert decision.signal is Signal.SELL
    assert decision.reason == "fast EMA(9) 61582.4348 crossed below slow EMA(21) 61626.10762"
    # Fast stays below slow over the last two candles: no cross at the end of the series.
    decision = strategy.decide(candles(BTC_CLOSES), FLAT)
    assert decision.signal is Signal.HOLD
    assert decision.reason == "no cross: fast EMA(9) 61398.38718 < slow EMA(21) 61472.50848"
