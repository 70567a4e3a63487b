"""Bots as the user manages them: create, change, start, stop, delete, and their figures.

Routes, CLI commands and jobs all call these functions. None of them commits: the caller
owns the transaction (as in webapp.keys.service), so a bot's new state, its activity line and
any event it raises are committed together or not at all. Errors are BotError subclasses
whose messages can be shown to the user as they are (see webapp.engine.errors).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from redis.exceptions import RedisError
from sqlalchemy.exc import IntegrityError

from webapp.engine import kept, marketdata, rollups
from webapp.engine.accounting import to_decimal
from webapp.engine.errors import (
    LIVE_DISABLED_MESSAGE,
    BotBusy,
    BotNotFound,
    BotStartError,
    BotUnavailable,
    BotValidationError,
    OrderPending,
    OrdersResting,
)
from webapp.engine.locks import bot_lock
from webapp.engine.reports import BotReport
from webapp.engine.validation import (
    FIELDS,
    NAME_TAKEN,
    PAPER_ONLY_KEY_MESSAGE,
    live_trading_allowed,
    validate,
)
from webapp.exchange.errors import ExchangeError, translate_errors
from webapp.extensions import db, redis_ext
from webapp.models import (
    ActivityKind,
    Bot,
    BotActivity,
    BotMode,
    BotOrder,
    BotPnlDay,
    BotState,
    BotStatus,
    Trade,
    TradeSide,
    User,
    UserPnlDay,
)
from webapp.models.types import utcnow
from webapp.numbers import plain
from webapp.signals import service as signals
from webapp.strategies import UnknownStrategyError, get_strategy

logger = logging.getLogger(__name__)

__all__ = [
    "FIELDS",
    "History",
    "UserSummary",
    "bot_activity",
    "bot_report",
    "count_trades",
    "create_bot",
    "delete_bot",
    "get_bot",
    "last_trade_id",
    "live_trading_allowed",
    "log_activity",
    "prune_activity",
    "remove_bot",
    "start_bot",
    "stop_bot",
    "stop_bots_for_key",
    "stop_by_owner",
    "symbols_for",
    "trade_history",
    "trades_query",
    "update_bot",
    "user_bots",
    "user_summary",
]


# -- queries -------------------------------------------------------------------------------


def user_bots(user: User | int) -> list[Bot]:
    """The user's bots, by name, with their state loaded."""
    user_id = user if isinstance(user, int) else user.id
    return list(
        db.session.scalars(
            sa.select(Bot)
            .where(Bot.user_id == user_id)
            .options(sa.orm.joinedload(Bot.state))
            .order_by(Bot.name, Bot.id)
        )
    )


def get_bot(user: User | int, bot_id: int) -> Bot:
    """One of the user's bots; BotNotFound for someone else's (the page shows a 404)."""
    user_id = user if isinstance(user, int) else user.id
    query = sa.select(Bot).where(Bot.id == bot_id, Bot.user_id == user_id)
    # Every page of a bot shows its state and its key: one query, not three.
    query = query.options(so.joinedload(Bot.state), so.joinedload(Bot.api_key))
    bot = db.session.scalar(query)
    if bot is None:
        raise BotNotFound()
    return bot


def bot_activity(bot: Bot, limit: int = 50) -> list[sa.Row]:
    """The bot's activity log, newest first: each line's id, time, kind and message (what
    the log shows; rows, not entities: a page reads fifty of them on every view and poll)."""
    columns = (BotActivity.id, BotActivity.at, BotActivity.kind, BotActivity.message)
    query = sa.select(*columns).where(BotActivity.bot_id == bot.id)
    return list(db.session.execute(query.order_by(BotActivity.id.desc()).limit(limit)))


def trades_query(
    user: User | int,
    *,
    bot_id: int | None = None,
    side: TradeSide | str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> sa.Select[tuple[Trade]]:
    """The user's trades, newest first, filtered; paginate it or stream it into a CSV.

    `start` is inclusive and `end` exclusive (pass the day after the last day wanted).
    """
    user_id = user if isinstance(user, int) else user.id
    query = sa.select(Trade).where(Trade.user_id == user_id)
    if bot_id is not None:
        query = query.where(Trade.bot_id == bot_id)
    if side:
        query = query.where(Trade.side == TradeSide(str(side).lower()))
    if start is not None:
        query = query.where(Trade.executed_at >= start)
    if end is not None:
        query = query.where(Trade.executed_at < end)
    return query.order_by(Trade.executed_at.desc(), Trade.id.desc())


def _sells(condition, limit: int) -> list[tuple[datetime, Decimal | None]]:
    """The first `limit` sells matching `condition`, oldest first (an exact PnL curve)."""
    query = (
        sa.select(Trade.executed_at, Trade.realized_pnl)
        .where(condition, Trade.side == TradeSide.SELL)
        .order_by(Trade.executed_at, Trade.id)
        .limit(limit)
    )
    return [tuple(row) for row in db.session.execute(query)]


def _days(table: sa.Table, *where) -> list:
    return rollups.plain_rows(
        db.session.execute(sa.select(table).where(*where).order_by(table.c.day))
    )


def bot_report(bot: Bot, curve: bool = True, history: History | None = None) -> BotReport:
    """Trade count, buys/sells, realized PnL, win rate, drawdown and (with `curve`) the PnL
    curve of a bot, from its daily rollups (a few hundred rows at most, however many
    trades), kept per version of its history (`webapp.engine.kept`). Pass the bot's
    `trade_history()` when the caller has read it already."""
    history = history or trade_history(bot.user_id, bot.id)
    today = utcnow().date()

    def build() -> BotReport:
        days = _days(BotPnlDay.__table__, BotPnlDay.bot_id == bot.id)
        loader = (lambda limit: _sells(Trade.bot_id == bot.id, limit)) if curve else None
        return rollups.report(days, today, loader)

    key = ("bot", bot.id, bot.created_at, history, today, curve)
    return kept.reports().get(key, build, keep=not rollups.adds_trades(db.session()))


@dataclass(frozen=True)
class History:
    """What the rollups say of a history of trades: how many, and the highest id. Trades are
    only added while their bot lives, so for the same bots this names one set of trades."""

    trades: int
    last_trade_id: int


def trade_history(user: User | int, bot_id: int | None = None) -> History:
    """The History of the user's trades (or of one bot's), in one query over the rollups."""
    user_id = user if isinstance(user, int) else user.id
    table = BotPnlDay if bot_id is not None else UserPnlDay
    query = sa.select(
        sa.func.coalesce(sa.func.sum(table.trades), 0), sa.func.max(table.max_trade_id)
    ).where(table.user_id == user_id)
    if bot_id is not None:
        query = query.where(BotPnlDay.bot_id == bot_id)
    trades, last = db.session.execute(query).one()
    return History(int(trades or 0), int(last or 0))


def last_trade_id(user: User | int, bot_id: int | None = None) -> int:
    """The highest trade id of the user (or of one bot): 0 without trades. Pages poll with
    it to learn cheaply whether anything new happened."""
    return trade_history(user, bot_id).last_trade_id


def count_trades(
    user: User | int,
    *,
    bot_id: int | None = None,
    side: TradeSide | str | None = None,
    first_day: date | None = None,
    last_day: date | None = None,
) -> int:
    """How many of the user's trades match the trades page's filters (whole UTC days), from
    the daily rollups instead of counting the trades."""
    user_id = user if isinstance(user, int) else user.id
    side = TradeSide(str(side).lower()) if side else None
    column = {None: BotPnlDay.trades, TradeSide.BUY: BotPnlDay.buys}.get(side, BotPnlDay.sells)
    query = sa.select(sa.func.coalesce(sa.func.sum(column), 0)).where(BotPnlDay.user_id == user_id)
    if bot_id is not None:
        query = query.where(BotPnlDay.bot_id == bot_id)
    if first_day is not None:
        query = query.where(BotPnlDay.day >= first_day)
    if last_day is not None:
        query = query.where(BotPnlDay.day <= last_day)
    return int(db.session.scalar(query) or 0)


@dataclass(frozen=True)
class UserSummary:
    """The dashboard's figures across all of a user's bots."""

    report: BotReport  # over every bot's trades in time order (curve and drawdown merged)
    bots: int
    running: int
    stopped: int
    errored: int
    open_positions: int
    realized_pnl_today: Decimal
    per_bot: dict[int, BotReport]  # figures without a curve


def user_report(user: User | int, curve: bool = True, today: date | None = None) -> BotReport:
    """The figures of all the user's trades (and, with `curve`, their PnL curve), from the
    user's daily rollups; `today` (UTC) decides the last 7 days."""
    user_id = user if isinstance(user, int) else user.id
    return rollups.report(
        _days(UserPnlDay.__table__, UserPnlDay.user_id == user_id),
        today or utcnow().date(),
        (lambda limit: _sells(Trade.user_id == user_id, limit)) if curve else None,
    )


def user_summary(
    user: User | int,
    curve: bool = True,
    *,
    bots: list[Bot] | None = None,
    history: History | None = None,
) -> UserSummary:
    """The dashboard's figures, from the rollups; the PnL curve only with `curve`. The figures
    of the trades are kept per version of the history (`webapp.engine.kept`); pass the
    user's `bots` (with their state) and `history` when the caller has read them already."""
    user_id = user if isinstance(user, int) else user.id
    today = utcnow().date()
    bots = user_bots(user_id) if bots is None else bots
    history = history or trade_history(user_id)

    def build() -> tuple[BotReport, dict[int, BotReport]]:
        by_bot: dict[int, list] = defaultdict(list)
        for row in _days(BotPnlDay.__table__, BotPnlDay.user_id == user_id):
            by_bot[row.bot_id].append(row)
        per_bot = {bot_id: rollups.report(days, today) for bot_id, days in sorted(by_bot.items())}
        return user_report(user_id, curve, today), per_bot

    owners = tuple(sorted((bot.id, bot.created_at) for bot in bots))
    key = ("user", user_id, owners, history, today, curve)
    report, per_bot = kept.reports().get(key, build, keep=not rollups.adds_trades(db.session()))
    states = [bot.state for bot in bots if bot.state is not None]
    return UserSummary(
        report=report,
        bots=len(states),
        running=sum(1 for s in states if s.status == BotStatus.RUNNING),
        stopped=sum(1 for s in states if s.status == BotStatus.STOPPED),
        errored=sum(1 for s in states if s.status == BotStatus.ERROR),
        open_positions=sum(1 for s in states if s.position_qty > 0),
        realized_pnl_today=sum(
            (s.realized_pnl_today for s in states if s.pnl_day == today), Decimal(0)
        ),
        per_bot=dict(per_bot),
    )


def symbols_for(exchange: str) -> list[str]:
    """Active spot symbols of the exchange (cached), e.g. for a <datalist>; [] if unreachable."""
    try:
        return marketdata.symbols(exchange)
    except ExchangeError as exc:
        logger.info("market list of %s unavailable: %s", exchange, exc.summary())
        return []
    except RedisError as exc:  # the market cache is down: the form still works without a list
        logger.warning("market list of %s unavailable, Redis: %s", exchange, exc)
        return []


# -- activity ------------------------------------------------------------------------------


def log_activity(
    bot_id: int, kind: ActivityKind, message: str, detail: Mapping[str, Any] | None = None
) -> BotActivity:
    row = BotActivity(
        bot_id=bot_id,
        kind=kind,
        message=message[:500],
        detail=dict(detail) if detail else None,
        at=utcnow(),
    )
    db.session.add(row)
    return row


def prune_activity(bot_id: int, keep: int) -> int:
    """Delete all but the newest `keep` activity rows of a bot; returns how many went."""
    cutoff = db.session.scalar(
        sa.select(BotActivity.id)
        .where(BotActivity.bot_id == bot_id)
        .order_by(BotActivity.id.desc())
        .offset(keep)
        .limit(1)
    )
    if cutoff is None:
        return 0
    result = db.session.execute(
        sa.delete(BotActivity).where(BotActivity.bot_id == bot_id, BotActivity.id <= cutoff)
    )
    return result.rowcount or 0


# -- lifecycle -----------------------------------------------------------------------------


def _flush_named() -> None:
    """Flush a new or renamed bot; another request that took the name between validation
    and now is answered like validation would have."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise BotValidationError({"name": NAME_TAKEN}) from None


def create_bot(user: User, **fields: Any) -> Bot:
    """Validate and add a stopped bot (the caller commits). Raises BotValidationError.

    Fields (raw form strings are fine): name, api_key_id, symbol, timeframe, strategy,
    params (a mapping), quote_amount, stop_loss_pct, take_profit_pct, daily_profit_target,
    daily_loss_limit (blank = off), interval_seconds, mode ("paper" or "live").
    """
    fields.setdefault("interval_seconds", 60)
    fields.setdefault("mode", BotMode.PAPER.value)
    values = validate(user.id, None, fields)
    now = utcnow()
    bot = Bot(user_id=user.id, created_at=now, updated_at=now, **values)
    bot.state = BotState(status=BotStatus.STOPPED, pnl_day=now.date())
    signals.ensure_token(bot)
    db.session.add(bot)
    _flush_named()
    log_activity(
        bot.id,
        ActivityKind.STATE,
        f"Created: {bot.strategy} on {bot.symbol} {bot.timeframe}, {bot.mode.value} mode.",
    )
    logger.info("bot %s created by user %s", bot.id, user.id)
    return bot


def update_bot(bot: Bot, **fields: Any) -> Bot:
    """Change some of a bot's settings (validated together with the rest); takes effect at
    its next cycle. Key, symbol and mode cannot change while it holds a position."""
    # Edits of one bot take turns: validated against the latest row, and no deadlock between
    # a rename (which locks the row's unique name) and another edit's activity row.
    db.session.execute(
        sa.select(Bot)
        .where(Bot.id == bot.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    values = validate(bot.user_id, bot, fields)
    changed = [f for f, value in values.items() if getattr(bot, f) != value]
    for field, value in values.items():
        setattr(bot, field, value)
    signals.ensure_token(bot)
    if "name" in changed:
        _flush_named()
    if changed:
        bot.updated_at = utcnow()
        log_activity(bot.id, ActivityKind.STATE, f"Settings changed: {', '.join(sorted(changed))}.")
    if "interval_seconds" in changed and bot.state.status == BotStatus.RUNNING:
        bot.state.next_run_at = utcnow()
    return bot


def start_bot(bot: Bot) -> BotState:
    """Start (or restart after an error) a bot: its first cycle runs at the next tick.

    Raises BotStartError when its key is missing or rejected, live mode is not allowed, or its
    strategy no longer exists. Starting a running bot changes nothing.
    """
    state = bot.state
    if state.status == BotStatus.RUNNING:
        return state
    from webapp.engine.killswitch import HALTED_MESSAGE, is_halted

    if is_halted():
        raise BotStartError(HALTED_MESSAGE)
    if bot.api_key is None:
        raise BotStartError("This bot has no API key (it was deleted). Choose a key first.")
    if not bot.api_key.is_valid:
        reason = bot.api_key.last_error or "it has not been validated."
        raise BotStartError(
            f"The API key “{bot.api_key.label}” cannot be used: {reason} Check it on the keys "
            "page, then start the bot again."
        )
    if bot.mode == BotMode.LIVE and not live_trading_allowed():
        raise BotStartError(LIVE_DISABLED_MESSAGE)
    if bot.mode == BotMode.LIVE and bot.api_key.can_trade is False:
        raise BotStartError(PAPER_ONLY_KEY_MESSAGE)
    try:
        strategy_class = get_strategy(bot.strategy)
    except UnknownStrategyError:
        raise BotStartError(
            f"The strategy “{bot.strategy}” is no longer available; choose another one."
        ) from None
    if strategy_class.rests_orders:
        _check_planned_orders(bot)
    now = utcnow()
    state.status = BotStatus.RUNNING
    state.status_reason = None
    state.started_at = now
    state.start_price = None
    state.next_run_at = now
    state.consecutive_errors = 0
    state.failing_since = None
    log_activity(bot.id, ActivityKind.STATE, "Started.")
    logger.info("bot %s started", bot.id)
    return state


def _check_planned_orders(bot: Bot) -> None:
    """Raise BotStartError if the exchange would refuse orders the bot's strategy plans, or
    (live) if the key's free quote balance cannot pay for what the strategy may buy."""
    from webapp.engine.resting import preflight
    from webapp.strategies import StrategyError, build_strategy

    try:
        strategy = build_strategy(bot.strategy, bot.params)
        market = marketdata.market_info(bot.exchange, bot.symbol)
        price = None
        if strategy.plans_from_price and market is not None:
            price = marketdata.fetch_snapshot(bot.exchange, bot.symbol, bot.timeframe).price
    except StrategyError as exc:
        raise BotStartError(f"The strategy settings are invalid: {exc}") from None
    except ExchangeError as exc:
        raise BotStartError(str(exc)) from None
    if market is None:
        raise BotStartError(f"The exchange no longer lists {bot.symbol}.")
    problem = preflight(market, strategy.planned_orders(price))
    if problem:
        raise BotStartError(f"The exchange would refuse this bot's orders: {problem}.")
    needed = strategy.capital()
    if bot.mode == BotMode.LIVE and needed:
        free = _free_quote(bot)
        if free is not None and needed > free:
            raise BotStartError(
                f"This bot may spend up to {plain(needed)} {bot.quote_currency} but the key "
                f"holds {plain(free)} {bot.quote_currency} free: lower its orders or add funds, "
                "then start it again."
            )


def _free_quote(bot: Bot) -> Decimal | None:
    """The key's free balance of the bot's quote currency (None: the exchange does not say)."""
    from webapp.engine import orders

    try:
        with translate_errors():
            balance = orders.live_client(bot).fetch_balance()
    except ExchangeError as exc:
        raise BotStartError(str(exc)) from None
    free = (balance.get(bot.quote_currency) or {}).get("free")
    return to_decimal(free) if free is not None else None


def stop_bot(bot: Bot, reason: str = "Stopped by you.", *, error: bool = False) -> BotState:
    """Stop a bot (status error instead of stopped when `error`); `reason` is shown on its page.

    A cycle already running finishes (and records its trade); no further cycle starts.
    """
    state = bot.state
    state.status = BotStatus.ERROR if error else BotStatus.STOPPED
    state.status_reason = reason[:500]
    state.next_run_at = None
    log_activity(bot.id, ActivityKind.ERROR if error else ActivityKind.STATE, reason)
    logger.info("bot %s stopped: %s", bot.id, reason)
    return state


def stop_by_owner(bot: Bot) -> bool:
    """The owner's Stop: a running bot stops; one already stopped, or stopped by an error,
    stays as it is (its reason kept). Returns whether it was running."""
    if bot.state.status != BotStatus.RUNNING:
        return False
    stop_bot(bot)
    return True


def stop_bots_for_key(key_id: int, reason: str, *, live_only: bool = False) -> int:
    """Stop every running bot trading with API key `key_id` (`live_only`: its live bots, when
    the key may no longer trade); returns how many stopped.

    Called by webapp.keys before a key is deleted and when the exchange rejects a key.
    """
    query = (
        sa.select(Bot)
        .join(BotState)
        .where(Bot.api_key_id == key_id, BotState.status == BotStatus.RUNNING)
    )
    if live_only:
        query = query.where(Bot.mode == BotMode.LIVE)
    bots = db.session.scalars(query).all()
    for bot in bots:
        stop_bot(bot, reason)
    return len(bots)


def delete_bot(bot: Bot, *, wait_seconds: float = 10) -> None:
    """Delete a bot with its trades and activity log (the caller commits).

    Waits briefly for a running cycle to finish, then keeps the bot's lock until it expires so
    no new cycle starts before the deletion is committed. Raises BotBusy if the cycle lasts,
    and OrderPending while an order it sent has no recorded outcome (its fill would be lost).
    An open live position stays in the exchange account; nothing is sold.
    """
    lock = bot_lock(redis_ext.conn, bot.id, ttl_seconds=30)
    try:
        acquired = lock.acquire(wait_seconds=wait_seconds)
    except RedisError as exc:
        # Without the lock a cycle could record a trade for a half-deleted bot.
        logger.warning("bot %s not deleted, its lock is unavailable: %s", bot.id, exc)
        raise BotUnavailable() from None
    if not acquired:
        raise BotBusy()
    pending = db.session.scalar(  # as the cycle that may just have finished left it
        sa.select(BotState.pending_client_order_id).where(BotState.bot_id == bot.id)
    )
    if pending:
        lock.release()
        raise OrderPending()
    if BotOrder.any_active(bot.id):  # deleting would leave them on the exchange, unknown
        lock.release()
        raise OrdersResting()
    bot_id = bot.id
    days = db.session.scalars(sa.select(BotPnlDay.day).where(BotPnlDay.bot_id == bot_id)).all()
    db.session.execute(sa.delete(BotActivity).where(BotActivity.bot_id == bot_id))
    db.session.execute(sa.delete(Trade).where(Trade.bot_id == bot_id))
    db.session.execute(sa.delete(BotPnlDay).where(BotPnlDay.bot_id == bot_id))
    rollups.rebuild_user(db.session.connection(), bot.user_id, days)
    db.session.delete(bot)
    db.session.flush()
    logger.info("bot %s deleted", bot_id)


def remove_bot(bot: Bot) -> None:
    """The owner's Delete: stop the bot if it runs, then delete it (see `delete_bot` for what
    can refuse); the caller commits both together."""
    if bot.state.status == BotStatus.RUNNING:
        stop_bot(bot, "Stopped to be deleted.")
    delete_bot(bot)
