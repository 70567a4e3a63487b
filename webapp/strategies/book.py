"""What a strategy that rests limit orders sees, and what it answers (see
`Strategy.rests_orders`).

Each cycle the engine shows the strategy its `Book` (the price, the closed candles, the
position, the orders resting now and the ones that have filled) and the strategy answers with
the orders it wants resting, each under a stable tag. The engine places what is missing and
cancels what is no longer wanted (webapp.engine.resting); the strategy never talks to the
exchange.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from webapp.strategies.base import Candle, Position

#: A tag is stored with each order (BotOrder.tag).
MAX_TAG_LENGTH = 32


@dataclass(frozen=True)
class OrderWant:
    """One limit order the strategy wants resting. The same tag with the same side, price
    and quantity at the next cycle means "leave it"; anything else replaces it."""

    tag: str
    side: str  # "buy" or "sell"
    price: Decimal
    qty: Decimal

    def __post_init__(self) -> None:
        if not self.tag or len(self.tag) > MAX_TAG_LENGTH:
            raise ValueError(f"an order tag needs 1 to {MAX_TAG_LENGTH} characters: {self.tag!r}")
        if self.side not in ("buy", "sell"):
            raise ValueError(f"an order side is buy or sell, not {self.side!r}")


@dataclass(frozen=True)
class BookOrder:
    """One of the bot's orders as the strategy sees it."""

    tag: str
    side: str
    price: Decimal
    qty: Decimal
    executed_qty: Decimal
    status: str  # webapp.models.OrderStatus values: intent, open, filled, canceled, rejected
    average_price: Decimal | None = None
    #: What the bot holds from a buy once a fee taken in base is paid (else executed_qty).
    held_qty: Decimal = Decimal(0)
    #: Newer orders have larger numbers: which of two tags' orders came last.
    seq: int = 0
    #: Fees paid on what filled, in the quote currency.
    fee: Decimal = Decimal(0)
    #: When it ended (filled, canceled...), epoch milliseconds; None while it may fill.
    closed_ts: int | None = None


@dataclass(frozen=True)
class Book:
    price: Decimal
    candles: Sequence[Candle]
    position: Position
    #: Orders that may still fill (sent or resting), by tag.
    active: dict[str, BookOrder]
    #: For each tag, its newest order that ended with something filled since the bot
    #: started, oldest first: what a strategy's state (which levels hold) is made of.
    filled: tuple[BookOrder, ...] = ()
    #: The cycle's time, epoch milliseconds (a backtest's: the candle's open).
    ts: int = 0
    #: The signal sent to the bot's URL that this cycle answers (one of the strategy's
    #: `signal_actions`), if any.
    signal: str | None = None
    #: The price at the bot's first cycle since it started (None: not known).
    start_price: Decimal | None = None
