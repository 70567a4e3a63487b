"""The bot pages. Thin: every rule and every change is in webapp.engine.service.

One template per page, one named block per live part. A page shows a running bot's live parts
(status, activity log, trades and performance) polling themselves every few seconds; once
the bot is stopped the next answer comes back without the trigger, so polling ends. Every
form also works as a plain HTML POST (redirect back with a flash).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_blocks
from redis.exceptions import RedisError

from webapp.backtest.candles import from_ms
from webapp.bots import bp, curves, display
from webapp.bots.forms import BotForm, param_display, param_values
from webapp.engine import deals, grids, marketdata, resting, service
from webapp.engine.errors import BotBusy, BotError, BotNotFound, BotValidationError
from webapp.engine.tick import slot_for
from webapp.exchange.clients import exchange_name
from webapp.exchange.errors import ExchangeError
from webapp.extensions import db
from webapp.htmx import htmx_target, is_boosted, is_htmx, render_page
from webapp.i18n.current import gettext as _
from webapp.i18n.engine_text import engine_text
from webapp.keys import service as keys_service
from webapp.models import ApiKey, Bot, Trade
from webapp.models.bot import TIMEFRAMES
from webapp.models.types import utcnow
from webapp.signals import service as signals
from webapp.strategies import Strategy, StrategyError, UnknownStrategyError, get_strategy

logger = logging.getLogger(__name__)

INDEX_BLOCKS = {"bots-body": "rows"}
FORM_BLOCKS = {"bot-form": "form"}
DETAIL = "bots/detail.html"
DETAIL_BLOCKS = {
    "bot-status": "status",
    "bot-activity": "activity",
    "bot-performance": "performance",
    "bot-signals": "signals",
    "bot-orders": "orders",
}
ACTIVITY_LIMIT = 50
RECENT_TRADES = 20
RECENT_SIGNALS = 20
ENDED_ORDERS = 20
PAST_DEALS = 20
PRICE_CANDLES = 120

for _name, _filter in display.FILTERS.items():
    bp.add_app_template_filter(_filter, _name)


for _name, _global in {
    "bot_status": display.status_label,
    "today_pnl": display.today_pnl,
    "strategy_label": display.strategy_label,
    "param_display": param_display,
}.items():
    bp.add_app_template_global(_global, _name)


def _owned(bot_id: int) -> Bot:
    """The current user's bot, else 404 (someone else's bot looks exactly like no bot)."""
    try:
        return service.get_bot(current_user, bot_id)
    except BotNotFound:
        abort(404)


def _strategy(name: str | None) -> type[Strategy] | None:
    try:
        return get_strategy(name or "")
    except UnknownStrategyError:
        return None


# -- list ----------------------------------------------------------------------------------


@bp.route("/", methods=["GET"])
@login_required
def index():
    bots = service.user_bots(current_user)
    return render_page(
        "bots/index.html",
        INDEX_BLOCKS,
        bots=bots,
        polling=any(b.state is not None and b.state.is_running for b in bots),
        poll=display.poll_seconds(),
    )


# -- create and edit -----------------------------------------------------------------------


def _form_keys(bot: Bot | None = None) -> list[ApiKey]:
    """Keys a bot may use: the valid ones, plus the bot's own key even if now invalid."""
    return [
        key
        for key in keys_service.keys_for_user(current_user)
        if key.is_valid or (bot is not None and key.id == bot.api_key_id)
    ]


def _form_page(
    form: BotForm,
    keys: list[ApiKey],
    *,
    bot: Bot | None = None,
    params: dict | None = None,
    param_errors: dict | None = None,
    status: int = 200,
):
    # Suggestions come from the chosen key's exchange (the first key until one is chosen).
    chosen = next((k for k in keys if str(k.id) == form.api_key_id.data), keys[0] if keys else None)
    exchange = chosen.exchange if chosen is not None else None
    body = render_page(
        "bots/form.html",
        FORM_BLOCKS,
        form=form,
        bot=bot,
        has_keys=bool(keys),
        strategy=_strategy(form.strategy.data),
        params=params or {},
        param_errors=param_errors or {},
        symbols=service.symbols_for(exchange) if exchange else [],
        exchange_label=exchange_name(exchange) if exchange else "",
        live_allowed=service.live_trading_allowed(),
        action=url_for("bots.edit", bot_id=bot.id) if bot else url_for("bots.new"),
    )
    return body, status


def _saved(bot: Bot, message: str):
    """After a successful save: on to the bot's page (htmx navigates there itself)."""
    flash(message, "success")
    url = url_for("bots.detail", bot_id=bot.id)
    if is_htmx() and not is_boosted():
        response = make_response("", 200)
        response.headers["HX-Location"] = url
        return response
    return redirect(url)


def _submit(form: BotForm, keys: list[ApiKey], bot: Bot | None):
    """Validate and save through the service; on errors the form comes back with them (422)."""
    strategy = _strategy(form.strategy.data)
    params = param_values(strategy, request.form) if strategy else {}
    if form.validate_on_submit():
        fields = form.service_fields()
        if form.number_errors:  # written for another language: nothing is guessed or saved
            form.set_errors(form.number_errors)
            return _form_page(form, keys, bot=bot, params=params, status=422)
        try:
            if bot is None:
                saved = service.create_bot(current_user, **fields, params=params)
                message = _("Bot “%(name)s” created. Start it when you are ready.", name=saved.name)
            else:
                saved = service.update_bot(bot, **fields, params=params)
                message = _("Bot “%(name)s” saved.", name=saved.name)
        except BotValidationError as exc:
            db.session.rollback()
            form.set_errors(exc.field_errors)
            return _form_page(
                form,
                keys,
                bot=bot,
                params=params,
                param_errors=exc.param_errors,
                status=422,
            )
        db.session.commit()
        return _saved(saved, message)
    return _form_page(form, keys, bot=bot, params=params, status=422)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    keys = _form_keys()
    form = BotForm(api_keys=keys)
    if request.method == "POST":
        return _submit(form, keys, None)
    return _form_page(form, keys)


@bp.route("/<int:bot_id>/edit", methods=["GET", "POST"])
@login_required
def edit(bot_id: int):
    bot = _owned(bot_id)
    keys = _form_keys(bot)
    if request.method == "POST":
        return _submit(BotForm(api_keys=keys), keys, bot)
    return _form_page(BotForm.for_bot(bot, keys), keys, bot=bot, params=dict(bot.params or {}))


@bp.route("/strategy-fields", methods=["GET"])
@bp.route("/<int:bot_id>/strategy-fields", methods=["GET"])
@login_required
def strategy_fields(bot_id: int | None = None):
    """The parameter fields of the chosen strategy (the form swaps them in on change)."""
    bot = _owned(bot_id) if bot_id is not None else None
    strategy = _strategy(request.args.get("strategy"))
    if strategy is None:
        abort(404)
    params = dict(bot.params or {}) if bot is not None and bot.strategy == strategy.name else {}
    return render_template("bots/_params.html", strategy=strategy, params=params, param_errors={})


# -- one bot -------------------------------------------------------------------------------


def _last_trade_id(bot: Bot) -> int:
    return service.last_trade_id(bot.user_id, bot.id)


def _replays(bot: Bot) -> bool:
    """Whether a backtest can replay the bot's settings (not a bot driven by signals)."""
    try:
        strategy = get_strategy(bot.strategy)
        return strategy.replays(strategy.validate_params(bot.params))
    except StrategyError:
        return False


def _detail_context(bot: Bot, blocks: set[str], **extra) -> dict:
    """What the named blocks of the bot page need (computed only for those blocks)."""
    context = {
        "bot": bot,
        "state": bot.state,
        "poll": display.poll_seconds(),
        "oob": set(),
        "error": None,
        **extra,
    }
    context["takes_signals"] = signals.takes_signals(bot)
    context["replays"] = _replays(bot)
    if "signals" in blocks and context["takes_signals"]:
        context["signal_url"] = signals.signal_url(bot)
        context["signal_actions"] = signals.actions_of(bot.strategy)
        context["signals"] = signals.recent(bot, RECENT_SIGNALS)
        context["signal_limit"] = RECENT_SIGNALS
    context["rests_orders"] = resting.rests_orders(bot)
    if "orders" in blocks and context["rests_orders"]:
        context["resting"] = resting.active_orders(bot.id)
        context["ended_orders"] = resting.ended_orders(bot.id, ENDED_ORDERS)
        context["ended_limit"] = ENDED_ORDERS
        context["deal_page"] = deals.deal_page(bot, PAST_DEALS)
        context["from_ms"] = from_ms
        context["grid_page"] = grids.grid_page(bot, context["resting"])
    if "activity" in blocks:
        context["activity"] = service.bot_activity(bot, ACTIVITY_LIMIT)
        context["activity_limit"] = ACTIVITY_LIMIT
    if "performance" in blocks:
        history = service.trade_history(bot.user_id, bot.id)
        report = context["report"] = service.bot_report(bot, curve=False, history=history)
        last_trade_id = context["last_trade_id"] = history.last_trade_id

        def chart() -> str:
            first_trade_at = db.session.scalar(
                sa.select(sa.func.min(Trade.executed_at)).where(Trade.bot_id == bot.id)
            )
            return display.pnl_chart_json(
                service.bot_report(bot, history=history), bot.quote_currency, start=first_trade_at
            )

        context["chart_json"] = curves.pnl_chart(
            f"bot:{bot.id}", report, last_trade_id, bot.quote_currency, chart
        )
        context["trades"] = list(
            db.session.scalars(
                service.trades_query(current_user, bot_id=bot.id).limit(RECENT_TRADES)
            )
        )
    return context


@bp.route("/<int:bot_id>/price-chart", methods=["GET"])
@login_required
def price_chart(bot_id: int):
    """The recent closes with the bot's trades on them; loaded after the page, because it asks
    the exchange (through the candle cache the bots of this market share)."""
    bot = _owned(bot_id)
    now = utcnow()
    try:
        snapshot = marketdata.get_snapshot(bot.exchange, bot.symbol, bot.timeframe, slot_for(now))
    except ExchangeError as exc:
        logger.info("price chart of bot %s unavailable: %s", bot.id, exc.summary())
        return render_template("bots/_price_chart.html", bot=bot, error=exc.message)
    except RedisError as exc:
        logger.warning("price chart of bot %s unavailable, Redis: %s", bot.id, exc)
        return render_template(
            "bots/_price_chart.html",
            bot=bot,
            error="Market data is briefly unavailable; the chart comes back in a minute.",
        )
    candles = snapshot.candles[-PRICE_CANDLES:]
    since = datetime.fromtimestamp(candles[0].ts / 1000, UTC) if candles else now
    trades = db.session.scalars(
        service.trades_query(current_user, bot_id=bot.id, start=since).limit(500)
    )
    marks = _price_marks(bot)
    chart_json = display.price_chart_json(
        candles, snapshot.price, trades, TIMEFRAMES[bot.timeframe], bot.symbol, marks
    )
    return render_template(
        "bots/_price_chart.html", bot=bot, chart_json=chart_json, marks=marks, error=None
    )


def _price_marks(bot: Bot) -> list[display.Mark]:
    """The lines the price chart draws: a grid's every level (with what rests there) and its
    trigger, stop-below and take-above; another resting strategy's orders."""
    if not resting.rests_orders(bot):
        return []
    active = resting.active_orders(bot.id)
    page = grids.grid_page(bot, active)
    if page is not None:
        marks = [display.Mark(lv.price, lv.side or "level") for lv in page.levels]
        for kind, price in (
            ("trigger", page.trigger if page.waiting else None),
            ("stop", page.stop_below),
            ("take", page.take_above),
        ):
            if price is not None:
                marks.append(display.Mark(price, kind))
        return marks
    return [display.Mark(row.price, row.side.value) for row in active]


@bp.route("/<int:bot_id>", methods=["GET"])
@login_required
def detail(bot_id: int):
    bot = _owned(bot_id)
    target = htmx_target()
    block = DETAIL_BLOCKS.get(target or "") if not is_boosted() else None
    if block == "performance" and bot.state.is_running:
        # Polling while running: nothing new since the trade the page shows, nothing to swap
        # (the chart is not redrawn every few seconds).
        since = request.args.get("since", type=int)
        if since is not None and since == _last_trade_id(bot):
            return "", 204
    blocks = {block} if block else set(DETAIL_BLOCKS.values())
    return render_page(DETAIL, DETAIL_BLOCKS, **_detail_context(bot, blocks))


def _live_answer(bot: Bot, *, message: str | None = None, error: str | None = None, status=200):
    """The answer to start/stop: the status block, plus the activity log, performance (and a
    signal bot's signals) out of band so they start (or stop) polling with the bot. Without
    htmx: back to the bot's page."""
    if not is_htmx() or is_boosted():
        if message:
            flash(message, "success")
        if error:
            flash(error, "error")
        return redirect(url_for("bots.detail", bot_id=bot.id))
    blocks = ["status", "activity", "performance"]
    if signals.takes_signals(bot):
        blocks.append("signals")
    if resting.rests_orders(bot):
        blocks.append("orders")
    context = _detail_context(bot, set(blocks), error=error, message=message)
    context["oob"] = set(blocks) - {"status"}
    return render_blocks(DETAIL, blocks, **context), status


@bp.route("/<int:bot_id>/start", methods=["POST"])
@login_required
def start(bot_id: int):
    bot = _owned(bot_id)
    try:
        service.start_bot(bot)
    except BotError as exc:
        db.session.rollback()
        # Written once in English (the API's and the logs'); shown in the reader's language.
        error = engine_text(str(exc))
        return _live_answer(bot, error=error, status=409 if isinstance(exc, BotBusy) else 422)
    db.session.commit()
    return _live_answer(
        bot, message=_("Bot “%(name)s” started: its first cycle runs shortly.", name=bot.name)
    )


@bp.route("/<int:bot_id>/stop", methods=["POST"])
@login_required
def stop(bot_id: int):
    bot = _owned(bot_id)
    if service.stop_by_owner(bot):
        db.session.commit()
    return _live_answer(bot, message=_("Bot “%(name)s” stopped.", name=bot.name))


@bp.route("/<int:bot_id>/sell", methods=["POST"])
@login_required
def sell(bot_id: int):
    """Sell the bot's whole position now, through the engine (under the bot's lock)."""
    from webapp.engine.cycle import Outcome, close_position

    bot = _owned(bot_id)
    result = close_position(bot.id)
    db.session.expire_all()
    bot = _owned(bot_id)
    if result.outcome is Outcome.TRADED:
        return _live_answer(bot, message=result.message)
    if result.outcome is Outcome.WAITING:
        return _live_answer(bot, message=result.message, status=202)
    status = 409 if result.outcome is Outcome.LOCKED else 422
    return _live_answer(bot, error=result.message, status=status)


@bp.route("/<int:bot_id>/signal-url", methods=["POST"])
@login_required
def rotate_signal_url(bot_id: int):
    """A new secret signal URL; the old one answers 404 from now on."""
    bot = _owned(bot_id)
    if not signals.takes_signals(bot):
        abort(404)
    signals.rotate_token(bot)
    db.session.commit()
    message = _("New signal URL made: the previous one no longer works.")
    if not is_htmx() or is_boosted():
        flash(message, "success")
        return redirect(url_for("bots.detail", bot_id=bot.id))
    context = _detail_context(bot, {"signals"}, signal_message=message)
    return render_blocks(DETAIL, ["signals"], **context)


@bp.route("/<int:bot_id>", methods=["DELETE"])
@bp.route("/<int:bot_id>/delete", methods=["POST"])
@login_required
def delete(bot_id: int):
    bot = _owned(bot_id)
    name = bot.name
    try:
        service.remove_bot(bot)
    except BotBusy as exc:
        db.session.rollback()
        return _live_answer(_owned(bot_id), error=str(exc), status=409)
    db.session.commit()
    flash(_("Deleted bot “%(name)s” with its trades and activity log.", name=name), "success")
    url = url_for("bots.index")
    if is_htmx() and not is_boosted():
        response = make_response("", 200)
        response.headers["HX-Location"] = url
        return response
    return redirect(url)


@bp.route("/stop-all", methods=["POST"])
@login_required
def stop_all():
    """The dashboard's "Stop all my bots": every running bot of this user stops at once."""
    from webapp.engine import killswitch

    result = killswitch.stop_all(
        current_user, actor=current_user, reason="Stopped by you (all bots)."
    )
    flash(result.summary(), "success")
    return redirect(url_for("main.index"))
