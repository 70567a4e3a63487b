"""Orders and fills of the simulated exchange, and how Binance renders them in JSON.

Plain data: the `Simulator` owns the rules (balances, filters, matching) and the locking.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .errors import ConfigError

Q8 = Decimal("0.00000001")
ZERO = Decimal(0)
CLIENT_ORDER_ID_RE = re.compile(r"[a-zA-Z0-9_-]{1,36}")


class Side(enum.StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(enum.StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    LIMIT_MAKER = "LIMIT_MAKER"


class TimeInForce(enum.StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class OrderStatus(enum.StrEnum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"


class RespType(enum.StrEnum):
    ACK = "ACK"
    RESULT = "RESULT"
    FULL = "FULL"


def f8(value: Decimal) -> str:
    """Binance's 8-decimal rendering of amounts."""
    return f"{value.quantize(Q8, ROUND_HALF_UP):f}"


def to_decimal(value: Decimal | float | int | str) -> Decimal:
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as exc:
        raise ConfigError(f"not a number: {value!r}") from exc
    if not result.is_finite():
        raise ConfigError(f"not a number: {value!r}")
    return result


@dataclass
class Fill:
    """One execution; both the `fills` entry of an order and a /myTrades row."""

    trade_id: int
    order_id: int
    symbol: str
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_buyer: bool
    is_maker: bool

    def fill_json(self) -> dict[str, object]:
        return {
            "price": f8(self.price),
            "qty": f8(self.qty),
            "commission": f8(self.commission),
            "commissionAsset": self.commission_asset,
            "tradeId": self.trade_id,
        }

    def trade_json(self) -> dict[str, object]:
        return {
            "symbol": self.symbol,
            "id": self.trade_id,
            "orderId": self.order_id,
            "orderListId": -1,
            "price": f8(self.price),
            "qty": f8(self.qty),
            "quoteQty": f8(self.quote_qty),
            "commission": f8(self.commission),
            "commissionAsset": self.commission_asset,
            "time": self.time,
            "isBuyer": self.is_buyer,
            "isMaker": self.is_maker,
            "isBestMatch": True,
        }


@dataclass
class Order:
    order_id: int
    api_key: str
    symbol: str
    client_order_id: str
    side: Side
    type: OrderType
    time_in_force: TimeInForce
    price: Decimal
    orig_qty: Decimal
    orig_quote_qty: Decimal
    status: OrderStatus
    time: int
    update_time: int
    executed_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    fills: list[Fill] = field(default_factory=list)
    reserved: Decimal = ZERO  # quote (buy) or base (sell) locked while the order rests

    @property
    def is_open(self) -> bool:
        return self.status in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)

    @property
    def remaining_qty(self) -> Decimal:
        return self.orig_qty - self.executed_qty

    def _common(self) -> dict[str, object]:
        return {
            "price": f8(self.price),
            "origQty": f8(self.orig_qty),
            "executedQty": f8(self.executed_qty),
            "origQuoteOrderQty": f8(self.orig_quote_qty),
            "cummulativeQuoteQty": f8(self.cum_quote),
            "status": self.status.value,
            "timeInForce": self.time_in_force.value,
            "type": self.type.value,
            "side": self.side.value,
        }

    def ack_json(self) -> dict[str, object]:
        return {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_order_id,
            "transactTime": self.time,
        }

    def response_json(self, resp_type: RespType) -> dict[str, object]:
        """Answer to POST /order in the requested newOrderRespType."""
        body = self.ack_json()
        if resp_type is RespType.ACK:
            return body
        body.update(self._common())
        body["workingTime"] = self.time
        body["selfTradePreventionMode"] = "EXPIRE_MAKER"
        if resp_type is RespType.FULL:
            body["fills"] = [f.fill_json() for f in self.fills]
        return body

    def query_json(self) -> dict[str, object]:
        """Answer to GET /order, /openOrders and /allOrders."""
        body: dict[str, object] = {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_order_id,
        }
        body.update(self._common())
        body.update(
            {
                "stopPrice": f8(ZERO),
                "icebergQty": f8(ZERO),
                "time": self.time,
                "updateTime": self.update_time,
                "isWorking": True,
                "workingTime": self.time,
                "selfTradePreventionMode": "EXPIRE_MAKER",
            }
        )
        return body

    def cancel_json(self, cancel_client_id: str) -> dict[str, object]:
        body: dict[str, object] = {
            "symbol": self.symbol,
            "origClientOrderId": self.client_order_id,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": cancel_client_id,
            "transactTime": self.update_time,
        }
        body.update(self._common())
        body["selfTradePreventionMode"] = "EXPIRE_MAKER"
        return body

    def control_json(self) -> dict[str, object]:
        """What GET /sim/orders shows: the query view plus owner and fills."""
        body = self.query_json()
        body["apiKey"] = self.api_key
        body["fills"] = [f.fill_json() for f in self.fills]
        return body
