"""What a bot does at one price: exits first, then its strategy, then the order's size.

Pure (no database, no exchange): a live cycle and a backtest both call `plan`, so the rules
for dust, stop-loss / take-profit, sizing within the market's limits and the daily limits
exist once. The caller fills the order its own way (paper, live, or a replayed candle).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from webapp.engine.accounting import (
    ExitReason,
    SizeResult,
    check_exit,
    size_order,
    size_sell,
)
from webapp.engine.marketdata import MarketInfo
from webapp.models import TradeReason
from webapp.models.bot import quantize
from webapp.numbers import plain as _fmt
from webapp.strategies import Decision, Position, Signal

logger = logging.getLogger(__name__)


class Rules(Protocol):
    """The bot settings the rules read (a `Bot` is one; so are a backtest's settings)."""

    symbol: str
    quote_amount: Decimal
    stop_loss_pct: Decimal | None
    take_profit_pct: Decimal | None
    daily_profit_target: Decimal | None
    daily_loss_limit: Decimal | None


@dataclass(frozen=True)
class Plan:
    """The outcome of the rules at one price.

    `position` is the position as the rules saw it (dust counts as none). `size` is None for
    a hold; a size that is not `ok` says why no order can be placed.
    """

    signal: Signal
    reason: TradeReason
    why: str
    position: Position
    size: SizeResult | None = None

    @property
    def hold(self) -> bool:
        return self.size is None

    @property
    def side(self) -> str:
        return self.signal.value


def visible_position(
    rules: Rules, market: MarketInfo, position: Position, price: Decimal
) -> Position:
    """Dust (less than the exchange can sell) counts as no position for exits and strategy.

    It stays in the books and the next buy adds to it, so the next sell takes it along.
    """
    if position.is_open and not sellable(rules, market, position, price):
        return Position()
    return position


def sellable(rules: Rules, market: MarketInfo, position: Position, price: Decimal) -> bool:
    return size_sell(
        position.qty,
        price,
        market.amount_step,
        market.min_qty,
        market.min_notional,
        symbol=rules.symbol,
    ).ok


def plan(
    rules: Rules,
    market: MarketInfo,
    position: Position,
    price: Decimal,
    decide: Callable[[Position], Decision],
) -> Plan:
    """Apply the rules at `price`; `decide` asks the strategy, only when no exit fires."""
    position = visible_position(rules, market, position, price)
    exit_reason = check_exit(position, price, rules.stop_loss_pct, rules.take_profit_pct)
    if exit_reason is not None:
        signal = Signal.SELL
        reason = TradeReason(exit_reason.value)
        why = exit_text(rules, position, price, exit_reason)
    else:
        decision = decide(position)
        signal, why, reason = decision.signal, decision.reason, TradeReason.SIGNAL
    if signal is Signal.HOLD or (signal is Signal.SELL and not position.is_open):
        return Plan(signal, reason, why, position)
    return Plan(signal, reason, why, position, size_for(rules, market, signal, position, price))


def size_for(
    rules: Rules, market: MarketInfo, signal: Signal, position: Position, price: Decimal
) -> SizeResult:
    if signal is Signal.BUY:
        return size_order(
            rules.quote_amount,
            price,
            market.amount_step,
            market.min_qty,
            market.min_notional,
            market.max_qty,
            symbol=rules.symbol,
        )
    return size_sell(
        position.qty,
        price,
        market.amount_step,
        market.min_qty,
        market.min_notional,
        symbol=rules.symbol,
    )


def exit_text(rules: Rules, position: Position, price: Decimal, reason: ExitReason) -> str:
    avg = position.avg_price
    if reason is ExitReason.STOP_LOSS:
        pct = rules.stop_loss_pct
        trigger = avg * (1 - pct / 100)
        return (
            f"stop-loss {_fmt(pct)}%: price {_fmt(price)} <= {_fmt(quantize(trigger))} "
            f"(entry {_fmt(avg)})"
        )
    pct = rules.take_profit_pct
    trigger = avg * (1 + pct / 100)
    return (
        f"take-profit {_fmt(pct)}%: price {_fmt(price)} >= {_fmt(quantize(trigger))} "
        f"(entry {_fmt(avg)})"
    )


class DailyLimit(enum.StrEnum):
    LOSS_LIMIT = "daily_loss_limit"  # the bot stops
    PROFIT_TARGET = "daily_profit_target"  # the bot rests until the next UTC midnight


def daily_limit(rules: Rules, pnl_today: Decimal, paused: bool) -> DailyLimit | None:
    """Which daily limit today's realized PnL reached after a sell, if any."""
    if rules.daily_loss_limit and pnl_today <= -rules.daily_loss_limit:
        return DailyLimit.LOSS_LIMIT
    if rules.daily_profit_target and pnl_today >= rules.daily_profit_target and not paused:
        return DailyLimit.PROFIT_TARGET
    return None
