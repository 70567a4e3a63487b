"""A grid bot as its page, its price chart and the API show it: the ladder level by level,
what rests at each, the completed pairs and their profit, and what the grid holds.

The figures come from the bot's own orders (webapp.engine.resting) read through the strategy
(webapp.strategies.grid), the same reading a backtest's summary makes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from webapp.engine import resting
from webapp.models import Bot, BotOrder
from webapp.models.bot import quantize
from webapp.strategies import StrategyError, build_strategy
from webapp.strategies.book import BookOrder
from webapp.strategies.grid import GridStrategy, completed_pairs

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GridLevel:
    n: int  # 0 is the lower price, the last the upper price
    price: Decimal
    #: The order resting at this level: interval n's buy, or interval n - 1's sell.
    order: BookOrder | None

    @property
    def side(self) -> str | None:
        return self.order.side if self.order is not None else None


@dataclass(frozen=True)
class GridPage:
    levels: list[GridLevel]  # lowest first
    pairs: int  # completed buy-sell pairs
    profit: Decimal  # their profit, after fees, in the quote currency
    held: Decimal  # base the grid holds now
    average_entry: Decimal | None  # of what it holds, buy fees in
    price: Decimal | None  # at the bot's last cycle
    #: What selling what it holds at that price would add, before the sell's fee.
    unrealized: Decimal | None
    trigger: Decimal | None
    stop_below: Decimal | None
    take_above: Decimal | None
    #: The bot runs and waits for its trigger price.
    waiting: bool


def is_grid(bot: Bot) -> bool:
    return bot.strategy == GridStrategy.name


def grid_page(bot: Bot, active: list[BotOrder] | None = None) -> GridPage | None:
    """A grid bot's ladder and figures; None for another strategy or unreadable settings.
    `active`: the bot's active orders, when the caller has read them already."""
    if not is_grid(bot):
        return None
    try:
        strategy = build_strategy(bot.strategy, bot.params)
    except StrategyError:
        return None
    assert isinstance(strategy, GridStrategy)
    state = bot.state
    if active is None:
        active = resting.active_orders(bot.id)
    by_tag = {row.tag: resting.shown(row) for row in active}
    levels = []
    for n, price in enumerate(strategy.levels()):
        order = by_tag.get(f"g{n}b") or (by_tag.get(f"g{n - 1}s") if n else None)
        levels.append(GridLevel(n, price, order))
    pairs = completed_pairs(resting.filled_orders(bot.id))
    held, avg = state.position_qty, state.position_avg_price
    price = state.last_price
    unrealized = None
    if held > 0 and price is not None:
        unrealized = quantize(held * (price - avg))
    waiting = False
    if state.is_running and price is not None:
        book = resting.book_for(bot, state, price, (), active)
        waiting = strategy.waiting(book)
    values = strategy.values
    return GridPage(
        levels=levels,
        pairs=len(pairs),
        profit=sum((p.profit for p in pairs), Decimal(0)),
        held=held,
        average_entry=avg if held > 0 else None,
        price=price,
        unrealized=unrealized,
        trigger=values.get("trigger_price"),
        stop_below=values.get("stop_below"),
        take_above=values.get("take_above"),
        waiting=waiting,
    )


__all__ = ["GridLevel", "GridPage", "grid_page", "is_grid"]
