"""Strategy lookup by name, and adding a strategy without touching anything else."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from webapp.strategies import (
    Candle,
    Decision,
    ParamSpec,
    ParamType,
    Position,
    Signal,
    Strategy,
    StrategyError,
    UnknownStrategyError,
    all_strategies,
    build_strategy,
    choices,
    get_strategy,
    register,
    unregister,
)
from webapp.strategies.ema_cross import EmaCrossStrategy
from webapp.strategies.threshold import ThresholdStrategy


def test_built_in_strategies_are_registered():
    assert get_strategy("threshold") is ThresholdStrategy
    assert get_strategy("ema_cross") is EmaCrossStrategy
    assert {("threshold", "Price threshold"), ("ema_cross", "EMA crossover")} <= set(choices())
    assert {ThresholdStrategy, EmaCrossStrategy} <= set(all_strategies())


def test_unknown_strategy_is_a_clear_error():
    with pytest.raises(UnknownStrategyError, match="unknown strategy 'martingale'") as info:
        get_strategy("martingale")
    assert info.value.name == "martingale"
    with pytest.raises(LookupError):
        build_strategy("martingale", {})


def test_build_strategy_validates_params():
    strategy = build_strategy("ema_cross", {"fast": "3", "slow": "7"})
    assert isinstance(strategy, EmaCrossStrategy)
    assert (strategy.fast, strategy.slow, strategy.required_candles) == (3, 7, 8)


@pytest.fixture
def always_buy() -> Iterator[type[Strategy]]:
    @register
    class AlwaysBuy(Strategy):
        name = "test_always_buy"
        label = "Always buy (test)"
        description = "Buys whenever it is flat."
        params = (ParamSpec("size", "Size", ParamType.INT, default=1, min=1),)

        @property
        def required_candles(self) -> int:
            return 0

        def decide(self, candles: Sequence[Candle], position: Position) -> Decision:
            if position.is_open:
                return Decision(Signal.HOLD, "already bought")
            return Decision(Signal.BUY, "always")

    yield AlwaysBuy
    unregister("test_always_buy")


def test_a_new_strategy_shows_up_in_choices(always_buy):
    assert ("test_always_buy", "Always buy (test)") in choices()
    strategy = build_strategy("test_always_buy", {"size": "4"})
    assert strategy.values == {"size": 4}
    assert strategy.decide([], Position()).signal is Signal.BUY


def test_unregister_removes_it(always_buy):
    unregister("test_always_buy")
    assert "test_always_buy" not in dict(choices())
    with pytest.raises(UnknownStrategyError):
        get_strategy("test_always_buy")


def test_a_taken_name_cannot_be_reused():
    with pytest.raises(StrategyError, match="already taken"):

        @register
        class Impostor(ThresholdStrategy):
            pass

    assert get_strategy("threshold") is ThresholdStrategy


def test_a_strategy_needs_a_name():
    with pytest.raises(StrategyError, match="non-empty `name`"):

        @register
        class Nameless(ThresholdStrategy):
            name = ""
