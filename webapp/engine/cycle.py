"""One cycle of one bot: the only code that trades.

Order of work, each step for a reason:

1. Take the bot's Redis lock: two cycles of one bot never overlap (a retried job, a manual
   `flask bots cycle`, a second worker). A job for a tick slot the bot already ran is skipped.
2. Roll the day's PnL at UTC midnight; resume a bot paused by its daily profit target.
3. Resolve an order intent a crashed earlier cycle left behind: ask the exchange for that
   client order id; record its fill now (the unique client order id makes that exactly once)
   or forget the intent once the exchange provably never got it.
4. Market data from the shared per-slot cache (webapp.engine.marketdata).
5. Stop-loss / take-profit on the open position, before the strategy is asked.
6. Size the order within the market's limits, or log why no order can be placed.
7. Live: commit the intent (client order id derived from bot and cycle) BEFORE sending, send
   once, and on an unknown outcome look the order up by its id, never resend it: Binance takes
   the id again once its order filled. Only "Order does not exist." after PENDING_GRACE lets
   a later decision place an order, under a new id. Paper: fill at the current price.
8. One transaction: trade, position, PnL, intent cleared, activity, events, daily limits.

Errors: a rejected key marks the key invalid and stops its bots; anything else counts as a
failed cycle, retried next cycle. An exchange that cannot answer now (unreachable, rate
limited, no market data) stops the bot with status "error" (and a `bot_error` event saying why)
once cycles have failed for BOT_TRANSIENT_ERROR_GRACE_SECONDS; any other error after
BOT_MAX_CONSECUTIVE_ERRORS failed cycles in a row.
"""

from __future__ import annotations

import enum
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app

from webapp.engine import decision, marketdata, orders
from webapp.engine.accounting import (
    apply_fill,
    size_sell,
)
from webapp.engine.errors import BotError, LiveTradingDisabled
from webapp.engine.locks import bot_lock
from webapp.engine.service import log_activity, prune_activity, stop_bot
from webapp.engine.tick import count_late_cycle
from webapp.events import EventType, emit
from webapp.exchange.errors import ExchangeError, UnknownSymbol
from webapp.extensions import db, redis_ext
from webapp.models import (
    ActivityKind,
    Bot,
    BotMode,
    BotState,
    BotStatus,
    Trade,
    TradeReason,
    TradeSide,
)
from webapp.models.bot import quantize
from webapp.models.types import utcnow
from webapp.numbers import plain as _fmt
from webapp.strategies import Decision, Position, build_strategy
from webapp.strategies.base import StrategyError

logger = logging.getLogger(__name__)

#: An order request older than this can no longer reach Binance (recvWindow is 10 s), so an
#: intent whose order the exchange still does not know after this long is safe to forget.
PENDING_GRACE = timedelta(seconds=30)
#: Default for BOT_TRANSIENT_ERROR_GRACE_SECONDS: how long an unreachable or rate-limiting
#: exchange is waited out before a bot stops with status "error".
TRANSIENT_GRACE_SECONDS = 600
#: Every this many cycles a bot's activity log is cut back to BOT_ACTIVITY_KEEP rows.
PRUNE_EVERY = 50


class Outcome(enum.StrEnum):
    TRADED = "traded"
    HOLD = "hold"
    REFUSED = "refused"  # wanted to trade, but sizing or the exchange said no
    WAITING = "waiting"  # an earlier order's outcome is not known yet
    ERROR = "error"
    STOPPED = "stopped"  # this cycle stopped the bot
    PAUSED = "paused"
    LOCKED = "locked"
    ALREADY_RAN = "already_ran"
    NOT_RUNNING = "not_running"
    NOT_FOUND = "not_found"
    LATE = "late"  # due more than one interval ago: dropped rather than act on stale intent


@dataclass
class CycleResult:
    bot_id: int
    outcome: Outcome
    message: str
    trade_ids: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return f"bot {self.bot_id}: {self.outcome.value}: {self.message}"


def run_cycle(bot_id: int, slot: int | None = None, *, force: bool = False) -> CycleResult:
    """Run one cycle of a bot. `slot` is the tick's time slot (None: an inline run).

    `force` runs a bot that is not running or is paused (operators' `flask bots cycle
    --force`). Never raises for the bot's own failures: they are recorded on the bot.
    """
    cfg = current_app.config
    lock = bot_lock(redis_ext.conn, bot_id, cfg["BOT_LOCK_TTL_SECONDS"])
    if not lock.acquire():
        return CycleResult(bot_id, Outcome.LOCKED, "another cycle of this bot is running")
    session = db.session()
    expire_on_commit = session.expire_on_commit
    # The bot's lock keeps other cycles out, so what this cycle loaded stays true across its
    # own commits; not reloading it after each saves several queries per cycle.
    session.expire_on_commit = False
    try:
        return _Cycle(bot_id, slot, force).run()
    finally:
        session.rollback()  # nothing half-done leaks into the next bot of the batch
        session.expire_on_commit = expire_on_commit
        lock.release()


def close_position(bot_id: int, *, wait_seconds: float = 10) -> CycleResult:
    """Sell the bot's whole position now (the user's "Sell position now"), running or not.

    Same machinery as a cycle: under the bot's lock, an earlier order settled first, the sell
    sized within the market's limits, a live order's intent committed before it is sent, and
    the trade recorded with reason `manual`. A failure is reported, not counted as a failed
    cycle. Outcome TRADED, REFUSED (nothing sellable), WAITING, ERROR or LOCKED.
    """
    cfg = current_app.config
    lock = bot_lock(redis_ext.conn, bot_id, cfg["BOT_LOCK_TTL_SECONDS"])
    if not lock.acquire(wait_seconds=wait_seconds):
        return CycleResult(
            bot_id, Outcome.LOCKED, "This bot is in the middle of a cycle; try again shortly."
        )
    session = db.session()
    expire_on_commit = session.expire_on_commit
    session.expire_on_commit = False
    try:
        return _Cycle(bot_id, None, force=True).close()
    finally:
        session.rollback()
        session.expire_on_commit = expire_on_commit
        lock.release()


def next_utc_midnight(now: datetime) -> datetime:
    day = now.astimezone(UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    return f"{seconds // 60} min"


class _Cycle:
    def __init__(self, bot_id: int, slot: int | None, force: bool) -> None:
        self.bot_id = bot_id
        self.slot = slot
        self.force = force
        self.now = utcnow()
        self.trade_ids: list[int] = []
        self.cfg = current_app.config

    def result(self, outcome: Outcome, message: str) -> CycleResult:
        return CycleResult(self.bot_id, outcome, message, list(self.trade_ids))

    # -- the cycle -------------------------------------------------------------------------

    def run(self) -> CycleResult:
        bot = db.session.get(
            Bot,
            self.bot_id,
            options=[so.joinedload(Bot.state), so.joinedload(Bot.api_key)],
            populate_existing=True,
        )
        if bot is None:
            return self.result(Outcome.NOT_FOUND, "no such bot")
        state = bot.state
        if not self.force and state.status != BotStatus.RUNNING:
            return self.result(Outcome.NOT_RUNNING, f"bot is {state.status.value}")
        if self.slot is not None and state.last_slot is not None and state.last_slot >= self.slot:
            if not state.pending_client_order_id:
                return self.result(Outcome.ALREADY_RAN, f"slot {self.slot} already ran")
            # The same job again after a crash: settle its order, but decide nothing new.
            return self.settle_only(bot, state)
        if self.is_late(bot) and not state.pending_client_order_id:
            state.last_slot = self.slot
            db.session.commit()
            count_late_cycle(self.now)
            return self.result(
                Outcome.LATE, f"slot {self.slot} was due more than one interval ago; dropped"
            )
        self.roll_day(bot, state)
        if not self.force and state.is_paused(self.now):
            db.session.commit()
            return self.result(
                Outcome.PAUSED, f"paused until {state.paused_until:%Y-%m-%d %H:%M} UTC"
            )
        from webapp.engine.killswitch import is_halted

        if is_halted():  # the kill switch: no order until the operator lifts the halt
            db.session.commit()
            return self.result(Outcome.PAUSED, "trading is halted by the operator")
        state.cycle_count += 1
        state.last_cycle_at = self.now
        if state.cycle_count % PRUNE_EVERY == 0:
            prune_activity(bot.id, int(self.cfg["BOT_ACTIVITY_KEEP"]))
        if self.slot is not None:
            state.last_slot = self.slot
        try:
            return self.trade(bot, state)
        except (ExchangeError, BotError) as exc:
            return self.failed(exc, traceback=False)
        except Exception as exc:
            logger.exception("bot %s: cycle failed", self.bot_id)
            return self.failed(exc, traceback=True)

    def is_late(self, bot: Bot) -> bool:
        """Whether this slot's cycle was due more than one of the bot's intervals ago (the
        workers fell behind): what it would decide belongs to a market that has moved on."""
        if self.slot is None or self.force:
            return False
        tick = max(1, int(self.cfg["BOT_TICK_SECONDS"]))
        due = datetime.fromtimestamp(self.slot * tick, UTC)
        return self.now - due > timedelta(seconds=bot.interval_seconds + tick)

    def close(self) -> CycleResult:
        bot = db.session.get(
            Bot,
            self.bot_id,
            options=[so.joinedload(Bot.state), so.joinedload(Bot.api_key)],
            populate_existing=True,
        )
        if bot is None:
            return self.result(Outcome.NOT_FOUND, "no such bot")
        state = bot.state
        try:
            return self.sell_all(bot, state)
        except (ExchangeError, BotError) as exc:
            db.session.rollback()
            return self.result(Outcome.ERROR, str(exc))
        except Exception:
            logger.exception("bot %s: selling the position failed", self.bot_id)
            db.session.rollback()
            return self.result(
                Outcome.ERROR, "An unexpected error stopped the sale; nothing was recorded."
            )

    def sell_all(self, bot: Bot, state: BotState) -> CycleResult:
        if state.pending_client_order_id:
            waiting = self.resolve_pending(bot, state)
            if waiting is not None:
                return waiting
        if not state.has_position:
            return self.result(Outcome.REFUSED, "This bot holds nothing to sell.")
        snapshot = marketdata.get_snapshot(bot.exchange, bot.symbol, bot.timeframe, None)
        market = marketdata.market_info(bot.exchange, bot.symbol)
        if market is None:
            raise UnknownSymbol(f"The exchange no longer lists {bot.symbol}.")
        price = snapshot.price
        size = size_sell(
            state.position_qty,
            price,
            market.amount_step,
            market.min_qty,
            market.min_notional,
            symbol=bot.symbol,
        )
        if not size.ok:
            return self.result(Outcome.REFUSED, f"Nothing can be sold: {size.reason}.")
        # A cycle number of its own, so the client order id is never one a cycle uses.
        state.cycle_count += 1
        client_order_id = orders.client_order_id(bot, state.cycle_count, "sell")
        reason = TradeReason.MANUAL
        log_activity(
            bot.id,
            ActivityKind.SIGNAL,
            f"sell: you asked to sell the position (price {_fmt(price)})",
            {"signal": "sell", "reason": reason.value, "price": str(price), "qty": str(size.qty)},
        )
        if bot.mode == BotMode.PAPER:
            fill = orders.paper_fill(market, "sell", size.qty, price)
        else:
            fill = self.send_live(bot, state, market, "sell", size.qty, reason, client_order_id)
            if fill is orders.Lookup.NOT_FILLED:
                return self.result(Outcome.REFUSED, "The sell order ended without a fill.")
            if fill is orders.Lookup.OPEN:
                return self.result(
                    Outcome.WAITING,
                    "The exchange accepted the sell order; it is recorded once it fills.",
                )
        trade = self.record(bot, state, "sell", fill, reason, client_order_id)
        db.session.commit()
        self.trade_ids.append(trade.id)
        return self.result(
            Outcome.TRADED,
            f"Sold {_fmt(trade.qty)} {bot.base_currency} at {_fmt(trade.price)} "
            f"{bot.quote_currency}, realized {_fmt(trade.realized_pnl)} {bot.quote_currency}.",
        )

    def settle_only(self, bot: Bot, state: BotState) -> CycleResult:
        try:
            waiting = self.resolve_pending(bot, state)
        except (ExchangeError, BotError) as exc:
            return self.failed(exc, traceback=False)
        except Exception as exc:
            logger.exception("bot %s: settling an order failed", self.bot_id)
            return self.failed(exc, traceback=True)
        if waiting is not None:
            return waiting
        db.session.commit()
        return self.result(
            Outcome.TRADED if self.trade_ids else Outcome.ALREADY_RAN,
            f"slot {self.slot} already ran; its order is settled",
        )

    def roll_day(self, bot: Bot, state: BotState) -> None:
        today = self.now.date()
        if state.pnl_day != today:
            state.pnl_day = today
            state.realized_pnl_today = Decimal(0)
        if state.paused_until is not None and state.paused_until <= self.now:
            state.paused_until = None
            log_activity(bot.id, ActivityKind.STATE, "New day: resumed after yesterday's target.")

    def trade(self, bot: Bot, state: BotState) -> CycleResult:
        if state.pending_client_order_id:
            waiting = self.resolve_pending(bot, state)
            if waiting is not None:
                return waiting
            if state.status != BotStatus.RUNNING or state.is_paused(self.now):
                db.session.commit()
                return self.result(Outcome.STOPPED, state.status_reason or "paused")

        snapshot = marketdata.get_snapshot(bot.exchange, bot.symbol, bot.timeframe, self.slot)
        market = marketdata.market_info(bot.exchange, bot.symbol)
        if market is None:
            raise UnknownSymbol(f"The exchange no longer lists {bot.symbol}.")
        price = snapshot.price

        def decide(position: Position) -> Decision:
            try:
                strategy = build_strategy(bot.strategy, bot.params)
            except StrategyError as exc:
                raise BotError(f"The strategy settings are invalid: {exc}") from None
            return strategy.decide(snapshot.candles, position)

        # Dust, exits, the strategy and sizing: the rules a backtest replays (see decision).
        held = Position(state.position_qty, state.position_avg_price)
        plan = decision.plan(bot, market, held, price, decide)
        signal, why, reason = plan.signal, plan.why, plan.reason
        state.last_signal = signal.value
        state.last_reason = why[:500]
        state.last_price = quantize(price)
        price_text = f"price {_fmt(price)}"

        if plan.hold:
            log_activity(bot.id, ActivityKind.CYCLE, f"hold: {why} ({price_text})")
            self.succeeded(state)
            db.session.commit()
            return self.result(Outcome.HOLD, why)

        size = plan.size
        side = plan.side
        if not size.ok:
            log_activity(
                bot.id,
                ActivityKind.CYCLE,
                f"{side}: {why} ({price_text}); no order: {size.reason}",
            )
            self.succeeded(state)
            db.session.commit()
            return self.result(Outcome.REFUSED, size.reason)

        qty = size.qty
        client_order_id = orders.client_order_id(bot, state.cycle_count, side)
        log_activity(
            bot.id,
            ActivityKind.SIGNAL,
            f"{side}: {why} ({price_text})",
            {"signal": side, "reason": reason.value, "price": str(price), "qty": str(qty)},
        )
        if bot.mode == BotMode.PAPER:
            fill = orders.paper_fill(market, side, qty, price)
        else:
            fill = self.send_live(bot, state, market, side, qty, reason, client_order_id)
            if fill is orders.Lookup.NOT_FILLED:
                return self.result(Outcome.REFUSED, "the order ended without a fill")
            if fill is orders.Lookup.OPEN:
                return self.result(
                    Outcome.WAITING, f"waiting for the exchange to fill order {client_order_id}"
                )
        trade = self.record(bot, state, side, fill, reason, client_order_id)
        self.succeeded(state)
        db.session.commit()
        self.trade_ids.append(trade.id)
        return self.result(
            Outcome.TRADED,
            f"{side} {_fmt(trade.qty)} {bot.base_currency} at {_fmt(trade.price)} ({why})",
        )

    @staticmethod
    def succeeded(state: BotState) -> None:
        """The cycle did its work: a run of failed cycles (if any) is over. Not set earlier in
        the cycle, because an order intent is committed before the order can still fail."""
        state.consecutive_errors = 0
        state.failing_since = None

    # -- live orders -----------------------------------------------------------------------

    def send_live(
        self,
        bot: Bot,
        state: BotState,
        market: marketdata.MarketInfo,
        side: str,
        qty: Decimal,
        reason: TradeReason,
        client_order_id: str,
    ) -> orders.Fill | orders.Lookup:
        """The fill, or Lookup.NOT_FILLED (intent cleared) or Lookup.OPEN (intent kept: the
        order was accepted but its fill is not known yet; a later cycle looks it up)."""
        client = orders.live_client(bot)
        # The intent first: if this process dies once the order is out, the next cycle
        # finds it by this id instead of placing another. Where it goes is stored with it,
        # so its fill is recorded there even if the bot's settings could change meanwhile.
        state.pending_client_order_id = client_order_id
        state.pending_side = side
        state.pending_reason = reason.value
        state.pending_symbol = bot.symbol
        state.pending_mode = bot.mode
        # Stamped now, not at cycle start: the grace period and the "older than the intent"
        # check of a lookup both measure from when the order could first have left.
        state.pending_since = utcnow()
        db.session.commit()
        try:
            outcome = orders.place_market_order(
                client, bot, market, side, qty, client_order_id, self.now
            )
        except ExchangeError as exc:
            outcome = self.after_failed_send(client, bot, state, market, exc)
        pause = float(self.cfg.get("BOT_TEST_PAUSE_AFTER_ORDER") or 0)
        if pause:
            logger.warning("bot %s: test pause of %ss after the order", bot.id, pause)
            time.sleep(pause)
        if outcome is orders.Lookup.NOT_FILLED:
            self.clear_intent(state)
            log_activity(bot.id, ActivityKind.ORDER, f"Order {client_order_id} ended unfilled.")
            db.session.commit()
        elif outcome is orders.Lookup.OPEN:
            log_activity(
                bot.id,
                ActivityKind.ORDER,
                f"Order {client_order_id} was accepted but is not filled yet; "
                "the next cycle checks it.",
            )
            db.session.commit()
        return outcome

    def after_failed_send(
        self,
        client,
        bot: Bot,
        state: BotState,
        market: marketdata.MarketInfo,
        exc: ExchangeError,
    ) -> orders.Fill | orders.Lookup:
        client_order_id = state.pending_client_order_id
        if not orders.is_unknown_outcome(exc):
            # A definite refusal: the order does not exist, so the intent goes.
            self.clear_intent(state)
            db.session.commit()
            raise exc
        logger.info(
            "bot %s: order %s outcome unknown (%s); looking it up",
            bot.id,
            client_order_id,
            exc.summary(),
        )
        try:
            found = orders.find_order(
                client, bot, market, client_order_id, state.pending_since or self.now
            )
        except ExchangeError:
            raise exc from None  # the intent stays; the next cycle asks again
        if isinstance(found, orders.Fill) or found is orders.Lookup.NOT_FILLED:
            return found
        raise exc  # not there (yet) or still open: the intent stays

    def resolve_pending(self, bot: Bot, state: BotState) -> CycleResult | None:
        """Settle an intent left by an earlier cycle; a result means "not yet, stop here"."""
        client_order_id = state.pending_client_order_id
        recorded = db.session.scalar(
            sa.select(Trade.id).where(Trade.client_order_id == client_order_id)
        )
        # The order went where the intent says, whatever the bot's settings are now.
        symbol = state.pending_symbol or bot.symbol
        mode = state.pending_mode or bot.mode
        if recorded is not None or mode == BotMode.PAPER:
            self.clear_intent(state)
            db.session.commit()
            return None
        market = marketdata.market_info(bot.exchange, symbol)
        if market is None:
            raise UnknownSymbol(f"The exchange no longer lists {symbol}.")
        since = state.pending_since or self.now
        client = orders.live_client(bot, symbol)
        found = orders.find_order(client, bot, market, client_order_id, since, symbol=symbol)
        if isinstance(found, orders.Fill):
            side = state.pending_side or "buy"
            reason = TradeReason(state.pending_reason or TradeReason.SIGNAL.value)
            trade = self.record(
                bot,
                state,
                side,
                found,
                reason,
                client_order_id,
                recovered=True,
                symbol=symbol,
                mode=mode,
            )
            db.session.commit()
            self.trade_ids.append(trade.id)
            return None
        if found is orders.Lookup.NOT_FILLED:
            self.clear_intent(state)
            log_activity(bot.id, ActivityKind.ORDER, f"Order {client_order_id} ended unfilled.")
            db.session.commit()
            return None
        if found is orders.Lookup.NOT_FOUND and self.now - since >= PENDING_GRACE:
            self.clear_intent(state)
            log_activity(
                bot.id,
                ActivityKind.ORDER,
                f"Order {client_order_id} never reached the exchange; nothing was traded.",
            )
            db.session.commit()
            return None
        message = f"waiting for the exchange to confirm order {client_order_id}"
        log_activity(bot.id, ActivityKind.CYCLE, message.capitalize() + ".")
        db.session.commit()
        return self.result(Outcome.WAITING, message)

    @staticmethod
    def clear_intent(state: BotState) -> None:
        state.pending_client_order_id = None
        state.pending_side = None
        state.pending_reason = None
        state.pending_since = None
        state.pending_symbol = None
        state.pending_mode = None

    # -- recording -------------------------------------------------------------------------

    def record(
        self,
        bot: Bot,
        state: BotState,
        side: str,
        fill: orders.Fill,
        reason: TradeReason,
        client_order_id: str,
        *,
        recovered: bool = False,
        symbol: str | None = None,
        mode: BotMode | None = None,
    ) -> Trade:
        """Trade, position, PnL, activity and events, in the caller's transaction."""
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
        self.clear_intent(state)
        if is_sell:
            self.roll_day(bot, state)
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
        data = self.event_data(bot, trade)
        if is_sell:
            data["entry_price"] = str(quantize(position.avg_price))
        emit(bot.user_id, EventType.TRADE_EXECUTED, data)
        if reason is TradeReason.STOP_LOSS:
            emit(bot.user_id, EventType.STOP_LOSS_TRIGGERED, data)
        elif reason is TradeReason.TAKE_PROFIT:
            emit(bot.user_id, EventType.TAKE_PROFIT_TRIGGERED, data)
        if is_sell:
            self.check_daily_limits(bot, state)
        return trade

    def event_data(self, bot: Bot, trade: Trade) -> dict:
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

    def check_daily_limits(self, bot: Bot, state: BotState) -> None:
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
        reached = decision.daily_limit(bot, pnl, state.is_paused(self.now))
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
            state.paused_until = next_utc_midnight(self.now)
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

    # -- failures --------------------------------------------------------------------------

    def failed(self, exc: Exception, *, traceback: bool) -> CycleResult:
        from webapp.metrics import cycle_error

        cycle_error(exc)
        db.session.rollback()
        bot = db.session.get(Bot, self.bot_id)
        if bot is None:
            return self.result(Outcome.NOT_FOUND, "the bot was deleted during its cycle")
        state = bot.state
        state.last_cycle_at = self.now
        if self.slot is not None:
            state.last_slot = self.slot
        if isinstance(exc, ExchangeError | BotError):
            message = str(exc)
            summary = exc.summary() if isinstance(exc, ExchangeError) else message
        else:
            message = "An unexpected error stopped this cycle; the operator can see it in the log."
            summary = type(exc).__name__
        state.last_error = message[:500]
        state.last_error_at = self.now

        if isinstance(exc, ExchangeError) and exc.invalidates_key:
            self.key_rejected(bot, exc)
            db.session.commit()
            return self.result(Outcome.STOPPED, message)
        if isinstance(exc, LiveTradingDisabled):
            self.stop_with_error(bot, message)
            db.session.commit()
            return self.result(Outcome.STOPPED, message)

        state.consecutive_errors += 1
        if state.failing_since is None or state.consecutive_errors == 1:
            state.failing_since = self.now
        count = state.consecutive_errors
        limit = int(self.cfg["BOT_MAX_CONSECUTIVE_ERRORS"])
        # An exchange that cannot answer now (down, rate limiting, no data) is waited out for
        # a while, however short the bot's interval; anything else stops it after N cycles.
        transient = isinstance(exc, ExchangeError) and exc.transient
        grace = int(self.cfg.get("BOT_TRANSIENT_ERROR_GRACE_SECONDS") or TRANSIENT_GRACE_SECONDS)
        failing = int((self.now - state.failing_since).total_seconds())
        if transient:
            progress = f"failing for {_duration(failing)}; stops after {_duration(grace)}"
            give_up = failing >= grace
            stop_reason = f"Stopped after {_duration(failing)} of failed cycles"
        else:
            progress = f"failed cycle {count} of {limit} in a row"
            give_up = count >= limit
            stop_reason = f"Stopped after {count} failed cycles in a row"
        if not traceback:
            logger.info("bot %s: cycle failed (%s): %s", bot.id, progress, summary)
        log_activity(
            bot.id, ActivityKind.ERROR, f"{message} ({progress})", {"error": type(exc).__name__}
        )
        if give_up and state.status == BotStatus.RUNNING:
            self.stop_with_error(bot, f"{stop_reason}. Last error: {message}")
            db.session.commit()
            return self.result(Outcome.STOPPED, message)
        db.session.commit()
        return self.result(Outcome.ERROR, message)

    def stop_with_error(self, bot: Bot, reason: str) -> None:
        stop_bot(bot, reason, error=True)
        emit(
            bot.user_id,
            EventType.BOT_ERROR,
            {
                "bot_id": bot.id,
                "bot_name": bot.name,
                "symbol": bot.symbol,
                "error": reason,
                "url": f"/bots/{bot.id}",
            },
        )

    def key_rejected(self, bot: Bot, exc: ExchangeError) -> None:
        """Mark the key invalid the way key validation does: its bots stop, the owner is told."""
        from webapp.keys import service as keys

        if bot.api_key is not None:
            # Stops every bot using the key and tells the owner (api_key_invalid), once.
            keys.mark_key_rejected(bot.api_key, exc.message, self.now)
        if bot.state.status == BotStatus.RUNNING:
            stop_bot(bot, f"The exchange rejected its API key: {exc.message}")
