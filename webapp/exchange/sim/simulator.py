"""The simulated exchange's rules, behind one thread-safe `Simulator`: balances, filters,
client order ids, fees, resting orders matched against the price walk, and counters.

The HTTP layer (`app.py`) parses and authenticates requests, then calls the typed methods here,
which raise `ApiError` with Binance's exact codes and messages.  Tests can call the same methods
in process through `SimServer.sim`. The data lives beside it: `orders` (orders, fills and their
JSON), `accounts` (balances, key permissions, account specs), `faults` (outages on demand),
`limits` (request weight and order counters), `market` (prices).

Fees as Binance charges them by default: 0.1%, a buy's in the bought (base) asset - it pays
qty*price and receives qty*0.999 - and a sell's in the quote asset - it receives
qty*price*0.999 - or 25% less in BNB for an account that pays fees with BNB
(`set_bnb_fees`). Fills report `commission`/`commissionAsset` accordingly.
`Simulator(fee_asset="quote")` charges a buy's fee in quote too (it pays qty*price*1.001),
which keeps hand calculations in one currency.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from . import errors
from .accounts import (
    API_KEY_RE,
    BNB_DISCOUNT,
    DEFAULT_BALANCES,
    DEFAULT_RESTRICTIONS,
    Account,
    AccountSpec,
    Balance,
    parse_account_spec,
    parse_accounts_env,
)
from .errors import ApiError, ConfigError
from .faults import FailureMode, Faults
from .limits import (
    DEFAULT_ORDERS_PER_10S,
    DEFAULT_ORDERS_PER_DAY,
    DEFAULT_WEIGHT_LIMIT,
    DEFAULT_WEIGHT_WINDOW,
    RateLimits,
)
from .market import (
    ASK_MULTIPLIER_DOWN,
    ASK_MULTIPLIER_UP,
    BID_MULTIPLIER_DOWN,
    BID_MULTIPLIER_UP,
    Market,
    MarketSpec,
)
from .orders import (
    CLIENT_ORDER_ID_RE,
    Q8,
    ZERO,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    RespType,
    Side,
    TimeInForce,
    f8,
    to_decimal,
)

logger = logging.getLogger(__name__)

# Importers of the simulator's vocabulary may keep reading it from here.
__all__ = [
    "API_KEY_RE", "CLIENT_ORDER_ID_RE", "DEFAULT_BALANCES", "AccountSpec", "Balance",
    "FailureMode", "Fill", "Order", "OrderStatus", "OrderType", "RespType", "Side",
    "Simulator", "TimeInForce", "f8", "parse_account_spec", "parse_accounts_env",
]  # fmt: skip


class Simulator:
    """A whole simulated exchange: market prices, accounts, orders, failures and counters."""

    def __init__(
        self,
        seed: int = 0,
        *,
        accounts: Iterable[AccountSpec] = (),
        frozen: bool = False,
        clock: Callable[[], float] | None = None,
        wall_clock: Callable[[], float] | None = None,
        fee_rate: Decimal | str = "0.001",
        specs: list[MarketSpec] | None = None,
        fee_asset: str = "base",
        weight_limit: int | None = DEFAULT_WEIGHT_LIMIT,
        order_limits: bool = True,
        weight_window: int = DEFAULT_WEIGHT_WINDOW,
    ) -> None:
        """`clock` drives prices, candles and order times; `wall_clock` checks request timestamps.

        `fee_asset="base"` (the default) charges a buy's fee in the bought (base) asset, as
        Binance does for an account without BNB, so the buyer receives less than it ordered;
        "quote" charges it in quote on top of the notional. Sells pay in quote either way.

        Both default to `time.time`; a test can pin `clock` to make prices reproducible while
        ccxt's real timestamps still pass the recvWindow check.

        `weight_limit` is the REQUEST_WEIGHT allowed per IP and wall-clock minute (Binance's
        6,000; None counts and reports weight but never refuses; `weight_window` shortens the
        minute for tests), and `order_limits` applies
        Binance's 50 new orders per 10 s and 160,000 per day per account (see `limits`).
        """
        self.market = Market(seed=seed, specs=specs, clock=clock, frozen=frozen)
        self.seed = seed
        self.wall_clock = wall_clock or time.time
        self.fee_rate = to_decimal(fee_rate)
        if fee_asset not in ("quote", "base"):
            raise ConfigError(f"fee_asset must be 'quote' or 'base', not {fee_asset!r}")
        self.fee_asset = fee_asset
        self._lock = threading.RLock()
        self._accounts: dict[str, Account] = {}
        self._order_ids = itertools.count(1)
        self._trade_ids = itertools.count(1)
        self._resting: dict[str, dict[int, Order]] = {}  # symbol -> open orders
        self._checked_until: dict[str, int] = {}  # symbol -> last second matched against
        self.faults = Faults()
        self._stats: Counter[str] = Counter()
        self._errors: Counter[str] = Counter()
        self._stats_since = self.wall_clock()
        self._assets = dict.fromkeys(
            a for spec in self.market.specs.values() for a in (spec.base, spec.quote)
        )
        self.limits = RateLimits(
            self.wall_clock,
            weight_limit,
            DEFAULT_ORDERS_PER_10S if order_limits else None,
            DEFAULT_ORDERS_PER_DAY if order_limits else None,
            weight_window,
        )
        for spec in accounts:
            self.add_account(spec.api_key, spec.secret, spec.balances)

    # -- time ------------------------------------------------------------------------------

    def now_ms(self) -> int:
        """Market time in milliseconds (order, trade and candle times)."""
        return int(self.market.clock() * 1000)

    def server_time_ms(self) -> int:
        """Wall-clock milliseconds: what /time answers and timestamps are checked against."""
        return int(self.wall_clock() * 1000)

    # -- accounts --------------------------------------------------------------------------

    def add_account(
        self,
        api_key: str,
        secret: str,
        balances: Mapping[str, Decimal | float | int | str] | None = None,
        *,
        can_trade: bool = True,
    ) -> None:
        """Create (or reset) an account; `balances` are free amounts, default USDT=10000."""
        if not isinstance(api_key, str) or not API_KEY_RE.fullmatch(api_key):
            raise ConfigError("an API key must be 1-256 characters of A-Z, a-z, 0-9, '_' or '-'")
        if not isinstance(secret, str) or not secret:
            raise ConfigError("an account needs a non-empty secret")
        amounts = {k.upper(): to_decimal(v) for k, v in (balances or DEFAULT_BALANCES).items()}
        if any(v < 0 for v in amounts.values()):
            raise ConfigError("balances cannot be negative")
        with self._lock:
            old = self._accounts.get(api_key)
            if old is not None:
                self._drop_resting(old)
            account = Account(
                api_key, secret, can_trade=can_trade, created_ms=self.server_time_ms()
            )
            for asset, amount in amounts.items():
                account.balance(asset).free = amount
            account.update_time = self.now_ms()
            self._accounts[api_key] = account
        logger.info("simulated account %s %s", api_key, "reset" if old else "added")

    def remove_account(self, api_key: str) -> bool:
        """Revoke an API key: later requests with it get -2015, like a deleted Binance key."""
        with self._lock:
            account = self._accounts.pop(api_key, None)
            if account is not None:
                self._drop_resting(account)
        return account is not None

    def _drop_resting(self, account: Account) -> None:
        for order in account.orders.values():
            if order.is_open:
                self._resting.get(order.symbol, {}).pop(order.order_id, None)

    def account(self, api_key: str) -> Account | None:
        return self._accounts.get(api_key)

    def set_restrictions(self, api_key: str, **flags: bool) -> dict[str, object]:
        """Change what a key may do, as its owner would on Binance's API management page:
        `enableWithdrawals=True`, `ipRestrict=True`, `enableSpotAndMarginTrading=False`..."""
        with self._lock:
            account = self._require(api_key)
            for name, value in flags.items():
                if name == "enableSpotAndMarginTrading":
                    account.can_trade = bool(value)
                elif name in DEFAULT_RESTRICTIONS:
                    account.restrictions[name] = bool(value)
                else:
                    raise ConfigError(f"unknown API key restriction {name!r}")
            return self.restrictions_json(api_key)

    def restrictions_json(self, api_key: str) -> dict[str, object]:
        with self._lock:
            account = self._require(api_key)
            return {
                **account.restrictions,
                "createTime": account.created_ms,
                "enableSpotAndMarginTrading": account.can_trade,
            }

    def trade_fees_json(self, symbols: list[str]) -> list[dict[str, str]]:
        rate = f8(self.fee_rate)
        return [{"symbol": s, "makerCommission": rate, "takerCommission": rate} for s in symbols]

    def api_keys(self) -> list[str]:
        with self._lock:
            return list(self._accounts)

    def balances(self, api_key: str) -> dict[str, Balance]:
        """Copy of an account's balances after matching resting orders."""
        with self._lock:
            account = self._require(api_key)
            self._match_resting()
            return {k: Balance(b.free, b.locked) for k, b in account.balances.items()}

    def account_json(self, api_key: str, omit_zero: bool = False) -> dict[str, object]:
        with self._lock:
            account = self._require(api_key)
            self._match_resting()
            # Like Binance, every asset the exchange lists, held or not, unless told to omit
            # the zero ones.
            empty = Balance()
            rows = []
            for asset in {**account.balances, **self._assets}:
                b = account.balances.get(asset, empty)
                if omit_zero and b.free == 0 and b.locked == 0:
                    continue
                rows.append({"asset": asset, "free": f8(b.free), "locked": f8(b.locked)})
            bps = int(self.fee_rate * 10000)
            rate = f8(self.fee_rate)
            return {
                "makerCommission": bps,
                "takerCommission": bps,
                "buyerCommission": 0,
                "sellerCommission": 0,
                "commissionRates": {
                    "maker": rate,
                    "taker": rate,
                    "buyer": f8(ZERO),
                    "seller": f8(ZERO),
                },
                "canTrade": account.can_trade,
                "canWithdraw": False,
                "canDeposit": False,
                "brokered": False,
                "requireSelfTradePrevention": False,
                "preventSor": False,
                "updateTime": account.update_time,
                "accountType": "SPOT",
                "balances": rows,
                "permissions": ["SPOT"],
                "uid": zlib.crc32(account.api_key.encode()),
            }

    def _require(self, api_key: str) -> Account:
        account = self._accounts.get(api_key)
        if account is None:
            raise errors.invalid_api_key()
        return account

    # -- market control --------------------------------------------------------------------

    def spec(self, symbol: str) -> MarketSpec:
        """Market by id or unified symbol; -1121 if unknown."""
        try:
            return self.market.spec(symbol)
        except ConfigError:
            raise errors.invalid_symbol() from None

    def price(self, symbol: str) -> Decimal:
        return self.market.price(symbol)

    def set_price(self, symbol: str, price: Decimal | float | str) -> None:
        """Move a symbol to `price` now; the walk (or the freeze) continues from there."""
        self.market.set_price(symbol, price)

    def freeze(self, frozen: bool = True) -> None:
        """Stop every price walk (exact fills in tests) or resume it from the frozen prices."""
        self.market.freeze(frozen)

    # -- failures (see `faults`) ---------------------------------------------------------

    def set_failure(
        self,
        mode: FailureMode | str | None,
        count: int | None = None,
        *,
        endpoint: str | None = None,
        add: bool = False,
    ) -> None:
        """See `Faults.set`."""
        self.faults.set(mode, count, endpoint=endpoint, add=add)

    def failure(self) -> FailureMode | None:
        return self.faults.current()

    def take_failure(
        self, endpoint: str | None = None
    ) -> tuple[FailureMode, threading.Event] | None:
        return self.faults.take(endpoint)

    def release_hung_requests(self) -> None:
        self.faults.release()

    @property
    def hang_seconds(self) -> float:
        """How long the "timeout" and "lost answer" failure modes hold a request."""
        return self.faults.hang_seconds

    @hang_seconds.setter
    def hang_seconds(self, seconds: float) -> None:
        self.faults.hang_seconds = seconds

    # -- stats -----------------------------------------------------------------------------

    def count_request(self, endpoint: str) -> None:
        with self._lock:
            self._stats[endpoint] += 1

    def count_error(self, code: int | str) -> None:
        with self._lock:
            self._errors[str(code)] += 1

    def stats(self) -> dict[str, object]:
        """Request counts per endpoint ("GET /api/v3/klines"), for benchmarks and tests."""
        with self._lock:
            requests = dict(sorted(self._stats.items()))
            market_data = sum(n for k, n in requests.items() if k.split(" ", 1)[-1] in MARKET_DATA)
            return {
                "requests": requests,
                "total": sum(requests.values()),
                "market_data": market_data,
                "orders_created": requests.get("POST /api/v3/order", 0),
                "errors": dict(sorted(self._errors.items())),
                "refused": {str(k): v for k, v in self.limits.refused.items()},
                "since": self._stats_since,
            }

    def reset_stats(self) -> None:
        with self._lock:
            self._stats.clear()
            self._errors.clear()
            self._stats_since = self.wall_clock()
        self.limits.reset()

    # -- orders ----------------------------------------------------------------------------

    def place_order(
        self,
        api_key: str,
        symbol: str,
        side: Side | str,
        type: OrderType | str,
        *,
        quantity: Decimal | None = None,
        quote_order_qty: Decimal | None = None,
        price: Decimal | None = None,
        time_in_force: TimeInForce | str | None = None,
        client_order_id: str | None = None,
        test: bool = False,
    ) -> Order | None:
        """Validate and execute a new order like POST /api/v3/order (or /order/test).

        Parameter shape (which fields each type needs) is checked by the HTTP layer; this
        checks what depends on state: symbol, filters, client-id reuse and balances.

        As on Binance, a `client_order_id` is refused (-2010 "Duplicate order sent.") only
        while an order of this account and symbol carrying it is still open; once that order
        is filled, canceled or expired the id may be used again.
        """
        side = Side(side)
        type = OrderType(type)
        if client_order_id is not None and not CLIENT_ORDER_ID_RE.fullmatch(client_order_id):
            raise errors.illegal_chars("newClientOrderId", "^[a-zA-Z0-9-_]{1,36}$")
        tif = TimeInForce(time_in_force) if time_in_force else TimeInForce.GTC
        with self._lock:
            account = self._require(api_key)
            if not account.can_trade:
                raise ApiError(-2010, "This account may not place or cancel orders.")
            spec = self.spec(symbol)
            self._match_resting()
            if client_order_id is not None and any(
                o.is_open for o in account.by_client_id.get((spec.id, client_order_id), ())
            ):
                raise errors.duplicate_order()
            current = self.market.price(spec.id)
            limit = None
            if type is not OrderType.MARKET:
                if price is None:
                    raise errors.mandatory("price")
                limit = self._check_price(spec, price)
                self._check_percent_price(side, limit, current)
            if quantity is not None:
                qty = self._check_qty(spec, quantity)
            elif quote_order_qty is not None and type is OrderType.MARKET:
                if quote_order_qty <= 0:
                    raise ApiError(-1013, "Invalid quoteOrderQty.")
                if quote_order_qty < spec.min_notional:
                    raise errors.filter_failure("NOTIONAL")
                qty = (quote_order_qty / current / spec.step).to_integral_value(ROUND_DOWN)
                qty = self._check_qty(spec, qty * spec.step)
            else:
                raise errors.one_of_mandatory("quantity", "quoteOrderQty")
            reference = current if limit is None else limit
            if qty * reference < spec.min_notional:
                raise errors.filter_failure("NOTIONAL")
            marketable = limit is None or (
                limit >= current if side is Side.BUY else limit <= current
            )
            if type is OrderType.LIMIT_MAKER and marketable:
                raise ApiError(-2010, "Order would immediately match and take.")
            fill_price = current if marketable else limit
            if side is Side.BUY:
                need_price = current if limit is None else limit
                if account.balance(spec.quote).free < self._buy_cost(qty * need_price):
                    raise errors.insufficient_balance()
            elif account.balance(spec.base).free < qty:
                raise errors.insufficient_balance()
            if test:
                return None

            now = self.now_ms()
            order = Order(
                order_id=next(self._order_ids),
                api_key=api_key,
                symbol=spec.id,
                client_order_id=client_order_id or self._new_client_id(account, spec.id),
                side=side,
                type=type,
                time_in_force=tif,
                price=limit if limit is not None else ZERO,
                orig_qty=qty,
                orig_quote_qty=quote_order_qty or ZERO,
                status=OrderStatus.NEW,
                time=now,
                update_time=now,
            )
            account.orders[order.order_id] = order
            account.by_client_id.setdefault((spec.id, order.client_order_id), []).append(order)
            account.orders_by_symbol.setdefault(spec.id, []).append(order)
            if marketable:
                self._fill(account, spec, order, fill_price, maker=False, now=now)
            elif tif is not TimeInForce.GTC:
                order.status = OrderStatus.EXPIRED
            else:
                self._rest(account, spec, order)
            account.update_time = now
            logger.debug(
                "order %s %s %s %s %s -> %s",
                order.order_id,
                spec.id,
                side.value,
                type.value,
                f8(qty),
                order.status.value,
            )
            return order

    def get_order(
        self,
        api_key: str,
        symbol: str,
        order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> Order:
        with self._lock:
            account = self._require(api_key)
            spec = self.spec(symbol)
            self._match_resting()
            order = self._find(account, spec, order_id, client_order_id)
            if order is None:
                raise errors.order_not_found()
            return order

    def cancel_order(
        self,
        api_key: str,
        symbol: str,
        order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> Order:
        """Cancel a resting order; -2011 if it is unknown or no longer open."""
        with self._lock:
            account = self._require(api_key)
            if not account.can_trade:
                raise ApiError(-2010, "This account may not place or cancel orders.")
            spec = self.spec(symbol)
            self._match_resting()
            order = self._find(account, spec, order_id, client_order_id)
            if order is None or not order.is_open:
                raise errors.unknown_order()
            self._cancel(account, spec, order)
            return order

    def cancel_open_orders(self, api_key: str, symbol: str) -> list[Order]:
        with self._lock:
            account = self._require(api_key)
            spec = self.spec(symbol)
            self._match_resting()
            orders = [o for o in account.orders_by_symbol.get(spec.id, []) if o.is_open]
            if not orders:
                raise errors.unknown_order()
            for order in orders:
                self._cancel(account, spec, order)
            return orders

    def open_orders(self, api_key: str, symbol: str | None = None) -> list[Order]:
        with self._lock:
            account = self._require(api_key)
            sid = self.spec(symbol).id if symbol else None
            self._match_resting()
            return [
                o for o in account.orders.values() if o.is_open and (sid is None or o.symbol == sid)
            ]

    def all_orders(
        self,
        api_key: str,
        symbol: str,
        *,
        from_order_id: int | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
    ) -> list[Order]:
        with self._lock:
            account = self._require(api_key)
            spec = self.spec(symbol)
            self._match_resting()
            orders = account.orders_by_symbol.get(spec.id, [])
            return _window(
                orders,
                lambda o: o.order_id,
                lambda o: o.time,
                from_order_id,
                start_ms,
                end_ms,
                limit,
            )

    def my_trades(
        self,
        api_key: str,
        symbol: str,
        *,
        order_id: int | None = None,
        from_id: int | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
    ) -> list[Fill]:
        with self._lock:
            account = self._require(api_key)
            spec = self.spec(symbol)
            self._match_resting()
            trades = account.trades_by_symbol.get(spec.id, [])
            if order_id is not None:
                trades = [t for t in trades if t.order_id == order_id]
            return _window(
                trades, lambda t: t.trade_id, lambda t: t.time, from_id, start_ms, end_ms, limit
            )

    def orders(self, api_key: str | None = None) -> list[Order]:
        """Every order (all accounts, or one), oldest first, after matching resting ones."""
        with self._lock:
            self._match_resting()
            accounts = [self._accounts[api_key]] if api_key in self._accounts else []
            if api_key is None:
                accounts = list(self._accounts.values())
            result = [o for a in accounts for o in a.orders.values()]
            return sorted(result, key=lambda o: o.order_id)

    # -- internals -------------------------------------------------------------------------

    def _new_client_id(self, account: Account, symbol: str) -> str:
        while True:
            candidate = "sim" + secrets.token_hex(11)
            if (symbol, candidate) not in account.by_client_id:
                return candidate

    @staticmethod
    def _check_price(spec: MarketSpec, price: Decimal) -> Decimal:
        if price < spec.tick or price > spec.max_price or price % spec.tick != 0:
            raise errors.filter_failure("PRICE_FILTER")
        return price

    @staticmethod
    def _check_percent_price(side: Side, price: Decimal, average: Decimal) -> None:
        """PERCENT_PRICE_BY_SIDE: a limit price within the multipliers of the average price
        (the current price here), as Binance lists them for BTCUSDT."""
        up, down = (
            (BID_MULTIPLIER_UP, BID_MULTIPLIER_DOWN)
            if side is Side.BUY
            else (ASK_MULTIPLIER_UP, ASK_MULTIPLIER_DOWN)
        )
        if not average * down <= price <= average * up:
            raise errors.filter_failure("PERCENT_PRICE_BY_SIDE")

    @staticmethod
    def _check_qty(spec: MarketSpec, qty: Decimal) -> Decimal:
        if qty < spec.step or qty > spec.max_qty or qty % spec.step != 0:
            raise errors.filter_failure("LOT_SIZE")
        return qty

    def _bnb_fee(self, account: Account, spec: MarketSpec, quote_fee: Decimal) -> Decimal | None:
        """The fee in BNB (25% off, at the BNB price in the market's quote), or None when the
        account pays in the trade's own assets: BNB fees off, no BNB market in that quote,
        or too little BNB (Binance then charges the usual asset)."""
        if not account.bnb_fees or spec.base == "BNB" or spec.quote == "BNB":
            return None
        bnb_market = f"BNB{spec.quote}"
        if bnb_market not in self.market.specs:
            return None
        bnb_price = self.market.price(bnb_market)
        fee = (quote_fee * BNB_DISCOUNT / bnb_price).quantize(Q8, ROUND_HALF_UP)
        if account.balance("BNB").free < fee:
            return None
        return fee

    def set_bnb_fees(self, api_key: str, enabled: bool = True) -> None:
        with self._lock:
            self._require(api_key).bnb_fees = enabled

    def _costs(self, notional: Decimal) -> tuple[Decimal, Decimal]:
        notional = notional.quantize(Q8, ROUND_HALF_UP)
        return notional, (notional * self.fee_rate).quantize(Q8, ROUND_HALF_UP)

    def _buy_cost(self, notional: Decimal) -> Decimal:
        """The quote a buy needs: its notional, plus the fee only where fees are in quote."""
        notional, fee = self._costs(notional)
        return notional + fee if self.fee_asset == "quote" else notional

    def _rest(self, account: Account, spec: MarketSpec, order: Order) -> None:
        if order.side is Side.BUY:
            order.reserved = self._buy_cost(order.orig_qty * order.price)
            balance = account.balance(spec.quote)
        else:
            order.reserved = order.orig_qty
            balance = account.balance(spec.base)
        balance.free -= order.reserved
        balance.locked += order.reserved
        if spec.id not in self._resting or not self._resting[spec.id]:
            self._checked_until[spec.id] = order.time // 1000
        self._resting.setdefault(spec.id, {})[order.order_id] = order

    def _unlock(self, account: Account, spec: MarketSpec, order: Order) -> None:
        if order.reserved:
            balance = account.balance(spec.quote if order.side is Side.BUY else spec.base)
            balance.locked -= order.reserved
            balance.free += order.reserved
            order.reserved = ZERO
        self._resting.get(spec.id, {}).pop(order.order_id, None)

    def _cancel(self, account: Account, spec: MarketSpec, order: Order) -> None:
        self._unlock(account, spec, order)
        order.status = OrderStatus.CANCELED
        order.update_time = account.update_time = self.now_ms()

    def _fill(
        self,
        account: Account,
        spec: MarketSpec,
        order: Order,
        price: Decimal,
        *,
        maker: bool,
        now: int,
        qty: Decimal | None = None,
    ) -> None:
        """Fill what is left of `order` at `price`, or only `qty` of it (a partial fill: the
        order rests on with the rest, and so does the rest of its reserved balance)."""
        remaining = order.remaining_qty
        if qty is None or qty >= remaining:
            qty = remaining
            self._unlock(account, spec, order)
        else:
            part = (order.reserved * qty / remaining).quantize(Q8, ROUND_HALF_UP)
            balance = account.balance(spec.quote if order.side is Side.BUY else spec.base)
            balance.locked -= part
            balance.free += part
            order.reserved -= part
        notional, fee = self._costs(qty * price)
        base, quote = account.balance(spec.base), account.balance(spec.quote)
        fee_asset = spec.quote
        bnb_fee = self._bnb_fee(account, spec, fee)
        if bnb_fee is not None:
            fee, fee_asset = bnb_fee, "BNB"
            account.balance("BNB").free -= fee
            if order.side is Side.BUY:
                quote.free -= notional
                base.free += qty
            else:
                base.free -= qty
                quote.free += notional
        elif order.side is Side.BUY and self.fee_asset == "base":
            fee = (qty * self.fee_rate).quantize(Q8, ROUND_HALF_UP)
            fee_asset = spec.base
            quote.free -= notional
            base.free += qty - fee
        elif order.side is Side.BUY:
            quote.free -= notional + fee
            base.free += qty
        else:
            base.free -= qty
            quote.free += notional - fee
        fill = Fill(
            trade_id=next(self._trade_ids),
            order_id=order.order_id,
            symbol=spec.id,
            price=price,
            qty=qty,
            quote_qty=notional,
            commission=fee,
            commission_asset=fee_asset,
            time=now,
            is_buyer=order.side is Side.BUY,
            is_maker=maker,
        )
        order.fills.append(fill)
        order.executed_qty += qty
        order.cum_quote += notional
        order.status = (
            OrderStatus.FILLED if order.remaining_qty <= 0 else OrderStatus.PARTIALLY_FILLED
        )
        order.update_time = account.update_time = now
        account.trades_by_symbol.setdefault(spec.id, []).append(fill)

    def fill_part(self, api_key: str, symbol: str, client_order_id: str, qty) -> None:
        """A counterparty takes `qty` of a resting limit order, at its price (for tests and
        demos of partial fills); the order rests on with the rest."""
        with self._lock:
            account = self._require(api_key)
            spec = self.market.spec(symbol)
            self._match_resting()  # what the price did first
            order = self._find(account, spec, None, client_order_id)
            if order is None or not order.is_open:
                raise ConfigError(f"no open order {client_order_id!r} on {symbol}")
            qty = Decimal(str(qty))
            if not 0 < qty < order.remaining_qty:
                raise ConfigError("a partial fill takes more than 0 and less than the rest")
            self._fill(account, spec, order, order.price, maker=True, now=self.now_ms(), qty=qty)

    def _match_resting(self) -> None:
        """Fill resting limit orders whose price the walk reached since they were last checked."""
        if not self._resting:
            return
        now = self.market.now()
        for sid, orders in list(self._resting.items()):
            if not orders:
                del self._resting[sid]
                self._checked_until.pop(sid, None)
                continue
            since = self._checked_until.get(sid, now)
            low, high = self.market.extremes(sid, min(since + 1, now), now)
            self._checked_until[sid] = now
            spec = self.market.specs[sid]
            for order in sorted(orders.values(), key=lambda o: o.order_id):
                if (order.side is Side.BUY and low <= order.price) or (
                    order.side is Side.SELL and high >= order.price
                ):
                    account = self._accounts[order.api_key]
                    self._fill(account, spec, order, order.price, maker=True, now=self.now_ms())

    @staticmethod
    def _find(
        account: Account, spec: MarketSpec, order_id: int | None, client_order_id: str | None
    ) -> Order | None:
        if order_id is not None:
            order = account.orders.get(order_id)
            if order is not None and client_order_id is not None:
                order = order if order.client_order_id == client_order_id else None
        elif client_order_id is not None:
            # Several closed orders (and at most one open one, the newest) may share an id.
            same_id = account.by_client_id.get((spec.id, client_order_id))
            order = same_id[-1] if same_id else None
        else:
            raise errors.one_of_mandatory("orderId", "origClientOrderId")
        if order is None or order.symbol != spec.id:
            return None
        return order


MARKET_DATA = frozenset(
    {
        "/api/v3/ping",
        "/api/v3/time",
        "/api/v3/exchangeInfo",
        "/api/v3/ticker/price",
        "/api/v3/ticker/24hr",
        "/api/v3/ticker/bookTicker",
        "/api/v3/klines",
        "/api/v3/uiKlines",
        "/api/v3/avgPrice",
    }
)


def _window(items, key, when, from_id, start_ms, end_ms, limit):
    """Binance's paging for /allOrders and /myTrades: ascending, `limit` rows."""
    rows = items
    if from_id is not None:
        rows = [r for r in rows if key(r) >= from_id]
    if start_ms is not None:
        rows = [r for r in rows if when(r) >= start_ms]
    if end_ms is not None:
        rows = [r for r in rows if when(r) <= end_ms]
    if from_id is not None or start_ms is not None:
        return list(rows[:limit])
    return list(rows[-limit:]) if limit else []
