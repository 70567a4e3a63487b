"""WSGI app speaking the subset of Binance's spot REST API that ccxt's `binance` class uses.

Plain werkzeug rather than Flask: this app must not depend on the product's app factory, and it
sits on the hot path of benchmarks, so per-request work is a dict lookup and a handler call.
Requests under /sim/... are the unsigned control API for tests and operators.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.wrappers import Request, Response

from . import book, errors
from .accounts import API_KEY_RE
from .errors import ApiError, ConfigError, SimError
from .faults import FailureMode
from .limits import Verdict, request_weight
from .market import (
    ASK_MULTIPLIER_DOWN,
    ASK_MULTIPLIER_UP,
    BID_MULTIPLIER_DOWN,
    BID_MULTIPLIER_UP,
    INTERVALS,
)
from .orders import CLIENT_ORDER_ID_RE, OrderType, RespType, Side, TimeInForce, f8
from .simulator import Simulator

logger = logging.getLogger(__name__)

JSON_TYPE = "application/json;charset=UTF-8"
DEFAULT_RECV_WINDOW = 5000
MAX_RECV_WINDOW = 60000

_DECIMAL_RE = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?")
_INT_RE = re.compile(r"[0-9]{1,20}")
_RECV_RE = re.compile(r"[0-9]{1,20}(\.[0-9]{1,3})?")
_SYMBOL_RE = re.compile(r"[A-Z0-9-_.]{1,20}")

Handler = Callable[["Call"], Any]


class Call:
    """One API request: merged parameters and, once authenticated, the caller's API key."""

    def __init__(self, request: Request, query: str, body: str) -> None:
        self.request = request
        self.query = query
        self.body = body
        params = dict(parse_qsl(body, keep_blank_values=True)) if body else {}
        params.update(parse_qsl(query, keep_blank_values=True))  # query string wins
        self.params = params
        self.api_key = ""

    def get(self, name: str) -> str | None:
        value = self.params.get(name)
        return value if value not in (None, "") else None

    def require(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise errors.mandatory(name)
        return value

    def int(self, name: str, required: bool = False) -> int | None:
        value = self.require(name) if required else self.get(name)
        if value is None:
            return None
        if not _INT_RE.fullmatch(value):
            raise errors.illegal_chars(name, "^[0-9]{1,20}$")
        return int(value)

    def decimal(self, name: str, required: bool = False) -> Decimal | None:
        value = self.require(name) if required else self.get(name)
        if value is None:
            return None
        if not _DECIMAL_RE.fullmatch(value):
            raise errors.illegal_chars(name, "^([0-9]{1,20})(\\.[0-9]{1,20})?$")
        number = Decimal(value)
        if -number.as_tuple().exponent > 8 and number != number.quantize(Decimal("1e-8")):
            raise ApiError(-1111, f"Parameter '{name}' has too much precision.")
        return number

    def symbol(self, required: bool = True) -> str | None:
        value = self.require("symbol") if required else self.get("symbol")
        if value is not None and not _SYMBOL_RE.fullmatch(value):
            raise errors.illegal_chars("symbol", "^[A-Z0-9-_.]{1,20}$")
        return value

    def symbols(self) -> list[str] | None:
        value = self.get("symbols")
        if value is None:
            return None
        try:
            items = json.loads(value)
        except ValueError:
            items = None
        if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
            raise errors.illegal_chars(
                "symbols", '^\\["[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}\\]$'
            )
        return items


def _strip_signature(raw: str) -> tuple[str, str | None]:
    kept, signature = [], None
    for part in raw.split("&") if raw else ():
        if part.startswith("signature="):
            signature = part[len("signature=") :]
        else:
            kept.append(part)
    return "&".join(kept), signature


def _json(data: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, separators=(",", ":"))
    return Response(body, status=status, content_type=JSON_TYPE, headers=headers)


class SimApp:
    """The WSGI callable; see `create_sim_app`."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self._symbols_info = [self._symbol_info(spec) for spec in sim.market.specs.values()]
        self._routes: dict[tuple[str, str], tuple[Handler, bool]] = {}
        api = "/api/v3"
        for method, path, handler, signed in (
            ("GET", f"{api}/ping", self.ping, False),
            ("GET", f"{api}/time", self.time, False),
            ("GET", f"{api}/exchangeInfo", self.exchange_info, False),
            ("GET", f"{api}/ticker/price", self.ticker_price, False),
            ("GET", f"{api}/ticker/24hr", self.ticker_24hr, False),
            ("GET", f"{api}/ticker/bookTicker", self.book_ticker, False),
            ("GET", f"{api}/avgPrice", self.avg_price, False),
            ("GET", f"{api}/klines", self.klines, False),
            ("GET", f"{api}/uiKlines", self.klines, False),
            ("GET", f"{api}/depth", self.depth, False),
            ("GET", f"{api}/trades", self.trades, False),
            ("GET", f"{api}/aggTrades", self.agg_trades, False),
            ("GET", "/sapi/v1/system/status", self.system_status, False),
            ("GET", "/sapi/v1/asset/tradeFee", self.trade_fee, True),
            ("GET", "/sapi/v1/account/apiRestrictions", self.api_restrictions, True),
            ("GET", f"{api}/account", self.account, True),
            ("POST", f"{api}/order", self.new_order, True),
            ("POST", f"{api}/order/test", self.test_order, True),
            ("GET", f"{api}/order", self.query_order, True),
            ("DELETE", f"{api}/order", self.cancel_order, True),
            ("GET", f"{api}/openOrders", self.open_orders, True),
            ("DELETE", f"{api}/openOrders", self.cancel_open_orders, True),
            ("GET", f"{api}/allOrders", self.all_orders, True),
            ("GET", f"{api}/myTrades", self.my_trades, True),
        ):
            self._routes[(method, path)] = (handler, signed)
        self._control: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("GET", "/sim"): self.c_info,
            ("GET", "/sim/prices"): self.c_prices,
            ("POST", "/sim/price"): self.c_set_price,
            ("POST", "/sim/freeze"): self.c_freeze,
            ("GET", "/sim/orders"): self.c_orders,
            ("GET", "/sim/accounts"): self.c_accounts,
            ("POST", "/sim/accounts"): self.c_add_account,
            ("POST", "/sim/accounts/restrictions"): self.c_restrictions,
            ("GET", "/sim/stats"): self.c_stats,
            ("POST", "/sim/stats/reset"): self.c_reset_stats,
            ("POST", "/sim/fail"): self.c_fail,
        }

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        try:
            if request.path == "/sim" or request.path.startswith("/sim/"):
                response = self._dispatch_control(request)
            else:
                response = self._dispatch_api(request)
        except Exception:
            logger.exception("simulated exchange failed on %s %s", request.method, request.path)
            response = _json(
                {"code": -1000, "msg": "An unknown error occurred while processing the request."},
                500,
            )
        return response(environ, start_response)

    # -- API dispatch ----------------------------------------------------------------------

    def _dispatch_api(self, request: Request) -> Response:
        method, path = request.method, request.path
        self.sim.count_request(f"{method} {path}")
        ip = request.remote_addr or "unknown"
        verdict = self.sim.limits.admit(ip, request_weight(method, path, request.args))
        if verdict.status != 200:
            return self._refused(verdict, ip)
        failure = self.sim.take_failure(f"{method} {path}")
        if failure is not None and failure[0] is not FailureMode.LOST_ANSWER:
            return self._fail(*failure)
        response = self._serve_api(request, method, path)
        if failure is not None:  # carried out, but the client never hears of it
            return self._fail(*failure)
        if path.startswith("/api/"):
            response.headers["X-MBX-USED-WEIGHT-1M"] = str(verdict.used)
        return response

    def _serve_api(self, request: Request, method: str, path: str) -> Response:
        route = self._routes.get((method, path))
        if route is None:
            status = 405 if any(p == path for _, p in self._routes) else 404
            return Response("", status=status)
        handler, signed = route
        query = request.query_string.decode("latin-1")
        body = request.get_data(as_text=False).decode("latin-1") if method != "GET" else ""
        call = Call(request, query, body)
        headers: dict[str, str] = {}
        try:
            if signed:
                self._authenticate(call)
            if (method, path) == ("POST", "/api/v3/order"):
                headers, refusal = self._count_order(call.api_key)
                if refusal is not None:
                    raise refusal
            return _json(handler(call), headers=headers)
        except ApiError as exc:
            self.sim.count_error(exc.code)
            logger.debug("%s %s -> %s %s", method, path, exc.code, exc.msg)
            return _json(exc.to_json(), exc.status, headers)

    def _count_order(self, api_key: str) -> tuple[dict[str, str], ApiError | None]:
        """Binance's per-account order counters, as headers; -1015 past either limit."""
        allowed, in_10s, today, limit = self.sim.limits.count_order(api_key)
        headers = {"X-MBX-ORDER-COUNT-10S": str(in_10s), "X-MBX-ORDER-COUNT-1D": str(today)}
        if allowed:
            return headers, None
        return headers, ApiError(-1015, f"Too many new orders; current limit is {limit}.", 429)

    def _refused(self, verdict: Verdict, ip: str) -> Response:
        headers = {
            "Retry-After": str(verdict.retry_after),
            "X-MBX-USED-WEIGHT-1M": str(verdict.used),
        }
        if verdict.status == 418:
            until = self.sim.server_time_ms() + verdict.retry_after * 1000
            msg = (
                f"Way too many requests; IP({ip}) banned until {until}. "
                "Please use the websocket for live updates to avoid bans."
            )
        else:
            limit = self.sim.limits.weight_limit
            msg = (
                f"Too much request weight used; current limit is {limit} request weight per "
                "1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."
            )
        self.sim.count_error(verdict.status)
        return _json({"code": -1003, "msg": msg}, verdict.status, headers)

    def _fail(self, mode: FailureMode, release: Any) -> Response:
        if mode is FailureMode.RATE_LIMIT:
            msg = (
                "Too many requests; current limit of IP(127.0.0.1) is 6000 requests per minute. "
                "Please use WebSocket Streams for live updates to avoid polling the API."
            )
            return _json({"code": -1003, "msg": msg}, 429, {"Retry-After": "1"})
        if mode in (FailureMode.TIMEOUT, FailureMode.LOST_ANSWER):
            release.wait(self.sim.hang_seconds)
            return Response("Gateway Timeout", status=504, content_type="text/plain")
        return Response("Service Unavailable", status=503, content_type="text/plain")

    def _authenticate(self, call: Call) -> None:
        """Binance's checks, in order: key, mandatory params, signature, recvWindow."""
        key = call.request.headers.get("X-MBX-APIKEY", "")
        if not API_KEY_RE.fullmatch(key):
            raise errors.bad_api_key_format()
        account = self.sim.account(key)
        if account is None:
            raise errors.invalid_api_key()
        if call.get("signature") is None:
            raise errors.mandatory("signature")
        timestamp = call.int("timestamp", required=True)
        recv_raw = call.get("recvWindow")
        recv_window = Decimal(DEFAULT_RECV_WINDOW)
        if recv_raw is not None:
            if not _RECV_RE.fullmatch(recv_raw):
                raise errors.illegal_chars("recvWindow", "^[0-9]{1,20}(\\.[0-9]{1,3})?$")
            recv_window = Decimal(recv_raw)
            if recv_window > MAX_RECV_WINDOW:
                raise ApiError(-1131, "recvWindow must be less than 60000")
        query, sig_q = _strip_signature(call.query)
        body, sig_b = _strip_signature(call.body)
        provided = (sig_q or sig_b or "").lower()
        expected = hmac.new(
            account.secret.encode(), (query + body).encode("latin-1"), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, provided):
            raise errors.bad_signature()
        now = self.sim.server_time_ms()
        if timestamp >= now + 1000:
            raise ApiError(
                -1021, "Timestamp for this request was 1000ms ahead of the server's time."
            )
        if now - timestamp > recv_window:
            raise ApiError(-1021, "Timestamp for this request is outside of the recvWindow.")
        call.api_key = key

    def _spec(self, symbol: str):
        return self.sim.spec(symbol)

    # -- public endpoints ------------------------------------------------------------------

    def ping(self, call: Call) -> object:
        return {}

    def time(self, call: Call) -> object:
        return {"serverTime": self.sim.server_time_ms()}

    def system_status(self, call: Call) -> object:
        return {"status": 0, "msg": "normal"}

    @staticmethod
    def _symbol_info(spec) -> dict[str, object]:
        return {
            "symbol": spec.id,
            "status": "TRADING",
            "baseAsset": spec.base,
            "baseAssetPrecision": 8,
            "quoteAsset": spec.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": [t.value for t in OrderType],
            "icebergAllowed": False,
            "ocoAllowed": False,
            "otoAllowed": False,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": False,
            "cancelReplaceAllowed": False,
            "amendAllowed": False,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": f8(spec.tick),
                    "maxPrice": f8(spec.max_price),
                    "tickSize": f8(spec.tick),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": f8(spec.step),
                    "maxQty": f8(spec.max_qty),
                    "stepSize": f8(spec.step),
                },
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "minQty": f8(Decimal(0)),
                    "maxQty": f8(spec.max_qty),
                    "stepSize": f8(Decimal(0)),
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": f8(spec.min_notional),
                    "applyMinToMarket": True,
                    "maxNotional": f8(Decimal(9000000)),
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
                {
                    "filterType": "PERCENT_PRICE_BY_SIDE",
                    "bidMultiplierUp": f8(BID_MULTIPLIER_UP),
                    "bidMultiplierDown": f8(BID_MULTIPLIER_DOWN),
                    "askMultiplierUp": f8(ASK_MULTIPLIER_UP),
                    "askMultiplierDown": f8(ASK_MULTIPLIER_DOWN),
                    "avgPriceMins": 5,
                },
                {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
        }

    def exchange_info(self, call: Call) -> object:
        symbol, symbols = call.symbol(required=False), call.symbols()
        infos = self._symbols_info
        if symbol is not None or symbols is not None:
            wanted = [symbol] if symbol is not None else symbols or []
            by_id = {i["symbol"]: i for i in infos}
            if any(s not in by_id for s in wanted):
                raise errors.invalid_symbol()
            infos = [by_id[s] for s in wanted]
        return {
            "timezone": "UTC",
            "serverTime": self.sim.server_time_ms(),
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": 6000,
                },
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
                {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
            ],
            "exchangeFilters": [],
            "symbols": infos,
        }

    def _selected(self, call: Call) -> tuple[list[str], bool]:
        """Symbols asked for by `symbol` / `symbols` (all if neither) and whether one was named."""
        symbol, symbols = call.symbol(required=False), call.symbols()
        if symbol is not None:
            return [self._spec(symbol).id], True
        if symbols is not None:
            return [self._spec(s).id for s in symbols], False
        return list(self.sim.market.specs), False

    def ticker_price(self, call: Call) -> object:
        ids, single = self._selected(call)
        rows = [{"symbol": sid, "price": self.sim.market.price_str(sid)} for sid in ids]
        return rows[0] if single else rows

    def ticker_24hr(self, call: Call) -> object:
        ids, single = self._selected(call)
        rows = [self.sim.market.ticker_24h(sid) for sid in ids]
        return rows[0] if single else rows

    def book_ticker(self, call: Call) -> object:
        ids, single = self._selected(call)
        rows = []
        for sid in ids:
            ticker = self.sim.market.ticker_24h(sid)
            rows.append(
                {key: ticker[key] for key in ("symbol", "bidPrice", "bidQty", "askPrice", "askQty")}
            )
        return rows[0] if single else rows

    def avg_price(self, call: Call) -> object:
        spec = self._spec(call.symbol())
        return {
            "mins": 5,
            "price": self.sim.market.price_str(spec.id),
            "closeTime": self.sim.now_ms(),
        }

    def klines(self, call: Call) -> object:
        spec = self._spec(call.symbol())
        interval = call.require("interval")
        if interval not in INTERVALS:
            raise ApiError(-1120, "Invalid interval.")
        limit = call.int("limit")
        limit = 500 if limit is None else max(1, min(limit, 1000))
        start, end = call.int("startTime"), call.int("endTime")
        candles = self.sim.market.klines(spec.id, interval, start, end, limit)
        return [c.to_binance() for c in candles]

    def depth(self, call: Call) -> object:
        return book.depth(self.sim.market, self._spec(call.symbol()), call.int("limit"))

    def trades(self, call: Call) -> object:
        return book.recent_trades(self.sim.market, self._spec(call.symbol()), call.int("limit"))

    def agg_trades(self, call: Call) -> object:
        return book.agg_trades(
            self.sim.market,
            self._spec(call.symbol()),
            from_id=call.int("fromId"),
            start_ms=call.int("startTime"),
            end_ms=call.int("endTime"),
            limit=call.int("limit"),
        )

    # -- signed endpoints ------------------------------------------------------------------

    def trade_fee(self, call: Call) -> object:
        symbol = call.symbol(required=False)
        ids = [self._spec(symbol).id] if symbol is not None else list(self.sim.market.specs)
        return self.sim.trade_fees_json(ids)

    def api_restrictions(self, call: Call) -> object:
        return self.sim.restrictions_json(call.api_key)

    def account(self, call: Call) -> object:
        omit = (call.get("omitZeroBalances") or "").lower() == "true"
        return self.sim.account_json(call.api_key, omit_zero=omit)

    def _order_args(self, call: Call) -> dict[str, Any]:
        symbol = call.symbol()
        side = call.require("side")
        if side not in Side.__members__:
            raise ApiError(-1117, "Invalid side.")
        type_ = call.require("type")
        if type_ not in OrderType.__members__:
            raise ApiError(-1116, "Invalid orderType.")
        order_type = OrderType(type_)
        tif = call.get("timeInForce")
        quantity = call.decimal("quantity")
        quote_qty = call.decimal("quoteOrderQty")
        price = call.decimal("price")
        if order_type is OrderType.MARKET:
            for name, value in (("timeInForce", tif), ("price", price)):
                if value is not None:
                    raise errors.not_required(name)
            if quantity is None and quote_qty is None:
                raise errors.one_of_mandatory("quantity", "quoteOrderQty")
            if quantity is not None and quote_qty is not None:
                raise errors.not_required("quoteOrderQty")
        else:
            if order_type is OrderType.LIMIT:
                if tif is None:
                    raise errors.mandatory("timeInForce")
                if tif not in TimeInForce.__members__:
                    raise ApiError(-1115, "Invalid timeInForce.")
            elif tif is not None:
                raise errors.not_required("timeInForce")
            if quote_qty is not None:
                raise errors.not_required("quoteOrderQty")
            if price is None:
                raise errors.mandatory("price")
            if quantity is None:
                raise errors.mandatory("quantity")
        client_id = call.get("newClientOrderId")
        if client_id is not None and not CLIENT_ORDER_ID_RE.fullmatch(client_id):
            raise errors.illegal_chars("newClientOrderId", "^[a-zA-Z0-9-_]{1,36}$")
        return {
            "symbol": symbol,
            "side": Side(side),
            "type": order_type,
            "quantity": quantity,
            "quote_order_qty": quote_qty,
            "price": price,
            "time_in_force": tif,
            "client_order_id": client_id,
        }

    def new_order(self, call: Call) -> object:
        args = self._order_args(call)
        resp_raw = call.get("newOrderRespType") or "FULL"
        if resp_raw not in RespType.__members__:
            raise ApiError(-1130, "Data sent for parameter 'newOrderRespType' is not valid.")
        order = self.sim.place_order(call.api_key, **args)
        assert order is not None
        return order.response_json(RespType(resp_raw))

    def test_order(self, call: Call) -> object:
        self.sim.place_order(call.api_key, test=True, **self._order_args(call))
        return {}

    def _order_ref(self, call: Call) -> tuple[str, int | None, str | None]:
        symbol = call.symbol()
        order_id = call.int("orderId")
        client_id = call.get("origClientOrderId")
        if order_id is None and client_id is None:
            raise errors.one_of_mandatory("orderId", "origClientOrderId")
        return symbol, order_id, client_id

    def query_order(self, call: Call) -> object:
        symbol, order_id, client_id = self._order_ref(call)
        return self.sim.get_order(call.api_key, symbol, order_id, client_id).query_json()

    def cancel_order(self, call: Call) -> object:
        symbol, order_id, client_id = self._order_ref(call)
        cancel_id = call.get("newClientOrderId")
        if cancel_id is not None and not CLIENT_ORDER_ID_RE.fullmatch(cancel_id):
            raise errors.illegal_chars("newClientOrderId", "^[a-zA-Z0-9-_]{1,36}$")
        order = self.sim.cancel_order(call.api_key, symbol, order_id, client_id)
        return order.cancel_json(cancel_id or f"sim{order.order_id}cancel")

    def open_orders(self, call: Call) -> object:
        symbol = call.symbol(required=False)
        return [o.query_json() for o in self.sim.open_orders(call.api_key, symbol)]

    def cancel_open_orders(self, call: Call) -> object:
        orders = self.sim.cancel_open_orders(call.api_key, call.symbol())
        return [o.cancel_json(f"sim{o.order_id}cancel") for o in orders]

    def _limit(self, call: Call) -> int:
        limit = call.int("limit")
        return 500 if limit is None else max(1, min(limit, 1000))

    def all_orders(self, call: Call) -> object:
        orders = self.sim.all_orders(
            call.api_key,
            call.symbol(),
            from_order_id=call.int("orderId"),
            start_ms=call.int("startTime"),
            end_ms=call.int("endTime"),
            limit=self._limit(call),
        )
        return [o.query_json() for o in orders]

    def my_trades(self, call: Call) -> object:
        trades = self.sim.my_trades(
            call.api_key,
            call.symbol(),
            order_id=call.int("orderId"),
            from_id=call.int("fromId"),
            start_ms=call.int("startTime"),
            end_ms=call.int("endTime"),
            limit=self._limit(call),
        )
        return [t.trade_json() for t in trades]

    # -- control API -----------------------------------------------------------------------

    def _dispatch_control(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/sim"
        try:
            if request.method == "DELETE" and path.startswith("/sim/accounts/"):
                return self.c_remove_account(path[len("/sim/accounts/") :])
            handler = self._control.get((request.method, path))
            if handler is None:
                return _json({"error": f"no such control endpoint: {request.method} {path}"}, 404)
            return handler(request)
        except (SimError, ValueError, TypeError, KeyError) as exc:
            message = exc.msg if isinstance(exc, ApiError) else str(exc)
            return _json({"error": message}, 400)

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        data = request.get_json(force=True, silent=True)
        if not isinstance(data, dict):
            raise ConfigError("expected a JSON object")
        return data

    def c_info(self, request: Request) -> Response:
        failure = self.sim.failure()
        return _json(
            {
                "seed": self.sim.seed,
                "frozen": self.sim.market.frozen,
                "failure": failure.value if failure else None,
                "symbols": [s.symbol for s in self.sim.market.specs.values()],
                "accounts": self.sim.api_keys(),
            }
        )

    def c_prices(self, request: Request) -> Response:
        market = self.sim.market
        return _json({s.symbol: f"{market.price(s.id):f}" for s in market.specs.values()})

    def c_set_price(self, request: Request) -> Response:
        data = self._body(request)
        spec = self.sim.market.spec(str(data["symbol"]))
        self.sim.set_price(spec.id, str(data["price"]))
        return _json({"symbol": spec.symbol, "price": f"{self.sim.price(spec.id):f}"})

    def c_freeze(self, request: Request) -> Response:
        frozen = self._body(request).get("frozen", True)
        if not isinstance(frozen, bool):
            raise ConfigError("'frozen' must be true or false")
        self.sim.freeze(frozen)
        return _json({"frozen": frozen})

    def c_orders(self, request: Request) -> Response:
        api_key = request.args.get("api_key") or None
        return _json([o.control_json() for o in self.sim.orders(api_key)])

    def c_accounts(self, request: Request) -> Response:
        rows = []
        for key in self.sim.api_keys():
            try:
                balances = self.sim.balances(key)
            except ApiError:
                continue  # removed meanwhile
            rows.append(
                {
                    "api_key": key,
                    "balances": {
                        a: {"free": f8(b.free), "locked": f8(b.locked)} for a, b in balances.items()
                    },
                }
            )
        return _json(rows)

    def c_add_account(self, request: Request) -> Response:
        data = self._body(request)
        balances = data.get("balances")
        if balances is not None and not isinstance(balances, dict):
            raise ConfigError("'balances' must be an object like {\"USDT\": 10000}")
        api_key, secret = data.get("api_key"), data.get("secret")
        self.sim.add_account(
            api_key,
            secret,
            {k: str(v) for k, v in balances.items()} if balances else None,
            can_trade=bool(data.get("can_trade", True)),
        )
        return _json({"api_key": api_key}, 201)

    def c_remove_account(self, api_key: str) -> Response:
        if not self.sim.remove_account(api_key):
            return _json({"error": "no such account"}, 404)
        return _json({"removed": api_key})

    def c_restrictions(self, request: Request) -> Response:
        data = self._body(request)
        api_key = data.pop("api_key", None)
        if not isinstance(api_key, str) or self.sim.account(api_key) is None:
            return _json({"error": "no such account"}, 404)
        if not all(isinstance(v, bool) for v in data.values()):
            raise ConfigError("restrictions are true or false")
        bnb_fees = data.pop("bnbFees", None)
        if bnb_fees is not None:
            self.sim.set_bnb_fees(api_key, bnb_fees)
        return _json(self.sim.set_restrictions(api_key, **data))

    def c_stats(self, request: Request) -> Response:
        return _json(self.sim.stats())

    def c_reset_stats(self, request: Request) -> Response:
        self.sim.reset_stats()
        return _json({"reset": True})

    def c_fail(self, request: Request) -> Response:
        data = self._body(request)
        mode = data.get("mode")
        count = data.get("count")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise ConfigError("'count' must be a positive integer")
        endpoint = data.get("endpoint")
        if endpoint is not None and not isinstance(endpoint, str):
            raise ConfigError("'endpoint' must look like \"POST /api/v3/order\"")
        seconds = data.get("seconds")
        if seconds is not None:
            self.sim.hang_seconds = float(seconds)
        self.sim.set_failure(mode, count, endpoint=endpoint)
        return _json({"mode": mode, "count": count, "endpoint": endpoint})


def create_sim_app(sim: Simulator) -> SimApp:
    """The WSGI app serving `sim` (Binance spot API under /api, control API under /sim)."""
    return SimApp(sim)
