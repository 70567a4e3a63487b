"""Backtests of strategies that keep limit orders resting (`Strategy.rests_orders`).

The replay runs the live engine's own reconcile rule (`webapp.engine.resting.plan`) on an
in-memory book, one cycle at each candle's open, as a bot cycling once per candle would:

- At the open the strategy sees the closed candles before it, the price (the open), its
  position, its resting orders and, per tag, the newest order that filled. The orders it no
  longer wants (or wants at another side, price or size) are canceled and the missing ones
  placed; one placed across the price (a buy at or above it) fills at once at the open, as a
  taker.
- Fill rule for resting orders: a resting buy at P fills at P in the first candle whose low is
  at or below P; a resting sell at P fills at P in the first candle whose high is at or above
  P, the candle it was placed at included; whole, at `fee_rate`. Such a fill is recorded at
  the next cycle (the next candle's open), as a live cycle finds it, together with the orders
  that open reaches, in the order they were placed (the candle does not say which of its
  prices came first), and answered there. Orders the last candle filled are recorded at its
  time.
- Position, fees and realized PnL through the live accounting (`apply_fill`), as in every
  backtest; the summary and the equity curve are the same figures.
"""

from __future__ import annotations

import dataclasses
import math
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from webapp.backtest.engine import (
    _GUARD,
    CURVE_POINTS,
    DAY_MS,
    PROGRESS_EVERY,
    Result,
    Settings,
    _Book,
    _summary,
)
from webapp.backtest.errors import Cancelled, NoCandles
from webapp.engine.accounting import to_decimal
from webapp.engine.resting import plan
from webapp.models import TradeReason
from webapp.strategies import Candle, Position, build_strategy
from webapp.strategies.book import Book, BookOrder

#: What each replayed trade says happened.
FILLED = "resting order filled at its price"
CROSSED = "order placed across the price, filled at once"
#: Closed candles the strategy is shown at each cycle (a live bot sees BOT_OHLCV_LIMIT).
WINDOW = 200


@dataclass
class _Order:
    seq: int
    tag: str
    side: str
    price: Decimal
    qty: Decimal

    def shown(
        self, status: str = "open", fill: dict | None = None, ts: int | None = None
    ) -> BookOrder:
        executed = self.qty if fill is not None else Decimal(0)
        return BookOrder(
            tag=self.tag,
            side=self.side,
            price=self.price,
            qty=self.qty,
            executed_qty=executed,
            status=status,
            average_price=Decimal(fill["price"]) if fill is not None else None,
            held_qty=Decimal(fill["qty"]) if fill is not None else Decimal(0),
            seq=self.seq,
            fee=Decimal(fill["fee"]) if fill is not None else Decimal(0),
            closed_ts=ts,
        )


class _Resting:
    """The resting orders by tag, with what each cycle shows of them kept alongside (the
    strategy's BookOrders, plan's (side, price, qty)), so a cycle copies them, not rebuilds."""

    def __init__(self) -> None:
        self.orders: dict[str, _Order] = {}
        self.shown: dict[str, BookOrder] = {}
        self.terms: dict[str, tuple[str, Decimal, Decimal]] = {}

    def add(self, order: _Order) -> None:
        self.orders[order.tag] = order
        self.shown[order.tag] = order.shown()
        self.terms[order.tag] = (order.side, order.price, order.qty)

    def remove(self, tag: str) -> None:
        del self.orders[tag], self.shown[tag], self.terms[tag]


class _Filled:
    """Per tag, its newest filled order; `shown()` gives them oldest first (by seq), kept in
    that order as orders fill and the same tuple while none does."""

    def __init__(self) -> None:
        self.by_tag: dict[str, BookOrder] = {}
        self._seqs: list[int] = []
        self._orders: list[BookOrder] = []
        self._shown: tuple[BookOrder, ...] | None = ()

    def add(self, order: BookOrder) -> None:
        old = self.by_tag.get(order.tag)
        if old is not None:
            i = bisect_left(self._seqs, old.seq)
            del self._seqs[i], self._orders[i]
        i = bisect_left(self._seqs, order.seq)
        self._seqs.insert(i, order.seq)
        self._orders.insert(i, order)
        self.by_tag[order.tag] = order
        self._shown = None

    def shown(self) -> tuple[BookOrder, ...]:
        if self._shown is None:
            self._shown = tuple(self._orders)
        return self._shown


def run(
    settings: Settings,
    candles: Sequence[Candle],
    warmup: Sequence[Candle] = (),
    *,
    progress: Callable[[int, int], bool | None] | None = None,
) -> Result:
    """Replay `candles` (oldest first) through a resting strategy; see the module docstring."""
    if not candles:
        raise NoCandles("No candles in this range.")
    market = settings.market()
    strategy = build_strategy(settings.strategy, settings.params)
    book = _Book(settings, market)
    seen: deque[Candle] = deque(warmup, maxlen=WINDOW)
    resting = _Resting()
    active = resting.orders
    filled = _Filled()
    touched: set[str] = set()  # reached inside the last candle: recorded at the next cycle
    seq = 0
    start_price = to_decimal(candles[0].open)  # a live bot's price at its first cycle
    total = len(candles)
    every = max(1, math.ceil(total / CURVE_POINTS))
    curve: list[list[Any]] = []
    peak = equity = 0.0
    max_dd = 0.0
    exposed = 0
    day_equity: list[float] = []
    next_day = (candles[0].ts // DAY_MS + 1) * DAY_MS
    # Returns and buy-and-hold measured against what the strategy trades with.
    measured = dataclasses.replace(
        settings, quote_amount=strategy.capital() or settings.quote_amount
    )
    capital = float(measured.quote_amount)

    def fill(order: _Order, ts: int, price: Decimal, why: str, *, limit: bool) -> None:
        book.fill(ts, order.side, order.qty, price, TradeReason.SIGNAL, why, slip=not limit)
        filled.add(order.shown("filled", book.trades[-1], ts))

    # Floats that let most candles skip the exact work: the highest resting buy and the
    # lowest resting sell (a candle whose range stays between them fills nothing), the band in
    # which the strategy's answer cannot change without a fill, and the book for the equity.
    # Each is widened by _GUARD, so a skip is taken only where the exact rule surely agrees.
    top_buy, low_sell = -math.inf, math.inf
    band_lo, band_hi = math.inf, -math.inf  # empty: ask the strategy
    qty_f = cost_f = realized_f = 0.0

    def refresh() -> None:
        nonlocal top_buy, low_sell, qty_f, cost_f, realized_f
        buys = [o.price for o in active.values() if o.side == "buy"]
        sells = [o.price for o in active.values() if o.side == "sell"]
        top_buy = float(max(buys)) * (1 + _GUARD) if buys else -math.inf
        low_sell = float(min(sells)) * (1 - _GUARD) if sells else math.inf
        qty_f = float(book.position.qty)
        cost_f = float(book.position.qty * book.position.avg_price)
        realized_f = float(book.realized)

    def _cycle(candle: Candle) -> None:
        """One live-style cycle at the candle's open."""
        nonlocal seq, band_lo, band_hi
        ts = candle.ts
        price = to_decimal(candle.open)
        # What filled since the last cycle: the orders the last candle's range reached, or
        # the open now reaches, recorded now in the order they were placed, as a live cycle
        # finds them.
        for order in list(active.values()):
            at = price <= order.price if order.side == "buy" else price >= order.price
            if (at or order.tag in touched) and book.stopped is None:
                resting.remove(order.tag)
                fill(order, ts, order.price, FILLED, limit=True)
        touched.clear()
        if book.stopped is not None:
            return
        view = Book(
            price=price,
            candles=tuple(seen),
            position=Position(book.position.qty, book.position.avg_price),
            active=dict(resting.shown),
            filled=filled.shown(),
            ts=ts,
            start_price=start_price,
        )
        steps = plan(market, dict(resting.terms), strategy.wanted_orders(view))
        book.refused += len(steps.refused)
        for tag, _why in steps.cancel:
            resting.remove(tag)
        for want in steps.place:
            seq += 1
            order = _Order(seq, want.tag, want.side, want.price, want.qty)
            crosses = want.price >= price if want.side == "buy" else want.price <= price
            if crosses:
                fill(order, ts, price, CROSSED, limit=False)
            else:
                resting.add(order)
        finished = None
        if strategy.may_finish:
            after = view  # nothing placed or canceled: the book is as the strategy saw it
            if steps.place or steps.cancel:
                after = dataclasses.replace(
                    view,
                    position=Position(book.position.qty, book.position.avg_price),
                    active=dict(resting.shown),
                    filled=filled.shown(),
                )
            finished = strategy.finished(after)
        if finished is not None:  # a live bot stops here (see webapp.engine.cycle)
            book.stopped = finished
            return
        steady = None if steps.place or steps.cancel else strategy.steady_band(view)
        if steady is None:
            band_lo, band_hi = math.inf, -math.inf
        else:
            band_lo = float(steady[0]) * (1 + _GUARD)
            band_hi = float(steady[1]) * (1 - _GUARD)

    for i, candle in enumerate(candles):
        if i and i % PROGRESS_EVERY == 0 and progress is not None and progress(i, total) is False:
            raise Cancelled("The backtest was cancelled.")
        ts, open_f, high_f, low_f = candle.ts, candle.open, candle.high, candle.low
        if ts >= next_day:
            day_equity.append(equity)
            next_day = (ts // DAY_MS + 1) * DAY_MS
        if book.stopped is None and ts >= book.paused_until:
            quiet = not touched and top_buy < open_f < low_sell and band_lo < open_f < band_hi
            if not quiet:
                if ts // DAY_MS != book.day:
                    book.day = ts // DAY_MS
                    book.pnl_today = Decimal(0)
                _cycle(candle)
                refresh()
            # Inside the candle: the resting orders its range reaches fill at their price;
            # the next cycle records them.
            if low_f <= top_buy or high_f >= low_sell:
                low, high = to_decimal(low_f), to_decimal(high_f)
                for order in active.values():
                    if (low <= order.price) if order.side == "buy" else (high >= order.price):
                        touched.add(order.tag)
        if qty_f > 0:
            exposed += 1
            equity = realized_f + qty_f * candle.close - cost_f
        else:
            equity = realized_f
        if equity > peak:
            peak = equity
        elif peak - equity > max_dd:
            max_dd = peak - equity
        if i % every == 0:
            curve.append([ts, round(equity, 8), candle.close])
        seen.append(candle)
    last = candles[-1]
    for order in list(active.values()):  # what the last candle filled, as a next cycle would
        if order.tag in touched and book.stopped is None:
            resting.remove(order.tag)
            fill(order, last.ts, order.price, FILLED, limit=True)
    if (total - 1) % every:
        curve.append([last.ts, round(equity, 8), last.close])
    day_equity.append(equity)
    if progress is not None:
        progress(total, total)
    summary = _summary(measured, market, book, candles, exposed, max_dd, day_equity, capital)
    summary["warmup_candles"] = len(warmup)
    summary["orders_resting_at_end"] = len(active)
    summary.update(strategy.book_summary(list(filled.shown())))
    return Result(summary, book.trades, curve)
