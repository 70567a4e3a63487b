"""Fast/slow exponential moving average crossover.

The EMA is seeded with the first close, so its values depend on how much history is passed
in: the engine should always fetch the same number of candles (comfortably more than
`required_candles`) for a bot so decisions are reproducible.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from webapp.i18n.current import gettext as _
from webapp.i18n.current import lazy_gettext as _l
from webapp.strategies.base import (
    Candle,
    Decision,
    ParamSpec,
    ParamType,
    ParamValue,
    Position,
    Signal,
    Stepper,
    Strategy,
    fmt_price,
)
from webapp.strategies.registry import register

logger = logging.getLogger(__name__)


def ema(values: Sequence[float], span: int) -> list[float]:
    """EMA with alpha = 2/(span+1), seeded with the first value.

    Mirrors pandas `Series.ewm(span=span, adjust=False).mean()` operation by operation
    (including its weight normalisation), so results agree to the last bit or two.
    """
    if span < 1:
        raise ValueError("span must be >= 1")
    if not values:
        return []
    alpha = 2.0 / (span + 1)
    old_wt = 1.0 - alpha
    weighted = float(values[0])
    out = [weighted]
    for cur in values[1:]:
        cur = float(cur)
        if weighted != cur:
            weighted = (old_wt * weighted + alpha * cur) / (old_wt + alpha)
        out.append(weighted)
    return out


@register
class EmaCrossStrategy(Strategy):
    name = "ema_cross"
    label = _l("EMA crossover")
    description = _l(
        "Buys when the fast EMA of closes crosses above the slow EMA and sells the position "
        "when it crosses back below."
    )
    params = (
        ParamSpec(
            name="fast",
            label=_l("Fast EMA period"),
            type=ParamType.INT,
            default=9,
            min=2,
            max=499,
            help=_l("Number of candles in the fast moving average."),
        ),
        ParamSpec(
            name="slow",
            label=_l("Slow EMA period"),
            type=ParamType.INT,
            default=21,
            min=3,
            max=500,
            help=_l("Number of candles in the slow moving average; must be larger than fast."),
        ),
    )

    @classmethod
    def check_params(cls, values: Mapping[str, ParamValue]) -> dict[str, str]:
        fast, slow = values.get("fast"), values.get("slow")
        if fast is not None and slow is not None and slow <= fast:
            return {
                "slow": _(
                    "Slow EMA period must be greater than Fast EMA period (%(fast)s).", fast=fast
                )
            }
        return {}

    @property
    def fast(self) -> int:
        return int(self.values["fast"])

    @property
    def slow(self) -> int:
        return int(self.values["slow"])

    @property
    def required_candles(self) -> int:
        # One more than the slow period: a cross compares the previous candle with the last.
        return self.slow + 1

    def stepper(self, window: int | None = None) -> EmaCrossStepper:
        return EmaCrossStepper(self.fast, self.slow)


class EmaCrossStepper(Stepper):
    """Both EMAs carried forward one close at a time: O(1) per candle.

    Each update does exactly the operations of `ema()` in the same order, so after n candles
    the lines hold the same floats as `ema(closes[:n], span)[-1]`, bit for bit.
    """

    __slots__ = ("a_f", "a_s", "close", "f", "fast", "n", "pf", "ps", "s", "slow", "w_f", "w_s")

    def __init__(self, fast: int, slow: int) -> None:
        self.fast, self.slow = fast, slow
        self.a_f = 2.0 / (fast + 1)
        self.w_f = 1.0 - self.a_f
        self.a_s = 2.0 / (slow + 1)
        self.w_s = 1.0 - self.a_s
        self.n = 0
        self.f = self.s = self.pf = self.ps = self.close = 0.0

    def update(self, candle: Candle) -> None:
        close = float(candle[4])  # the close; indexing skips the namedtuple's property
        self.close = close
        f, s = self.f, self.s
        self.pf, self.ps = f, s
        if self.n:
            if f != close:
                w, a = self.w_f, self.a_f
                self.f = (w * f + a * close) / (w + a)
            if s != close:
                w, a = self.w_s, self.a_s
                self.s = (w * s + a * close) / (w + a)
        else:
            self.f = self.s = close
        self.n += 1

    def signal(self, in_position: bool) -> Signal:
        if self.n <= self.slow:
            return Signal.HOLD
        if in_position:
            return Signal.SELL if self.pf >= self.ps and self.f < self.s else Signal.HOLD
        return Signal.BUY if self.pf <= self.ps and self.f > self.s else Signal.HOLD

    def decision(self, position: Position) -> Decision:
        f, s = self.fast, self.slow
        need = s + 1
        if self.n < need:
            return Decision(
                Signal.HOLD,
                f"not enough data: need {need} closed candles for EMA({f})/EMA({s}), have {self.n}",
            )
        prev_fast, prev_slow, cur_fast, cur_slow = self.pf, self.ps, self.f, self.s
        values = {"fast_ema": cur_fast, "slow_ema": cur_slow, "close": self.close}
        fast_txt = f"fast EMA({f}) {fmt_price(cur_fast)}"
        slow_txt = f"slow EMA({s}) {fmt_price(cur_slow)}"

        if prev_fast <= prev_slow and cur_fast > cur_slow:
            if position.is_open:
                return Decision(
                    Signal.HOLD,
                    f"cross up but already in position: {fast_txt} > {slow_txt}",
                    values,
                )
            return Decision(Signal.BUY, f"{fast_txt} crossed above {slow_txt}", values)
        if prev_fast >= prev_slow and cur_fast < cur_slow:
            if not position.is_open:
                return Decision(
                    Signal.HOLD,
                    f"cross down but no position to sell: {fast_txt} < {slow_txt}",
                    values,
                )
            return Decision(Signal.SELL, f"{fast_txt} crossed below {slow_txt}", values)
        relation = ">" if cur_fast > cur_slow else "<" if cur_fast < cur_slow else "="
        return Decision(Signal.HOLD, f"no cross: {fast_txt} {relation} {slow_txt}", values)
