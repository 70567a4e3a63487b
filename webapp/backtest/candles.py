"""The candles store: fetch history through ccxt, import Binance kline files, load ranges.

Fetching is resumable: it asks only for the bars missing from the store, commits every page
it stores, and inserts with "on conflict do nothing", so a fetch killed midway and run again
continues where it stopped, with neither gaps nor duplicates. Bars the exchange does not have
(a market that did not trade, an outage) are reported as gaps, not invented.

Imports read the data.binance.vision layout (`BTCUSDT-1m-2026-01.zip` or `.csv`, with or
without a header row, open times in milliseconds or microseconds). Every file is checked in
full before anything is written, so a malformed row leaves the store as it was.
"""

from __future__ import annotations

import array
import csv
import gc
import hashlib
import io
import itertools
import logging
import math
import re
import secrets
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from webapp.backtest.errors import BadKlineFile, BadRange, UnknownMarket
from webapp.exchange.clients import public_client
from webapp.exchange.errors import ExchangeError, translate_errors
from webapp.extensions import db
from webapp.models import CandleBar
from webapp.models.bot import TIMEFRAMES
from webapp.strategies import Candle

logger = logging.getLogger(__name__)

#: Bars per request: Binance serves at most 1000 klines per call (CANDLES_PAGE_SIZE).
PAGE = 1000
#: Rows handed to one executemany.
INSERT_CHUNK = 5000
#: Rows read from the store per fetch when loading a range.
LOAD_BATCH = 16384
#: Quote currencies, longest first, for turning "BTCUSDT" into "BTC/USDT".
QUOTES = ("FDUSD", "USDT", "USDC", "TUSD", "BUSD", "EUR", "TRY", "BTC", "ETH", "BNB", "DAI")


def timeframe_ms(timeframe: str) -> int:
    try:
        return TIMEFRAMES[timeframe] * 1000
    except KeyError:
        known = ", ".join(TIMEFRAMES)
        raise UnknownMarket(f"Unknown timeframe {timeframe!r}; use one of {known}.") from None


def source_for(exchange: str) -> str:
    """Where candles fetched now come from: the exchange, or its simulator or testnet."""
    cfg = current_app.config
    if cfg.get("EXCHANGE_SIM_URL"):
        return f"{exchange}-sim"
    if cfg.get("TESTNET_URL"):
        return f"{exchange}-testnet"
    return exchange


def exchange_of(source: str) -> str:
    return source.split("-", 1)[0]


def to_ms(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def ms_text(ms: int) -> str:
    return f"{from_ms(ms):%Y-%m-%d %H:%M} UTC"


# -- storing and reading -------------------------------------------------------------------


def _insert(rows: Sequence[dict]) -> None:
    """Insert bars, skipping any already stored (same source, symbol, timeframe, open time)."""
    if not rows:
        return
    dialect = db.session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    # executemany: SQLAlchemy batches the rows into multi-row INSERTs itself.
    stmt = module.insert(CandleBar.__table__).on_conflict_do_nothing()
    for start in range(0, len(rows), INSERT_CHUNK):
        db.session.execute(stmt, list(rows[start : start + INSERT_CHUNK]))


def _in_range(source: str, symbol: str, timeframe: str, start_ms: int, end_ms: int) -> tuple:
    """The conditions for one market's bars with open times in [start_ms, end_ms)."""
    return (
        CandleBar.source == source,
        CandleBar.symbol == symbol,
        CandleBar.timeframe == timeframe,
        CandleBar.ts >= start_ms,
        CandleBar.ts < end_ms,
    )


def stored_times(source: str, symbol: str, timeframe: str, start_ms: int, end_ms: int) -> list:
    """Open times of the stored bars in [start_ms, end_ms), oldest first."""
    return list(
        db.session.scalars(
            sa.select(CandleBar.ts)
            .where(*_in_range(source, symbol, timeframe, start_ms, end_ms))
            .order_by(CandleBar.ts)
        )
    )


def missing_runs(
    times: Sequence[int], start_ms: int, end_ms: int, step: int
) -> list[tuple[int, int]]:
    """[first, last] open times of each run of bars missing from `times` in [start, end)."""
    first = -(-start_ms // step) * step
    runs: list[tuple[int, int]] = []
    expected = first
    for ts in times:
        if ts > expected:
            runs.append((expected, ts - step))
        expected = max(expected, ts + step)
    last = (end_ms - 1) // step * step
    if expected <= last:
        runs.append((expected, last))
    return runs


def stored_sources() -> list[str]:
    """Every source the store holds bars from (fetched or imported), sorted."""
    return list(
        db.session.scalars(sa.select(CandleBar.source).distinct().order_by(CandleBar.source))
    )


def has_bars(source: str, symbol: str, timeframe: str, start_ms: int, end_ms: int) -> bool:
    """Whether the store holds at least one bar of the market in [start_ms, end_ms)."""
    return (
        db.session.scalar(
            sa.select(CandleBar.ts)
            .where(*_in_range(source, symbol, timeframe, start_ms, end_ms))
            .limit(1)
        )
        is not None
    )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch of bars is built.

    Tuples of numbers hold no reference cycles, but each one allocated counts toward the next
    collection: the collections building a year of them set off took about five times as long
    as the building itself.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class Bars(Sequence[Candle]):
    """Candles held as two arrays: open times (int64) and OHLCV (five float64s a bar).

    About 48 bytes a bar, where a list of `Candle` tuples takes about 250 (a tuple, an int
    and five floats each): two years of 1m bars are 50 MB instead of 260. `Candle`s are made
    on demand, a chunk at a time (`chunk`), and the arrays are the bytes `checksum` hashes.
    """

    __slots__ = ("times", "values")

    def __init__(self, times: array.array | None = None, values: array.array | None = None):
        self.times = array.array("q") if times is None else times
        self.values = array.array("d") if values is None else values

    @classmethod
    def of(cls, candles: Iterable[Sequence]) -> Bars:
        bars = cls()
        for c in candles:
            bars.times.append(c[0])
            bars.values.extend(c[1:6])
        return bars

    def __len__(self) -> int:
        return len(self.times)

    def chunk(self, start: int, stop: int) -> list[Candle]:
        """Bars [start, stop) as `Candle`s."""
        start, stop, _ = slice(start, stop).indices(len(self.times))
        v = self.values[5 * start : 5 * max(start, stop)]
        with _collector_paused():
            return list(
                map(
                    Candle._make,
                    zip(
                        self.times[start:stop],
                        v[0::5],
                        v[1::5],
                        v[2::5],
                        v[3::5],
                        v[4::5],
                        strict=True,
                    ),
                )
            )

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self.times))
            if step == 1:
                return self.chunk(start, stop)
            return [self[i] for i in range(start, stop, step)]
        if index < 0:
            index += len(self.times)
        if not 0 <= index < len(self.times):
            raise IndexError("bar index out of range")
        k = 5 * index
        return Candle(self.times[index], *self.values[k : k + 5])

    def __iter__(self):
        for start in range(0, len(self.times), LOAD_BATCH):
            yield from self.chunk(start, start + LOAD_BATCH)


@dataclass
class Loaded:
    """Candles of a range, oldest first."""

    candles: Bars

    @property
    def checksum(self) -> str:
        return checksum(self.candles)


def load(source: str, symbol: str, timeframe: str, start_ms: int, end_ms: int) -> Loaded:
    """The stored bars in [start_ms, end_ms), oldest first, as `Bars`."""
    table = CandleBar.__table__
    stmt = (
        sa.select(
            table.c.ts, table.c.open, table.c.high, table.c.low, table.c.close, table.c.volume
        )
        .where(
            table.c.source == source,
            table.c.symbol == symbol,
            table.c.timeframe == timeframe,
            table.c.ts >= start_ms,
            table.c.ts < end_ms,
        )
        .order_by(table.c.ts)
    )
    # A year of 1m bars is 525,600 rows: read them from the driver's own cursor in batches
    # (no Row objects, no result processing; the columns need no conversion) straight into
    # the arrays, so neither every row as a tuple nor every bar as a Candle is ever held.
    connection = db.session.connection()
    compiled = stmt.compile(dialect=connection.dialect)
    params = compiled.construct_params()
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup)
    raw = connection.connection.dbapi_connection
    if connection.dialect.name == "postgresql":
        # A server-side cursor: a client one would buffer the whole result in libpq first.
        cursor = raw.cursor(name=f"candles_{secrets.token_hex(4)}")
    else:
        cursor = raw.cursor()
    bars = Bars()
    times, values = bars.times, bars.values
    flat = itertools.chain.from_iterable
    try:
        cursor.execute(compiled.string, params)
        with _collector_paused():
            while rows := cursor.fetchmany(LOAD_BATCH):
                cells = list(flat(rows))
                times.fromlist(cells[0::6])
                del cells[0::6]
                values.fromlist(cells)
    finally:
        cursor.close()
    return Loaded(bars)


def checksum(*parts: Sequence[Candle]) -> str:
    """SHA-256 over every bar's open time and OHLCV as 64-bit values (all the open times of
    all `parts` first, then their values), as if the parts were one sequence."""
    digest = hashlib.sha256()
    columns = [p if isinstance(p, Bars) else Bars.of(p) for p in parts]
    # The arrays' own buffers (the bytes `tobytes` would copy: 40 MB for two years of 1m).
    for bars in columns:
        digest.update(bars.times)
    for bars in columns:
        digest.update(bars.values)
    return digest.hexdigest()


# -- fetching through ccxt -----------------------------------------------------------------


@dataclass
class FetchReport:
    source: str
    symbol: str
    timeframe: str
    start_ms: int
    end_ms: int
    stored: int = 0  # bars this run added
    requests: int = 0
    already: int = 0  # bars that were in the store before
    gaps: list[tuple[int, int]] = field(default_factory=list)  # runs the exchange lacks

    def lines(self) -> list[str]:
        out = [
            f"{self.symbol} {self.timeframe} from {self.source}, {ms_text(self.start_ms)} to "
            f"{ms_text(self.end_ms)}: {self.stored} new bars in {self.requests} requests, "
            f"{self.already} already stored."
        ]
        step = timeframe_ms(self.timeframe)
        for first, last in self.gaps[:20]:
            count = (last - first) // step + 1
            out.append(f"Gap: {count} bars missing from {ms_text(first)} to {ms_text(last)}.")
        if len(self.gaps) > 20:
            out.append(f"... and {len(self.gaps) - 20} more gaps.")
        if not self.gaps:
            out.append("No gaps.")
        return out


def fetch(
    exchange: str,
    symbol: str,
    timeframe: str,
    start: datetime,
    end: datetime | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> FetchReport:
    """Fill the store with the closed bars of [start, end) that are not in it yet.

    Commits after every page (so a killed fetch resumes), reports runs of bars the exchange
    does not have. Raises BadRange, UnknownMarket or our ExchangeError subclasses.
    """
    step = timeframe_ms(timeframe)
    source = source_for(exchange)
    client = public_client(exchange)
    try:
        with translate_errors():
            markets = client.load_markets()
            if symbol not in markets:
                raise UnknownMarket(f"The exchange does not list {symbol}.")
            server_now = int(client.fetch_time())
        start_ms = to_ms(start)
        # Only closed bars: the one in progress would change after it was stored.
        closed_until = server_now // step * step
        end_ms = min(to_ms(end), closed_until) if end else closed_until
        if start_ms >= end_ms:
            raise BadRange(
                f"Nothing to fetch: {ms_text(start_ms)} is not before {ms_text(end_ms)}."
            )
        times = stored_times(source, symbol, timeframe, start_ms, end_ms)
        report = FetchReport(source, symbol, timeframe, start_ms, end_ms, already=len(times))
        runs = missing_runs(times, start_ms, end_ms, step)
        total = sum((last - first) // step + 1 for first, last in runs)
        page = min(PAGE, int(current_app.config.get("CANDLES_PAGE_SIZE") or PAGE))
        done = 0
        for first, last in runs:
            cursor = first
            while cursor <= last:
                with translate_errors():
                    rows = client.fetch_ohlcv(symbol, timeframe, since=cursor, limit=page)
                report.requests += 1
                if len(rows) < page:
                    # The exchange ran out: its newest bar may still be in progress (its clock
                    # is the only one that knows), so it is left for a later fetch.
                    rows = rows[:-1]
                bars = [
                    _bar(source, symbol, timeframe, row)
                    for row in rows
                    if cursor <= int(row[0]) <= last and int(row[0]) % step == 0
                ]
                if not bars:
                    break  # the exchange has nothing more in this run
                _insert(bars)
                db.session.commit()
                report.stored += len(bars)
                done += len(bars)
                if progress is not None:
                    progress(done, total)
                cursor = bars[-1]["ts"] + step
    finally:
        client.close()
    times = stored_times(source, symbol, timeframe, start_ms, end_ms)
    report.gaps = missing_runs(times, start_ms, end_ms, step)
    logger.info(
        "fetched %s new %s %s bars from %s in %s requests (%s gaps)",
        report.stored,
        symbol,
        timeframe,
        source,
        report.requests,
        len(report.gaps),
    )
    return report


def _bar(source: str, symbol: str, timeframe: str, row: Sequence) -> dict:
    candle = Candle.from_ccxt(row)
    return {
        "source": source,
        "symbol": symbol,
        "timeframe": timeframe,
        "ts": candle.ts,
        "open": candle.open,
        "high": candle.high,
        "low": candle.low,
        "close": candle.close,
        "volume": candle.volume,
    }


# -- importing Binance kline files ---------------------------------------------------------

_NAME = re.compile(r"^(?P<symbol>[A-Z0-9]+)-(?P<timeframe>\d+[mhdw])-", re.IGNORECASE)
#: Open times above this are microseconds (Binance's spot files since 2025).
_MICROSECONDS = 10**14


@dataclass
class ImportReport:
    files: int = 0
    rows: int = 0
    stored: int = 0
    markets: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"Read {self.rows} rows from {self.files} files; {self.stored} new bars stored."]
        for (symbol, timeframe), (first, last) in sorted(self.markets.items()):
            out.append(f"{symbol} {timeframe}: {ms_text(first)} to {ms_text(last)}.")
        return out


def unified_symbol(market_id: str) -> str:
    """ "BTCUSDT" -> "BTC/USDT" (by the known quote currencies)."""
    upper = market_id.upper()
    for quote in QUOTES:
        if upper.endswith(quote) and len(upper) > len(quote):
            return f"{upper[: -len(quote)]}/{quote}"
    raise BadKlineFile(
        f"Cannot tell the quote currency of {market_id!r}; give the symbol with --symbol."
    )


def import_files(
    paths: Iterable[str | Path],
    *,
    source: str = "binance",
    symbol: str | None = None,
    timeframe: str | None = None,
) -> ImportReport:
    """Check every file, then store all their bars in one transaction."""
    report = ImportReport()
    batches: list[list[dict]] = []
    for path in paths:
        path = Path(path)
        for name, text in _members(path):
            sym, tf = _market_of(name, symbol, timeframe)
            bars = list(_parse(text, name, source, sym, tf))
            report.files += 1
            report.rows += len(bars)
            if bars:
                key = (sym, tf)
                first, last = bars[0]["ts"], bars[-1]["ts"]
                if key in report.markets:
                    first = min(first, report.markets[key][0])
                    last = max(last, report.markets[key][1])
                report.markets[key] = (first, last)
            batches.append(bars)
    if not report.files:
        raise BadKlineFile("No kline files given.")
    try:
        for bars in batches:
            before = _count(bars)
            _insert(bars)
            report.stored += _count(bars) - before
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    logger.info("imported %s bars from %s kline files", report.stored, report.files)
    return report


def _count(bars: list[dict]) -> int:
    if not bars:
        return 0
    b = bars[0]
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(CandleBar)
        .where(
            CandleBar.source == b["source"],
            CandleBar.symbol == b["symbol"],
            CandleBar.timeframe == b["timeframe"],
        )
    )


def _members(path: Path) -> Iterable[tuple[str, str]]:
    """(file name, text) of each CSV in `path` (a .csv, or a .zip of them)."""
    if not path.is_file():
        raise BadKlineFile(f"{path}: no such file.")
    try:
        if path.suffix.lower() == ".zip":
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
                if not names:
                    raise BadKlineFile(f"{path.name}: the archive holds no .csv file.")
                for name in names:
                    yield name, archive.read(name).decode("utf-8")
        else:
            yield path.name, path.read_text(encoding="utf-8")
    except zipfile.BadZipFile:
        raise BadKlineFile(f"{path.name}: not a readable zip archive.") from None
    except UnicodeDecodeError:
        raise BadKlineFile(f"{path.name}: not a text (CSV) file.") from None


def _market_of(name: str, symbol: str | None, timeframe: str | None) -> tuple[str, str]:
    match = _NAME.match(Path(name).name)
    if (symbol is None or timeframe is None) and match is None:
        raise BadKlineFile(
            f"{name}: the name does not say the market (like BTCUSDT-1m-2026-01.csv); "
            "give --symbol and --timeframe."
        )
    sym = symbol or unified_symbol(match["symbol"])
    tf = timeframe or match["timeframe"]
    timeframe_ms(tf)
    return sym, tf


def _parse(text: str, name: str, source: str, symbol: str, timeframe: str) -> Iterable[dict]:
    step = timeframe_ms(timeframe)
    previous = None
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not any(cell.strip() for cell in row):
            continue
        if number == 1 and not row[0].strip().lstrip("-").isdigit():
            continue  # the header row newer files have
        where = f"{name} line {number}"
        if len(row) < 6:
            raise BadKlineFile(f"{where}: expected at least 6 columns, found {len(row)}.")
        try:
            ts = int(row[0].strip())
        except ValueError:
            raise BadKlineFile(f"{where}: the open time {row[0]!r} is not a number.") from None
        if ts > _MICROSECONDS:
            ts //= 1000
        if ts < 0 or ts % step:
            raise BadKlineFile(f"{where}: {ts} is not the open time of a {timeframe} bar.")
        values = []
        for label, cell in zip(("open", "high", "low", "close", "volume"), row[1:6], strict=True):
            try:
                value = float(cell)
            except ValueError:
                raise BadKlineFile(f"{where}: the {label} {cell!r} is not a number.") from None
            if not math.isfinite(value) or value < 0 or (label != "volume" and value == 0):
                raise BadKlineFile(f"{where}: the {label} {cell!r} is not a usable price.")
            values.append(value)
        o, h, lo, c, v = values
        if h < max(o, c, lo) or lo > min(o, c):
            raise BadKlineFile(f"{where}: high and low do not bracket open and close.")
        if previous is not None and ts <= previous:
            raise BadKlineFile(f"{where}: open times must increase.")
        previous = ts
        yield {
            "source": source,
            "symbol": symbol,
            "timeframe": timeframe,
            "ts": ts,
            "open": o,
            "high": h,
            "low": lo,
            "close": c,
            "volume": v,
        }


def ensure_symbol(exchange: str, symbol: str) -> None:
    """UnknownMarket when the exchange does not list `symbol` (asks the shared market list)."""
    from webapp.engine import marketdata

    try:
        info = marketdata.market_info(exchange, symbol)
    except ExchangeError:
        raise
    if info is None:
        raise UnknownMarket(f"The exchange does not list {symbol}.")
