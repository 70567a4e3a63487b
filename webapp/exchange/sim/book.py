"""The order book and the public trade tape, derived from the simulated price path.

The simulator fills market orders at the market price, so its book is quoted at that price:
the best bid and the best ask both sit at the last price (as `bookTicker` says), with deeper
levels one tick apart. The tape has one trade per market second, at that second's price, with
the second as its id, so the same question always gets the same answer.
"""

from __future__ import annotations

from decimal import Decimal

from .errors import ApiError
from .market import Market, MarketSpec
from .orders import f8

#: Binance's allowed `limit` values for /depth, and the tape's default and maximum page.
DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000, 5000)
TAPE_DEFAULT, TAPE_MAX = 500, 1000
#: /aggTrades answers for at most one hour between startTime and endTime.
AGG_WINDOW_MS = 3_600_000
LEVEL_STEPS = 1000  # each level holds this many lot steps


def depth(market: Market, spec: MarketSpec, limit: int | None) -> dict[str, object]:
    limit = 100 if limit is None else limit
    if limit <= 0:
        raise ApiError(-1100, "Illegal characters found in parameter 'limit'; legal range is '1'.")
    limit = min(limit, DEPTH_LIMITS[-1])
    now = market.now()
    last = market.price(spec.id, now)
    qty = f8(spec.step * LEVEL_STEPS)
    bids, asks = [], []
    for level in range(limit):
        bid = last - spec.tick * level
        if bid > 0:
            bids.append([f8(bid), qty])
        asks.append([f8(last + spec.tick * level), qty])
    return {"lastUpdateId": now, "bids": bids, "asks": asks}


def _trade(market: Market, spec: MarketSpec, second: int) -> tuple[int, str, str, int, bool]:
    """(id, price, qty, time ms, buyer is maker) of the tape's trade at `second`."""
    price = market.price(spec.id, second)
    before = market.price(spec.id, second - 1)
    return second, f8(price), f8(spec.step), second * 1000, price < before


def _limit(value: int | None) -> int:
    if value is None:
        return TAPE_DEFAULT
    if value <= 0:
        raise ApiError(-1100, "Illegal characters found in parameter 'limit'; legal range is '1'.")
    return min(value, TAPE_MAX)


def recent_trades(market: Market, spec: MarketSpec, limit: int | None) -> list[dict[str, object]]:
    """/api/v3/trades: the newest trades, oldest first."""
    now = market.now()
    count = _limit(limit)
    rows = []
    for second in range(now - count + 1, now + 1):
        trade_id, price, qty, at, buyer_maker = _trade(market, spec, second)
        rows.append(
            {
                "id": trade_id,
                "price": price,
                "qty": qty,
                "quoteQty": f8(Decimal(price) * Decimal(qty)),
                "time": at,
                "isBuyerMaker": buyer_maker,
                "isBestMatch": True,
            }
        )
    return rows


def agg_trades(
    market: Market,
    spec: MarketSpec,
    *,
    from_id: int | None,
    start_ms: int | None,
    end_ms: int | None,
    limit: int | None,
) -> list[dict[str, object]]:
    """/api/v3/aggTrades: by `fromId`, by a time window of at most an hour, or the newest."""
    now = market.now()
    count = _limit(limit)
    if start_ms is not None and end_ms is not None and end_ms - start_ms > AGG_WINDOW_MS:
        raise ApiError(-1127, "More than 1 hours between startTime and endTime.")
    if from_id is not None:
        first = from_id
        last = min(now, first + count - 1)
    elif start_ms is not None or end_ms is not None:
        first = -(-start_ms // 1000) if start_ms is not None else end_ms // 1000 - 3599
        last = min(now, end_ms // 1000 if end_ms is not None else first + 3599)
        last = min(last, first + count - 1)
    else:
        first, last = now - count + 1, now
    rows = []
    for second in range(first, last + 1):
        trade_id, price, qty, at, buyer_maker = _trade(market, spec, second)
        rows.append(
            {
                "a": trade_id,
                "p": price,
                "q": qty,
                "f": trade_id,
                "l": trade_id,
                "T": at,
                "m": buyer_maker,
                "M": True,
            }
        )
    return rows
