"""A DCA bot's deals as its page shows them: the current one, level by level, and the past.

The figures come from the bot's own orders (webapp.engine.resting) read through the strategy
(webapp.strategies.dca), so the page, the API and a backtest say the same.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from webapp.engine import marketdata, resting
from webapp.engine.marketdata import MarketInfo
from webapp.models import Bot
from webapp.strategies import StrategyError, build_strategy
from webapp.strategies.book import BookOrder, OrderWant
from webapp.strategies.dca import (
    DcaStrategy,
    DealReport,
    Level,
    deal_reports,
    is_open,
    level_tag,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CurrentDeal:
    number: int
    levels: list[Level]  # the base order first, then every safety order
    average_entry: Decimal | None
    take_profit: Decimal | None  # where the take-profit rests
    stop: Decimal | None  # the price the deal's stop-loss fires at
    #: How far (in %) the price may still fall and be met by a safety order.
    absorbs_pct: Decimal | None


@dataclass(frozen=True)
class DealPage:
    current: CurrentDeal | None
    past: list[DealReport]  # closed deals, newest first
    waiting: str | None  # why no deal is open, when none is


def _shown(level: Level, tag: str, order: BookOrder | None, market: MarketInfo | None) -> Level:
    """A level with the price and size it has on the exchange: what filled, what rests, or
    (not placed yet) what it will be once rounded to the market's tick and step."""
    price, qty = level.price, level.qty
    if order is not None and order.status != "open" and order.executed_qty > 0:
        price, qty = order.average_price or order.price, order.executed_qty
    elif order is not None:
        price, qty = order.price, order.qty
    elif market is not None:
        rounded = resting.normalize(market, OrderWant(tag, "buy", price, qty))
        price, qty = rounded.price, rounded.qty
    return Level(level.n, price, qty, level.cost, level.deviation_pct, order)


def is_dca(bot: Bot) -> bool:
    return bot.strategy == DcaStrategy.name


def deal_page(bot: Bot, past_limit: int = 20) -> DealPage | None:
    """The deals of a DCA bot; None for another strategy or unreadable settings."""
    if not is_dca(bot):
        return None
    try:
        strategy = build_strategy(bot.strategy, bot.params)
    except StrategyError:
        return None
    assert isinstance(strategy, DcaStrategy)
    state = bot.state
    price = state.last_price or Decimal(0)
    book = resting.book_for(bot, state, price, (), resting.active_orders(bot.id))
    reports = deal_reports(resting.filled_orders(bot.id))
    past = [r for r in reversed(reports) if r.closed_by is not None][:past_limit]
    deal = strategy.current(book)
    if not is_open(deal) or deal.base_price is None:
        waiting = None if is_open(deal) else strategy.waiting_text(book, deal)
        return DealPage(None, past, waiting)
    position = book.position
    market = marketdata.market_info(bot.exchange, bot.symbol)
    levels = []
    for level in strategy.ladder(deal.base_price):
        tag = level_tag(deal.number, level.n)
        order = deal.active.get(tag) or (deal.base if level.n == 0 else deal.safety.get(level.n))
        levels.append(_shown(level, tag, order, market))
    take_profit = deal.take_profit
    tp_price = (
        take_profit.price
        if take_profit is not None
        and take_profit.status
        in (
            "open",
            "intent",
        )
        else None
    )
    lowest = min((lv.price for lv in levels[1:] if not lv.filled), default=None)
    absorbs = None
    if price > 0:
        absorbs = max(Decimal(0), (price - lowest) / price * 100) if lowest else Decimal(0)
    return DealPage(
        CurrentDeal(
            number=deal.number,
            levels=levels,
            average_entry=position.avg_price if position.is_open else None,
            take_profit=tp_price,
            stop=strategy.stop_price(position),
            absorbs_pct=absorbs.quantize(Decimal("0.01")) if absorbs is not None else None,
        ),
        past,
        None,
    )
