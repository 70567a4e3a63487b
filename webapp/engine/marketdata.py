"""Market lists and candles, fetched once and shared by every bot through Redis.

Two caches, both keyed by where the data comes from (the simulator, a testnet or the live
exchange), so switching EXCHANGE_SIM_URL never mixes markets:

- the market list (symbols with their precision, limits and fees) as a Redis hash of ccxt
  market structures, refreshed every BOT_MARKETS_TTL_SECONDS. Validation reads it, sizing
  reads it, and every ccxt client the engine builds gets its one market from it
  (`set_markets`) instead of calling exchangeInfo again in each forked job.
- candles per (exchange, symbol, timeframe, tick slot): the first cycle of a slot fetches
  OHLCV under a short lock, every other bot of that market reads the cached copy. A failed
  fetch is cached too (briefly), so 200 bots on an unreachable exchange make one request,
  not 200.

The last row of `fetch_ohlcv` is the candle still in progress: strategies get only the closed
candles before it, and its close is the current price (paper fills, stop-loss, take-profit).
So one request per market and slot gives both, whatever the clocks of the two sides say.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import ccxt
from flask import current_app

from webapp.engine.accounting import to_decimal
from webapp.engine.locks import RedisLock
from webapp.exchange import errors as exchange_errors
from webapp.exchange.clients import public_client
from webapp.exchange.errors import ExchangeError, ExchangeUnavailable, translate_errors
from webapp.extensions import redis_ext
from webapp.strategies import Candle

logger = logging.getLogger(__name__)

#: Seconds a failed market-data fetch is remembered (within one slot at most).
FAILURE_TTL_SECONDS = 4
#: How long a cycle waits for another process fetching the same candles.
FETCH_WAIT_SECONDS = 15

#: Seconds a process keeps markets and snapshots it read from Redis.
LOCAL_TTL_SECONDS = 60
#: Snapshots kept in process (a batch job reads its market's snapshot once, not per bot).
LOCAL_SNAPSHOTS = 64

_local_markets: dict[str, tuple[float, dict[str, Any]]] = {}
#: The sorted active symbols per markets key, kept as long: every bot form lists them, and
#: reading them means decoding every market the exchange has (thousands on Binance).
_local_symbols: dict[str, tuple[float, list[str]]] = {}
_local_snapshots: dict[str, tuple[float, MarketSnapshot]] = {}
_local_lock = threading.Lock()


class MarketDataError(ExchangeError):
    """No usable candles came back (too few rows, or no closed candle)."""

    message = "The exchange returned no usable price data for this market."
    transient = True


@dataclass(frozen=True)
class MarketInfo:
    """What sizing and validation need to know about one market."""

    symbol: str
    base: str
    quote: str
    active: bool
    amount_step: Decimal | None
    min_qty: Decimal | None
    max_qty: Decimal | None
    min_notional: Decimal | None
    taker_fee: Decimal
    # For resting limit orders: the price tick and the fee a resting (maker) order pays.
    price_step: Decimal | None = None
    maker_fee: Decimal | None = None

    @classmethod
    def from_ccxt(cls, market: dict[str, Any]) -> MarketInfo:
        limits = market.get("limits") or {}
        amount = limits.get("amount") or {}
        market_limits = limits.get("market") or {}
        cost = limits.get("cost") or {}
        # Market orders have their own (often larger) quantity cap on Binance.
        max_qty = _dec(market_limits.get("max")) or _dec(amount.get("max"))
        return cls(
            symbol=market["symbol"],
            base=market.get("base") or market["symbol"].split("/")[0],
            quote=market.get("quote") or market["symbol"].split("/")[-1],
            active=market.get("active") is not False,
            amount_step=_dec((market.get("precision") or {}).get("amount")),
            min_qty=_dec(amount.get("min")),
            max_qty=max_qty,
            min_notional=_dec(cost.get("min")),
            taker_fee=_dec(market.get("taker")) or Decimal("0.001"),
            price_step=_dec((market.get("precision") or {}).get("price")),
            maker_fee=None if market.get("maker") is None else to_decimal(market["maker"]),
        )


@dataclass(frozen=True)
class MarketSnapshot:
    """Closed candles (oldest first) and the current price of one market in one slot."""

    exchange: str
    symbol: str
    timeframe: str
    candles: tuple[Candle, ...]
    price: Decimal
    fetched_at: float  # epoch seconds

    def to_json(self) -> str:
        return json.dumps(
            {
                "candles": [list(c) for c in self.candles],
                "price": format(self.price, "f"),
                "fetched_at": self.fetched_at,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, exchange: str, symbol: str, timeframe: str, raw: str) -> MarketSnapshot:
        data = json.loads(raw)
        return cls(
            exchange=exchange,
            symbol=symbol,
            timeframe=timeframe,
            candles=tuple(Candle(*row) for row in data["candles"]),
            price=Decimal(data["price"]),
            fetched_at=float(data["fetched_at"]),
        )


def _dec(value: Any) -> Decimal | None:
    if value is None:
        return None
    number = to_decimal(value)
    return number if number > 0 else None


def data_source() -> str:
    """Where public market data comes from now; part of every cache key."""
    cfg = current_app.config
    if cfg.get("EXCHANGE_SIM_URL"):
        return "sim:" + cfg["EXCHANGE_SIM_URL"]
    if cfg.get("TESTNET_URL"):
        return "testnet:" + cfg["TESTNET_URL"]
    return "live"


def _source_tag() -> str:
    return hashlib.blake2b(data_source().encode(), digest_size=6).hexdigest()


def _markets_key(exchange: str) -> str:
    return f"bots:markets:{exchange}:{_source_tag()}"


# -- market list ---------------------------------------------------------------------------


def _load_market_hash(exchange: str) -> dict[str, Any] | None:
    """All markets from the Redis cache, or None when it is empty or expired."""
    raw = redis_ext.conn.hgetall(_markets_key(exchange))
    if not raw:
        return None
    return {k.decode(): v for k, v in raw.items()}


def refresh_markets(exchange: str) -> int:
    """Fetch the market list from the exchange into the cache; returns how many markets."""
    client = public_client(exchange)
    try:
        with translate_errors():
            markets = client.load_markets(reload=True)
    finally:
        client.close()
    spot = {
        symbol: json.dumps(market, separators=(",", ":"), default=str)
        for symbol, market in markets.items()
        if market.get("spot", True)
    }
    key = _markets_key(exchange)
    pipe = redis_ext.conn.pipeline()
    pipe.delete(key)
    if spot:
        pipe.hset(key, mapping=spot)
        pipe.expire(key, current_app.config["BOT_MARKETS_TTL_SECONDS"])
    pipe.execute()
    _local_markets.pop(key, None)
    _local_symbols.pop(key, None)
    logger.info("cached %s %s markets from %s", len(spot), exchange, data_source())
    return len(spot)


def _ensure_markets(exchange: str) -> None:
    key = _markets_key(exchange)
    conn = redis_ext.conn
    if conn.exists(key):
        return
    lock = RedisLock(conn, f"{key}:lock", 30)
    if lock.acquire(wait_seconds=0):
        try:
            if not conn.exists(key):
                refresh_markets(exchange)
        finally:
            lock.release()
        return
    deadline = time.monotonic() + FETCH_WAIT_SECONDS
    while time.monotonic() < deadline:
        if conn.exists(key):
            return
        time.sleep(0.05)
    refresh_markets(exchange)


def ccxt_market(exchange: str, symbol: str) -> dict[str, Any] | None:
    """The ccxt market structure for `symbol`, or None when the exchange does not list it.

    Kept in process for a minute too: a batch job asks for the same market once per bot.
    """
    key = _markets_key(exchange)
    now = time.monotonic()
    entry = _local_markets.get(key)
    if entry is None or entry[0] <= now:
        entry = _local_markets[key] = (now + LOCAL_TTL_SECONDS, {})
    if symbol in entry[1]:
        return entry[1][symbol]
    _ensure_markets(exchange)
    raw = redis_ext.conn.hget(key, symbol)
    if raw is None:
        return None
    market = entry[1][symbol] = json.loads(raw)
    return market


def forget_local() -> None:
    """Drop what this process keeps of markets, symbols and snapshots (as a new process
    starts): the next read goes to Redis."""
    with _local_lock:
        _local_markets.clear()
        _local_symbols.clear()
        _local_snapshots.clear()


def market_info(exchange: str, symbol: str) -> MarketInfo | None:
    market = ccxt_market(exchange, symbol)
    return None if market is None else MarketInfo.from_ccxt(market)


def symbols(exchange: str) -> list[str]:
    """Every active spot symbol of the exchange, sorted (for forms and validation hints);
    kept in process for LOCAL_TTL_SECONDS."""
    key = _markets_key(exchange)
    now = time.monotonic()
    entry = _local_symbols.get(key)
    if entry is not None and entry[0] > now:
        return list(entry[1])
    _ensure_markets(exchange)
    markets = _load_market_hash(exchange) or {}
    active = sorted(s for s, raw in markets.items() if json.loads(raw).get("active") is not False)
    if active:
        _local_symbols[key] = (now + LOCAL_TTL_SECONDS, active)
    return list(active)


def similar_symbols(exchange: str, text: str, limit: int = 3) -> list[str]:
    """Listed symbols a person probably meant by `text`: the exchange's own spelling
    ("BTCUSDT", "btc-usdt"), else a typo away (one letter wrong, missing, extra or swapped)."""
    compact = {re.sub(r"[^A-Z0-9]", "", s.upper()): s for s in symbols(exchange)}
    wanted = re.sub(r"[^A-Z0-9]", "", text.upper())
    if wanted in compact:
        return [compact[wanted]]
    return [s for c, s in sorted(compact.items()) if _one_typo_apart(wanted, c)][:limit]


def _one_typo_apart(a: str, b: str) -> bool:
    """True when one substitution, insertion, deletion or swap of neighbours turns a into b."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    start = next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )
    if len(a) == len(b):
        swapped = a[start + 1 : start + 2] + a[start : start + 1]
        return a[start + 1 :] == b[start + 1 :] or (
            swapped == b[start : start + 2] and a[start + 2 :] == b[start + 2 :]
        )
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    return longer[start + 1 :] == shorter[start:]


def prime_client(client: ccxt.Exchange, exchange: str, symbol: str) -> None:
    """Give a fresh ccxt client the one market it needs, so it never loads them all itself."""
    market = ccxt_market(exchange, symbol)
    if market is not None:
        client.set_markets({symbol: market})


# -- candles -------------------------------------------------------------------------------


def _snapshot_key(exchange: str, symbol: str, timeframe: str, slot: int | str) -> str:
    return f"bots:md:{exchange}:{_source_tag()}:{symbol}:{timeframe}:{slot}"


def cache_ttl_seconds() -> int:
    return max(10, 3 * int(current_app.config["BOT_TICK_SECONDS"]))


def fetch_snapshot(exchange: str, symbol: str, timeframe: str) -> MarketSnapshot:
    """One OHLCV request: closed candles plus the in-progress candle's close as the price."""
    limit = int(current_app.config["BOT_OHLCV_LIMIT"])
    client = public_client(exchange)
    try:
        prime_client(client, exchange, symbol)
        with translate_errors():
            rows = client.fetch_ohlcv(symbol, timeframe, limit=limit)
    finally:
        client.close()
    if not rows:
        raise MarketDataError()
    candles = tuple(Candle.from_ccxt(row) for row in rows)
    current = candles[-1]
    return MarketSnapshot(
        exchange=exchange,
        symbol=symbol,
        timeframe=timeframe,
        candles=candles[:-1],
        price=to_decimal(current.close),
        fetched_at=time.time(),
    )


def get_snapshot(
    exchange: str, symbol: str, timeframe: str, slot: int | str | None
) -> MarketSnapshot:
    """The shared snapshot for a tick slot, fetching it only if nobody has yet.

    `slot` None always fetches fresh data (inline cycles from the CLI) and caches nothing.
    Raises our ExchangeError subclasses (also when a recent fetch for this slot failed).
    """
    if slot is None:
        return fetch_snapshot(exchange, symbol, timeframe)
    conn = redis_ext.conn
    key = _snapshot_key(exchange, symbol, timeframe, slot)
    now = time.monotonic()
    local = _local_snapshots.get(key)
    if local is not None and local[0] > now:
        return local[1]
    snapshot = _shared_snapshot(conn, key, exchange, symbol, timeframe)
    with _local_lock:
        while len(_local_snapshots) >= LOCAL_SNAPSHOTS:
            _local_snapshots.pop(next(iter(_local_snapshots)))
        _local_snapshots[key] = (now + cache_ttl_seconds(), snapshot)
    return snapshot


def _shared_snapshot(conn, key: str, exchange: str, symbol: str, timeframe: str):
    cached = conn.get(key)
    if cached is None:
        lock = RedisLock(conn, f"{key}:lock", FETCH_WAIT_SECONDS + 5)
        if lock.acquire(wait_seconds=0):
            try:
                cached = conn.get(key)
                if cached is None:
                    return _fetch_and_store(conn, key, exchange, symbol, timeframe)
            finally:
                lock.release()
        else:
            cached = _wait_for(conn, key)
            if cached is None:
                logger.info("market data %s not shared in time; fetching it", key)
                return _fetch_and_store(conn, key, exchange, symbol, timeframe)
    return _decode(exchange, symbol, timeframe, cached)


def _wait_for(conn, key: str) -> bytes | None:
    deadline = time.monotonic() + FETCH_WAIT_SECONDS
    while time.monotonic() < deadline:
        cached = conn.get(key)
        if cached is not None:
            return cached
        time.sleep(0.02)
    return None


def _fetch_and_store(conn, key, exchange, symbol, timeframe) -> MarketSnapshot:
    try:
        snapshot = fetch_snapshot(exchange, symbol, timeframe)
    except ExchangeError as exc:
        failure = {
            "error": type(exc).__name__,
            "message": exc.message,
            "summary": exc.summary(),
        }
        conn.set(key, json.dumps(failure), ex=FAILURE_TTL_SECONDS)
        raise
    conn.set(key, snapshot.to_json(), ex=cache_ttl_seconds())
    return snapshot


def _decode(exchange: str, symbol: str, timeframe: str, raw: bytes) -> MarketSnapshot:
    text = raw.decode()
    if text.startswith('{"error"'):
        failure = json.loads(text)
        error_class = getattr(exchange_errors, failure["error"], None)
        if not (isinstance(error_class, type) and issubclass(error_class, ExchangeError)):
            error_class = MarketDataError if failure["error"] == "MarketDataError" else None
        if error_class is None:
            error_class = ExchangeUnavailable
        raise error_class(failure["message"])
    return MarketSnapshot.from_json(exchange, symbol, timeframe, text)
