"""The backtest form. Like the bot form it only shapes input: `service.build_settings` checks
every rule and its per-field errors are shown in place. Strategy parameters are rendered from
the strategy's ParamSpecs (the bot form's `bots/_params.html`) and posted as `param_<name>`.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from babel.numbers import get_decimal_symbol
from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField, StringField, TextAreaField

from webapp.backtest import candles as store
from webapp.backtest.service import SettingsError
from webapp.bots.forms import strip
from webapp.i18n.current import gettext as _
from webapp.i18n.current import lazy_gettext as _l
from webapp.i18n.numbers import NumberInputError, canonical_number, number_input_text
from webapp.models import Bot
from webapp.models.bot import TIMEFRAMES
from webapp.models.types import utcnow
from webapp.strategies import all_strategies

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
#: The settings typed as numbers, in the page's language (`1,5` on a Turkish page).
NUMBER_FIELDS = (
    "quote_amount",
    "stop_loss_pct",
    "take_profit_pct",
    "daily_profit_target",
    "daily_loss_limit",
    "fee_rate",
    "slippage_bps",
)
#: What the form starts with (a blank field means the same to `build_settings`).
DEFAULT_FEE, DEFAULT_SLIPPAGE = Decimal("0.1"), Decimal(0)


class BacktestForm(FlaskForm):
    bot_id = HiddenField()
    symbol = StringField(_l("Symbol"), filters=[strip], description=_l("e.g. BTC/USDT"))
    timeframe = SelectField(
        _l("Timeframe"),
        choices=[SelectChoice(t, t) for t in TIMEFRAMES],
        default="1m",
        validate_choice=False,
    )
    strategy = SelectField(_l("Strategy"), choices=[], validate_choice=False)
    quote_amount = StringField(
        _l("Order size"), filters=[strip], description=_l("In the quote currency.")
    )
    stop_loss_pct = StringField(_l("Stop-loss %"), filters=[strip], description=_l("Blank: off."))
    take_profit_pct = StringField(
        _l("Take-profit %"), filters=[strip], description=_l("Blank: off.")
    )
    daily_profit_target = StringField(_l("Daily profit target"), filters=[strip])
    daily_loss_limit = StringField(_l("Daily loss limit"), filters=[strip])
    fee_rate = StringField(_l("Fee %"), filters=[strip])
    slippage_bps = StringField(_l("Slippage (basis points)"), filters=[strip])
    exit_model = SelectField(
        _l("Stop-loss / take-profit"),
        choices=[
            SelectChoice("intrabar", _l("inside each candle (its high and low)")),
            SelectChoice("open", _l("at each candle's open only, as a live cycle sees them")),
        ],
        default="intrabar",
        validate_choice=False,
    )
    candles = SelectField(
        _l("Candles"),
        choices=[],
        default="fetch",
        validate_choice=False,
    )
    dataset = SelectField(
        _l("Stored dataset"),
        choices=[],
        validate_choice=False,
        description=_l(
            "With “stored candles only”: bars fetched or imported under this source "
            "(flask candles fetch / import --source)."
        ),
    )
    start = StringField(_l("From"), filters=[strip], description=_l("UTC, e.g. 2026-01-01"))
    end = StringField(_l("To"), filters=[strip], description=_l("UTC, exclusive; blank: now"))
    grid = TextAreaField(
        _l("Parameters to sweep"),
        filters=[strip],
        description=_l(
            "One per line, e.g. fast=5:30:5 (start:stop:step) or slow=20,50,100. "
            "Blank: one backtest with the values above."
        ),
    )
    oos = StringField(
        _l("Keep out of sample"),
        filters=[strip],
        description=_l("e.g. 30%: the sweep also reports the last 30% of the range on its own."),
    )

    def grid_lines(self) -> list[str]:
        return [line.strip() for line in (self.grid.data or "").splitlines() if line.strip()]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Strategies that act only on received signals have nothing to replay.
        self.strategy.choices = [
            SelectChoice(cls.name, cls.label) for cls in all_strategies() if cls.backtestable
        ]

    def set_sources(self, exchange: str) -> None:
        """The candle choices: fetch from the exchange now, or a dataset already stored."""
        fetched = store.source_for(exchange)
        self.candles.choices = [
            SelectChoice(
                "fetch", _("Fetch what is missing from %(source)s, then replay", source=fetched)
            ),
            SelectChoice("stored", _("Stored candles only (fetched or imported earlier)")),
        ]
        sources = store.stored_sources()
        self.dataset.choices = [SelectChoice("", "—" if sources else _("none stored yet"))] + [
            SelectChoice(source, source) for source in sources
        ]

    @classmethod
    def for_bot(cls, bot: Bot | None) -> BacktestForm:
        today = utcnow().date()
        form = cls(formdata=None)
        form.start.data = (today - timedelta(days=7)).isoformat()
        form.end.data = today.isoformat()
        form.fee_rate.data = number_input_text(DEFAULT_FEE)
        form.slippage_bps.data = number_input_text(DEFAULT_SLIPPAGE)
        if bot is not None:
            form.bot_id.data = str(bot.id)
            form.symbol.data = bot.symbol
            form.timeframe.data = bot.timeframe
            form.strategy.data = bot.strategy
            form.quote_amount.data = number_input_text(bot.quote_amount)
            for name in ("stop_loss_pct", "take_profit_pct", "daily_profit_target",
                         "daily_loss_limit"):  # fmt: skip
                value = getattr(bot, name)
                getattr(form, name).data = number_input_text(value)
        return form

    def settings_fields(self) -> dict[str, str]:
        """The settings as `build_settings` reads them, numbers in plain text whatever the
        page's language; SettingsError names each number written the way it does not read."""
        fields = {name: getattr(self, name).data or "" for name in SETTINGS_FIELDS}
        errors = {}
        for name in NUMBER_FIELDS:
            try:
                fields[name] = canonical_number(fields[name])
            except NumberInputError as exc:
                errors[name] = str(exc)
        if errors:
            raise SettingsError(errors)
        return fields

    def canonical_grid(self) -> list[str]:
        """The sweep's lines with their numbers in plain text. Values are listed with `,`, or
        with `;` where the language writes decimals with a comma (`slow=1,5;2,5` in Turkish)."""
        comma_decimals = get_decimal_symbol(get_locale() or "en") == ","
        lines = []
        try:
            for line in self.grid_lines():
                name, sep, values = line.partition("=")
                if not sep:
                    lines.append(line)
                    continue
                if ":" in values:
                    parts = values.split(":")
                    joined = ":".join(canonical_number(p) for p in parts)
                else:
                    pieces = values.split(";") if ";" in values or comma_decimals else None
                    parts = pieces if pieces is not None else values.split(",")
                    joined = ",".join(canonical_number(p) for p in parts)
                lines.append(f"{name}={joined}")
        except NumberInputError as exc:
            raise SettingsError({"grid": str(exc)}) from None
        return lines

    def canonical_oos(self) -> str | None:
        """The out-of-sample share (`30%`, `%30`, `30 %`) as `30%`, or None when blank."""
        text = (self.oos.data or "").strip()
        if not text:
            return None
        share = text.strip("%").strip()
        try:
            return canonical_number(share) + "%"
        except NumberInputError as exc:
            raise SettingsError({"oos": str(exc)}) from None

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
