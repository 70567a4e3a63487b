"""Replay candles through a bot's strategy and the live engine's rules and accounting.

Nothing here re-implements trading: exits, strategy, dust and sizing come from
`webapp.engine.decision.plan`, fills from `webapp.engine.orders.paper_fill`, position and
realized PnL from `webapp.engine.accounting.apply_fill`, the daily limits from
`decision.daily_limit`, and strategies run in their incremental form (`Strategy.stepper`),
the same code a live cycle runs.

Fill model (what a live bot cycling once per candle, just after it opens, would do):

- At each candle's open the bot "cycles": it sees the closed candles before it, and the
  current price is the open. Stop-loss / take-profit are checked at that price first, then
  the strategy. An order fills at that open (the signal of candle i fills at candle i+1's
  open), paying `fee_rate` of its value; `slippage_bps` moves the fill price against the
  order (buys higher, sells lower).
- With `exit_model` "intrabar" (the default), stop-loss and take-profit also fire inside the
  candle when its low / high reaches their level, filling at the level. When one candle
  reaches both, the stop-loss is taken: the candle does not say which came first, and
  assuming the worse keeps results from flattering the strategy. With "open", exits are
  checked at the opens only, exactly as a live bot cycling once per candle sees them.
- Daily limits as live: reaching the daily loss limit stops the bot (the replay stops
  trading), reaching the daily profit target pauses it until the next UTC midnight.
- A position still open at the end is valued at the last close (not sold).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from webapp.backtest.errors import Cancelled, NoCandles
from webapp.engine import decision
from webapp.engine.accounting import (
    ExitReason,
    apply_fill,
    exit_levels,
    round_to_step,
    size_order,
    size_sell,
    to_decimal,
)
from webapp.engine.marketdata import MarketInfo
from webapp.engine.orders import paper_fill
from webapp.models import TradeReason
from webapp.models.bot import quantize
from webapp.numbers import plain
from webapp.strategies import Candle, Position, Signal, build_strategy

logger = logging.getLogger(__name__)

DAY_MS = 86_400_000
#: Points kept for the equity curve and price chart (the metrics use every candle).
CURVE_POINTS = 1000
#: Candles between progress reports (and cancel checks).
PROGRESS_EVERY = 16384
EXIT_MODELS = ("intrabar", "open")
ZERO = Decimal(0)
#: Floats this close to an exit level are checked exactly (Decimal) rather than skipped.
_GUARD = 1e-9


@dataclass(frozen=True)
class Settings:
    """Everything a result depends on besides the candles; also the `Rules` of decisions."""

    symbol: str
    timeframe: str
    strategy: str
    params: Mapping[str, Any]
    quote_amount: Decimal
    stop_loss_pct: Decimal | None = None
    take_profit_pct: Decimal | None = None
    daily_profit_target: Decimal | None = None
    daily_loss_limit: Decimal | None = None
    fee_rate: Decimal = Decimal("0.001")
    slippage_bps: Decimal = ZERO
    exit_model: str = "intrabar"
    amount_step: Decimal | None = None
    min_qty: Decimal | None = None
    max_qty: Decimal | None = None
    min_notional: Decimal | None = None
    price_step: Decimal | None = None  # the tick resting limit orders are rounded to

    def market(self) -> MarketInfo:
        base, quote = self.symbol.split("/", 1)
        return MarketInfo(
            symbol=self.symbol,
            base=base,
            quote=quote,
            active=True,
            amount_step=self.amount_step,
            min_qty=self.min_qty,
            max_qty=self.max_qty,
            min_notional=self.min_notional,
            taker_fee=self.fee_rate,
            price_step=self.price_step,
            maker_fee=self.fee_rate,
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Decimal):
                value = plain(value)
            elif isinstance(value, Mapping):
                value = {k: plain(v) if isinstance(v, Decimal) else v for k, v in value.items()}
            out[f.name] = value
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Settings:
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            if f.name in ("symbol", "timeframe", "strategy", "exit_model"):
                values[f.name] = str(value)
            elif f.name == "params":
                values[f.name] = dict(value or {})
            else:
                values[f.name] = None if value is None else Decimal(str(value))
        return cls(**values)


@dataclass
class Result:
    summary: dict[str, Any]
    trades: list[dict[str, Any]]
    equity: list[list[Any]]  # [ts ms, equity, close]

    def to_json(self) -> str:
        """Canonical text: equal results are equal bytes."""
        return json.dumps(
            {"summary": self.summary, "trades": self.trades, "equity": self.equity},
            sort_keys=True,
            separators=(",", ":"),
        )


def code_version() -> str:
    """Hash of the code a result depends on (this engine, the rules, the strategies)."""
    global _CODE_VERSION
    if _CODE_VERSION is None:
        root = Path(__file__).resolve().parents[1]
        files = [
            root / "backtest" / "engine.py",
            root / "backtest" / "resting.py",
            root / "engine" / "resting.py",
            root / "engine" / "accounting.py",
            root / "engine" / "decision.py",
            root / "engine" / "orders.py",
            *sorted((root / "strategies").glob("*.py")),
        ]
        digest = hashlib.sha256()
        for path in files:
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
        _CODE_VERSION = digest.hexdigest()[:16]
    return _CODE_VERSION


_CODE_VERSION: str | None = None


def fingerprint(settings: Settings, start_ms: int, end_ms: int, candle_checksum: str) -> str:
    payload = json.dumps(
        {
            "settings": settings.to_json(),
            "range": [start_ms, end_ms],
            "candles": candle_checksum,
            "code": code_version(),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


class _Book:
    """The replayed bot's position and books, updated only through the live accounting."""

    def __init__(self, settings: Settings, market: MarketInfo) -> None:
        self.settings = settings
        self.market = market
        self.position = Position()
        self.realized = ZERO
        self.fees = ZERO
        self.pnl_today = ZERO
        self.day = -1
        self.paused_until = -1
        self.stopped: str | None = None
        self.trades: list[dict[str, Any]] = []
        self.wins = 0
        self.gross_profit = ZERO
        self.gross_loss = ZERO
        self.refused = 0
        # Dust bands by position size: buys of one order size repeat the same few quantities.
        self._bands: dict[Decimal, tuple[float, float]] = {}
        slip = settings.slippage_bps / Decimal(10000)
        self.slip_buy, self.slip_sell = 1 + slip, 1 - slip
        self.slipped = slip != 0
        self._levels()

    def _levels(self) -> None:
        """Float guards around the exit levels and the dust price, so most candles can skip
        the Decimal checks; the rules themselves always decide (see `run`)."""
        s = self.settings
        position = self.position
        self.qty_f = float(position.qty)
        self.cost_f = float(position.qty * position.avg_price)
        self.realized_f = float(self.realized)
        if not position.is_open:
            self.stop_f, self.take_f = -math.inf, math.inf
            self.stop = self.take = None
            self.dust_lo = self.dust_hi = 0.0
            return
        self.stop, self.take = exit_levels(position, s.stop_loss_pct, s.take_profit_pct)
        self.stop_f = -math.inf if self.stop is None else float(self.stop) * (1 + _GUARD)
        self.take_f = math.inf if self.take is None else float(self.take) * (1 - _GUARD)
        band = self._bands.get(position.qty)
        if band is None:
            band = self._bands[position.qty] = self._dust_band()
        self.dust_lo, self.dust_hi = band

    def _dust_band(self) -> tuple[float, float]:
        """Below `lo` the position is dust (too small to sell), above `hi` it is not.

        Only the minimum notional depends on the price, so sellability flips once, at about
        min_notional / quantity; the live rule (`decision.sellable`) confirms it on both
        sides, and when it does not the band covers every price (nothing is skipped).
        """
        m = self.market
        never = (0.0, math.inf)
        step = round_to_step(self.position.qty, m.amount_step)
        if step <= 0 or (m.min_qty is not None and step < m.min_qty):
            return (math.inf, math.inf)  # dust at any price
        if m.min_notional is None:
            return (0.0, 0.0)  # sellable at any price
        pivot = float(m.min_notional / step)
        lo, hi = pivot * (1 - _GUARD), pivot * (1 + _GUARD)
        s, position = self.settings, self.position
        if decision.sellable(s, m, position, to_decimal(lo * (1 - _GUARD))) or not (
            decision.sellable(s, m, position, to_decimal(hi * (1 + _GUARD)))
        ):
            return never
        return lo, hi

    def fill(
        self, ts: int, side: str, qty: Decimal, price: Decimal, reason, why: str, slip=True
    ) -> None:
        """`slip` False for a limit order, which fills at its own price."""
        if self.slipped and slip:
            price = quantize(price * (self.slip_buy if side == "buy" else self.slip_sell))
        fill = paper_fill(self.market, side, qty, price)
        new_position, realized = apply_fill(self.position, side, fill.qty, fill.price, fill.fee)
        # Stored as the live engine stores a trade and a bot's position (12 places).
        self.position = Position(quantize(new_position.qty), quantize(new_position.avg_price))
        fee = quantize(fill.fee)
        trade = {
            "time": ts,
            "side": side,
            "qty": plain(quantize(fill.qty)),
            "price": plain(quantize(fill.price)),
            "fee": plain(fee),
            "realized_pnl": None,
            "reason": reason.value,
            "why": why,
        }
        self.fees += fee
        if side == "sell":
            realized = quantize(realized)
            trade["realized_pnl"] = plain(realized)
            self.realized += realized
            if realized > 0:
                self.wins += 1
                self.gross_profit += realized
            else:
                self.gross_loss -= realized
            self.pnl_today = quantize(self.pnl_today + realized)
            reached = decision.daily_limit(self.settings, self.pnl_today, ts < self.paused_until)
            if reached is decision.DailyLimit.LOSS_LIMIT:
                self.stopped = (
                    f"daily loss limit reached on {_day_text(ts)}: {plain(self.pnl_today)} "
                    "realized that day; a live bot would have stopped"
                )
            elif reached is decision.DailyLimit.PROFIT_TARGET:
                self.paused_until = (ts // DAY_MS + 1) * DAY_MS
        self.trades.append(trade)
        self._levels()


def run(
    settings: Settings,
    candles: Sequence[Candle],
    warmup: Sequence[Candle] = (),
    *,
    progress: Callable[[int, int], bool | None] | None = None,
) -> Result:
    """Replay `candles` (oldest first); `warmup` candles before them only feed the strategy.

    `progress(done, total)` is called every PROGRESS_EVERY candles; returning False cancels
    (raises Cancelled). Raises NoCandles for an empty range.
    """
    if not candles:
        raise NoCandles("No candles in this range.")
    market = settings.market()
    strategy = build_strategy(settings.strategy, settings.params)
    if strategy.rests_orders:
        from webapp.backtest import resting

        return resting.run(settings, candles, warmup, progress=progress)
    stepper = strategy.stepper()
    for candle in warmup:
        stepper.update(candle)
    book = _Book(settings, market)
    intrabar = settings.exit_model == "intrabar"
    signal = stepper.signal
    update = stepper.update
    hold = Signal.HOLD
    total = len(candles)
    every = max(1, math.ceil(total / CURVE_POINTS))
    next_point = 0
    curve: list[list[Any]] = []
    peak = equity = 0.0
    max_dd = 0.0
    exposed = 0
    day_equity: list[float] = []
    day = candles[0].ts // DAY_MS
    next_day = (day + 1) * DAY_MS
    capital = float(settings.quote_amount)
    # The book's state as floats, in locals: it changes only when the rules run (a fill), so
    # it is read back from the book after each of those and not looked up on every candle.
    qty_f, cost_f, realized_f = book.qty_f, book.cost_f, book.realized_f
    stop_f, take_f, dust_lo, dust_hi = book.stop_f, book.take_f, book.dust_lo, book.dust_hi
    active, paused_until = book.stopped is None, book.paused_until

    for base in range(0, total, PROGRESS_EVERY):
        if base and progress is not None and progress(base, total) is False:
            raise Cancelled("The backtest was cancelled.")
        # One chunk at a time: the store's `Bars` make their Candles per chunk, so a long
        # range is never held as Candle objects all at once.
        for i, candle in enumerate(candles[base : base + PROGRESS_EVERY], base):
            ts, open_, high, low, close = candle[:5]
            if ts >= next_day:
                day_equity.append(equity)
                day = ts // DAY_MS
                next_day = (day + 1) * DAY_MS
            if active and ts >= paused_until:
                if day != book.day:
                    book.day = day
                    book.pnl_today = ZERO
                # Skip the rules only where they surely hold: the strategy holds for the
                # position as the rules will see it (dust counts as none) and no exit level
                # is near.
                if qty_f <= 0 or open_ < dust_lo:
                    skip = signal(False) is hold
                elif open_ > dust_hi:
                    skip = stop_f < open_ < take_f and signal(True) is hold
                else:
                    skip = False
                ran = not skip
                if ran:
                    _cycle(book, stepper, ts, to_decimal(open_))
                    qty_f, stop_f, take_f = book.qty_f, book.stop_f, book.take_f
                if (
                    intrabar
                    and qty_f > 0
                    and book.stopped is None
                    and (low <= stop_f or high >= take_f)
                ):
                    _intrabar_exit(book, ts, candle)
                    ran = True
                if ran:
                    qty_f, cost_f, realized_f = book.qty_f, book.cost_f, book.realized_f
                    stop_f, take_f = book.stop_f, book.take_f
                    dust_lo, dust_hi = book.dust_lo, book.dust_hi
                    active, paused_until = book.stopped is None, book.paused_until
            if qty_f > 0:
                exposed += 1
                equity = realized_f + qty_f * close - cost_f
            else:
                equity = realized_f
            if equity > peak:
                peak = equity
            elif peak - equity > max_dd:
                max_dd = peak - equity
            if i == next_point:
                curve.append([ts, round(equity, 8), close])
                next_point += every
            update(candle)
    last = candles[-1]
    if (total - 1) % every:
        curve.append([last.ts, round(equity, 8), last.close])
    day_equity.append(equity)
    if progress is not None:
        progress(total, total)
    summary = _summary(settings, market, book, candles, exposed, max_dd, day_equity, capital)
    summary["warmup_candles"] = len(warmup)
    return Result(summary, book.trades, curve)


def _cycle(book: _Book, stepper, ts: int, price: Decimal) -> None:
    """One live-style cycle at `price`: the live engine's plan, filled like paper mode."""
    plan = decision.plan(book.settings, book.market, book.position, price, stepper.decision)
    if plan.hold:
        return
    if not plan.size.ok:
        book.refused += 1
        return
    book.fill(ts, plan.side, plan.size.qty, price, plan.reason, plan.why)


def _intrabar_exit(book: _Book, ts: int, candle: Candle) -> None:
    """Stop-loss at the low, else take-profit at the high, filled at the level itself."""
    s = book.settings
    position = decision.visible_position(s, book.market, book.position, to_decimal(candle.open))
    if not position.is_open:
        return
    low, high = to_decimal(candle.low), to_decimal(candle.high)
    if book.stop is not None and low <= book.stop:
        reason, level = ExitReason.STOP_LOSS, quantize(book.stop)
    elif book.take is not None and high >= book.take:
        reason, level = ExitReason.TAKE_PROFIT, quantize(book.take)
    else:
        return
    size = decision.size_for(s, book.market, Signal.SELL, position, level)
    if not size.ok:
        book.refused += 1
        return
    why = decision.exit_text(s, position, level, reason) + " inside the candle"
    book.fill(ts, "sell", size.qty, level, TradeReason(reason.value), why)


def _summary(
    settings: Settings,
    market: MarketInfo,
    book: _Book,
    candles: Sequence[Candle],
    exposed: int,
    max_dd: float,
    day_equity: list[float],
    capital: float,
) -> dict[str, Any]:
    first, last = candles[0], candles[-1]
    sells = [t for t in book.trades if t["side"] == "sell"]
    unrealized = ZERO
    if book.position.is_open:
        unrealized = quantize(
            book.position.qty * (to_decimal(last.close) - book.position.avg_price)
        )
    total_pnl = book.realized + unrealized
    quote = settings.quote_amount
    hold_pnl = _buy_and_hold(settings, market, first, last)
    returns = [b - a for a, b in zip([0.0, *day_equity], day_equity, strict=False)]
    sharpe = None
    if len(returns) >= 2:
        mean = sum(returns) / len(returns)
        var = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
        if var > 0:
            sharpe = round(mean / math.sqrt(var) * math.sqrt(365), 4)
    profit_factor = None
    if book.gross_loss > 0:
        profit_factor = plain(round(book.gross_profit / book.gross_loss, 4))
    elif book.gross_profit > 0:
        profit_factor = "inf"
    return {
        "candles": len(candles),
        "first_candle": first.ts,
        "last_candle": last.ts,
        "trades": len(book.trades),
        "buys": len(book.trades) - len(sells),
        "sells": len(sells),
        "realized_pnl": plain(book.realized),
        "unrealized_pnl": plain(unrealized),
        "total_pnl": plain(total_pnl),
        "fees": plain(book.fees),
        "return_pct": plain(round(total_pnl / quote * 100, 4)),
        "buy_and_hold_pnl": None if hold_pnl is None else plain(hold_pnl),
        "buy_and_hold_return_pct": None
        if hold_pnl is None
        else plain(round(hold_pnl / quote * 100, 4)),
        "max_drawdown": plain(round(Decimal(repr(max_dd)), 8)),
        "max_drawdown_pct": plain(round(Decimal(repr(max_dd / capital * 100)), 4)),
        "win_rate_pct": plain(round(Decimal(book.wins * 100) / len(sells), 2)) if sells else None,
        "profit_factor": profit_factor,
        "sharpe_daily": sharpe,
        "exposure_pct": plain(round(Decimal(exposed * 100) / len(candles), 2)),
        "open_qty": plain(book.position.qty),
        "open_avg_price": plain(book.position.avg_price),
        "orders_refused": book.refused,
        "stopped": book.stopped,
    }


def _buy_and_hold(
    settings: Settings, market: MarketInfo, first: Candle, last: Candle
) -> Decimal | None:
    """Buy `quote_amount` at the first open, sell at the last close, with the same fees."""
    buy_price, sell_price = to_decimal(first.open), to_decimal(last.close)
    step, min_qty, notional = market.amount_step, market.min_qty, market.min_notional
    size = size_order(settings.quote_amount, buy_price, step, min_qty, notional, market.max_qty)
    if not size.ok:
        return None
    buy = paper_fill(market, "buy", size.qty, buy_price)
    position, _ = apply_fill(Position(), "buy", buy.qty, buy.price, buy.fee)
    position = Position(quantize(position.qty), quantize(position.avg_price))
    out = size_sell(position.qty, sell_price, step, min_qty, notional)
    if not out.ok:
        return None
    sell = paper_fill(market, "sell", out.qty, sell_price)
    _, realized = apply_fill(position, "sell", sell.qty, sell.price, sell.fee)
    return quantize(realized)


def _day_text(ts: int) -> str:
    return f"{datetime.fromtimestamp(ts / 1000, UTC):%Y-%m-%d}"
