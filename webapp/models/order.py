"""Resting orders: the limit orders a bot keeps on the exchange (or, in paper mode, in its own
book), each under a stable tag its strategy chose.

A row is written, as an intent, BEFORE its order is sent, and carries the client order id the
order goes out with; so a worker killed between sending and recording leaves a row that the
next cycle looks up by that id, never an order the bot does not know about, and never a
second one. What has filled so far (`executed_qty`, `filled_cost`, `fee`) is written in the
same transaction as the trades for it, so a fill seen twice is recorded once.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.extensions import db
from webapp.models.bot import Amount, BotMode, TradeSide
from webapp.models.types import UTCDateTime, string_enum, utcnow


class OrderStatus(enum.StrEnum):
    INTENT = "intent"  # written; the order may or may not have reached the exchange
    OPEN = "open"  # resting: on the exchange (live) or in the bot's book (paper)
    FILLED = "filled"
    CANCELED = "canceled"  # ended before filling in full (`executed_qty` may be above 0)
    REJECTED = "rejected"  # refused by the exchange, or it never arrived; nothing traded

    @property
    def is_active(self) -> bool:
        return self in (OrderStatus.INTENT, OrderStatus.OPEN)


#: The statuses of an order that may still fill.
ACTIVE_STATUSES = (OrderStatus.INTENT, OrderStatus.OPEN)


class BotOrder(db.Model):
    __tablename__ = "bot_orders"
    __table_args__ = (
        # Each cycle reads the bot's active orders; pages read its newest ones.
        sa.Index("ix_bot_orders_bot_id_status", "bot_id", "status"),
        sa.Index("ix_bot_orders_bot_id_id", "bot_id", "id"),
        # A strategy's state: the newest order of each tag.
        sa.Index("ix_bot_orders_bot_id_tag_id", "bot_id", "tag", "id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    bot_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("bots.id", ondelete="CASCADE"))
    # The strategy's name for the order ("grid-3-buy", "dca-tp"): one active order per tag.
    tag: so.Mapped[str] = so.mapped_column(sa.String(32))
    side: so.Mapped[TradeSide] = so.mapped_column(string_enum(TradeSide, 4))
    symbol: so.Mapped[str] = so.mapped_column(sa.String(32))
    mode: so.Mapped[BotMode] = so.mapped_column(string_enum(BotMode))
    price: so.Mapped[Decimal] = so.mapped_column(Amount)
    qty: so.Mapped[Decimal] = so.mapped_column(Amount)
    status: so.Mapped[OrderStatus] = so.mapped_column(
        string_enum(OrderStatus), default=OrderStatus.INTENT
    )
    # Set once the row has an id (written before the order leaves); unique across bots.
    client_order_id: so.Mapped[str | None] = so.mapped_column(sa.String(36), unique=True)
    exchange_order_id: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    # What has filled so far, as recorded in trades: gross quantity, its cost in quote, the
    # fees in quote, the quantity held after fees taken in base, and how many trades.
    executed_qty: so.Mapped[Decimal] = so.mapped_column(Amount, default=Decimal(0))
    filled_cost: so.Mapped[Decimal] = so.mapped_column(Amount, default=Decimal(0))
    fee: so.Mapped[Decimal] = so.mapped_column(Amount, default=Decimal(0))
    held_qty: so.Mapped[Decimal] = so.mapped_column(Amount, default=Decimal(0))
    fills: so.Mapped[int] = so.mapped_column(default=0)
    note: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    # Paper: the open time (epoch ms) of the newest closed candle when the order was placed;
    # the candles after it are the ones that can fill it (market time, not this host's).
    placed_after_ts: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    # When it ended in market time (epoch ms, the open of the candle in progress): what a
    # DCA's cooldown counts from, the same live and in a backtest.
    closed_ts: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    closed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return (
            f"<BotOrder {self.id} bot={self.bot_id} {self.tag} {self.side} {self.qty} "
            f"@ {self.price} {self.status}>"
        )

    @classmethod
    def any_active(cls, bot_id: int) -> bool:
        """Whether the bot has an order that may still fill (sent or resting)."""
        query = sa.select(cls.id).where(cls.bot_id == bot_id, cls.status.in_(ACTIVE_STATUSES))
        return db.session.scalar(query.limit(1)) is not None

    @property
    def remaining_qty(self) -> Decimal:
        return max(Decimal(0), self.qty - self.executed_qty)

    @property
    def average_price(self) -> Decimal | None:
        return self.filled_cost / self.executed_qty if self.executed_qty > 0 else None
