"""Per-bot and per-user performance figures computed from stored trades.

Realized PnL is never recomputed here: each sell already carries the amount
`webapp.engine.accounting.apply_fill` returned (fees included), and reports only add up.

`combine(reports)` merges the per-sell points of each report into one time-ordered curve and
recomputes the drawdown on it, so `combine([summarize(a), summarize(b)])` equals
`summarize(a + b)` (trades with identical timestamps keep the order of the reports).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from webapp.engine.accounting import to_decimal

logger = logging.getLogger(__name__)

ZERO = Decimal(0)


class TradeLike(Protocol):
    """What a report needs from a trade: the `Trade` model satisfies it, as does a namedtuple."""

    @property
    def side(self) -> str: ...
    @property
    def qty(self) -> Decimal: ...
    @property
    def price(self) -> Decimal: ...
    @property
    def fee(self) -> Decimal: ...
    @property
    def realized_pnl(self) -> Decimal | None: ...
    @property
    def executed_at(self) -> datetime: ...


@dataclass(frozen=True)
class PnlPoint:
    """One sell on the cumulative realized PnL curve."""

    at: datetime
    pnl: Decimal  # realized by this sell
    cumulative: Decimal  # running total up to and including this sell


@dataclass(frozen=True)
class BotReport:
    """Headline figures for one bot (or, via `combine`, for several).

    `win_rate` is a fraction in [0, 1] (a sell wins when its realized PnL is > 0), None when
    there are no sells. `max_drawdown` is the largest fall from a running peak of cumulative
    realized PnL, starting at 0, as a positive quote-currency amount.
    """

    trade_count: int = 0
    buys: int = 0
    sells: int = 0
    wins: int = 0
    total_realized_pnl: Decimal = ZERO
    total_fees: Decimal = ZERO
    win_rate: Decimal | None = None
    max_drawdown: Decimal = ZERO
    last_trade_at: datetime | None = None
    points: tuple[PnlPoint, ...] = field(default=(), repr=False)
    realized_pnl_7d: Decimal = ZERO  # sells of the last 7 UTC days, today included

    @property
    def pnl_series(self) -> list[tuple[datetime, Decimal]]:
        """(time, cumulative realized PnL) after each sell, oldest first, for a chart."""
        return [(p.at, p.cumulative) for p in self.points]

    @property
    def win_rate_pct(self) -> Decimal | None:
        return None if self.win_rate is None else self.win_rate * 100


def summarize(trades: Iterable[TradeLike], *, today: date | None = None) -> BotReport:
    """Report over `trades` (any order; they are sorted by `executed_at`, stably); the last
    7 days end with `today` (UTC), the current day by default."""
    ordered = sorted(trades, key=lambda t: t.executed_at)
    recent = (today or datetime.now(UTC).date()) - timedelta(days=6)
    buys = sells = wins = 0
    fees = recent_pnl = ZERO
    sell_pnls: list[tuple[datetime, Decimal]] = []
    for trade in ordered:
        fees += to_decimal(trade.fee or 0)
        side = _side(trade.side)
        if side == "buy":
            buys += 1
            continue
        if side != "sell":
            raise ValueError(f"trade side must be buy or sell, got {trade.side!r}")
        sells += 1
        if trade.realized_pnl is None:
            logger.warning("sell at %s has no realized PnL; counted as 0", trade.executed_at)
        pnl = to_decimal(trade.realized_pnl or 0)
        if pnl > 0:
            wins += 1
        if trade.executed_at.astimezone(UTC).date() >= recent:
            recent_pnl += pnl
        sell_pnls.append((trade.executed_at, pnl))
    report = _build(
        trade_count=len(ordered),
        buys=buys,
        sells=sells,
        wins=wins,
        total_fees=fees,
        last_trade_at=ordered[-1].executed_at if ordered else None,
        sell_pnls=sell_pnls,
    )
    return replace(report, realized_pnl_7d=recent_pnl)


def combine(reports: Sequence[BotReport]) -> BotReport:
    """One report across bots: counts and fees add up, win rate is over the pooled sells, and
    the drawdown is measured on the merged time-ordered PnL curve (not summed per bot)."""
    merged = sorted(
        ((p.at, p.pnl) for report in reports for p in report.points), key=lambda item: item[0]
    )
    last_times = [r.last_trade_at for r in reports if r.last_trade_at is not None]
    report = _build(
        trade_count=sum(r.trade_count for r in reports),
        buys=sum(r.buys for r in reports),
        sells=sum(r.sells for r in reports),
        wins=sum(r.wins for r in reports),
        total_fees=sum((r.total_fees for r in reports), ZERO),
        last_trade_at=max(last_times) if last_times else None,
        sell_pnls=merged,
    )
    return replace(report, realized_pnl_7d=sum((r.realized_pnl_7d for r in reports), ZERO))


def max_drawdown(pnls: Iterable[Decimal]) -> Decimal:
    """Largest peak-to-trough fall of the running sum of `pnls`, the curve starting at 0."""
    cumulative = peak = worst = ZERO
    for pnl in pnls:
        cumulative += pnl
        peak = max(peak, cumulative)
        worst = max(worst, peak - cumulative)
    return worst


def _build(
    *,
    trade_count: int,
    buys: int,
    sells: int,
    wins: int,
    total_fees: Decimal,
    last_trade_at: datetime | None,
    sell_pnls: Sequence[tuple[datetime, Decimal]],
) -> BotReport:
    points: list[PnlPoint] = []
    cumulative = ZERO
    for at, pnl in sell_pnls:
        cumulative += pnl
        points.append(PnlPoint(at=at, pnl=pnl, cumulative=cumulative))
    return BotReport(
        trade_count=trade_count,
        buys=buys,
        sells=sells,
        wins=wins,
        total_realized_pnl=cumulative,
        total_fees=total_fees,
        win_rate=Decimal(wins) / Decimal(sells) if sells else None,
        max_drawdown=max_drawdown(pnl for _, pnl in sell_pnls),
        last_trade_at=last_trade_at,
        points=tuple(points),
    )


def _side(side: object) -> str:
    # Accepts plain strings and str-valued enums ("buy", Side.BUY, "BUY").
    return str.lower(side) if isinstance(side, str) else str(getattr(side, "value", side)).lower()
