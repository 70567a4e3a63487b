"""The bot form. It only shapes the input: every rule (ranges, symbols, live mode, names) is
checked by `webapp.engine.service.create_bot` / `update_bot`, whose per-field errors the page
shows in place. Strategy parameters are not WTForms fields: they are rendered from the
strategy's `ParamSpec`s and posted as `param_<name>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, SelectField, StringField

from webapp.exchange.clients import exchange_name
from webapp.i18n.current import gettext as _
from webapp.i18n.current import lazy_gettext as _l
from webapp.i18n.numbers import NumberInputError, canonical_number, number_input_text
from webapp.models import ApiKey, Bot, BotMode
from webapp.models.bot import TIMEFRAMES
from webapp.numbers import plain
from webapp.strategies import ParamSpec, Strategy, choices

PARAM_PREFIX = "param_"

#: The fields a person types numbers into, in the page's language.
NUMBER_FIELDS = (
    "quote_amount",
    "stop_loss_pct",
    "take_profit_pct",
    "daily_profit_target",
    "daily_loss_limit",
    "interval_seconds",
)
#: Form fields passed to the service as they are (strings; the service coerces them).
SERVICE_FIELDS = (
    "name",
    "api_key_id",
    "symbol",
    "timeframe",
    "strategy",
    "quote_amount",
    "stop_loss_pct",
    "take_profit_pct",
    "daily_profit_target",
    "daily_loss_limit",
    "interval_seconds",
    "mode",
)


def strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def key_label(api_key: ApiKey) -> str:
    text = f"{api_key.label} · {exchange_name(api_key.exchange)} {api_key.masked_key}"
    if api_key.testnet:
        text += " · " + _("testnet")
    if not api_key.is_valid:
        text += " · " + _("invalid")
    return text


#: What a new bot's form starts with: the simplest strategy to reason about.
DEFAULT_STRATEGY = "ema_cross"


class BotForm(FlaskForm):
    name = StringField(_l("Name"), filters=[strip])
    api_key_id = SelectField(_l("API key"), choices=[], validate_choice=False)
    symbol = StringField(
        _l("Symbol"),
        filters=[strip],
        description=_l("A spot market of the key's exchange, e.g. BTC/USDT."),
    )
    timeframe = SelectField(
        _l("Timeframe"),
        choices=[SelectChoice(tf, tf) for tf in TIMEFRAMES],
        default="5m",
        validate_choice=False,
    )
    strategy = SelectField(_l("Strategy"), choices=[], validate_choice=False)
    # Numbers stay text here: the service parses them exactly (Decimal) and says what is wrong.
    quote_amount = StringField(
        _l("Order size"),
        filters=[strip],
        description=_l("Spent on each buy, in the quote currency (USDT for BTC/USDT)."),
    )
    stop_loss_pct = StringField(
        _l("Stop-loss %"),
        filters=[strip],
        description=_l("Sell when the price falls this far below the average entry. Blank: off."),
    )
    take_profit_pct = StringField(
        _l("Take-profit %"),
        filters=[strip],
        description=_l("Sell when the price rises this far above the average entry. Blank: off."),
    )
    daily_profit_target = StringField(
        _l("Daily profit target"),
        filters=[strip],
        description=_l(
            "Rest until the next UTC day once today's realized PnL reaches it. Blank: off."
        ),
    )
    daily_loss_limit = StringField(
        _l("Daily loss limit"),
        filters=[strip],
        description=_l("Stop the bot once today's realized loss reaches it. Blank: off."),
    )
    interval_seconds = StringField(
        _l("Cycle interval (seconds)"),
        filters=[strip],
        default="60",
        description=_l("How often the bot looks at the market; at least 10 seconds."),
    )
    mode = RadioField(
        _l("Mode"),
        choices=[
            SelectChoice(BotMode.PAPER.value, _l("Paper")),
            SelectChoice(BotMode.LIVE.value, _l("Live")),
        ],
        default=BotMode.PAPER.value,
        validate_choice=False,
    )

    def __init__(self, *args: Any, api_keys: list[ApiKey] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api_key_id.choices = [SelectChoice(str(k.id), key_label(k)) for k in api_keys]
        self.strategy.choices = [SelectChoice(name, label) for name, label in choices()]
        if not self.strategy.data and self.strategy.choices:
            names = [c.value for c in self.strategy.choices]
            self.strategy.data = DEFAULT_STRATEGY if DEFAULT_STRATEGY in names else names[0]

    @classmethod
    def for_bot(cls, bot: Bot, api_keys: list[ApiKey]) -> BotForm:
        """The edit form filled with the bot's current settings."""
        data = {
            "name": bot.name,
            "api_key_id": str(bot.api_key_id) if bot.api_key_id else "",
            "symbol": bot.symbol,
            "timeframe": bot.timeframe,
            "strategy": bot.strategy,
            "quote_amount": _text(bot.quote_amount),
            "stop_loss_pct": _text(bot.stop_loss_pct),
            "take_profit_pct": _text(bot.take_profit_pct),
            "daily_profit_target": _text(bot.daily_profit_target),
            "daily_loss_limit": _text(bot.daily_loss_limit),
            "interval_seconds": str(bot.interval_seconds),
            "mode": bot.mode.value,
        }
        return cls(formdata=None, data=data, api_keys=api_keys)

    def service_fields(self) -> dict[str, str]:
        """What the user typed, for create_bot/update_bot (which validate everything), with
        numbers read in the page's language (`1,5` on a Turkish page is 1.5). A number whose
        separators do not fit the language lands in `number_errors` instead of a guess."""
        self.number_errors: dict[str, str] = {}
        fields = {}
        for name in SERVICE_FIELDS:
            value = self[name].data or ""
            if name in NUMBER_FIELDS:
                try:
                    value = canonical_number(value)
                except NumberInputError as exc:
                    self.number_errors[name] = str(exc)
            fields[name] = value
        return fields

    def set_errors(self, errors: Mapping[str, str]) -> None:
        """Show the service's per-field messages on their fields. Validation writes them in
        the page's language; one the service raises as an English constant (a name taken
        between validation and insert) is translated here."""
        for name, message in errors.items():
            if name in self._fields:
                self[name].errors = [_(message)]


def _text(value: object) -> str:
    """A stored number as the form shows it, in the reader's language (`61234,5`)."""
    return "" if value is None else number_input_text(Decimal(str(value)))


def param_values(strategy: type[Strategy], source: Mapping[str, Any]) -> dict[str, str]:
    """The posted `param_<name>` values of `strategy` (missing ones left out)."""
    values = {}
    for spec in strategy.params:
        raw = source.get(PARAM_PREFIX + spec.name)
        if raw is not None:
            values[spec.name] = str(raw).strip()
    return values


def param_display(spec: ParamSpec, value: object) -> str:
    """What a parameter's input shows: the given value, else its default, else empty."""
    if value is None or value == "":
        value = spec.default
    if value is None:
        return ""
    return value if isinstance(value, str) else plain(value, empty="")
