"""One request budget per exchange host, shared by every process of the installation.

Binance limits REQUEST_WEIGHT per IP, and every worker, web process, scheduler and CLI run of
an installation leaves from the same IP; ccxt's own throttle only knows its process. So before
any request leaves, it reserves its documented weight (`webapp.exchange.weights`) in Redis,
in the same per-minute windows Binance counts in, up to `EXCHANGE_WEIGHT_BUDGET_PCT` of the
limit. A request that does not fit sleeps until the next window (never spinning); market data
stops at 90% of the budget so that orders, which may use all of it, go first. Each answer's
`X-MBX-USED-WEIGHT-1M` corrects the shared count upwards (the exchange also counts what did
not come through here), a 429 or 418 stops every process's requests to that host until its
`Retry-After` (a 418 is also logged as an error and, once per ban, every admin is told: see
`webapp.exchange.bans`), and new orders keep under each key's limits per 10 seconds (waited
for) and per UTC day (refused here, not sent), corrected by the order answers'
`X-MBX-ORDER-COUNT-10S` / `-1D`.

If Redis cannot be reached the request goes ahead uncounted: a missed count risks a 429,
refusing to trade would certainly hurt.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from redis import Redis
from redis.exceptions import RedisError

from webapp.exchange import bans, weights
from webapp.exchange.errors import OrderLimitReached, RateLimited

logger = logging.getLogger(__name__)

PREFIX = "xbudget"
#: Share of the budget market data may use; the rest is kept for orders.
MARKET_DATA_SHARE = 0.9
ORDER_WINDOW_SECONDS = 10
USED_HEADER = "X-MBX-USED-WEIGHT-1M"
#: A key's order counts in an order answer, by the limit they count against.
ORDER_HEADERS = (("10s", "X-MBX-ORDER-COUNT-10S"), ("1d", "X-MBX-ORDER-COUNT-1D"))
#: Binance counts a key's orders per UTC day.
DAY_SECONDS = 86400

# Reserve `weight` in the window counter unless the host is blocked or the window is full.
# KEYS: window counter, blocked-until. ARGV: weight, cap, counter ttl (ms), now (ms).
# Answers {0, used} (go), {1, blocked until ms}, {2, used} (full: wait for the next window).
_RESERVE = """
local blocked = tonumber(redis.call('GET', KEYS[2]) or '0')
if blocked > tonumber(ARGV[4]) then return {1, blocked} end
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return {2, used} end
used = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {0, used}
"""
# Raise the window counter to what the exchange says was used (never lower it).
_CORRECT = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > used then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
# Push blocked-until later (never earlier). ARGV: until (ms), ttl (ms).
_BLOCK = """
local blocked = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > blocked then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 0
"""


@dataclass(frozen=True)
class BudgetSettings:
    limit: int = weights.BINANCE_WEIGHT_LIMIT
    pct: int = 80
    window: int = 60  # seconds, as Binance counts; settable for tests
    max_wait: float = 30.0  # seconds a request may wait before giving up (RateLimited)
    orders_per_10s: int = weights.BINANCE_ORDERS_PER_10S
    orders_per_day: int = weights.BINANCE_ORDERS_PER_DAY

    @property
    def cap(self) -> int:
        return max(1, self.limit * self.pct // 100)

    @classmethod
    def from_config(cls, config: Mapping) -> BudgetSettings:
        return cls(
            limit=int(config.get("EXCHANGE_WEIGHT_LIMIT", weights.BINANCE_WEIGHT_LIMIT)),
            pct=int(config.get("EXCHANGE_WEIGHT_BUDGET_PCT", 80)),
            window=int(config.get("EXCHANGE_WEIGHT_WINDOW_SECONDS", 60)),
            max_wait=float(config.get("EXCHANGE_BUDGET_MAX_WAIT_SECONDS", 30)),
            orders_per_10s=int(
                config.get("EXCHANGE_ORDERS_PER_10S", weights.BINANCE_ORDERS_PER_10S)
            ),
            orders_per_day=int(
                config.get("EXCHANGE_ORDERS_PER_DAY", weights.BINANCE_ORDERS_PER_DAY)
            ),
        )


class SharedBudget:
    """The budget of one exchange host (e.g. `api.binance.com`), kept in Redis."""

    def __init__(
        self,
        redis: Redis,
        host: str,
        settings: BudgetSettings,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        on_ban: Callable[[str, float], None] | None = None,
    ) -> None:
        self.redis = redis
        self.host = host
        self.settings = settings
        self.clock = clock
        self.sleep = sleep
        self.on_ban = on_ban  # called with (host, banned until) by the first to see a 418
        self._reserve = redis.register_script(_RESERVE)
        self._correct = redis.register_script(_CORRECT)
        self._block = redis.register_script(_BLOCK)

    def _key(self, *parts: object) -> str:
        return ":".join((PREFIX, self.host, *map(str, parts)))

    def _window_key(self, now: float) -> str:
        return self._key("w", int(now // self.settings.window))

    # -- before a request ----------------------------------------------------------------

    def reserve(self, weight: int, *, order: bool = False, api_key: str | None = None) -> float:
        """Wait until `weight` fits (orders may use the whole budget, market data 90% of it);
        answer how long it waited. Raises RateLimited past `max_wait`."""
        if weight <= 0:
            return 0.0
        started = self.clock()
        cap = self.settings.cap if order else max(1, int(self.settings.cap * MARKET_DATA_SHARE))
        ttl_ms = self.settings.window * 2000
        while True:
            now = self.clock()
            try:
                state, value = self._reserve(
                    keys=[self._window_key(now), self._key("blocked")],
                    args=[weight, cap, ttl_ms, int(now * 1000)],
                )
            except RedisError as exc:
                logger.warning("request budget unavailable, sending uncounted: %s", exc)
                return 0.0
            if state == 0:
                break
            if state == 1:
                resume = int(value) / 1000
            else:
                resume = (int(now // self.settings.window) + 1) * self.settings.window
            resume += random.uniform(0, 0.05)  # spread the waiters out
            if resume - started > self.settings.max_wait:
                self._count("gave_up")
                raise RateLimited()
            self._count("waits")
            self.sleep(max(0.0, resume - self.clock()))
        if order and api_key is not None:
            self._reserve_order(api_key, started)
        waited = self.clock() - started
        if waited > 0.001:
            self._count("wait_ms", int(waited * 1000))
        return waited

    def _order_counter(self, key_id: str, limit: str, now: float) -> tuple[str, int, int]:
        """A key's order counter for `limit` ("10s" or "1d") at `now`: its Redis key, the cap
        and the counter's ttl in ms (two windows)."""
        if limit == "1d":
            name, window, cap = "od", DAY_SECONDS, self.settings.orders_per_day
        else:
            name, window, cap = "o", ORDER_WINDOW_SECONDS, self.settings.orders_per_10s
        return self._key(name, key_id, int(now // window)), cap, window * 2000

    def _take_order(self, key_id: str, limit: str, now: float) -> bool:
        """Count one order against the key's `limit` unless it is full (the host's block
        was already waited out, hence the never-blocked key)."""
        counter, cap, ttl_ms = self._order_counter(key_id, limit, now)
        state, _ = self._reserve(
            keys=[counter, self._key("o", "never-blocked")], args=[1, cap, ttl_ms, 0]
        )
        return state == 0

    def _reserve_order(self, api_key: str, started: float) -> None:
        """Keep each key under its new-order limits: per UTC day (refused at once: waiting
        until midnight is no answer), then per 10 seconds (waited for)."""
        key_id = _key_id(api_key)
        try:
            if not self._take_order(key_id, "1d", self.clock()):
                self._count("orders_refused_for_the_day")
                raise OrderLimitReached()
            while True:
                now = self.clock()
                if self._take_order(key_id, "10s", now):
                    return
                resume = (int(now // ORDER_WINDOW_SECONDS) + 1) * ORDER_WINDOW_SECONDS
                if resume - started > self.settings.max_wait:
                    raise RateLimited()
                self._count("order_waits")
                self.sleep(max(0.0, resume - now))
        except RedisError:
            return

    # -- after an answer -----------------------------------------------------------------

    def observe(
        self,
        status: int,
        headers: Mapping[str, str],
        *,
        api_key: str | None = None,
        order_limit: str | None = None,
    ) -> None:
        """Learn from an answer: the exchange's own counts (weight for the IP; new orders for
        the key, on order answers), and any order to stop. `order_limit` ("10s" or "1d") says
        the 429 was -1015, the key's order limit: only that key's orders stop, until its window
        ends, not every request to the host."""
        now = self.clock()
        try:
            used = headers.get(USED_HEADER)
            if used is not None and used.isdigit():
                self._correct(
                    keys=[self._window_key(now)], args=[int(used), self.settings.window * 2000]
                )
            if api_key:
                self._correct_orders(api_key, headers, now)
            if status == 429 and api_key and order_limit:
                self._fill_order_window(api_key, order_limit, now)  # the IP's weight is fine
            elif status in (429, 418):
                self._stop(status, headers, now)
        except RedisError as exc:
            logger.warning("request budget unavailable: %s", exc)

    def _correct_orders(self, api_key: str, headers: Mapping[str, str], now: float) -> None:
        """Raise the key's order counts to what an order answer says the exchange counted."""
        counts = [(limit, headers.get(header)) for limit, header in ORDER_HEADERS]
        counts = [(limit, int(n)) for limit, n in counts if n is not None and n.isdigit()]
        if not counts:  # not an order answer
            return
        key_id = _key_id(api_key)
        for limit, count in counts:
            counter, _, ttl_ms = self._order_counter(key_id, limit, now)
            self._correct(keys=[counter], args=[count, ttl_ms])

    def _fill_order_window(self, api_key: str, limit: str, now: float) -> None:
        counter, cap, ttl_ms = self._order_counter(_key_id(api_key), limit, now)
        self._correct(keys=[counter], args=[cap, ttl_ms])
        self._count("order_429")
        logger.warning("%s refused an order: the key's %s order limit is reached", self.host, limit)

    def _stop(self, status: int, headers: Mapping[str, str], now: float) -> None:
        retry_after = headers.get("Retry-After", "")
        wait = int(retry_after) if retry_after.isdigit() else self.settings.window
        until_ms = int((now + wait) * 1000)
        self._block(keys=[self._key("blocked")], args=[until_ms, wait * 1000 + 1000])
        self._count(str(status))
        self.redis.hset(self._key("stats"), f"last_{status}", int(now))
        if status == 418:
            logger.error(
                "%s banned this installation's IP for %s s (HTTP 418): every request to it "
                "waits until then",
                self.host,
                wait,
            )
            # Every process that was mid-request sees the same ban: one of them tells.
            first = self.redis.set(self._key("ban-told"), until_ms, nx=True, px=wait * 1000)
            if first and self.on_ban is not None:
                try:
                    self.on_ban(self.host, until_ms / 1000)
                except Exception:  # telling must never break the request that saw the ban
                    logger.exception("telling the admins of the ban by %s failed", self.host)
        else:
            logger.warning("%s answered 429: requests wait %s s", self.host, wait)

    # -- what the admin page shows -------------------------------------------------------

    def _count(self, field: str, amount: int = 1) -> None:
        with contextlib.suppress(RedisError):
            self.redis.hincrby(self._key("stats"), field, amount)

    def snapshot(self) -> dict[str, object]:
        """Weight used in this window and the last, blocked-until, waits and refusals."""
        now = self.clock()
        window = int(now // self.settings.window)
        current, previous, blocked, stats = (
            self.redis.pipeline()
            .get(self._key("w", window))
            .get(self._key("w", window - 1))
            .get(self._key("blocked"))
            .hgetall(self._key("stats"))
            .execute()
        )
        counts = {k.decode(): int(v) for k, v in stats.items()}
        blocked_until = int(blocked) / 1000 if blocked and int(blocked) / 1000 > now else None
        return {
            "host": self.host,
            "limit": self.settings.limit,
            "budget": self.settings.cap,
            "used": int(current or 0),
            "used_last_window": int(previous or 0),
            "blocked_until": blocked_until,
            "waits": counts.get("waits", 0) + counts.get("order_waits", 0),
            "wait_seconds": counts.get("wait_ms", 0) / 1000,
            "gave_up": counts.get("gave_up", 0),
            "429": counts.get("429", 0),
            "418": counts.get("418", 0),
            "last_429": counts.get("last_429"),
            "last_418": counts.get("last_418"),
        }


def _order_limit_of(response) -> str | None:
    """ "10s" or "1d" when a 429 is Binance's -1015 (too many new orders for the key)."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("code") != -1015:
        return None
    return "1d" if "DAY" in str(body.get("msg", "")).upper() else "10s"


def _key_id(api_key: str) -> str:
    """A key's name in Redis: never the key itself."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


def request_of(url: str, method: str, body: str | None) -> tuple[str, str, dict[str, str]]:
    """(host, path, parameters) of a request ccxt is about to send."""
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query))
    if body and method != "GET":
        params.update(parse_qsl(body))
    return parts.netloc, parts.path, params


def attach(client, budget_for: Callable[[str], SharedBudget]) -> None:
    """Make every request of a ccxt `client` go through its host's shared budget."""
    fetch = client.fetch

    def budgeted_fetch(url, method="GET", headers=None, body=None):
        host, path, params = request_of(url, method, body)
        weight = weights.request_weight(method, path, params)
        if weight:
            order = (method, path) == weights.ORDER
            budget_for(host).reserve(weight, order=order, api_key=client.apiKey or None)
        return fetch(url, method, headers, body)

    def observe(response, *args, **kwargs):
        parts = urlsplit(response.url)
        if parts.path.startswith("/api/"):  # /sapi has limits of its own
            api_key = response.request.headers.get("X-MBX-APIKEY") if response.request else None
            budget_for(parts.netloc).observe(
                response.status_code,
                response.headers,
                api_key=api_key,
                order_limit=_order_limit_of(response) if response.status_code == 429 else None,
            )

    session = getattr(client, "session", None)
    if session is not None and hasattr(session, "hooks"):
        session.hooks.setdefault("response", []).append(observe)
    client.fetch = budgeted_fetch


def budgets_of(app) -> Callable[[str], SharedBudget]:
    """The app's budget per host (one object per host and process, settings from the config)."""
    budgets: dict[str, SharedBudget] = app.extensions.setdefault("exchange_budgets", {})
    settings = BudgetSettings.from_config(app.config)

    def budget_for(host: str) -> SharedBudget:
        budget = budgets.get(host)
        if budget is None:
            redis = app.extensions["redis"]
            budget = budgets[host] = SharedBudget(
                redis, host, settings, on_ban=functools.partial(bans.queue_notice, redis)
            )
        return budget

    return budget_for


def known_hosts(redis: Redis) -> list[str]:
    """Every exchange host any process has a budget for (from the keys in Redis)."""
    hosts = set()
    for key in redis.scan_iter(match=f"{PREFIX}:*:stats", count=100):
        hosts.add(key.decode().split(":", 1)[1].rsplit(":", 1)[0])
    return sorted(hosts)
