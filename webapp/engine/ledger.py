"""A fill becomes a trade: position, realized PnL, the day's figures, activity and events.

Everything here runs in the caller's transaction, so a trade and what follows from it (the
position, today's PnL, a daily limit reached, the events the owner is told of) are written
together or not at all.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from webapp.engine import decision, orders
from webapp.engine.accounting import apply_fill
from webapp.engine.service import log_activity, stop_bot
from webapp.events import EventType, emit
from webapp.extensions import db
from webapp.models import ActivityKind, Bot, BotMode, BotState, Trade, TradeReason, TradeSide
from webapp.models.bot import quantize
from webapp.numbers import plain as _fmt
from webapp.strategies import Position

logger = logging.getLogger(__name__)


def next_utc_midnight(now: datetime) -> datetime:
    day = now.astimezone(UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def roll_day(bot: Bot, state: BotState, now: datetime) -> None:
    """Start a new UTC day's PnL, and resume a bot its daily profit target paused."""
    today = now.date()
    if state.pnl_day != today:
        state.pnl_day = today
        state.realized_pnl_today = Decimal(0)
    if state.paused_until is not None and state.paused_until <= now:
        state.paused_until = None
        log_activity(bot.id, ActivityKind.STATE, "New day: resumed after yesterday's target.")


def clear_intent(state: BotState) -> None:
    state.pending_client_order_id = None
    state.pending_side = None
    state.pending_reason = None
    state.pending_since = None
    state.pending_symbol = None
    state.pending_mode = None


def record_fill(
    bot: Bot,
    state: BotState,
    side: str,
    fill: orders.Fill,
    reason: TradeReason,
    client_order_id: str,
    now: datetime,
    *,
    recovered: bool = False,
    symbol: str | None = None,
    mode: BotMode | None = None,
) -> Trade:
    """Trade, position, PnL, activity and events; the order intent is cleared with them."""
    position = Position(state.position_qty, state.position_avg_price)
    new_position, realized = apply_fill(position, side, fill.qty, fill.price, fill.fee)
    is_sell = side == "sell"
    trade = Trade(
        bot_id=bot.id,
        user_id=bot.user_id,
        side=TradeSide(side),
        symbol=symbol or bot.symbol,
        qty=quantize(fill.qty),
        price=quantize(fill.price),
        fee=quantize(fill.fee),
        realized_pnl=quantize(realized) if is_sell else None,
        reason=reason,
        client_order_id=client_order_id,
        exchange_order_id=fill.exchange_order_id,
        mode=mode or bot.mode,
        executed_at=fill.executed_at,
    )
    db.session.add(trade)
    state.position_qty = quantize(new_position.qty)
    state.position_avg_price = quantize(new_position.avg_price)
    clear_intent(state)
    if is_sell:
        roll_day(bot, state, now)
        state.realized_pnl_today = quantize(state.realized_pnl_today + realized)
    db.session.flush()

    base, quote = bot.base_currency, bot.quote_currency
    verb = "Bought" if not is_sell else "Sold"
    text = (
        f"{verb} {_fmt(trade.qty)} {base} at {_fmt(trade.price)} {quote}, "
        f"fee {_fmt(trade.fee)} {quote}"
    )
    if is_sell:
        text += f", realized {_fmt(trade.realized_pnl)} {quote}"
    if reason is not TradeReason.SIGNAL:
        text += f" ({reason.label.lower()})"
    if recovered:
        text += " - recovered after an interrupted cycle"
    if is_sell and new_position.is_open:
        text += (
            f"; {_fmt(quantize(new_position.qty))} {base} is left as dust, too little to "
            "sell on its own: it counts as closed and goes with the next sell"
        )
    if fill.note:
        text += f" ({fill.note})"
    log_activity(
        bot.id,
        ActivityKind.ORDER,
        text + ".",
        {"trade_id": trade.id, "client_order_id": client_order_id},
    )
    data = trade_event_data(bot, trade)
    if is_sell:
        data["entry_price"] = str(quantize(position.avg_price))
    emit(bot.user_id, EventType.TRADE_EXECUTED, data)
    if reason is TradeReason.STOP_LOSS:
        emit(bot.user_id, EventType.STOP_LOSS_TRIGGERED, data)
    elif reason is TradeReason.TAKE_PROFIT:
        emit(bot.user_id, EventType.TAKE_PROFIT_TRIGGERED, data)
    if is_sell:
        check_daily_limits(bot, state, now)
    return trade


def trade_event_data(bot: Bot, trade: Trade) -> dict:
    return {
        "bot_id": bot.id,
        "bot_name": bot.name,
        "symbol": bot.symbol,
        "side": trade.side.value,
        "qty": str(trade.qty),
        "price": str(trade.price),
        "fee": str(trade.fee),
        "quote": bot.quote_currency,
        "realized_pnl": None if trade.realized_pnl is None else str(trade.realized_pnl),
        "reason": trade.reason.value,
        "mode": bot.mode.value,
        "trade_id": trade.id,
        "executed_at": trade.executed_at.isoformat(),
        "url": f"/bots/{bot.id}",
    }


def check_daily_limits(bot: Bot, state: BotState, now: datetime) -> None:
    """After a sell: stop at the daily loss limit, pause until midnight at the profit target."""
    pnl = state.realized_pnl_today
    quote = bot.quote_currency
    base_data = {
        "bot_id": bot.id,
        "bot_name": bot.name,
        "symbol": bot.symbol,
        "realized_pnl_today": str(pnl),
        "quote": quote,
        "url": f"/bots/{bot.id}",
    }
    reached = decision.daily_limit(bot, pnl, state.is_paused(now))
    if reached is decision.DailyLimit.LOSS_LIMIT:
        stop_bot(
            bot,
            f"Daily loss limit reached: {_fmt(pnl)} {quote} realized today "
            f"(limit {_fmt(bot.daily_loss_limit)} {quote}). Start it again when ready.",
        )
        emit(
            bot.user_id,
            EventType.DAILY_LOSS_LIMIT_REACHED,
            {**base_data, "limit": str(bot.daily_loss_limit)},
        )
    elif reached is decision.DailyLimit.PROFIT_TARGET:
        state.paused_until = next_utc_midnight(now)
        log_activity(
            bot.id,
            ActivityKind.STATE,
            f"Daily profit target reached: {_fmt(pnl)} {quote} realized today (target "
            f"{_fmt(bot.daily_profit_target)} {quote}). Paused until "
            f"{state.paused_until:%Y-%m-%d %H:%M} UTC.",
        )
        emit(
            bot.user_id,
            EventType.DAILY_PROFIT_TARGET_REACHED,
            {
                **base_data,
                "target": str(bot.daily_profit_target),
                "paused_until": state.paused_until.isoformat(),
            },
        )
