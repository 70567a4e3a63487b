"""Errors of the bot domain. `str(error)` is always a message the user can be shown as is."""

from __future__ import annotations

from collections.abc import Mapping

from webapp.i18n.marks import N_

LIVE_DISABLED_MESSAGE = N_(
    "Live trading is turned off on this server (LIVE_TRADING_ENABLED is not set), so no real "
    "order can be sent. Use paper mode, or ask the operator to enable live trading."
)


class BotError(Exception):
    """Base class: what the user asked for a bot cannot be done."""


class BotNotFound(BotError, LookupError):
    """No bot with this id belongs to this user (shown as a 404, never as "not yours")."""

    def __init__(self) -> None:
        super().__init__("There is no such bot.")


class BotValidationError(BotError, ValueError):
    """One or more fields are invalid.

    `errors` maps a field name to its message: the Bot's own fields ("name", "api_key_id",
    "symbol", "timeframe", "strategy", "quote_amount", "stop_loss_pct", "take_profit_pct",
    "daily_profit_target", "daily_loss_limit", "interval_seconds", "mode") and strategy
    parameters as "params.<name>" (e.g. "params.buy_below").
    """

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors: dict[str, str] = dict(errors)
        super().__init__(" ".join(self.errors.values()))

    @property
    def field_errors(self) -> dict[str, str]:
        return {k: v for k, v in self.errors.items() if not k.startswith("params.")}

    @property
    def param_errors(self) -> dict[str, str]:
        """Strategy parameter errors keyed by the parameter's own name."""
        return {k[7:]: v for k, v in self.errors.items() if k.startswith("params.")}


class BotStartError(BotError):
    """The bot cannot start now (no or rejected key, live trading off, unknown strategy)."""


class BotBusy(BotError):
    def __init__(self) -> None:
        super().__init__("This bot is in the middle of a cycle; try again in a few seconds.")


class LiveTradingDisabled(BotError):
    def __init__(self) -> None:
        super().__init__(LIVE_DISABLED_MESSAGE)


#: Why key, symbol and mode (and deleting the bot) wait while an order intent is open.
ORDER_PENDING_MESSAGE = N_("An order of this bot is being settled; try again in a minute.")
#: ... and while it has limit orders resting (webapp.engine.resting).
ORDERS_RESTING_MESSAGE = N_(
    "This bot has orders resting on the exchange: stop it, and once its next cycle has "
    "canceled them (within a minute), try again."
)


class OrderPending(BotBusy):
    """The bot sent an order whose outcome is not recorded yet; changing where it trades or
    deleting it now could lose that fill."""

    def __init__(self) -> None:
        BotError.__init__(self, ORDER_PENDING_MESSAGE)


class OrdersResting(OrderPending):
    """The bot has limit orders resting: changing where it trades, its strategy, or deleting
    it would leave them on the exchange, unknown to any bot."""

    def __init__(self) -> None:
        BotError.__init__(self, ORDERS_RESTING_MESSAGE)


class BotUnavailable(BotBusy):
    """A service the engine needs (Redis: locks, market data cache) cannot be reached."""

    def __init__(self) -> None:
        BotError.__init__(
            self,
            "The bot service is briefly unavailable; nothing was changed. Try again in a minute.",
        )
