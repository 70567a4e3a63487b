"""Binance's spot rate limits, as the simulator enforces them.

Every `/api/v3` request costs its documented REQUEST_WEIGHT (`webapp.exchange.weights`, the
table the product's shared request budget reserves from too), counted per client IP in the
current wall-clock minute and reported back in `X-MBX-USED-WEIGHT-1M`. Past the limit Binance
answers 429 (-1003) with `Retry-After`; a client that keeps sending while told to wait is
banned with 418 for a while (two minutes at first, doubling with each ban, at most three days).
New orders count per account in `X-MBX-ORDER-COUNT-10S` / `-1D`; past those limits a new order
gets 429 (-1015). `/sapi` endpoints have their own limits on Binance and are not counted here.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

from webapp.exchange import weights
from webapp.exchange.weights import request_weight

DEFAULT_WEIGHT_LIMIT = weights.BINANCE_WEIGHT_LIMIT
DEFAULT_ORDERS_PER_10S = weights.BINANCE_ORDERS_PER_10S
DEFAULT_ORDERS_PER_DAY = weights.BINANCE_ORDERS_PER_DAY
ORDER_WINDOW_SECONDS = 10
#: Binance counts weight per minute; tests may shorten the window to see it roll over.
DEFAULT_WEIGHT_WINDOW = 60

__all__ = ["RateLimits", "Verdict", "request_weight"]

#: Requests a blocked IP may still send before it is banned; the first ban's length.
REQUESTS_BEFORE_BAN = 10
FIRST_BAN_SECONDS = 120
MAX_BAN_SECONDS = 3 * 24 * 3600


@dataclass
class _Client:
    minute: int = -1
    used: int = 0
    blocked_until: float = 0.0  # a 429's Retry-After, as a wall-clock time
    sent_while_blocked: int = 0
    banned_until: float = 0.0
    bans: int = 0


@dataclass(frozen=True)
class Verdict:
    """What the limiter says about one request: its status (200 to go on, 429 or 418), the
    weight used this minute after it, and for a refusal how long to wait."""

    status: int
    used: int
    retry_after: int = 0


@dataclass
class _Orders:
    # Binance counts orders in fixed intervals, as it counts weight: the 10-second window the
    # counter is in, and how many orders it holds.
    window: int = -1
    in_window: int = 0
    day: int = -1
    today: int = 0


class RateLimits:
    """Per-IP request weight and per-account order counts. `weight_limit=None` counts and
    reports weight without ever refusing (for benchmarks that measure the engine alone)."""

    def __init__(
        self,
        clock: Callable[[], float],
        weight_limit: int | None = DEFAULT_WEIGHT_LIMIT,
        orders_per_10s: int | None = DEFAULT_ORDERS_PER_10S,
        orders_per_day: int | None = DEFAULT_ORDERS_PER_DAY,
        weight_window: int = DEFAULT_WEIGHT_WINDOW,
    ) -> None:
        self.clock = clock
        self.weight_window = weight_window
        self.weight_limit = weight_limit
        self.orders_per_10s = orders_per_10s
        self.orders_per_day = orders_per_day
        self._lock = threading.Lock()
        self._clients: dict[str, _Client] = {}
        self._orders: dict[str, _Orders] = {}
        self.refused: dict[int, int] = {429: 0, 418: 0}
        #: Weight served per window (every IP), for tests and benchmarks to read.
        self.served: dict[int, int] = {}

    def admit(self, ip: str, weight: int) -> Verdict:
        """Count `weight` against `ip` unless it must wait; say whether the request may go on."""
        now = self.clock()
        minute = int(now // self.weight_window)
        with self._lock:
            client = self._clients.setdefault(ip, _Client())
            if client.minute != minute:
                client.minute, client.used = minute, 0
            if now < client.banned_until:
                return self._refuse(418, client, client.banned_until - now)
            if now < client.blocked_until:
                client.sent_while_blocked += 1
                if client.sent_while_blocked > REQUESTS_BEFORE_BAN:
                    ban = min(FIRST_BAN_SECONDS * 2**client.bans, MAX_BAN_SECONDS)
                    client.bans += 1
                    client.banned_until = now + ban
                    return self._refuse(418, client, ban)
                return self._refuse(429, client, client.blocked_until - now)
            if self.weight_limit is not None and client.used + weight > self.weight_limit:
                client.blocked_until = (minute + 1) * self.weight_window
                client.sent_while_blocked = 0
                return self._refuse(429, client, client.blocked_until - now)
            client.used += weight
            self.served[minute] = self.served.get(minute, 0) + weight
            return Verdict(200, client.used)

    def _refuse(self, status: int, client: _Client, wait: float) -> Verdict:
        self.refused[status] += 1
        return Verdict(status, client.used, max(1, math.ceil(wait)))

    def count_order(self, api_key: str) -> tuple[bool, int, int, str]:
        """Count a new order for `api_key`: (allowed, count in 10 s, count today, the limit
        that refused it)."""
        now = self.clock()
        day = int(now // 86400)
        with self._lock:
            orders = self._orders.setdefault(api_key, _Orders())
            window = int(now // ORDER_WINDOW_SECONDS)
            if orders.window != window:
                orders.window, orders.in_window = window, 0
            if orders.day != day:
                orders.day, orders.today = day, 0
            if self.orders_per_10s is not None and orders.in_window >= self.orders_per_10s:
                return (
                    False,
                    orders.in_window,
                    orders.today,
                    f"{self.orders_per_10s} orders per 10 SECOND",
                )
            if self.orders_per_day is not None and orders.today >= self.orders_per_day:
                return (
                    False,
                    orders.in_window,
                    orders.today,
                    f"{self.orders_per_day} orders per 1 DAY",
                )
            orders.in_window += 1
            orders.today += 1
            return True, orders.in_window, orders.today, ""

    def order_counts(self, api_key: str) -> tuple[int, int]:
        now = self.clock()
        with self._lock:
            orders = self._orders.get(api_key)
            if orders is None:
                return 0, 0
            in_window = orders.in_window if orders.window == int(now // ORDER_WINDOW_SECONDS) else 0
            return in_window, orders.today

    def used(self, ip: str) -> int:
        minute = int(self.clock() // self.weight_window)
        with self._lock:
            client = self._clients.get(ip)
            return client.used if client is not None and client.minute == minute else 0

    def reset(self) -> None:
        with self._lock:
            self._clients.clear()
            self._orders.clear()
            self.served.clear()
            self.refused = {429: 0, 418: 0}
