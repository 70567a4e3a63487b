"""Per-day rollups of trades, so pages summarise any history in a few rows.

One row per bot and UTC day (`BotPnlDay`) and one per user and UTC day (`UserPnlDay`, the
user's bots merged in time order). Each row is a segment of the cumulative realized-PnL curve
(see `webapp.engine.rollups`): its counts and sums, and the highest point, lowest point and
largest fall within the day relative to the curve at the day's start. Segments concatenate,
so any run of days gives exactly the figures a pass over every trade would give.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.extensions import db
from webapp.models.bot import Amount
from webapp.models.types import UTCDateTime

ZERO = Decimal(0)


class PnlDayColumns:
    """The columns both rollups share (one segment of the realized-PnL curve)."""

    day: so.Mapped[date] = so.mapped_column(sa.Date)  # UTC
    trades: so.Mapped[int] = so.mapped_column(default=0)
    buys: so.Mapped[int] = so.mapped_column(default=0)
    sells: so.Mapped[int] = so.mapped_column(default=0)
    wins: so.Mapped[int] = so.mapped_column(default=0)
    fees: so.Mapped[Decimal] = so.mapped_column(Amount, default=ZERO)
    pnl: so.Mapped[Decimal] = so.mapped_column(Amount, default=ZERO)
    # Relative to the curve at the day's start: highest (>= 0) and lowest (<= 0) point, the
    # largest fall from a running high to a later low, and when the extremes were reached.
    peak: so.Mapped[Decimal] = so.mapped_column(Amount, default=ZERO)
    trough: so.Mapped[Decimal] = so.mapped_column(Amount, default=ZERO)
    drawdown: so.Mapped[Decimal] = so.mapped_column(Amount, default=ZERO)
    peak_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    trough_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    first_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # The last trade folded in, in (executed_at, id) order: a trade sorting before it makes the
    # day be recomputed from its trades instead of appended to.
    last_trade_id: so.Mapped[int | None] = so.mapped_column()
    # The highest trade id in the day, whatever its time: pages poll with it to see new trades.
    max_trade_id: so.Mapped[int | None] = so.mapped_column()


class BotPnlDay(PnlDayColumns, db.Model):
    __tablename__ = "bot_pnl_days"
    __table_args__ = (
        sa.PrimaryKeyConstraint("bot_id", "day"),
        # The dashboard: every bot of a user in one range scan.
        sa.Index("ix_bot_pnl_days_user_id_day", "user_id", "day"),
    )

    bot_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("bots.id", ondelete="CASCADE"))
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))

    def __repr__(self) -> str:
        return f"<BotPnlDay bot={self.bot_id} {self.day} trades={self.trades} pnl={self.pnl}>"


class UserPnlDay(PnlDayColumns, db.Model):
    __tablename__ = "user_pnl_days"
    __table_args__ = (sa.PrimaryKeyConstraint("user_id", "day"),)

    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))

    def __repr__(self) -> str:
        return f"<UserPnlDay user={self.user_id} {self.day} trades={self.trades} pnl={self.pnl}>"


@sa.event.listens_for(so.Session, "after_flush")
def _fold_new_trades(session: so.Session, _flush_context) -> None:
    """Every trade added through the ORM updates its rollups in the same transaction."""
    from webapp.engine import rollups

    rollups.after_flush(session)
