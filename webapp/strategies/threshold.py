"""Buy below one price, sell above another: the simplest strategy a user can reason about."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal

from webapp.strategies.base import (
    Candle,
    Decision,
    ParamSpec,
    ParamType,
    ParamValue,
    Position,
    Signal,
    Strategy,
    fmt_price,
)
from webapp.strategies.registry import register

logger = logging.getLogger(__name__)

#: Far above any listed price, yet small enough that a typo cannot store an absurd number.
MAX_PRICE = Decimal(10) ** 12


@register
class ThresholdStrategy(Strategy):
    name = "threshold"
    label = "Price threshold"
    description = (
        "Buys when the last closed price is at or below a level and sells the position "
        "when it is at or above a higher level."
    )
    params = (
        ParamSpec(
            name="buy_below",
            label="Buy below",
            type=ParamType.DECIMAL,
            min=Decimal(0),
            exclusive_min=True,
            max=MAX_PRICE,
            help="Buy when the last close is at or below this price (quote currency).",
        ),
        ParamSpec(
            name="sell_above",
            label="Sell above",
            type=ParamType.DECIMAL,
            min=Decimal(0),
            exclusive_min=True,
            max=MAX_PRICE,
            help="Sell the position when the last close is at or above this price.",
        ),
    )

    @classmethod
    def check_params(cls, values: Mapping[str, ParamValue]) -> dict[str, str]:
        buy, sell = values.get("buy_below"), values.get("sell_above")
        if buy is not None and sell is not None and sell <= buy:
            return {
                "sell_above": (
                    f"Sell above must be greater than Buy below ({fmt_price(Decimal(buy))})."
                )
            }
        return {}

    @property
    def buy_below(self) -> Decimal:
        return Decimal(self.values["buy_below"])

    @property
    def sell_above(self) -> Decimal:
        return Decimal(self.values["sell_above"])

    @property
    def required_candles(self) -> int:
        return 1

    def decide(self, candles: Sequence[Candle], position: Position) -> Decision:
        if not candles:
            return Decision(Signal.HOLD, "no closed candle yet")
        close_f = candles[-1].close
        # Compare in Decimal via the float's shortest repr so 0.1 <= Decimal("0.1") holds.
        close = Decimal(repr(close_f))
        price, buy, sell = fmt_price(close_f), fmt_price(self.buy_below), fmt_price(self.sell_above)
        values = {"close": close_f}
        if position.is_open:
            if close >= self.sell_above:
                return Decision(Signal.SELL, f"close {price} >= sell above {sell}", values)
            return Decision(
                Signal.HOLD, f"close {price} below sell above {sell}; holding position", values
            )
        if close <= self.buy_below:
            return Decision(Signal.BUY, f"close {price} <= buy below {buy}", values)
        return Decision(Signal.HOLD, f"close {price} above buy below {buy}; waiting to buy", values)
