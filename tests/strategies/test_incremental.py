"""The incremental form (what live cycles and backtests run) agrees with the full computation
on every candle: the EMAs bit for bit, and every decision and its reason."""

from __future__ import annotations

import math
import random
from decimal import Decimal

import pytest

from webapp.strategies import Candle, Decision, Position, Signal, build_strategy
from webapp.strategies.base import fmt_price
from webapp.strategies.ema_cross import ema

OPEN = Position(Decimal("0.5"), Decimal(100))
FLAT = Position()


def walk(n: int, seed: int, start: float = 100.0) -> list[Candle]:
    rng = random.Random(seed)
    price, out = start, []
    for i in range(n):
        # a price on a 0.01 tick, sometimes unchanged, like exchange closes
        if rng.random() > 0.1:
            price = max(0.01, round(price * math.exp(rng.gauss(0, 0.004)), 2))
        out.append(Candle(i * 60_000, price, price, price, price, 1.0))
    return out


def full_ema_cross(candles: list[Candle], fast: int, slow: int, position: Position) -> Decision:
    """The crossover computed from whole EMA lines over every candle seen."""
    if len(candles) < slow + 1:
        return Decision(
            Signal.HOLD,
            f"not enough data: need {slow + 1} closed candles for EMA({fast})/EMA({slow}), "
            f"have {len(candles)}",
        )
    closes = [c.close for c in candles]
    f_line, s_line = ema(closes, fast), ema(closes, slow)
    pf, ps, cf, cs = f_line[-2], s_line[-2], f_line[-1], s_line[-1]
    values = {"fast_ema": cf, "slow_ema": cs, "close": closes[-1]}
    ft, st = f"fast EMA({fast}) {fmt_price(cf)}", f"slow EMA({slow}) {fmt_price(cs)}"
    if pf <= ps and cf > cs:
        if position.is_open:
            return Decision(Signal.HOLD, f"cross up but already in position: {ft} > {st}", values)
        return Decision(Signal.BUY, f"{ft} crossed above {st}", values)
    if pf >= ps and cf < cs:
        if not position.is_open:
            return Decision(Signal.HOLD, f"cross down but no position to sell: {ft} < {st}", values)
        return Decision(Signal.SELL, f"{ft} crossed below {st}", values)
    rel = ">" if cf > cs else "<" if cf < cs else "="
    return Decision(Signal.HOLD, f"no cross: {ft} {rel} {st}", values)


@pytest.mark.parametrize(("fast", "slow", "seed"), [(3, 8, 1), (9, 21, 2), (12, 26, 3)])
def test_ema_cross_incremental_agrees_with_the_full_computation_on_every_candle(fast, slow, seed):
    candles = walk(400, seed)
    strategy = build_strategy("ema_cross", {"fast": fast, "slow": slow})
    stepper = strategy.stepper()
    closes = [c.close for c in candles]
    full_fast, full_slow = ema(closes, fast), ema(closes, slow)
    crosses = 0
    for n, candle in enumerate(candles, start=1):
        stepper.update(candle)
        assert (stepper.f, stepper.s) == (full_fast[n - 1], full_slow[n - 1])  # bit for bit
        for position in (FLAT, OPEN):
            expected = full_ema_cross(candles[:n], fast, slow, position)
            assert stepper.decision(position) == expected
            assert strategy.decide(candles[:n], position) == expected
            assert stepper.signal(position.is_open) is expected.signal
            crosses += expected.signal is not Signal.HOLD
    assert crosses > 4  # the walk crosses often enough for the test to mean something


def test_threshold_incremental_agrees_at_and_around_the_levels():
    buy, sell = Decimal("0.1"), Decimal("100.37")
    strategy = build_strategy("threshold", {"buy_below": buy, "sell_above": sell})
    stepper = strategy.stepper()
    prices = []
    for level in (0.1, 100.37):
        x = level
        for _ in range(3):
            x = math.nextafter(x, -math.inf)
        for _ in range(7):
            prices.append(x)
            x = math.nextafter(x, math.inf)
    prices += [0.05, 0.2, 50.0, 100.36, 100.38, 1e6]
    for i, price in enumerate(prices):
        candle = Candle(i * 60_000, price, price, price, price, 0.0)
        stepper.update(candle)
        exact = Decimal(repr(price))
        for position in (FLAT, OPEN):
            decision = stepper.decision(position)
            assert decision == strategy.decide([candle], position)
            if position.is_open:
                wanted = Signal.SELL if exact >= sell else Signal.HOLD
            else:
                wanted = Signal.BUY if exact <= buy else Signal.HOLD
            assert decision.signal is wanted, (price, position)
            assert stepper.signal(position.is_open) is wanted


def test_a_strategy_with_only_decide_gets_a_windowed_stepper():
    from webapp.strategies.base import Strategy, WindowStepper

    class LastTwo(Strategy):
        name = "last_two_test"
        label = "Last two"
        description = "Buys after two rising closes."

        @property
        def required_candles(self) -> int:
            return 2

        def decide(self, candles, position):
            if len(candles) >= 2 and candles[-1].close > candles[-2].close:
                return Decision(Signal.BUY, f"{len(candles)} candles, rising")
            return Decision(Signal.HOLD, f"{len(candles)} candles")

    candles = walk(20, 9)
    stepper = LastTwo({}).stepper(window=5)
    assert isinstance(stepper, WindowStepper)
    for n, candle in enumerate(candles, start=1):
        stepper.update(candle)
        assert stepper.decision(FLAT) == LastTwo({}).decide(candles[max(0, n - 5) : n], FLAT)
