"""Trade rollups: per-day segments of the realized-PnL curve, kept as trades are recorded.

Pages and the API summarise a bot's or a user's whole history (counts, fees, realized PnL,
win rate, max drawdown, the cumulative-PnL chart) from one row per UTC day instead of every
trade. A day's row is a `Segment`: counts and sums, and the highest point, lowest point and
largest fall of the curve within the day, relative to where the day began. Segments
concatenate exactly (`Segment.then`), so folding the days in order gives the figures a pass
over every trade in (executed_at, id) order gives, to the last digit.

Rows are written in the transaction that inserts the trade: every flush that adds a `Trade`
(the engine's `record`, tests, the CLI) folds it in (see `after_flush`), first the bot's day
and then the user's, each row locked (SELECT ... FOR UPDATE) so concurrent cycles of one
user's bots queue on it instead of losing an update. A trade that sorts before the last one
folded into its day (a fill time from an exchange clock, a concurrent commit) makes that day
be recomputed from its trades; other days are untouched. Trades inserted in bulk, without the
ORM, need `rebuild_user` afterwards (the migration that created the tables did the same).
"""

from __future__ import annotations

import logging
from collections import namedtuple
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from webapp.engine.reports import BotReport, PnlPoint
from webapp.models import BotPnlDay, Trade, TradeSide, UserPnlDay
from webapp.models.bot import quantize

logger = logging.getLogger(__name__)

ZERO = Decimal(0)

#: The most points a cumulative-PnL curve sends, whatever the history (extremes kept).
MAX_POINTS = 500

#: Days in the "last 7 days" figure, today (UTC) included.
RECENT_DAYS = 7


@dataclass
class Segment:
    """One stretch of trades in time order (a day, or several days folded together)."""

    trades: int = 0
    buys: int = 0
    sells: int = 0
    wins: int = 0
    fees: Decimal = ZERO
    pnl: Decimal = ZERO
    peak: Decimal = ZERO
    trough: Decimal = ZERO
    drawdown: Decimal = ZERO
    peak_at: datetime | None = None
    trough_at: datetime | None = None
    first_at: datetime | None = None
    last_at: datetime | None = None
    last_trade_id: int | None = None
    max_trade_id: int | None = None

    @classmethod
    def of(cls, row) -> Segment:
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})

    def values(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def comes_after(self, at: datetime, trade_id: int) -> bool:
        """Whether a trade at `at` with id `trade_id` sorts after everything folded in."""
        if self.last_at is None or self.last_trade_id is None:
            return True
        return (at, trade_id) > (self.last_at, self.last_trade_id)

    def add(
        self, side: str, fee: Decimal, realized: Decimal | None, at: datetime, trade_id: int
    ) -> None:
        """Fold in one trade that sorts after every trade already in the segment."""
        self.trades += 1
        self.fees += fee
        if self.first_at is None:
            self.first_at = at
        self.last_at, self.last_trade_id = at, trade_id
        self.max_trade_id = max(self.max_trade_id or 0, trade_id)
        if side != TradeSide.SELL.value:
            self.buys += 1
            return
        self.sells += 1
        pnl = realized or ZERO
        if pnl > 0:
            self.wins += 1
        self.pnl += pnl
        if self.pnl > self.peak:
            self.peak, self.peak_at = self.pnl, at
        if self.pnl < self.trough:
            self.trough, self.trough_at = self.pnl, at
        self.drawdown = max(self.drawdown, self.peak - self.pnl)

    def then(self, later: Segment) -> Segment:
        """This segment followed by `later` (the curve of `later` continues from this one's)."""
        offset = self.pnl
        higher = offset + later.peak > self.peak
        lower = offset + later.trough < self.trough
        return Segment(
            trades=self.trades + later.trades,
            buys=self.buys + later.buys,
            sells=self.sells + later.sells,
            wins=self.wins + later.wins,
            fees=self.fees + later.fees,
            pnl=offset + later.pnl,
            peak=offset + later.peak if higher else self.peak,
            trough=offset + later.trough if lower else self.trough,
            drawdown=max(self.drawdown, later.drawdown, self.peak - (offset + later.trough)),
            peak_at=later.peak_at if higher else self.peak_at,
            trough_at=later.trough_at if lower else self.trough_at,
            first_at=self.first_at or later.first_at,
            last_at=later.last_at or self.last_at,
            last_trade_id=later.last_trade_id or self.last_trade_id,
            max_trade_id=max(self.max_trade_id or 0, later.max_trade_id or 0) or None,
        )


def utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


# -- writing -------------------------------------------------------------------------------


_ADDED_IN = "rollups.trades_added_in"


def adds_trades(session) -> bool:
    """Whether the session's open transaction has added trades: figures read inside it may
    still be rolled back, so they are not kept (`webapp.engine.kept`)."""
    added_in = session.info.get(_ADDED_IN)
    return added_in is not None and added_in is session.get_transaction()


def after_flush(session) -> None:
    """Fold the trades this flush inserted into their days (called by the models' hook)."""
    new = [obj for obj in session.new if isinstance(obj, Trade)]
    if not new:
        return
    session.info[_ADDED_IN] = session.get_transaction()
    conn = session.connection()
    for trade in sorted(new, key=lambda t: (t.executed_at, t.id)):
        record_trade(conn, trade)


def record_trade(conn: sa.Connection, trade: Trade) -> None:
    """Fold one inserted trade into its bot's day, then its user's day."""
    side = TradeSide(str(trade.side).lower()).value if trade.side else ""
    fee = quantize(Decimal(str(trade.fee or 0)))
    realized = None if trade.realized_pnl is None else quantize(Decimal(str(trade.realized_pnl)))
    at = trade.executed_at.astimezone(UTC)
    day = utc_day(at)
    for table, keys, scope in (
        (BotPnlDay.__table__, {"bot_id": trade.bot_id, "day": day}, Trade.bot_id == trade.bot_id),
        (UserPnlDay.__table__, {"user_id": trade.user_id, "day": day}, None),
    ):
        where = [table.c[name] == value for name, value in keys.items()]
        extra = {"user_id": trade.user_id}
        _insert_ignore(conn, table, {**keys, **extra})
        row = conn.execute(sa.select(table).where(*where).with_for_update()).one()
        segment = Segment.of(row)
        if segment.comes_after(at, trade.id):
            segment.add(side, fee, realized, at, trade.id)
        else:
            condition = scope if scope is not None else Trade.user_id == trade.user_id
            segment = _day_from_trades(conn, condition, day)
        conn.execute(sa.update(table).where(*where).values(**segment.values()))


def _insert_ignore(conn: sa.Connection, table: sa.Table, values: dict) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(table).values(**values).on_conflict_do_nothing())


def _trade_rows(conn: sa.Connection, condition, *extra) -> Iterable:
    query = (
        sa.select(Trade.id, Trade.side, Trade.fee, Trade.realized_pnl, Trade.executed_at)
        .where(condition, *extra)
        .order_by(Trade.executed_at, Trade.id)
    )
    return conn.execute(query.execution_options(yield_per=2000))


def _fold(rows: Iterable) -> dict[date, Segment]:
    days: dict[date, Segment] = {}
    for row in rows:
        day = utc_day(row.executed_at)
        segment = days.get(day)
        if segment is None:
            segment = days[day] = Segment()
        side = row.side.value if isinstance(row.side, TradeSide) else str(row.side)
        segment.add(side, row.fee or ZERO, row.realized_pnl, row.executed_at, row.id)
    return days


def _day_from_trades(conn: sa.Connection, condition, day: date) -> Segment:
    start, end = _day_bounds(day)
    rows = _trade_rows(conn, condition, Trade.executed_at >= start, Trade.executed_at < end)
    return _fold(rows).get(day, Segment())


def rebuild_user(conn: sa.Connection, user_id: int, days: Iterable[date] | None = None) -> None:
    """Recompute a user's rollups (every bot's and the user's) from the trades table.

    For trades inserted without the ORM, and after trades were deleted. With `days`, only the
    user's rows of those days are recomputed (the bots' rows are left as they are).
    """
    users, bots = UserPnlDay.__table__, BotPnlDay.__table__
    if days is not None:
        for day in sorted(set(days)):
            conn.execute(sa.delete(users).where(users.c.user_id == user_id, users.c.day == day))
            segment = _day_from_trades(conn, Trade.user_id == user_id, day)
            if segment.trades:
                conn.execute(users.insert().values(user_id=user_id, day=day, **segment.values()))
        return
    conn.execute(sa.delete(users).where(users.c.user_id == user_id))
    conn.execute(sa.delete(bots).where(bots.c.user_id == user_id))
    # One pass in (executed_at, id) order folds both: a bot's trades keep that order too.
    user_days: dict[date, Segment] = {}
    bot_days: dict[tuple[int, date], Segment] = {}
    query = sa.select(
        Trade.id, Trade.bot_id, Trade.side, Trade.fee, Trade.realized_pnl, Trade.executed_at
    ).where(Trade.user_id == user_id)
    rows = conn.execute(
        query.order_by(Trade.executed_at, Trade.id).execution_options(yield_per=5000)
    )
    for trade_id, bot_id, side, fee, realized, at in rows:
        day = utc_day(at)
        side = side.value if isinstance(side, TradeSide) else str(side)
        for segments, key in ((user_days, day), (bot_days, (bot_id, day))):
            segment = segments.get(key)
            if segment is None:
                segment = segments[key] = Segment()
            segment.add(side, fee or ZERO, realized, at, trade_id)
    if user_days:
        conn.execute(
            users.insert(),
            [{"user_id": user_id, "day": d, **seg.values()} for d, seg in user_days.items()],
        )
        conn.execute(
            bots.insert(),
            [
                {"bot_id": bot_id, "user_id": user_id, "day": d, **seg.values()}
                for (bot_id, d), seg in bot_days.items()
            ],
        )


# -- reading -------------------------------------------------------------------------------

_row_types: dict[tuple[str, ...], type] = {}


def plain_rows(result: sa.Result) -> list:
    """The rows as plain named tuples: `report` reads about twenty fields of every row, and a
    SQLAlchemy Row's attribute access costs about ten times a tuple's."""
    keys = tuple(result.keys())
    row_type = _row_types.get(keys)
    if row_type is None:
        row_type = _row_types[keys] = namedtuple("DayRow", keys)
    return [row_type._make(row) for row in result]


def fold_days(days: Sequence) -> Segment:
    """The segment of a run of day rows (oldest first)."""
    total = Segment()
    for day in days:
        total = total.then(Segment.of(day))
    return total


def report(
    days: Sequence,
    today: date,
    sells_loader=None,
) -> BotReport:
    """A BotReport from day rows (oldest first). `sells_loader(limit)` returns the sells as
    (executed_at, realized_pnl) oldest first, for an exact curve when there are few enough;
    without it the report carries no curve.

    One pass over the rows, as `Segment.then` would fold them (this runs on every page view).
    """
    recent = today - timedelta(days=RECENT_DAYS - 1)
    trades = buys = sells = wins = 0
    fees = cumulative = peak = drawdown = recent_pnl = ZERO
    last_at = None
    marks: list[tuple[datetime, Decimal]] = []
    for day in days:
        trades += day.trades
        buys += day.buys
        fees += day.fees
        if day.last_at is not None and (last_at is None or day.last_at > last_at):
            last_at = day.last_at
        if not day.sells:
            continue
        sells += day.sells
        wins += day.wins
        drawdown = max(drawdown, day.drawdown, peak - (cumulative + day.trough))
        peak = max(peak, cumulative + day.peak)
        if day.day >= recent:
            recent_pnl += day.pnl
        if sells_loader is not None:
            day_marks = {(day.last_at, cumulative + day.pnl)}
            if day.peak_at is not None:
                day_marks.add((day.peak_at, cumulative + day.peak))
            if day.trough_at is not None:
                day_marks.add((day.trough_at, cumulative + day.trough))
            marks.extend(sorted(day_marks))
        cumulative += day.pnl
    points: tuple[PnlPoint, ...] = ()
    if sells_loader is not None and sells:
        if sells <= MAX_POINTS:
            points = _exact_points(sells_loader(MAX_POINTS))
        else:
            points = _as_points(downsample(marks, MAX_POINTS))
    return BotReport(
        trade_count=trades,
        buys=buys,
        sells=sells,
        wins=wins,
        total_realized_pnl=cumulative,
        total_fees=fees,
        win_rate=Decimal(wins) / Decimal(sells) if sells else None,
        max_drawdown=drawdown,
        last_trade_at=last_at,
        points=points,
        realized_pnl_7d=recent_pnl,
    )


def _exact_points(sells: Iterable[tuple[datetime, Decimal | None]]) -> tuple[PnlPoint, ...]:
    points, cumulative = [], ZERO
    for at, pnl in sells:
        pnl = pnl or ZERO
        cumulative += pnl
        points.append(PnlPoint(at=at, pnl=pnl, cumulative=cumulative))
    return tuple(points)


def downsample(
    points: Sequence[tuple[datetime, Decimal]], limit: int
) -> list[tuple[datetime, Decimal]]:
    """At most `limit` points of a curve: per stretch its lowest and highest point, in time
    order, and the last point always (so the total and every drawdown stay visible)."""
    if len(points) <= limit:
        return list(points)
    buckets = max(1, (limit - 1) // 2)
    size = -(-(len(points) - 1) // buckets)
    kept: list[tuple[datetime, Decimal]] = []
    body = points[:-1]
    for first in range(0, len(body), size):
        chunk = body[first : first + size]
        low = min(chunk, key=lambda p: p[1])
        high = max(chunk, key=lambda p: p[1])
        kept.extend(sorted({low, high}))
    kept.append(points[-1])
    return kept[:limit] if len(kept) > limit else kept


def _as_points(curve: Sequence[tuple[datetime, Decimal]]) -> tuple[PnlPoint, ...]:
    points, before = [], ZERO
    for at, cumulative in curve:
        points.append(PnlPoint(at=at, pnl=cumulative - before, cumulative=cumulative))
        before = cumulative
    return tuple(points)


def without_curve(report_: BotReport) -> BotReport:
    return replace(report_, points=())
