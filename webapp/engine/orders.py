"""Placing and finding a bot's orders: paper fills in process, live orders through ccxt.

Every live order carries a client order id chosen by the engine (`newClientOrderId`), so the
engine can always ask the exchange "did order X happen?" - after a timeout, after a crash, or
when a retried job meets an order intent its earlier run left behind.

The engine never sends an order a second time to find out: Binance refuses a reused client
order id only while its order is open, so a market order that filled at once would be
accepted again and doubled. An order is sent once; after an unknown outcome it is looked up
by its id, and only Binance's "Order does not exist." (-2013) counts as never placed.

Fees are returned in the quote currency (see webapp.engine.accounting). When an exchange
charges a buy's fee in the base currency (Binance without BNB), the bot holds that much less:
the fill's quantity is the net amount and the fee is valued at the fill price, so quantity *
price + fee is still exactly what the buy cost. A fee paid in BNB (neither asset of the
market) is valued at BNB's price in the quote currency just after the fill, and counts in PnL
like any other.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import ccxt
from flask import current_app

from webapp.engine.accounting import to_decimal
from webapp.engine.errors import LiveTradingDisabled
from webapp.engine.marketdata import MarketInfo, ccxt_market
from webapp.engine.validation import live_trading_allowed
from webapp.exchange.clients import client_for_key
from webapp.exchange.errors import ExchangeError, KeyRejected, OrderNotFound, translate_errors
from webapp.models import Bot
from webapp.models.bot import quantize
from webapp.models.types import utcnow
from webapp.numbers import plain as _fmt

logger = logging.getLogger(__name__)

ZERO = Decimal(0)

#: Final Binance order states; anything else may still fill.
FINAL_STATUSES = frozenset({"FILLED", "CANCELED", "EXPIRED", "REJECTED", "EXPIRED_IN_MATCH"})


class Lookup(enum.Enum):
    NOT_FOUND = "not_found"  # the exchange has no order with this client order id
    OPEN = "open"  # it exists and may still fill
    NOT_FILLED = "not_filled"  # it ended without any fill


@dataclass(frozen=True)
class Fill:
    qty: Decimal
    price: Decimal
    fee: Decimal  # quote currency
    exchange_order_id: str | None
    executed_at: datetime
    note: str = ""


#: Exchange and server clocks may disagree by this much; an order found by its client order id
#: that the exchange created earlier than this before our intent is someone else's.
ORDER_TIME_SLACK = timedelta(minutes=5)
#: Binance's limit for newClientOrderId (`^[a-zA-Z0-9-_]{1,36}$`).
CLIENT_ORDER_ID_MAX = 36
#: Binance's answer to a lookup of an order it has never had; ccxt raises the same
#: OrderNotFound for other codes (-2011 "Unknown order sent." of a cancel), which prove nothing.
ORDER_DOES_NOT_EXIST = "-2013"


def client_order_id(bot: Bot, cycle: int, side: str) -> str:
    """The id of the order a cycle places: unique across bots, cycles and installations.

    The bot's random token keeps it from repeating an older order of a deleted bot whose id
    the database reused, or of another installation trading on the same account.
    """
    order_id = f"tb{bot.order_token}{bot.id}x{cycle}{side[0]}"
    if len(order_id) > CLIENT_ORDER_ID_MAX:  # only for ids near the BIGINT limit
        order_id = f"tb{bot.order_token}{_base36(bot.id)}x{_base36(cycle)}{side[0]}"
    return order_id[:CLIENT_ORDER_ID_MAX]


def resting_order_id(bot: Bot, order_id: int) -> str:
    """The client order id of resting order `order_id` (a BotOrder row): short enough that
    the trades of its partial fills can add a part number (see webapp.engine.resting)."""
    return f"tb{bot.order_token}o{_base36(order_id)}"


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if not number:
            return text


def paper_fill(market: MarketInfo, side: str, qty: Decimal, price: Decimal) -> Fill:
    """A paper order fills entirely at the current price and pays the market's taker fee."""
    fee = quantize(qty * price * market.taker_fee)
    return Fill(qty=qty, price=price, fee=fee, exchange_order_id=None, executed_at=utcnow())


class _Clients(threading.local):
    """Private clients kept per thread: a batch job's bots often share a key, and a kept
    client keeps its HTTP connection alive. Keyed by the stored (encrypted) credentials, so a
    changed or re-encrypted key gets a fresh client."""

    def __init__(self) -> None:
        self.by_key: dict[tuple, ccxt.Exchange] = {}


_clients = _Clients()
MAX_CLIENTS = 16


def live_client(bot: Bot, symbol: str | None = None) -> ccxt.Exchange:
    """A private client for the bot's key, with the bot's market (or `symbol`) loaded; do not
    close it."""
    symbol = symbol or bot.symbol
    if not live_trading_allowed():
        raise LiveTradingDisabled()
    api_key = bot.api_key
    if api_key is None:
        raise KeyRejected("This bot has no API key any more; choose a key and start it again.")
    cfg = current_app.config
    cache_key = (
        api_key.id,
        api_key.key_encrypted,
        api_key.secret_encrypted,
        api_key.testnet,
        cfg.get("EXCHANGE_SIM_URL"),
    )
    client = _clients.by_key.get(cache_key)
    if client is None:
        client = client_for_key(api_key, trading=True)
        while len(_clients.by_key) >= MAX_CLIENTS:
            _clients.by_key.pop(next(iter(_clients.by_key))).close()
        _clients.by_key[cache_key] = client
    if symbol not in (client.markets or {}):
        market = ccxt_market(bot.exchange, symbol)
        if market is not None:
            client.set_markets({**(client.markets or {}), symbol: market})
    return client


def place_market_order(
    client: ccxt.Exchange,
    bot: Bot,
    market: MarketInfo,
    side: str,
    qty: Decimal,
    client_order_id: str,
    sent_after: datetime,
) -> Fill | Lookup:
    """Send a market order; the fill, Lookup.NOT_FILLED if it ended unfilled, or Lookup.OPEN
    if the exchange accepted it without saying how it filled (look it up later)."""
    with translate_errors():
        order = client.create_order(
            bot.symbol,
            "market",
            side,
            float(qty),
            None,
            {"newClientOrderId": client_order_id},
        )
    return _outcome(client, bot, market, order, sent_after)


def find_order(
    client: ccxt.Exchange,
    bot: Bot,
    market: MarketInfo,
    client_order_id: str,
    sent_after: datetime,
    *,
    symbol: str | None = None,
) -> Fill | Lookup:
    """What became of the order with this client order id (one or two requests).

    `sent_after` is when the intent was committed: an order the exchange created well before
    it carries our id by coincidence (an older installation) and counts as NOT_FOUND. So
    does the exchange's "Order does not exist."; any other failure is raised, and the caller
    keeps the intent.
    """
    symbol = symbol or bot.symbol
    try:
        with translate_errors():
            order = client.fetch_order(None, symbol, {"origClientOrderId": client_order_id})
    except OrderNotFound as exc:
        if exc.code != ORDER_DOES_NOT_EXIST:
            logger.warning(
                "bot %s: lookup of order %s failed without saying it does not exist: %s",
                bot.id,
                client_order_id,
                exc.summary(),
            )
            raise
        return Lookup.NOT_FOUND
    created = order_created_at(order)
    if created is not None and created < sent_after - ORDER_TIME_SLACK:
        logger.warning(
            "bot %s: order %s on the exchange dates from %s, before the intent (%s); not ours",
            bot.id,
            client_order_id,
            created.isoformat(),
            sent_after.isoformat(),
        )
        return Lookup.NOT_FOUND
    return _outcome(client, bot, market, order, sent_after, symbol)


def order_created_at(order: dict[str, Any]) -> datetime | None:
    info = order.get("info") or {}
    ms = order.get("timestamp") or info.get("time") or info.get("transactTime")
    try:
        return datetime.fromtimestamp(int(ms) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _outcome(
    client: ccxt.Exchange,
    bot: Bot,
    market: MarketInfo,
    order: dict[str, Any],
    sent_after,
    symbol: str | None = None,
) -> Fill | Lookup:
    info = order.get("info") or {}
    status = str(info.get("status") or order.get("status") or "").upper()
    if status in {"OPEN", "CLOSED"}:  # ccxt's unified names when `info` lacks a status
        status = "FILLED" if status == "CLOSED" else "NEW"
    qty = to_decimal(info.get("executedQty") or order.get("filled") or 0)
    if status not in FINAL_STATUSES:
        return Lookup.OPEN
    if qty <= 0:
        return Lookup.NOT_FILLED
    quote_qty = to_decimal(info.get("cummulativeQuoteQty") or order.get("cost") or 0)
    if quote_qty > 0:
        price = quantize(quote_qty / qty)
    else:
        price = to_decimal(order.get("average") or order.get("price"))
    order_id = str(info.get("orderId") or order.get("id") or "") or None
    fills = info.get("fills")
    if not fills:
        fills = _trades_of(client, symbol or bot.symbol, order_id)
    side = order.get("side") or info.get("side")
    fee, qty, note = _fees(
        fills, market, qty, price, side, lambda a: _quote_price(client, a, market)
    )
    return Fill(
        qty=qty,
        price=price,
        fee=fee,
        exchange_order_id=order_id,
        executed_at=_when(info, order, sent_after),
        note=note,
    )


def order_fees(
    client: ccxt.Exchange,
    market: MarketInfo,
    order: dict[str, Any],
    symbol: str,
    qty: Decimal,
    price: Decimal,
) -> tuple[Decimal, Decimal, str]:
    """(fees in quote, quantity held after them, note) of everything `order` has filled so
    far, from the fills in its answer or else from the account's trades of it."""
    info = order.get("info") or {}
    fills = info.get("fills")
    if not fills:
        order_id = str(info.get("orderId") or order.get("id") or "") or None
        fills = _trades_of(client, symbol, order_id)
    side = order.get("side") or info.get("side")
    return _fees(fills, market, qty, price, side, lambda a: _quote_price(client, a, market))


def _trades_of(client: ccxt.Exchange, symbol: str, order_id: str | None) -> list[dict[str, Any]]:
    if order_id is None:
        return []
    with translate_errors():
        trades = client.fetch_my_trades(symbol, None, None, {"orderId": order_id})
    return [t.get("info") or {} for t in trades]


def _quote_price(client: ccxt.Exchange, asset: str, market: MarketInfo) -> Decimal | None:
    """What one `asset` (the BNB a fee was paid in) is worth in the market's quote currency
    now, just after the fill; None when the exchange lists no such market."""
    try:
        with translate_errors():  # the client knows only its bot's market: ask Binance directly
            last = client.publicGetTickerPrice({"symbol": f"{asset}{market.quote}"}).get("price")
    except ExchangeError as exc:
        logger.warning("fee asset %s has no price in %s: %s", asset, market.quote, exc.summary())
        return None
    price = to_decimal(last or 0)
    return price if price > 0 else None


def _fees(
    fills: list[dict[str, Any]],
    market: MarketInfo,
    qty: Decimal,
    price: Decimal,
    side,
    quote_price: Callable[[str], Decimal | None] | None = None,
) -> tuple[Decimal, Decimal, str]:
    """The fill's fees in the quote currency, the quantity the bot holds after them, and a
    note on how a fee not paid in quote was valued. A fee paid in a third asset (BNB) is
    valued at that asset's price in the quote currency (`quote_price`)."""
    quote_fee = base_fee = ZERO
    other: dict[str, Decimal] = {}
    for fill in fills:
        amount = to_decimal(fill.get("commission") or 0)
        asset = str(fill.get("commissionAsset") or "").upper()
        if amount == 0:
            continue
        if asset == market.quote.upper():
            quote_fee += amount
        elif asset == market.base.upper():
            base_fee += amount
        else:
            other[asset] = other.get(asset, ZERO) + amount
    notes = []
    if base_fee and str(side).lower() == "buy":
        qty -= base_fee
        quote_fee += base_fee * price
        notes.append(f"fee of {base_fee} {market.base} valued at the fill price")
    elif base_fee:
        quote_fee += base_fee * price
    uncounted = []
    for asset, amount in sorted(other.items()):
        rate = quote_price(asset) if quote_price is not None else None
        if rate is None:
            uncounted.append(asset)
            continue
        quote_fee += amount * rate
        notes.append(f"fee of {_fmt(amount)} {asset} valued at {_fmt(rate)} {market.quote}")
    if uncounted:
        notes.append(f"fee paid in {', '.join(uncounted)} is not counted in PnL")
    return quantize(quote_fee), qty, "; ".join(notes)


def _when(info: dict[str, Any], order: dict[str, Any], sent_after: datetime) -> datetime:
    """The exchange's execution time when it is plausible, else now (clocks may disagree)."""
    now = utcnow()
    ms = info.get("transactTime") or info.get("updateTime") or order.get("timestamp")
    try:
        at = datetime.fromtimestamp(int(ms) / 1000, UTC)
    except (TypeError, ValueError):
        return now
    if sent_after - timedelta(minutes=1) <= at <= now + timedelta(minutes=1):
        return at
    return now


def is_unknown_outcome(error: ExchangeError) -> bool:
    """Whether an order request that failed this way may still have reached the exchange."""
    return error.transient or "duplicate" in (error.exchange_message or "").lower()
