"""RSI mean reversion: buy oversold, sell overbought. An example of a strategy plugin."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from webapp.strategies import Candle, Decision, ParamSpec, ParamType, Position, Signal, Strategy
from webapp.strategies.base import ParamValue, Stepper
from webapp.strategies.indicators import Rsi

__version__ = "1.0.0"


class RsiReversionStrategy(Strategy):
    name = "rsi_reversion"
    label = "RSI reversion"
    description = (
        "Buys when the RSI of closes is at or below a level and sells the position when it is "
        "at or above a higher one."
    )
    params = (
        ParamSpec("period", "RSI period", ParamType.INT, default=14, min=2, max=200),
        ParamSpec(
            "buy_below", "Buy at RSI", ParamType.DECIMAL, default=Decimal(30), min=0, max=100
        ),
        ParamSpec(
            "sell_above", "Sell at RSI", ParamType.DECIMAL, default=Decimal(70), min=0, max=100
        ),
    )

    @classmethod
    def check_params(cls, values: Mapping[str, ParamValue]) -> dict[str, str]:
        buy, sell = values.get("buy_below"), values.get("sell_above")
        if buy is not None and sell is not None and sell <= buy:
            return {"sell_above": "Sell at RSI must be above Buy at RSI."}
        return {}

    @property
    def required_candles(self) -> int:
        return int(self.values["period"]) + 1

    def stepper(self, window: int | None = None) -> RsiStepper:
        return RsiStepper(
            int(self.values["period"]),
            float(self.values["buy_below"]),
            float(self.values["sell_above"]),
        )


class RsiStepper(Stepper):
    __slots__ = ("buy", "rsi", "sell", "value")

    def __init__(self, period: int, buy: float, sell: float) -> None:
        self.rsi, self.buy, self.sell = Rsi(period), buy, sell
        self.value: float | None = None

    def update(self, candle: Candle) -> None:
        self.value = self.rsi.update(float(candle.close))

    def signal(self, in_position: bool) -> Signal:
        if self.value is None:
            return Signal.HOLD
        if in_position:
            return Signal.SELL if self.value >= self.sell else Signal.HOLD
        return Signal.BUY if self.value <= self.buy else Signal.HOLD

    def decision(self, position: Position) -> Decision:
        if self.value is None:
            return Decision(Signal.HOLD, "not enough candles for the RSI yet")
        signal = self.signal(position.is_open)
        values = {"rsi": self.value}
        return Decision(signal, f"RSI {self.value:.2f} ({signal.value})", values)
