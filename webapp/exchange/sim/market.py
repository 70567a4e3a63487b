"""Deterministic simulated prices: per-second paths, candles and 24h tickers.

Every price is a pure function of (seed, symbol, integer second) plus the overrides a test or an
operator applied (`set_price`, `freeze`), so two processes with the same seed agree and any
second, past or present, is cheap to evaluate without replaying history.

The model, per symbol: the log price moves one step of +/- delta every second (delta is the
symbol's daily volatility / sqrt(86400)).  Hour boundaries are pinned to a smooth multi-scale
"coarse" path (value noise over octaves from one hour to ~43 days), so the walk wanders like a
random walk over hours and days yet stays within ~+/-25% of the symbol's base price forever.
Inside each hour the 3600 up/down steps come from an RNG seeded by (seed, symbol, hour), with just
enough steps flipped for the hour to end where the coarse path says.  The extremes of any range
of seconds come from lookup tables over 12-step chunks, so a candle's high/low is exact with
respect to the per-second path at the cost of one lookup per 12 seconds (full hours are cached).
"""

from __future__ import annotations

import array
import bisect
import enum
import hashlib
import logging
import math
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from statistics import NormalDist

from .errors import ConfigError

logger = logging.getLogger(__name__)

HOUR = 3600
DAY = 86400
WEEK_OFFSET = 4 * DAY  # Binance weekly candles open on Monday; the epoch was a Thursday.

#: Candle intervals served by /klines, in seconds.
INTERVALS: dict[str, int] = {
    "1s": 1,
    "1m": 60,
    "3m": 180,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": HOUR,
    "2h": 2 * HOUR,
    "4h": 4 * HOUR,
    "6h": 6 * HOUR,
    "8h": 8 * HOUR,
    "12h": 12 * HOUR,
    "1d": DAY,
    "3d": 3 * DAY,
    "1w": 7 * DAY,
}

_OCTAVES = 11  # coarse path scales: 1 h .. 1024 h
_MAX_HOUR_NET = HOUR - 2
_NORMAL = NormalDist()

# (coin, base price in USDT, daily volatility or None for a seeded one in [2%, 6%]).
# BTC, ETH and SOL come first because tests and the README use them; the rest give a benchmark
# enough distinct symbols to spread bots over.
_COINS: tuple[tuple[str, float, float | None], ...] = (
    ("BTC", 60000, 0.025),
    ("ETH", 3000, 0.03),
    ("SOL", 150, 0.045),
    ("BNB", 580, None),
    ("XRP", 0.6, None),
    ("ADA", 0.45, None),
    ("DOGE", 0.15, None),
    ("AVAX", 35, None),
    ("DOT", 7, None),
    ("LINK", 15, None),
    ("POL", 0.7, None),
    ("LTC", 80, None),
    ("TRX", 0.12, None),
    ("SHIB", 0.000025, None),
    ("UNI", 8, None),
    ("ATOM", 9, None),
    ("XLM", 0.11, None),
    ("ETC", 27, None),
    ("BCH", 450, None),
    ("NEAR", 6, None),
    ("APT", 9, None),
    ("FIL", 5.5, None),
    ("ARB", 1.1, None),
    ("OP", 2.2, None),
    ("ICP", 12, None),
    ("HBAR", 0.08, None),
    ("VET", 0.03, None),
    ("ALGO", 0.18, None),
    ("INJ", 25, None),
    ("SUI", 1.2, None),
    ("SEI", 0.5, None),
    ("TIA", 9, None),
    ("AAVE", 100, None),
    ("MKR", 2500, None),
    ("GRT", 0.25, None),
    ("RUNE", 5, None),
    ("FTM", 0.6, None),
    ("SAND", 0.45, None),
    ("MANA", 0.45, None),
    ("AXS", 7, None),
    ("EGLD", 40, None),
    ("THETA", 1.8, None),
    ("XTZ", 0.9, None),
    ("EOS", 0.8, None),
    ("FLOW", 0.8, None),
    ("CHZ", 0.1, None),
    ("CRV", 0.45, None),
    ("LDO", 2, None),
    ("SNX", 2.8, None),
    ("COMP", 55, None),
    ("ZEC", 30, None),
    ("DASH", 30, None),
    ("KAVA", 0.7, None),
    ("ENS", 20, None),
    ("GALA", 0.03, None),
    ("PEPE", 0.000009, None),
    ("FET", 1.5, None),
    ("RENDER", 7, None),
    ("WLD", 3, None),
    ("JUP", 1, None),
    ("IMX", 2, None),
)


class Mode(enum.StrEnum):
    """How a stretch of a symbol's timeline is priced."""

    WALK = "walk"  # the seeded walk, shifted by a log offset
    FLAT = "flat"  # a constant price (frozen market or a price set while frozen)


def _uniform(key: str) -> float:
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") + 0.5) / 2.0**64


def _gauss(key: str) -> float:
    return _NORMAL.inv_cdf(_uniform(key))


def _build_tables() -> list[list[tuple[int, int, int]]]:
    """tables[r][v] = (net, max, min) of the walk positions 1..r for the r steps encoded in v.

    Bit j of v is step j (1 = up).  Built incrementally from the (r-1)-step table, so it costs
    about 8k tuple builds at first use.
    """
    tables: list[list[tuple[int, int, int]]] = [[(0, 0, 0)]]
    for r in range(1, 13):
        previous = tables[r - 1]
        table = []
        top = 1 << (r - 1)
        for v in range(1 << r):
            net, mx, mn = previous[v & (top - 1)] if r > 1 else (0, -(10**9), 10**9)
            net += 1 if v & top else -1
            table.append((net, max(mx, net), min(mn, net)))
        tables.append(table)
    return tables


_TABLES = _build_tables()
_T16: list[tuple[int, int, int]] = []


def _table16() -> list[tuple[int, int, int]]:
    """(net, max, min) for every 16-step chunk, combined from two 8-step entries (built once)."""
    if not _T16:
        t8 = _TABLES[8]
        table = []
        for high in t8:
            hnet, hmx, hmn = high
            for lnet, lmx, lmn in t8:
                table.append((lnet + hnet, max(lmx, lnet + hmx), min(lmn, lnet + hmn)))
        _T16.extend(table)
    return _T16


def _scan(bits: int, start: int, steps: int) -> tuple[int, int, int]:
    """Net move, max and min over `steps` steps, relative to (and including) position `start`."""
    if steps <= 0:
        return 0, 0, 0
    x = bits >> start
    full, rest = divmod(steps, 16)
    chunks = array.array("H")
    chunks.frombytes((x & ((1 << (16 * full)) - 1)).to_bytes(2 * full, "little"))
    if sys.byteorder != "little":
        chunks.byteswap()
    table = _T16 or _table16()
    pos = mx = mn = 0
    for chunk in chunks:
        net, cmx, cmn = table[chunk]
        if pos + cmx > mx:
            mx = pos + cmx
        if pos + cmn < mn:
            mn = pos + cmn
        pos += net
    x >>= 16 * full
    while rest:
        size = min(rest, 12)
        net, cmx, cmn = _TABLES[size][x & ((1 << size) - 1)]
        if pos + cmx > mx:
            mx = pos + cmx
        if pos + cmn < mn:
            mn = pos + cmn
        pos += net
        x >>= size
        rest -= size
    return pos, mx, mn


def _minute_activity(bits: int, minute: int) -> tuple[float, float, int]:
    """Synthetic (volume units, taker-buy units, trade count) of one minute of an hour."""
    ups = ((bits >> (60 * minute)) & 0xFFFFFFFFFFFFFFF).bit_count()
    move = abs(2 * ups - 60)
    volume = 8.0 + move
    return volume, volume * ups / 60.0, 30 + 5 * move


#: PERCENT_PRICE_BY_SIDE, as Binance lists it for BTCUSDT: a limit buy within 0.2x-5x of the
#: average price, a limit sell too.
BID_MULTIPLIER_UP = ASK_MULTIPLIER_UP = Decimal(5)
BID_MULTIPLIER_DOWN = ASK_MULTIPLIER_DOWN = Decimal("0.2")


@dataclass(frozen=True)
class MarketSpec:
    """A spot market and its Binance-style filters."""

    base: str
    quote: str
    base_price: float
    daily_vol: float
    tick_exp: int  # tickSize = 10**tick_exp
    step_exp: int  # stepSize = minQty = 10**step_exp
    min_notional: Decimal = Decimal("5")
    quote_volume_per_minute: float = 100000.0

    @property
    def id(self) -> str:
        return f"{self.base}{self.quote}"

    @property
    def symbol(self) -> str:
        return f"{self.base}/{self.quote}"

    @property
    def tick(self) -> Decimal:
        return Decimal(1).scaleb(self.tick_exp)

    @property
    def step(self) -> Decimal:
        return Decimal(1).scaleb(self.step_exp)

    @property
    def max_price(self) -> Decimal:
        return Decimal(10) ** (math.floor(math.log10(self.base_price)) + 4)

    @property
    def max_qty(self) -> Decimal:
        return Decimal(9000000)


def default_specs(quote: str = "USDT") -> list[MarketSpec]:
    """The built-in markets: ~60 coins against USDT with filters derived from their price."""
    specs = []
    for rank, (coin, price, vol) in enumerate(_COINS):
        exponent = math.floor(math.log10(price))
        daily_vol = vol if vol is not None else 0.02 + 0.04 * _uniform(f"vol/{coin}")
        specs.append(
            MarketSpec(
                base=coin,
                quote=quote,
                base_price=float(price),
                daily_vol=daily_vol,
                tick_exp=max(-8, min(-2, exponent - 5)),
                step_exp=-exponent - 1,
                quote_volume_per_minute=2_000_000.0 / (1 + rank) ** 0.8,
            )
        )
    return specs


class _Path:
    """The seeded base walk of one symbol, in integer units of delta (log-price steps)."""

    _MAX_BITS = 512
    _MAX_HOURS = 50000

    def __init__(self, seed: int, spec: MarketSpec) -> None:
        self._key = f"{seed}/{spec.id}"
        self.delta = spec.daily_vol / math.sqrt(DAY)
        self.log_base = math.log(spec.base_price)
        # amplitudes in units: an hourly increment of the coarse path has std ~60 = sqrt(3600),
        # matching the per-second walk it pins.
        self._amp = [30.0 * math.sqrt(2**k) for k in range(_OCTAVES)]
        self._phase = [int(_uniform(f"{self._key}/phase/{k}") * 2**k) for k in range(_OCTAVES)]
        self._lattice: dict[tuple[int, int], float] = {}
        self._coarse: dict[int, int] = {}
        self._bits: dict[int, int] = {}
        self._hours: dict[int, tuple[int, int, int, int, float, float, int]] = {}

    def _node(self, k: int, i: int) -> float:
        z = self._lattice.get((k, i))
        if z is None:
            if len(self._lattice) > 200000:
                self._lattice.clear()
            z = self._lattice[(k, i)] = _gauss(f"{self._key}/c/{k}/{i}")
        return z

    def coarse(self, hour: int) -> int:
        """Walk position (an even number of units) at the start of `hour`."""
        value = self._coarse.get(hour)
        if value is None:
            c = 0.0
            for k in range(_OCTAVES):
                span = 1 << k
                i, f = divmod(hour + self._phase[k], span)
                z0 = self._node(k, i)
                c += self._amp[k] * (z0 + (self._node(k, i + 1) - z0) * f / span)
            value = 2 * round(c / 2)
            if len(self._coarse) > 200000:
                self._coarse.clear()
            self._coarse[hour] = value
        return value

    def bits(self, hour: int) -> int:
        """The hour's 3600 steps (bit j = step from second j to j+1; 1 = up)."""
        bits = self._bits.get(hour)
        if bits is not None:
            return bits
        net = self.coarse(hour + 1) - self.coarse(hour)
        net = max(-_MAX_HOUR_NET, min(_MAX_HOUR_NET, net))
        target = (HOUR + net) // 2
        rng = random.Random(f"{self._key}/{hour}")
        bits = rng.getrandbits(HOUR)
        ones = bits.bit_count()
        draw = rng.randrange
        while ones > target:
            mask = 1 << draw(HOUR)
            if bits & mask:
                bits ^= mask
                ones -= 1
        while ones < target:
            mask = 1 << draw(HOUR)
            if not bits & mask:
                bits |= mask
                ones += 1
        if len(self._bits) >= self._MAX_BITS:
            self._bits.clear()
        self._bits[hour] = bits
        return bits

    def unit(self, t: int) -> int:
        hour, s = divmod(t, HOUR)
        if s == 0:
            return self.coarse(hour)
        return self.coarse(hour) + 2 * (self.bits(hour) & ((1 << s) - 1)).bit_count() - s

    def hour_summary(self, hour: int) -> tuple[int, int, int, int, float, float, int]:
        """(open, close, max, min, volume units, taker units, trades) over the hour's seconds."""
        summary = self._hours.get(hour)
        if summary is None:
            start = self.coarse(hour)
            bits = self.bits(hour)
            net, mx, mn = _scan(bits, 0, HOUR - 1)
            volume = taker = 0.0
            trades = 0
            for minute in range(60):
                v, tb, n = _minute_activity(bits, minute)
                volume += v
                taker += tb
                trades += n
            summary = (start, start + net, start + mx, start + mn, volume, taker, trades)
            if len(self._hours) >= self._MAX_HOURS:
                self._hours.clear()
            self._hours[hour] = summary
        return summary

    def summary(self, a: int, b: int) -> tuple[int, int, int, int, float, float, int]:
        """(open, close, max, min, volume units, taker units, trades) over seconds a..b."""
        first = last = hi = lo = 0
        volume = taker = 0.0
        trades = 0
        for hour in range(a // HOUR, b // HOUR + 1):
            origin = hour * HOUR
            s0 = max(a, origin) - origin
            s1 = min(b, origin + HOUR - 1) - origin
            if s0 == 0 and s1 == HOUR - 1:
                o, c, mx, mn, v, tb, n = self.hour_summary(hour)
                volume += v
                taker += tb
                trades += n
            else:
                bits = self.bits(hour)
                o = self.coarse(hour) + 2 * (bits & ((1 << s0) - 1)).bit_count() - s0
                net, rmx, rmn = _scan(bits, s0, s1 - s0)
                c, mx, mn = o + net, o + rmx, o + rmn
                for minute in range(s0 // 60, s1 // 60 + 1):
                    covered = min(s1, minute * 60 + 59) - max(s0, minute * 60) + 1
                    v, tb, n = _minute_activity(bits, minute)
                    volume += v * covered / 60.0
                    taker += tb * covered / 60.0
                    trades += n * covered // 60
            if hour == a // HOUR:
                first, hi, lo = o, mx, mn
            else:
                hi, lo = max(hi, mx), min(lo, mn)
            last = c
        return first, last, hi, lo, volume, taker, trades


@dataclass
class _Timeline:
    """Where a symbol's pricing mode or offset changes; append-only, sorted by second."""

    starts: list[int] = field(default_factory=lambda: [-(2**62)])
    segments: list[tuple[Mode, float]] = field(default_factory=lambda: [(Mode.WALK, 0.0)])

    def at(self, t: int) -> tuple[Mode, float]:
        return self.segments[bisect.bisect_right(self.starts, t) - 1]


@dataclass(frozen=True)
class Candle:
    """One kline; prices are decimal strings with 8 places, times in milliseconds."""

    open_time: int
    close_time: int
    open: str
    high: str
    low: str
    close: str
    volume: str
    quote_volume: str
    trades: int
    taker_base: str
    taker_quote: str

    def to_binance(self) -> list[object]:
        return [
            self.open_time,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            self.close_time,
            self.quote_volume,
            self.trades,
            self.taker_base,
            self.taker_quote,
            "0",
        ]


def _fmt8(value: float) -> str:
    return f"{value:.8f}"


class Market:
    """Prices of every simulated symbol, with the overrides applied by tests and operators."""

    def __init__(
        self,
        seed: int = 0,
        specs: list[MarketSpec] | None = None,
        clock: Callable[[], float] | None = None,
        frozen: bool = False,
    ) -> None:
        self.seed = seed
        self.clock = clock or time.time
        self.specs: dict[str, MarketSpec] = {s.id: s for s in (specs or default_specs())}
        self.by_symbol: dict[str, MarketSpec] = {s.symbol: s for s in self.specs.values()}
        self._paths = {sid: _Path(seed, spec) for sid, spec in self.specs.items()}
        self._timelines = {sid: _Timeline() for sid in self.specs}
        self._lock = threading.Lock()
        self._ticker_cache: dict[str, tuple[int, int, dict[str, object]]] = {}
        self.version = 0  # bumped on every override, so caches keyed on it stay correct
        self.frozen = False
        if frozen:
            self.freeze(True)

    # -- symbols ---------------------------------------------------------------------------

    def spec(self, symbol: str) -> MarketSpec:
        """Look a market up by exchange id ("BTCUSDT") or unified symbol ("BTC/USDT")."""
        spec = self.specs.get(symbol) or self.by_symbol.get(symbol)
        if spec is None:
            raise ConfigError(f"unknown symbol {symbol!r}")
        return spec

    def now(self) -> int:
        return int(self.clock())

    # -- single prices ---------------------------------------------------------------------

    def _log_price(self, sid: str, t: int) -> float:
        mode, value = self._timelines[sid].at(t)
        if mode is Mode.FLAT:
            return value
        path = self._paths[sid]
        return path.log_base + path.delta * path.unit(t) + value

    def _ticks(self, spec: MarketSpec, log_price: float) -> int:
        return max(1, round(math.exp(log_price) / 10.0**spec.tick_exp))

    def _format(self, spec: MarketSpec, ticks: int) -> str:
        digits = str(ticks * 10 ** (8 + spec.tick_exp))
        digits = digits.rjust(9, "0")
        return f"{digits[:-8]}.{digits[-8:]}"

    def price_str(self, symbol: str, t: int | None = None) -> str:
        """The price at second t (default: now) as an 8-decimal string, as the API shows it."""
        spec = self.spec(symbol)
        t = self.now() if t is None else t
        return self._format(spec, self._ticks(spec, self._log_price(spec.id, t)))

    def price(self, symbol: str, t: int | None = None) -> Decimal:
        """The price at second t (default: now), a multiple of the market's tick size."""
        return Decimal(self.price_str(symbol, t)).quantize(self.spec(symbol).tick)

    # -- overrides -------------------------------------------------------------------------

    def _append(self, sid: str, t: int, segment: tuple[Mode, float]) -> None:
        timeline = self._timelines[sid]
        cut = bisect.bisect_left(timeline.starts, t)  # forget anything at or after t
        starts = timeline.starts[:cut] or [-(2**62)]
        segments = timeline.segments[:cut] or [(Mode.WALK, 0.0)]
        starts.append(t)
        segments.append(segment)
        # replace both lists at once so lock-free readers always see a consistent pair
        self._timelines[sid] = _Timeline(starts, segments)

    def set_price(self, symbol: str, price: Decimal | float | str, t: int | None = None) -> None:
        """Make the price `price` from second t (default: now); the walk continues from there."""
        spec = self.spec(symbol)
        value = float(price)
        if not value > 0:
            raise ConfigError("price must be positive")
        with self._lock:
            t = self.now() if t is None else t
            mode, _ = self._timelines[spec.id].at(t)
            target = math.log(value)
            if mode is Mode.FLAT:
                self._append(spec.id, t, (Mode.FLAT, target))
            else:
                path = self._paths[spec.id]
                base = path.log_base + path.delta * path.unit(t)
                self._append(spec.id, t, (Mode.WALK, target - base))
            self.version += 1
        logger.info("price of %s set to %s", spec.symbol, price)

    def freeze(self, frozen: bool = True, t: int | None = None) -> None:
        """Stop (or resume) every walk; a resumed walk continues from the frozen price."""
        with self._lock:
            t = self.now() if t is None else t
            for sid, timeline in self._timelines.items():
                mode, value = timeline.at(t)
                if frozen and mode is Mode.WALK:
                    self._append(sid, t, (Mode.FLAT, self._log_price(sid, t)))
                elif not frozen and mode is Mode.FLAT:
                    path = self._paths[sid]
                    base = path.log_base + path.delta * path.unit(t)
                    self._append(sid, t, (Mode.WALK, value - base))
            self.frozen = frozen
            self.version += 1
        logger.info("market %s", "frozen" if frozen else "resumed")

    # -- ranges ----------------------------------------------------------------------------

    def _range(self, sid: str, a: int, b: int) -> tuple[float, float, float, float, tuple]:
        """Log prices (open, close, high, low) and walk activity over seconds a..b inclusive."""
        path = self._paths[sid]
        timeline = self._timelines[sid]
        starts, segments = timeline.starts, timeline.segments
        i = bisect.bisect_right(starts, a) - 1
        activity = None
        opening = closing = high = low = 0.0
        piece_start = a
        while piece_start <= b:
            piece_end = b if i + 1 >= len(starts) else min(b, starts[i + 1] - 1)
            mode, value = segments[i]
            o, c, mx, mn, volume, taker, trades = path.summary(piece_start, piece_end)
            if mode is Mode.FLAT:
                lo_, lc_, lh_, ll_ = value, value, value, value
            else:
                offset = path.log_base + value
                d = path.delta
                lo_, lc_, lh_, ll_ = (
                    offset + d * o,
                    offset + d * c,
                    offset + d * mx,
                    offset + d * mn,
                )
            if activity is None:
                opening, high, low = lo_, lh_, ll_
                activity = (volume, taker, trades)
            else:
                high, low = max(high, lh_), min(low, ll_)
                activity = (activity[0] + volume, activity[1] + taker, activity[2] + trades)
            closing = lc_
            piece_start = piece_end + 1
            i += 1
        return opening, closing, high, low, activity or (0.0, 0.0, 0)

    def extremes(self, symbol: str, a: int, b: int) -> tuple[Decimal, Decimal]:
        """(low, high) price over seconds a..b inclusive, for matching resting limit orders."""
        spec = self.spec(symbol)
        _, _, high, low, _ = self._range(spec.id, a, b)
        return (
            Decimal(self._format(spec, self._ticks(spec, low))),
            Decimal(self._format(spec, self._ticks(spec, high))),
        )

    def candle(self, symbol: str, open_s: int, interval_s: int, now: int | None = None) -> Candle:
        """The candle opening at second open_s; if it is still open it ends at `now`."""
        spec = self.spec(symbol)
        now = self.now() if now is None else now
        end = min(open_s + interval_s - 1, now)
        o, c, h, lo, (volume, taker, trades) = self._range(spec.id, open_s, end)
        ticks = [self._ticks(spec, x) for x in (o, h, lo, c)]
        prices = [self._format(spec, n) for n in ticks]
        scale = spec.quote_volume_per_minute / spec.base_price / 14.0
        mean = sum(ticks) / 4.0 * 10.0**spec.tick_exp
        return Candle(
            open_time=open_s * 1000,
            close_time=(open_s + interval_s) * 1000 - 1,
            open=prices[0],
            high=prices[1],
            low=prices[2],
            close=prices[3],
            volume=_fmt8(volume * scale),
            quote_volume=_fmt8(volume * scale * mean),
            trades=trades,
            taker_base=_fmt8(taker * scale),
            taker_quote=_fmt8(taker * scale * mean),
        )

    @staticmethod
    def align(t: int, interval_s: int) -> int:
        """Open second of the candle of `interval_s` containing second t."""
        if interval_s == 7 * DAY:
            return (t - WEEK_OFFSET) // interval_s * interval_s + WEEK_OFFSET
        return t // interval_s * interval_s

    def klines(
        self,
        symbol: str,
        interval: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
        now: int | None = None,
    ) -> list[Candle]:
        """Candles like Binance's /klines: the latest `limit`, or from start_ms, up to end_ms."""
        size = INTERVALS[interval]
        now = self.now() if now is None else now
        last = self.align(now, size)
        if end_ms is not None:
            last = min(last, self.align(end_ms // 1000, size))
        if start_ms is not None:
            first = self.align(-(-start_ms // 1000), size)
            if first * 1000 < start_ms:
                first += size
            opens = range(first, min(last, first + (limit - 1) * size) + 1, size)
        else:
            opens = range(max(last - (limit - 1) * size, 0), last + 1, size)
        return [self.candle(symbol, o, size, now) for o in opens]

    def ticker_24h(self, symbol: str, now: int | None = None) -> dict[str, object]:
        """Binance's /ticker/24hr entry for a rolling 24 h window ending at `now`."""
        spec = self.spec(symbol)
        now = self.now() if now is None else now
        cached = self._ticker_cache.get(spec.id)
        if cached is not None and cached[0] == now and cached[1] == self.version:
            return cached[2]
        start = now - DAY + 1
        o, c, h, lo, (volume, _, trades) = self._range(spec.id, start, now)
        ticks = {k: self._ticks(spec, x) for k, x in (("o", o), ("c", c), ("h", h), ("l", lo))}
        tick = 10.0**spec.tick_exp
        last = self._format(spec, ticks["c"])
        scale = spec.quote_volume_per_minute / spec.base_price / 14.0
        weighted = (ticks["o"] + ticks["c"] + ticks["h"] + ticks["l"]) / 4.0 * tick
        change_ticks = ticks["c"] - ticks["o"]
        sign = "-" if change_ticks < 0 else ""
        previous = self._format(spec, self._ticks(spec, self._log_price(spec.id, start - 1)))
        ticker: dict[str, object] = {
            "symbol": spec.id,
            "priceChange": sign + self._format(spec, abs(change_ticks)),
            "priceChangePercent": f"{100.0 * change_ticks / ticks['o']:.3f}",
            "weightedAvgPrice": _fmt8(weighted),
            "prevClosePrice": previous,
            "lastPrice": last,
            "lastQty": self._format_qty(spec, 1),
            "bidPrice": last,
            "bidQty": self._format_qty(spec, 1000),
            "askPrice": last,
            "askQty": self._format_qty(spec, 1000),
            "openPrice": self._format(spec, ticks["o"]),
            "highPrice": self._format(spec, ticks["h"]),
            "lowPrice": self._format(spec, ticks["l"]),
            "volume": _fmt8(volume * scale),
            "quoteVolume": _fmt8(volume * scale * weighted),
            "openTime": start * 1000,
            "closeTime": now * 1000 + 999,
            "firstId": 0,
            "lastId": trades - 1,
            "count": trades,
        }
        self._ticker_cache[spec.id] = (now, self.version, ticker)
        return ticker

    @staticmethod
    def _format_qty(spec: MarketSpec, steps: int) -> str:
        return f"{spec.step * steps:.8f}"
