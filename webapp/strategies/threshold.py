"""Buy below one price, sell above another: the simplest strategy a user can reason about."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from decimal import Decimal

from webapp.i18n.current import gettext as _
from webapp.i18n.current import lazy_gettext as _l
from webapp.strategies.base import (
    Candle,
    Decision,
    ParamSpec,
    ParamValue,
    Position,
    Signal,
    Stepper,
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
    label = _l("Price threshold")
    description = _l(
        "Buys when the last closed price is at or below a level and sells the position "
        "when it is at or above a higher level."
    )
    params = (
        ParamSpec.positive(
            name="buy_below",
            label=_l("Buy below"),
            max=MAX_PRICE,
            help=_l("Buy when the last close is at or below this price (quote currency)."),
        ),
        ParamSpec.positive(
            name="sell_above",
            label=_l("Sell above"),
            max=MAX_PRICE,
            help=_l("Sell the position when the last close is at or above this price."),
        ),
    )

    @classmethod
    def check_params(cls, values: Mapping[str, ParamValue]) -> dict[str, str]:
        buy, sell = values.get("buy_below"), values.get("sell_above")
        if buy is not None and sell is not None and sell <= buy:
            return {
                "sell_above": _(
                    "Sell above must be greater than Buy below (%(buy)s).",
                    buy=fmt_price(Decimal(buy)),
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

    def stepper(self, window: int | None = None) -> ThresholdStepper:
        return ThresholdStepper(self.buy_below, self.sell_above)


class _Level:
    """`close <= level` / `close >= level` as the strategy means them (the float's shortest
    repr against the Decimal), answered by float comparisons except within a float or two
    of the level, where the exact Decimal comparison decides."""

    __slots__ = ("above", "below", "level")

    def __init__(self, level: Decimal) -> None:
        self.level = level
        nearest = float(level)
        # Any float beyond these neighbours has a shortest repr on the same side of `level`.
        self.below = math.nextafter(nearest, -math.inf)
        self.above = math.nextafter(nearest, math.inf)

    def at_or_below(self, close: float) -> bool:
        if close < self.below:
            return True
        if close > self.above:
            return False
        return Decimal(repr(close)) <= self.level

    def at_or_above(self, close: float) -> bool:
        if close > self.above:
            return True
        if close < self.below:
            return False
        return Decimal(repr(close)) >= self.level


class ThresholdStepper(Stepper):
    """Only the last close matters: O(1) per candle."""

    __slots__ = ("buy", "close", "n", "sell")

    def __init__(self, buy_below: Decimal, sell_above: Decimal) -> None:
        self.buy, self.sell = _Level(buy_below), _Level(sell_above)
        self.close = 0.0
        self.n = 0

    def update(self, candle: Candle) -> None:
        self.close = float(candle.close)
        self.n += 1

    def signal(self, in_position: bool) -> Signal:
        if not self.n:
            return Signal.HOLD
        if in_position:
            return Signal.SELL if self.sell.at_or_above(self.close) else Signal.HOLD
        return Signal.BUY if self.buy.at_or_below(self.close) else Signal.HOLD

    def decision(self, position: Position) -> Decision:
        if not self.n:
            return Decision(Signal.HOLD, "no closed candle yet")
        close_f = self.close
        price = fmt_price(close_f)
        buy, sell = fmt_price(self.buy.level), fmt_price(self.sell.level)
        values = {"close": close_f}
        if position.is_open:
            if self.sell.at_or_above(close_f):
                return Decision(Signal.SELL, f"close {price} >= sell above {sell}", values)
            return Decision(
                Signal.HOLD, f"close {price} below sell above {sell}; holding position", values
            )
        if self.buy.at_or_below(close_f):
            return Decision(Signal.BUY, f"close {price} <= buy below {buy}", values)
        return Decision(Signal.HOLD, f"close {price} above buy below {buy}; waiting to buy", values)
