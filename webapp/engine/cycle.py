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

The parts live beside this module: `placement` (live orders: intent, send, lookup, an
earlier intent settled), `ledger` (a fill becomes trade, position, PnL, events, daily limits)
and `failures` (what a failed cycle does to its bot). This module is the order of work.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import sqlalchemy.orm as so
from flask import current_app

from webapp.engine import decision, failures, ledger, marketdata, orders, placement, resting
from webapp.engine.accounting import size_sell
from webapp.engine.errors import ORDERS_RESTING_MESSAGE, BotError
from webapp.engine.ledger import next_utc_midnight
from webapp.engine.locks import bot_lock
from webapp.engine.outcome import CycleResult, Outcome
from webapp.engine.placement import PENDING_GRACE
from webapp.engine.service import log_activity, prune_activity, stop_bot
from webapp.engine.tick import count_late_cycle
from webapp.exchange.errors import ExchangeError, UnknownSymbol
from webapp.extensions import db, redis_ext
from webapp.models import (
    ActivityKind,
    Bot,
    BotMode,
    BotOrder,
    BotState,
    BotStatus,
    SignalStatus,
    TradeReason,
)
from webapp.models.bot import quantize
from webapp.models.types import utcnow
from webapp.numbers import plain as _fmt
from webapp.signals import service as signals
from webapp.strategies import Decision, Position, build_strategy
from webapp.strategies.base import StrategyError

logger = logging.getLogger(__name__)

#: Every this many cycles a bot's activity log is cut back to BOT_ACTIVITY_KEEP rows.
PRUNE_EVERY = 50

# Importers read these from here; they live with the part of the cycle they belong to.
__all__ = ["PENDING_GRACE", "CycleResult", "Outcome", "close_position", "next_utc_midnight",
           "run_cycle"]  # fmt: skip


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
            if BotOrder.any_active(bot.id):  # stopped with orders resting: cancel them
                return self.wind_down(bot, state)
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
        ledger.roll_day(bot, state, self.now)
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
            return self.failed(exc)
        except Exception as exc:
            logger.exception("bot %s: cycle failed", self.bot_id)
            return self.failed(exc)

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
        if BotOrder.any_active(bot.id):  # its sells hold the position on the exchange
            return self.result(Outcome.REFUSED, ORDERS_RESTING_MESSAGE)
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
            fill = placement.send_live(
                bot, state, market, "sell", size.qty, reason, client_order_id, self.now
            )
            if fill is orders.Lookup.NOT_FILLED:
                return self.result(Outcome.REFUSED, "The sell order ended without a fill.")
            if fill is orders.Lookup.OPEN:
                return self.result(
                    Outcome.WAITING,
                    "The exchange accepted the sell order; it is recorded once it fills.",
                )
        trade = ledger.record_fill(bot, state, "sell", fill, reason, client_order_id, self.now)
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
            return self.failed(exc)
        except Exception as exc:
            logger.exception("bot %s: settling an order failed", self.bot_id)
            return self.failed(exc)
        if waiting is not None:
            return waiting
        db.session.commit()
        return self.result(
            Outcome.TRADED if self.trade_ids else Outcome.ALREADY_RAN,
            f"slot {self.slot} already ran; its order is settled",
        )

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

        try:
            strategy, broken = build_strategy(bot.strategy, bot.params), None
        except StrategyError as exc:
            # Reported only when the strategy is asked: exit rules still protect the position.
            strategy, broken = None, exc
        if strategy is not None and strategy.rests_orders:
            return self.rest(bot, state, strategy, snapshot, market)
        # A signal sent to the bot's URL, if its strategy takes them: acted on below, settled
        # in the transaction that records what the cycle did.
        inbox = (
            signals.take_pending(bot, state.started_at, self.now)
            if strategy is not None and strategy.signal_actions
            else None
        )
        asked: list[bool] = []

        def decide(position: Position) -> Decision:
            asked.append(True)
            if strategy is None:
                raise BotError(f"The strategy settings are invalid: {broken}")
            if inbox is not None:
                return strategy.on_signal(inbox.action.value, position)
            return strategy.decide(snapshot.candles, position)

        # Dust, exits, the strategy and sizing: the rules a backtest replays (see decision).
        held = Position(state.position_qty, state.position_avg_price)
        plan = decision.plan(bot, market, held, price, decide)
        # An exit rule that fired first leaves the signal for the next cycle.
        acted = inbox if asked else None
        signal, why, reason = plan.signal, plan.why, plan.reason
        state.last_signal = signal.value
        state.last_reason = why[:500]
        state.last_price = quantize(price)
        price_text = f"price {_fmt(price)}"

        if plan.hold:
            line = log_activity(bot.id, ActivityKind.CYCLE, f"hold: {why} ({price_text})")
            if acted is not None:
                signals.settle(acted, SignalStatus.IGNORED, line.message, self.now)
            self.succeeded(state)
            db.session.commit()
            return self.result(Outcome.HOLD, why)

        size = plan.size
        side = plan.side
        if not size.ok:
            line = log_activity(
                bot.id,
                ActivityKind.CYCLE,
                f"{side}: {why} ({price_text}); no order: {size.reason}",
            )
            if acted is not None:
                signals.settle(acted, SignalStatus.IGNORED, line.message, self.now)
            self.succeeded(state)
            db.session.commit()
            return self.result(Outcome.REFUSED, size.reason)

        qty = size.qty
        client_order_id = orders.client_order_id(bot, state.cycle_count, side)
        line = log_activity(
            bot.id,
            ActivityKind.SIGNAL,
            f"{side}: {why} ({price_text})",
            {"signal": side, "reason": reason.value, "price": str(price), "qty": str(qty)},
        )
        if acted is not None:
            # Settled before a live order's intent is committed: the order is the signal's
            # doing whatever becomes of it, and a retried cycle must not act on it again.
            signals.settle(acted, SignalStatus.DONE, line.message, self.now)
        if bot.mode == BotMode.PAPER:
            fill = orders.paper_fill(market, side, qty, price)
        else:
            fill = placement.send_live(
                bot, state, market, side, qty, reason, client_order_id, self.now
            )
            if fill is orders.Lookup.NOT_FILLED:
                return self.result(Outcome.REFUSED, "the order ended without a fill")
            if fill is orders.Lookup.OPEN:
                return self.result(
                    Outcome.WAITING, f"waiting for the exchange to fill order {client_order_id}"
                )
        trade = ledger.record_fill(bot, state, side, fill, reason, client_order_id, self.now)
        self.succeeded(state)
        db.session.commit()
        self.trade_ids.append(trade.id)
        return self.result(
            Outcome.TRADED,
            f"{side} {_fmt(trade.qty)} {bot.base_currency} at {_fmt(trade.price)} ({why})",
        )

    def rest(self, bot: Bot, state: BotState, strategy, snapshot, market) -> CycleResult:
        """A strategy that keeps limit orders resting: record their fills, then keep the set
        it wants now (webapp.engine.resting)."""
        price = snapshot.price
        if state.start_price is None:
            state.start_price = quantize(price)
        book = resting.RestingBook(bot, state, market, price, snapshot.candles, self.now)
        book.sync()
        note = None
        if state.status != BotStatus.RUNNING:  # a fill reached the daily loss limit
            done = book.cancel_all()
        else:
            takes = bool(strategy.signal_actions)
            inbox = signals.take_pending(bot, state.started_at, self.now) if takes else None
            view = book.book(inbox.action.value if inbox is not None else None)
            wanted = strategy.wanted_orders(view)
            if inbox is not None:
                # Settled with the orders it causes, before any of them is sent (see trade).
                acted, what = strategy.signal_outcome(view)
                line = log_activity(
                    bot.id, ActivityKind.SIGNAL, f"signal {inbox.action.value}: {what}"
                )
                status = SignalStatus.DONE if acted else SignalStatus.IGNORED
                signals.settle(inbox, status, line.message, self.now)
            done = book.reconcile(wanted)
            note = strategy.note(view)
            finished = strategy.finished(book.book()) if strategy.may_finish else None
            if finished is not None:  # e.g. a grid past its stop-below: closed, then stopped
                stop_bot(bot, finished)
        self.trade_ids.extend(t.id for t in done.trades)
        line = (
            f"Resting orders: {len(book.active)} open, {len(done.trades)} fills this cycle "
            f"(price {_fmt(price)})"
        )
        if note and note != state.last_reason:  # said once, when it starts to hold
            log_activity(bot.id, ActivityKind.INFO, note)
        state.last_signal = "hold"
        state.last_price = quantize(price)
        state.last_reason = note or line
        if done.trades or done.placed or done.canceled:
            log_activity(bot.id, ActivityKind.CYCLE, line)
        self.succeeded(state)
        db.session.commit()
        return self.result(Outcome.TRADED if done.trades else Outcome.HOLD, done.summary())

    def wind_down(self, bot: Bot, state: BotState) -> CycleResult:
        """A stopped bot's resting orders are canceled (what filled first is recorded)."""
        try:
            if state.pending_client_order_id:
                waiting = self.resolve_pending(bot, state)
                if waiting is not None:
                    return waiting
            market = marketdata.market_info(bot.exchange, bot.symbol)
            if market is None:
                raise UnknownSymbol(f"The exchange no longer lists {bot.symbol}.")
            price = state.last_price or 0
            book = resting.RestingBook(bot, state, market, price, (), self.now)
            done = book.cancel_all()
        except ExchangeError as exc:  # the next tick tries again; the bot stays stopped
            db.session.rollback()
            logger.warning("bot %s: canceling its orders failed: %s", bot.id, exc.summary())
            return self.result(Outcome.ERROR, str(exc))
        self.trade_ids.extend(t.id for t in done.trades)
        db.session.commit()
        left = len(book.active)
        return self.result(
            Outcome.STOPPED,
            f"{len(done.canceled)} resting orders canceled" + (f", {left} left" if left else ""),
        )

    @staticmethod
    def succeeded(state: BotState) -> None:
        """The cycle did its work: a run of failed cycles (if any) is over. Not set earlier in
        the cycle, because an order intent is committed before the order can still fail."""
        state.consecutive_errors = 0
        state.failing_since = None

    # -- the parts, in their own modules -------------------------------------------------

    def resolve_pending(self, bot: Bot, state: BotState) -> CycleResult | None:
        """Settle an intent left by an earlier cycle; a result means "not yet, stop here"."""
        settled = placement.settle_intent(bot, state, self.now)
        if settled.trade is not None:
            self.trade_ids.append(settled.trade.id)
        if settled.waiting is not None:
            return self.result(Outcome.WAITING, settled.waiting)
        return None

    def failed(self, exc: Exception) -> CycleResult:
        outcome, message = failures.record_failure(self.bot_id, self.slot, self.now, exc)
        return self.result(outcome, message)
