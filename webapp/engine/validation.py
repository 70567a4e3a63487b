"""Turning raw form and CLI values into a bot's settings, with one message per bad field.

Messages read in the language of the page or command that asked (the JSON API speaks English,
see webapp.i18n.locales); the module's constants stay English and are translated where they
are used. Kept apart from the lifecycle in webapp.engine.service, which calls `validate` on
create and update. Validation reads the database (name taken, the user's keys) and the market
list (is the symbol listed, the order size above its minimum) but changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask import current_app
from redis.exceptions import RedisError

from webapp.engine import marketdata
from webapp.engine.errors import (
    LIVE_DISABLED_MESSAGE,
    ORDER_PENDING_MESSAGE,
    ORDERS_RESTING_MESSAGE,
    BotValidationError,
)
from webapp.exchange.clients import exchange_name
from webapp.exchange.errors import ExchangeError
from webapp.extensions import db
from webapp.http import MAX_ID
from webapp.i18n.current import gettext as _
from webapp.i18n.marks import N_
from webapp.i18n.numbers import integer_text, quantity_text
from webapp.models import ApiKey, Bot, BotMode, BotOrder
from webapp.models.bot import TIMEFRAMES, quantize
from webapp.strategies import StrategyParamError, UnknownStrategyError, get_strategy

logger = logging.getLogger(__name__)


NAME_TAKEN = N_("You already have a bot with this name; choose another one.")

NAME_MAX = 80
MAX_INTERVAL_SECONDS = 7 * 24 * 3600
MAX_PCT = Decimal(1000)
#: Amounts stay below this: 15 digits before the point leave 12 after it in a 28-digit column.
MAX_AMOUNT = Decimal(10) ** 15

BASE_QUOTE_MESSAGE = N_("Write the symbol as BASE/QUOTE, e.g. BTC/USDT.")
PAPER_ONLY_KEY_MESSAGE = N_(
    "This API key may not trade spot at the exchange, so it serves paper bots only. Enable "
    "spot trading for it in the exchange's API Management, or choose paper mode."
)

#: Fields `create_bot` / `update_bot` accept.
FIELDS = (
    "name",
    "api_key_id",
    "symbol",
    "timeframe",
    "strategy",
    "params",
    "quote_amount",
    "stop_loss_pct",
    "take_profit_pct",
    "daily_profit_target",
    "daily_loss_limit",
    "interval_seconds",
    "mode",
)
#: Fields that cannot change while the bot holds a position (it could never be sold).
POSITION_BOUND = ("api_key_id", "symbol", "mode")


def live_trading_allowed() -> bool:
    """Live bots may run: against the simulator always, elsewhere only if an operator said so."""
    cfg = current_app.config
    return bool(cfg.get("EXCHANGE_SIM_URL") or cfg.get("LIVE_TRADING_ENABLED"))


class Validator:
    """Coerces raw form/CLI values into a bot's fields, collecting one message per field."""

    def __init__(self, user_id: int, bot: Bot | None) -> None:
        self.user_id = user_id
        self.bot = bot
        self.errors: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def fail(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    def text(self, field: str, raw: Any) -> str:
        return "" if raw is None else str(raw).strip()

    def decimal(
        self, field: str, raw: Any, label: str, *, required: bool, maximum: Decimal | None = None
    ) -> Decimal | None:
        text = self.text(field, raw)
        if not text:
            if required:
                self.fail(field, _("%(label)s is required.", label=label))
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            self.fail(field, _("%(label)s must be a number.", label=label))
            return None
        if not value.is_finite():
            self.fail(field, _("%(label)s must be a number.", label=label))
            return None
        if value <= 0:
            self.fail(field, _("%(label)s must be greater than 0.", label=label))
            return None
        if maximum is not None and value > maximum:
            self.fail(field, _("%(label)s must be at most %(max)s.", label=label, max=maximum))
            return None
        # Before rounding: a value past the column's 28 digits (1e309, a 40-digit integer)
        # cannot even be rounded to 12 places.
        if value >= MAX_AMOUNT:
            self.fail(
                field,
                _(
                    "%(label)s must be less than %(max)s.",
                    label=label,
                    max=integer_text(int(MAX_AMOUNT)),
                ),
            )
            return None
        try:
            exact = quantize(value) == value
        except InvalidOperation:
            exact = False
        if not exact:
            self.fail(
                field,
                _(
                    "%(label)s has too many decimal places (at most %(places)s).",
                    label=label,
                    places=12,
                ),
            )
            return None
        return value

    def run(self, raw: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(raw) - set(FIELDS)
        if unknown:
            raise TypeError(f"unknown bot fields: {', '.join(sorted(unknown))}")
        merged = {**current, **raw}
        v = self.values

        name = self.text("name", merged.get("name"))
        if not name:
            self.fail("name", _("Name is required."))
        elif len(name) > NAME_MAX:
            self.fail("name", _("Name must be at most %(max)s characters.", max=NAME_MAX))
        else:
            taken = sa.select(Bot.id).where(Bot.user_id == self.user_id, Bot.name == name)
            if self.bot is not None:
                taken = taken.where(Bot.id != self.bot.id)
            if db.session.scalar(taken) is not None:
                self.fail("name", _(NAME_TAKEN))
            v["name"] = name

        api_key = self._api_key(merged.get("api_key_id"))
        exchange = api_key.exchange if api_key is not None else None

        timeframe = self.text("timeframe", merged.get("timeframe"))
        if timeframe not in TIMEFRAMES:
            self.fail(
                "timeframe", _("Choose a timeframe: %(choices)s.", choices=", ".join(TIMEFRAMES))
            )
        else:
            v["timeframe"] = timeframe

        strategy_cls = None
        strategy = self.text("strategy", merged.get("strategy"))
        try:
            strategy_cls = get_strategy(strategy)
            v["strategy"] = strategy
        except UnknownStrategyError:
            self.fail("strategy", _("Choose one of the strategies."))
        if strategy_cls is not None:
            try:
                values = strategy_cls.validate_params(merged.get("params") or {})
            except StrategyParamError as exc:
                for param, message in exc.errors.items():
                    self.fail(f"params.{param}", message)
            else:
                v["params"] = strategy_cls.serialize_params(values)
                needed = strategy_cls(values).required_candles
                available = int(current_app.config["BOT_OHLCV_LIMIT"]) - 1
                if needed > available:
                    self.fail(
                        "strategy",
                        _(
                            "These settings need %(needed)s candles of history; the engine "
                            "fetches %(available)s. Use shorter periods.",
                            needed=needed,
                            available=available,
                        ),
                    )

        quote_amount = self.decimal(
            "quote_amount", merged.get("quote_amount"), _("Order size"), required=True
        )
        v["quote_amount"] = quote_amount
        v["stop_loss_pct"] = self.decimal(
            "stop_loss_pct",
            merged.get("stop_loss_pct"),
            _("Stop-loss %"),
            required=False,
            maximum=Decimal(99),
        )
        v["take_profit_pct"] = self.decimal(
            "take_profit_pct",
            merged.get("take_profit_pct"),
            _("Take-profit %"),
            required=False,
            maximum=MAX_PCT,
        )
        v["daily_profit_target"] = self.decimal(
            "daily_profit_target",
            merged.get("daily_profit_target"),
            _("Daily profit target"),
            required=False,
        )
        v["daily_loss_limit"] = self.decimal(
            "daily_loss_limit",
            merged.get("daily_loss_limit"),
            _("Daily loss limit"),
            required=False,
        )

        self._interval(merged.get("interval_seconds"))
        self._mode(merged.get("mode"))
        if v.get("mode") is BotMode.LIVE and api_key is not None and api_key.can_trade is False:
            self.fail("mode", _(PAPER_ONLY_KEY_MESSAGE))
        self._symbol(merged.get("symbol"), exchange, quote_amount)
        if self.bot is not None:
            self._position_bound()
        return v

    def _api_key(self, raw: Any) -> ApiKey | None:
        try:
            key_id = int(str(raw).strip()) if raw not in (None, "") else None
        except ValueError:
            key_id = None
        api_key = None
        if key_id is not None and 0 < key_id <= MAX_ID:
            api_key = db.session.scalar(
                sa.select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == self.user_id)
            )
        if api_key is None:
            self.fail("api_key_id", _("Choose one of your API keys (add one on the keys page)."))
            return None
        self.values["api_key_id"] = api_key.id
        self.values["exchange"] = api_key.exchange
        return api_key

    def _interval(self, raw: Any) -> None:
        minimum = int(current_app.config["BOT_MIN_INTERVAL_SECONDS"])
        text = self.text("interval_seconds", raw)
        try:
            seconds = int(text)
        except ValueError:
            self.fail("interval_seconds", _("Cycle interval must be a whole number of seconds."))
            return
        if seconds < minimum:
            self.fail(
                "interval_seconds",
                _("Cycle interval must be at least %(num)s seconds.", num=minimum),
            )
        elif seconds > MAX_INTERVAL_SECONDS:
            self.fail("interval_seconds", _("Cycle interval must be at most 7 days."))
        else:
            self.values["interval_seconds"] = seconds

    def _mode(self, raw: Any) -> None:
        text = self.text("mode", raw).lower() or BotMode.PAPER.value
        try:
            mode = BotMode(text)
        except ValueError:
            self.fail("mode", _("Choose paper or live mode."))
            return
        if mode is BotMode.LIVE and not live_trading_allowed():
            self.fail("mode", _(LIVE_DISABLED_MESSAGE))
            return
        self.values["mode"] = mode

    def _symbol(self, raw: Any, exchange: str | None, quote_amount: Decimal | None) -> None:
        symbol = self.text("symbol", raw).upper().replace("-", "/")
        if not symbol:
            self.fail("symbol", _("Symbol is required, e.g. BTC/USDT."))
            return
        if exchange is None:
            if "/" not in symbol:
                self.fail("symbol", _(BASE_QUOTE_MESSAGE))
            return  # the key's own error says what to do first
        if "/" not in symbol:
            hint = _did_you_mean(exchange, symbol)
            self.fail(
                "symbol",
                _("Write the symbol as BASE/QUOTE.") + hint if hint else _(BASE_QUOTE_MESSAGE),
            )
            return
        unchanged = (
            self.bot is not None and symbol == self.bot.symbol and exchange == self.bot.exchange
        )
        try:
            market = marketdata.market_info(exchange, symbol)
        except (ExchangeError, RedisError) as exc:
            summary = exc.summary() if isinstance(exc, ExchangeError) else f"Redis: {exc}"
            logger.info("cannot check symbol %s on %s: %s", symbol, exchange, summary)
            if unchanged:  # checked when it was set; other settings may still change
                self.values["symbol"] = symbol
                return
            self.fail(
                "symbol",
                _(
                    "%(exchange)s could not be reached to check this symbol; "
                    "try again in a minute.",
                    exchange=exchange_name(exchange),
                ),
            )
            return
        if market is None or not market.active:
            self.fail(
                "symbol",
                _(
                    "%(exchange)s has no spot market %(symbol)s.",
                    exchange=exchange_name(exchange),
                    symbol=symbol,
                )
                + _did_you_mean(exchange, symbol),
            )
            return
        self.values["symbol"] = symbol
        if quote_amount is not None and market.min_notional and quote_amount < market.min_notional:
            self.fail(
                "quote_amount",
                _(
                    "Order size must be at least %(amount)s %(quote)s on %(exchange)s for "
                    "%(symbol)s.",
                    amount=quantity_text(market.min_notional),
                    quote=market.quote,
                    exchange=exchange_name(exchange),
                    symbol=symbol,
                ),
            )

    def _position_bound(self) -> None:
        bot = self.bot
        state = bot.state
        if state is None:
            return
        if state.pending_client_order_id:
            for field in POSITION_BOUND:
                new = self.values.get(field)
                if new is not None and new != getattr(bot, field):
                    self.fail(field, _(ORDER_PENDING_MESSAGE))
            return
        changed = [
            field
            for field in (*POSITION_BOUND, "strategy")
            if self.values.get(field) is not None and self.values[field] != getattr(bot, field)
        ]
        if changed and BotOrder.any_active(bot.id):
            for field in changed:
                self.fail(field, _(ORDERS_RESTING_MESSAGE))
            return
        if state.position_qty <= 0:
            return
        for field in POSITION_BOUND:
            new = self.values.get(field)
            if new is not None and new != getattr(bot, field):
                self.fail(
                    field,
                    _(
                        "This bot holds %(qty)s %(base)s; it cannot change its key, symbol or "
                        "mode until that position is sold.",
                        qty=quantity_text(state.position_qty),
                        base=bot.base_currency,
                    ),
                )


def _did_you_mean(exchange: str, text: str) -> str:
    """ " Did you mean BTC/USDT?" for a symbol written the exchange's way or misspelt; "" when
    nothing is close (or the market list cannot be read right now)."""
    try:
        close = marketdata.similar_symbols(exchange, text)
    except (ExchangeError, RedisError):
        return ""
    if not close:
        return ""
    symbols = close[0]
    for other in close[1:]:
        symbols = _("%(first)s or %(second)s", first=symbols, second=other)
    return " " + _("Did you mean %(symbols)s?", symbols=symbols)


def validate(user_id: int, bot: Bot | None, raw: Mapping[str, Any]) -> dict[str, Any]:
    current = {} if bot is None else {f: getattr(bot, f) for f in FIELDS}
    validator = Validator(user_id, bot)
    values = validator.run(raw, current)
    if validator.errors:
        raise BotValidationError(validator.errors)
    return values
