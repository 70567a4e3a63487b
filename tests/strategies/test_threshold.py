"""Threshold strategy decisions on hand-built candles."""

from __future__ import annotations

from decimal import Decimal

import pytest

from webapp.strategies import Candle, Position, Signal
from webapp.strategies.threshold import ThresholdStrategy

FLAT = Position()
LONG = Position(qty=Decimal("0.1"), avg_price=Decimal("29000"))


def candles(*closes: float) -> list[Candle]:
    return [Candle(i * 60_000, c, c, c, c, 1.0) for i, c in enumerate(closes)]


@pytest.fixture
def strategy() -> ThresholdStrategy:
    return ThresholdStrategy({"buy_below": "30000", "sell_above": "31000"})


def test_buys_when_flat_and_close_at_or_below_level(strategy):
    decision = strategy.decide(candles(32000, 30000), FLAT)
    assert decision.signal is Signal.BUY
    assert decision.reason == "close 30000 <= buy below 30000"
    assert strategy.decide(candles(29000.5), FLAT).signal is Signal.BUY


def test_waits_when_flat_and_price_above_level(strategy):
    decision = strategy.decide(candles(29000, 30000.01), FLAT)
    assert decision.signal is Signal.HOLD
    assert decision.reason == "close 30000.01 above buy below 30000; waiting to buy"
    # Even far above the sell level there is nothing to sell.
    assert strategy.decide(candles(40000), FLAT).signal is Signal.HOLD


def test_sells_when_in_position_and_close_at_or_above_level(strategy):
    decision = strategy.decide(candles(31000), LONG)
    assert decision.signal is Signal.SELL
    assert decision.reason == "close 31000 >= sell above 31000"


def test_holds_position_below_sell_level_even_under_buy_level(strategy):
    decision = strategy.decide(candles(29000), LONG)
    assert decision.signal is Signal.HOLD
    assert decision.reason == "close 29000 below sell above 31000; holding position"


def test_float_closes_compare_by_their_written_value():
    # 0.1 as a float is slightly above Decimal("0.1"); the strategy must still buy at 0.1.
    strategy = ThresholdStrategy({"buy_below": "0.1", "sell_above": "0.3"})
    assert strategy.decide(candles(0.1), FLAT).signal is Signal.BUY


def test_no_candles_means_hold(strategy):
    decision = strategy.decide([], FLAT)
    assert (decision.signal, decision.reason) == (Signal.HOLD, "no closed candle yet")


def test_candle_from_ccxt_row():
    row = [1700000000000, 1, 2.5, 0.5, 2, None]
    assert Candle.from_ccxt(row) == Candle(1700000000000, 1.0, 2.5, 0.5, 2.0, 0.0)
    assert Candle.from_ccxt([1, 1, 1, 1, 1, 3]).volume == 3.0
