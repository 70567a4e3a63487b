"""Trade on signals sent to the bot's secret URL (TradingView alerts and the like).

The strategy itself watches no candles: each cycle it answers the newest signal that arrived
since the last one (`on_signal`), else holds. Stop-loss, take-profit, the order size and the
daily limits apply as for every bot.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from webapp.i18n.current import lazy_gettext as _l
from webapp.strategies.base import Candle, Decision, Position, Signal, Strategy
from webapp.strategies.registry import register

logger = logging.getLogger(__name__)


@register
class SignalStrategy(Strategy):
    name = "signal"
    label = _l("Signals (webhook)")
    description = _l(
        "Buys and sells when a signal arrives at the bot's secret URL, for example a "
        'TradingView alert with the body {"action": "buy"} or {"action": "sell"}.'
    )
    params = ()
    signal_actions = ("buy", "sell", "close")
    backtestable = False

    @property
    def required_candles(self) -> int:
        return 1

    def decide(self, candles: Sequence[Candle], position: Position) -> Decision:
        return Decision(Signal.HOLD, "waiting for a signal")

    def on_signal(self, action: str, position: Position) -> Decision:
        if action == "buy":
            if position.is_open:
                return Decision(Signal.HOLD, "signal buy: already in a position")
            return Decision(Signal.BUY, "signal buy")
        # "sell" and "close" both end the position.
        if not position.is_open:
            return Decision(Signal.HOLD, f"signal {action}: no position to sell")
        return Decision(Signal.SELL, f"signal {action}")
