"""The REQUEST_WEIGHT Binance charges for each spot endpoint, from its API documentation.

One table for both sides: the product's shared request budget (`webapp.exchange.budget`)
reserves these weights before a request leaves, and the simulator charges them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

#: Binance's documented REQUEST_WEIGHT limit per IP and minute.
BINANCE_WEIGHT_LIMIT = 6000
#: Its new-order limits per account.
BINANCE_ORDERS_PER_10S = 50
BINANCE_ORDERS_PER_DAY = 160_000
#: The endpoint whose requests count as orders (go first, and count against order limits).
ORDER = ("POST", "/api/v3/order")


def _depth_weight(params: Mapping[str, str]) -> int:
    try:
        limit = int(params.get("limit") or 100)
    except ValueError:
        limit = 100
    if limit <= 100:
        return 5
    if limit <= 500:
        return 25
    if limit <= 1000:
        return 50
    return 250


def _symbols_count(params: Mapping[str, str]) -> int | None:
    """1 for `symbol=`, n for a `symbols=[...]` list of n, None for every symbol."""
    if params.get("symbol"):
        return 1
    listed = params.get("symbols")
    return None if not listed else max(1, listed.count(",") + 1)


def _ticker_24hr_weight(params: Mapping[str, str]) -> int:
    count = _symbols_count(params)
    if count is None:
        return 80
    return 2 if count <= 20 else 40 if count <= 100 else 80


def _one_or_all(one: int, every: int) -> Callable[[Mapping[str, str]], int]:
    return lambda params: one if params.get("symbol") else every


#: REQUEST_WEIGHT of each endpoint (Binance's spot API documentation), fixed or by parameters.
WEIGHTS: dict[tuple[str, str], int | Callable[[Mapping[str, str]], int]] = {
    ("GET", "/api/v3/ping"): 1,
    ("GET", "/api/v3/time"): 1,
    ("GET", "/api/v3/exchangeInfo"): 20,
    ("GET", "/api/v3/depth"): _depth_weight,
    ("GET", "/api/v3/trades"): 25,
    ("GET", "/api/v3/aggTrades"): 4,
    ("GET", "/api/v3/klines"): 2,
    ("GET", "/api/v3/uiKlines"): 2,
    ("GET", "/api/v3/avgPrice"): 2,
    ("GET", "/api/v3/ticker/24hr"): _ticker_24hr_weight,
    ("GET", "/api/v3/ticker/price"): _one_or_all(2, 4),
    ("GET", "/api/v3/ticker/bookTicker"): _one_or_all(2, 4),
    ("GET", "/api/v3/account"): 20,
    ("POST", "/api/v3/order"): 1,
    ("POST", "/api/v3/order/test"): 1,
    ("GET", "/api/v3/order"): 4,
    ("DELETE", "/api/v3/order"): 1,
    ("GET", "/api/v3/openOrders"): _one_or_all(6, 80),
    ("DELETE", "/api/v3/openOrders"): 1,
    ("GET", "/api/v3/allOrders"): 20,
    ("GET", "/api/v3/myTrades"): 20,
}


def request_weight(method: str, path: str, params: Mapping[str, str]) -> int:
    """The weight Binance charges for this request: 0 off `/api/v3`, 1 for an unknown path."""
    if not path.startswith("/api/"):
        return 0
    weight = WEIGHTS.get((method, path), 1)
    return weight(params) if callable(weight) else weight
