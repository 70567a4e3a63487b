"""The backtest form. Like the bot form it only shapes input: `service.build_settings` checks
every rule and its per-field errors are shown in place. Strategy parameters are rendered from
the strategy's ParamSpecs (the bot form's `bots/_params.html`) and posted as `param_<name>`.
"""

from __future__ import annotations

from datetime import timedelta

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField, StringField, TextAreaField

from webapp.backtest import candles as store
from webapp.bots.forms import strip
from webapp.models import Bot
from webapp.models.bot import TIMEFRAMES
from webapp.models.types import utcnow
from webapp.numbers import plain
from webapp.strategies import choices

#: Form fields handed to `build_settings` as they are.
SETTINGS_FIELDS = (
    "symbol",
    "timeframe",
    "strategy",
    "quote_amount",
    "stop_loss_pct",
    "take_profit_pct",
    "daily_profit_target",
    "daily_loss_limit",
    "fee_rate",
    "slippage_bps",
    "exit_model",
)


class BacktestForm(FlaskForm):
    bot_id = HiddenField()
    symbol = StringField("Symbol", filters=[strip], description="e.g. BTC/USDT")
    timeframe = SelectField(
        "Timeframe",
        choices=[SelectChoice(t, t) for t in TIMEFRAMES],
        default="1m",
        validate_choice=False,
    )
    strategy = SelectField("Strategy", choices=[], validate_choice=False)
    quote_amount = StringField("Order size", filters=[strip], description="In the quote currency.")
    stop_loss_pct = StringField("Stop-loss %", filters=[strip], description="Blank: off.")
    take_profit_pct = StringField("Take-profit %", filters=[strip], description="Blank: off.")
    daily_profit_target = StringField("Daily profit target", filters=[strip])
    daily_loss_limit = StringField("Daily loss limit", filters=[strip])
    fee_rate = StringField("Fee %", filters=[strip], default="0.1")
    slippage_bps = StringField("Slippage (basis points)", filters=[strip], default="0")
    exit_model = SelectField(
        "Stop-loss / take-profit",
        choices=[
            SelectChoice("intrabar", "inside each candle (its high and low)"),
            SelectChoice("open", "at each candle's open only, as a live cycle sees them"),
        ],
        default="intrabar",
        validate_choice=False,
    )
    candles = SelectField(
        "Candles",
        choices=[],
        default="fetch",
        validate_choice=False,
    )
    dataset = SelectField(
        "Stored dataset",
        choices=[],
        validate_choice=False,
        description="With “stored candles only”: bars fetched or imported under this source "
        "(flask candles fetch / import --source).",
    )
    start = StringField("From", filters=[strip], description="UTC, e.g. 2026-01-01")
    end = StringField("To", filters=[strip], description="UTC, exclusive; blank: now")
    grid = TextAreaField(
        "Parameters to sweep",
        filters=[strip],
        description="One per line, e.g. fast=5:30:5 (start:stop:step) or slow=20,50,100. "
        "Blank: one backtest with the values above.",
    )
    oos = StringField(
        "Keep out of sample",
        filters=[strip],
        description="e.g. 30%: the sweep also reports the last 30% of the range on its own.",
    )

    def grid_lines(self) -> list[str]:
        return [line.strip() for line in (self.grid.data or "").splitlines() if line.strip()]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.strategy.choices = [SelectChoice(value, label) for value, label in choices()]

    def set_sources(self, exchange: str) -> None:
        """The candle choices: fetch from the exchange now, or a dataset already stored."""
        fetched = store.source_for(exchange)
        self.candles.choices = [
            SelectChoice("fetch", f"Fetch what is missing from {fetched}, then replay"),
            SelectChoice("stored", "Stored candles only (fetched or imported earlier)"),
        ]
        sources = store.stored_sources()
        self.dataset.choices = [SelectChoice("", "—" if sources else "none stored yet")] + [
            SelectChoice(source, source) for source in sources
        ]

    @classmethod
    def for_bot(cls, bot: Bot | None) -> BacktestForm:
        today = utcnow().date()
        form = cls(formdata=None)
        form.start.data = (today - timedelta(days=7)).isoformat()
        form.end.data = today.isoformat()
        if bot is not None:
            form.bot_id.data = str(bot.id)
            form.symbol.data = bot.symbol
            form.timeframe.data = bot.timeframe
            form.strategy.data = bot.strategy
            form.quote_amount.data = plain(bot.quote_amount, empty="")
            for name in ("stop_loss_pct", "take_profit_pct", "daily_profit_target",
                         "daily_loss_limit"):  # fmt: skip
                value = getattr(bot, name)
                getattr(form, name).data = "" if value is None else plain(value, empty="")
        return form

    def settings_fields(self) -> dict[str, str]:
        return {name: getattr(self, name).data or "" for name in SETTINGS_FIELDS}

    def show_errors(self, errors: dict[str, str]) -> dict[str, str]:
        """Put each error on its field; return the ones that belong to no field."""
        rest = {}
        for name, message in errors.items():
            field = getattr(self, name, None)
            if field is not None and hasattr(field, "errors") and name in self._fields:
                field.errors = [message]
            else:
                rest[name] = message
        return rest
