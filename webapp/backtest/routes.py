"""The backtest pages. Thin: rules and runs are in webapp.backtest.service.

A running backtest's page polls its own "run" block (progress bar and Cancel); once the job
has finished the answer is the results, without the trigger, so polling ends.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup
from redis.exceptions import RedisError

from webapp.backtest import bp, service
from webapp.backtest import candles as store
from webapp.backtest.errors import BacktestError
from webapp.backtest.forms import BacktestForm
from webapp.bots import display
from webapp.bots.forms import param_values
from webapp.engine import service as bots
from webapp.engine.accounting import to_decimal
from webapp.engine.errors import BotNotFound
from webapp.extensions import db
from webapp.fragments import BACKTEST_ROWS, BlockCache
from webapp.htmx import is_htmx, render_page
from webapp.i18n.current import gettext as _
from webapp.i18n.current import lazy_gettext as _l
from webapp.i18n.numbers import quantity_text
from webapp.models import Backtest, Bot
from webapp.models.bot import TIMEFRAMES
from webapp.strategies import Candle, UnknownStrategyError, get_strategy

logger = logging.getLogger(__name__)

DETAIL = "backtest/detail.html"
DETAIL_BLOCKS = {"backtest-run": "run"}
POLL_SECONDS = 1
TRADES_SHOWN = 200

#: The sweep table's sort keys (the CLI's --sort names) as a reader reads them.
METRIC_LABELS = {
    "total_pnl": _l("Total PnL"),
    "return_pct": _l("Return %"),
    "max_drawdown": _l("Max drawdown"),
    "win_rate_pct": _l("Win rate"),
    "profit_factor": _l("Profit factor"),
    "sharpe_daily": _l("Daily Sharpe"),
    "trades": _l("Trades"),
}
#: A run's stored settings, named as the form names them.
SETTING_LABELS = {
    "symbol": _l("Symbol"),
    "timeframe": _l("Timeframe"),
    "strategy": _l("Strategy"),
    "quote_amount": _l("Order size"),
    "stop_loss_pct": _l("Stop-loss %"),
    "take_profit_pct": _l("Take-profit %"),
    "daily_profit_target": _l("Daily profit target"),
    "daily_loss_limit": _l("Daily loss limit"),
    "fee_rate": _l("Fee rate"),
    "slippage_bps": _l("Slippage (basis points)"),
    "exit_model": _l("Stop-loss / take-profit"),
    "amount_step": _l("Amount step"),
    "min_qty": _l("Minimum quantity"),
    "max_qty": _l("Maximum quantity"),
    "min_notional": _l("Minimum order value"),
    "price_step": _l("Price tick"),
}
SETTING_VALUES = {
    "intrabar": _l("inside each candle (its high and low)"),
    "open": _l("at each candle's open only, as a live cycle sees them"),
}
STATUS_LABELS = {
    "queued": _l("Queued"),
    "fetching": _l("Fetching"),
    "running": _l("Running"),
    "done": _l("Done"),
    "failed": _l("Failed"),
    "cancelled": _l("Cancelled"),
}


def _stored_pattern(template: str) -> re.Pattern:
    """`template` with each %(name)s as a group: finds the values of a stored message."""
    return re.compile(re.sub(r"%\\\((\w+)\\\)s", r"(?P<\1>.+?)", re.escape(template)))


STORED_PATTERNS = [(t, _stored_pattern(t)) for t in service.STORED_TEMPLATES]


def error_text(message: str | None) -> str:
    """A backtest's stored error in the reader's language (jobs store them in English)."""
    if not message:
        return ""
    for template, pattern in STORED_PATTERNS:
        found = pattern.fullmatch(message)
        if found:
            return _(template, **found.groupdict())
    return _(message)


def _listed(bot_id: int | None = None, limit: int = 100) -> list[Markup]:
    """The rows of the user's latest backtests (of one bot): kept ones read only their keys."""
    heads = service.user_backtests(
        current_user, bot_id=bot_id, limit=limit, columns=BACKTEST_ROWS.fields
    )
    return BACKTEST_ROWS.rows(heads, lambda ids: service.backtests_by_id(current_user, ids))


@bp.app_template_global("bot_backtests")
def bot_backtests(bot_id: int, limit: int = 5) -> list[Markup]:
    """The bot page's rows of its latest backtests."""
    return _listed(bot_id, limit)


@bp.app_template_filter("sign_of")
def sign_of(text: str | None) -> str:
    """CSS class for an amount the results store as text."""
    return display.sign_class(None if text is None else to_decimal(text))


@bp.app_template_filter("bt_num")
def bt_num(value: object) -> str:
    """A figure the results store as plain text, in the reader's decimal separator (as many
    decimals as it has, ungrouped: English reads it as stored)."""
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    return quantity_text(number) if number.is_finite() else str(value)


@bp.app_template_filter("bt_pct")
def bt_pct(value: object) -> str:
    """A stored percentage with the sign where the language puts it (`12.5%`, `%12,5`)."""
    if value is None or value == "":
        return "—"
    return _("%(value)s%%", value=bt_num(value))


def _owned(backtest_id: int) -> Backtest:
    backtest = service.get_backtest(current_user, backtest_id)
    if backtest is None:
        abort(404)
    return backtest


def _bot(raw: str | None) -> Bot | None:
    if not raw:
        return None
    # Ids stop at INTEGER's 2**31-1 (PostgreSQL refuses larger ones with an error).
    if not raw.isdigit() or len(raw) > 10 or int(raw) > 2**31 - 1:
        abort(404)
    try:
        return bots.get_bot(current_user, int(raw))
    except BotNotFound:
        abort(404)


def _strategy(name: str | None):
    try:
        return get_strategy(name or "")
    except UnknownStrategyError:
        return None


@bp.route("/", methods=["GET"])
@login_required
def index():
    return render_template("backtest/index.html", backtests=_listed())


def _form_page(form: BacktestForm, bot: Bot | None, params: dict, errors=None, status=200):
    errors = errors or {}
    strategy = _strategy(form.strategy.data)
    param_errors = {k[len("param_") :]: v for k, v in errors.items() if k.startswith("param_")}
    other = form.show_errors({k: v for k, v in errors.items() if not k.startswith("param_")})
    form.set_sources(bot.exchange if bot else "binance")
    page = render_template(
        "backtest/form.html",
        form=form,
        bot=bot,
        strategy=strategy,
        params=params,
        param_errors=param_errors,
        error=" ".join(other.values()) or None,
    )
    return page, status


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    if request.method == "GET":
        bot = _bot(request.args.get("bot"))
        params = dict(bot.params or {}) if bot else {}
        return _form_page(BacktestForm.for_bot(bot), bot, params)
    form = BacktestForm()
    bot = _bot(form.bot_id.data)
    if not form.validate_on_submit():
        return _form_page(form, bot, {}, {"csrf": _("The form expired; send it again.")}, 400)
    strategy = _strategy(form.strategy.data)
    params = param_values(strategy, request.form) if strategy else {}
    exchange = bot.exchange if bot else "binance"
    try:
        start = service.parse_day(form.start.data, _("From"))
        end = service.parse_day(form.end.data, _("To"))
        if form.grid_lines():
            start, end = service.check_range(start, end)
            return _start_sweep(form, bot, strategy, params, exchange, start, end)
        if form.oos.data:
            raise service.SettingsError({"oos": _("Out of sample applies to a sweep only.")})
        settings = service.build_settings(exchange, form.settings_fields(), params)
        start, end = service.check_range(start, end)
        source, fetch_missing = service.candle_source(
            exchange, form.candles.data, form.dataset.data, settings.symbol,
            settings.timeframe, start, end,
        )  # fmt: skip
        backtest = service.create(current_user, settings, source, start, end, bot=bot)
        service.enqueue(backtest, fetch_missing=fetch_missing)
    except service.SettingsError as exc:
        db.session.rollback()
        return _form_page(form, bot, params, exc.errors, 422)
    except BacktestError as exc:
        db.session.rollback()
        return _form_page(form, bot, params, {"range": exc.message}, 422)
    except RedisError as exc:
        db.session.rollback()
        logger.warning("backtest not queued, Redis: %s", exc)
        return _form_page(
            form, bot, params, {"queue": _("The job queue is unreachable; try again shortly.")}, 503
        )
    db.session.commit()
    return redirect(url_for("backtest.detail", backtest_id=backtest.id))


def _start_sweep(form, bot, strategy, params, exchange, start, end):
    """One queued backtest per combination of the grid; the sweep's page shows them."""
    try:
        grid = service.parse_grid(form.canonical_grid())
    except BacktestError as exc:
        raise service.SettingsError({"grid": exc.message}) from None
    known = {spec.name for spec in strategy.params} if strategy else set()
    unknown = sorted(set(grid) - known)
    if unknown:
        names = ", ".join(sorted(known)) or _("none")
        raise service.SettingsError(
            {
                "grid": _(
                    "%(name)s is not a parameter of this strategy (it has: %(names)s).",
                    name=unknown[0],
                    names=names,
                )
            }
        )
    oos = form.canonical_oos()
    if oos:
        try:
            service.split_oos(start, end, oos)
        except BacktestError:
            raise service.SettingsError(
                {
                    "oos": _(
                        "Out of sample takes a share of the range between 0%% and 100%%, "
                        "not %(typed)s.",
                        typed=repr(form.oos.data),
                    )
                }
            ) from None
    fields = form.settings_fields()
    # The market as build_settings will take it (a bad symbol is reported there first).
    symbol, timeframe = fields["symbol"].strip().upper(), fields["timeframe"].strip()
    if timeframe in TIMEFRAMES and "/" in symbol:
        source, fetch_missing = service.candle_source(
            exchange, form.candles.data, form.dataset.data, symbol, timeframe, start, end
        )
    else:
        source, fetch_missing = store.source_for(exchange), True
    try:
        sweep, runs, _skipped = service.create_sweep(
            current_user,
            exchange,
            source,
            fields,
            params,
            grid,
            start,
            end,
            oos,
        )
    except BacktestError as exc:
        raise service.SettingsError({"grid": exc.message}) from None
    for run in runs:
        service.enqueue(run, fetch_missing=fetch_missing)
    db.session.commit()
    return redirect(url_for("backtest.sweep", sweep=sweep))


@dataclass(frozen=True)
class _ChartTrade:
    """What the bot page's price chart reads from a trade."""

    executed_at: datetime
    side: object
    price: float


@dataclass(frozen=True)
class _Side:
    value: str


def _charts(backtest: Backtest) -> tuple[str, str]:
    points = backtest.equity or []
    if not points:
        return "", ""
    tf = store.timeframe_ms(backtest.timeframe) // 1000
    candles = [Candle(int(ts), close, close, close, close, 0.0) for ts, _, close in points]
    trades = [
        _ChartTrade(store.from_ms(t["time"]), _Side(t["side"]), float(t["price"]))
        for t in backtest.trades or []
    ]
    price = display.price_chart_json(
        candles[:-1], to_decimal(points[-1][2]), trades, tf, backtest.symbol
    )
    equity = display._script_json(
        {
            "kind": "pnl",
            "label": _("Equity (%(quote)s)", quote=backtest.symbol.split("/")[-1]),
            "x": [ts / 1000 for ts, _, _ in points],
            "y": [eq for _, eq, _ in points],
        }
    )
    return price, equity


def _run_context(backtest: Backtest) -> dict:
    """What the run block reads: for a finished run, every stored trade and its curve."""
    price_json, equity_json = _charts(backtest) if backtest.status.value == "done" else ("", "")
    trades = backtest.trades or []
    return {
        "backtest": backtest,
        "price_json": price_json,
        "equity_json": equity_json,
        "trades": trades[-TRADES_SHOWN:][::-1],
        "trade_count": len(trades),
        "poll": POLL_SECONDS,
        "from_ms": store.from_ms,
        "quote": backtest.symbol.split("/")[-1],
        "error_text": error_text(backtest.error),
    }


#: A finished run's results never change: rendered once per reader, its trades and curve
#: are read (and its charts drawn) only then.
FINISHED_RUNS = BlockCache(DETAIL, "run")


def _detail_context(backtest: Backtest) -> dict:
    context = {
        "bot": db.session.get(Bot, backtest.bot_id) if backtest.bot_id else None,
        "setting_labels": SETTING_LABELS,
        "setting_values": SETTING_VALUES,
    }
    if not backtest.status.finished:
        return {**context, **_run_context(backtest)}
    version = (backtest.id, backtest.status, backtest.finished_at, backtest.fingerprint)
    return {
        **context,
        "backtest": backtest,
        "run_html": FINISHED_RUNS.render(
            (*version, backtest.error), lambda: _run_context(backtest)
        ),
    }


@bp.route("/<int:backtest_id>", methods=["GET"])
@login_required
def detail(backtest_id: int):
    backtest = _owned(backtest_id)
    return render_page(DETAIL, DETAIL_BLOCKS, **_detail_context(backtest))


@bp.route("/<int:backtest_id>/cancel", methods=["POST"])
@login_required
def cancel(backtest_id: int):
    backtest = _owned(backtest_id)
    if service.request_cancel(backtest):
        db.session.commit()
        message = _("Cancelling…")
    else:
        message = _("This backtest has already finished.")
    if not is_htmx():
        flash(message, "info")
        return redirect(url_for("backtest.detail", backtest_id=backtest.id))
    return render_page(DETAIL, DETAIL_BLOCKS, **_detail_context(backtest))


@bp.route("/<int:backtest_id>/trades.csv", methods=["GET"])
@login_required
def trades_csv(backtest_id: int):
    backtest = _owned(backtest_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["time", "side", "price", "qty", "fee", "realized_pnl", "reason"])
    for t in backtest.trades or []:
        writer.writerow(
            [
                f"{store.from_ms(t['time']):%Y-%m-%dT%H:%M:%SZ}",
                t["side"],
                t["price"],
                t["qty"],
                t["fee"],
                t["realized_pnl"] or "",
                t["reason"],
            ]
        )
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="backtest-{backtest.id}-trades.csv"'
        },
    )


@bp.route("/sweeps/<string:sweep>", methods=["GET"])
@login_required
def sweep(sweep: str):
    runs = service.sweep_runs(current_user, sweep[:32])
    if not runs:
        abort(404)
    sort = request.args.get("sort", "total_pnl")
    if sort not in service.SORTABLE:
        sort = "total_pnl"
    rows = service.sweep_table(runs, sort)
    split = any(r.segment for r in runs)
    return render_page(
        "backtest/sweep.html",
        {"sweep-results": "results"},
        sweep=sweep,
        rows=rows,
        runs=runs,
        split=split,
        sort=sort,
        sortable=service.SORTABLE,
        warning=_(service.OVERFIT_WARNING) if split else None,
        metric_labels=METRIC_LABELS,
        status_labels=STATUS_LABELS,
        error_text=error_text,
        finished=all(r.status.finished for r in runs),
        poll=POLL_SECONDS * 2,  # a table of many runs: less often than one run's bar
        now=datetime.now(UTC),
    )
