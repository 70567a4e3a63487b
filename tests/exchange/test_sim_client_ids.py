"""Client order ids as Binance treats them, seen through the real ccxt `binance` class.

Binance refuses a `newClientOrderId` only while an order of the account and symbol carrying it
is open; once that order is filled, canceled or expired the id is accepted again, and a lookup
by `origClientOrderId` finds the most recent order with it. The bot engine must not rely on a
reused id being refused (see tests/engine/test_lost_answer.py).
"""

from __future__ import annotations

import json

import ccxt
import pytest
import requests

from tests.exchange.helpers import KEY, SECRET
from webapp.exchange.sim import SimServer

DUPLICATE = '{"code":-2010,"msg":"Duplicate order sent."}'


def by_client_id(exchange: ccxt.binance, client_id: str, symbol: str = "BTC/USDT") -> dict:
    return exchange.fetch_order(None, symbol, {"origClientOrderId": client_id})


def rest_buy(exchange: ccxt.binance, client_id: str, symbol: str = "BTC/USDT") -> dict:
    """A limit buy far below the market, so it stays open."""
    return exchange.create_order(
        symbol, "limit", "buy", 0.001, 40000, {"newClientOrderId": client_id}
    )


def market_buy(exchange: ccxt.binance, client_id: str, symbol: str = "BTC/USDT") -> dict:
    return exchange.create_order(
        symbol, "market", "buy", 0.001, None, {"newClientOrderId": client_id}
    )


@pytest.fixture
def exchange(server: SimServer) -> ccxt.binance:
    server.sim.set_price("BTC/USDT", 60000)
    server.sim.set_price("ETH/USDT", 3000)
    client = server.client(KEY, SECRET, timeout_ms=5000)
    client.load_markets()
    return client


def test_an_id_is_refused_with_binances_answer_while_its_order_is_open(server, exchange):
    resting = rest_buy(exchange, "bot1-cycle7")
    balance = exchange.fetch_balance()
    for again in (market_buy, rest_buy):
        with pytest.raises(ccxt.InvalidOrder) as caught:
            again(exchange, "bot1-cycle7")
        # Binance's -2010 NEW_ORDER_REJECTED body, which ccxt raises as InvalidOrder.
        assert type(caught.value) is ccxt.InvalidOrder
        assert DUPLICATE in str(caught.value)
    assert [o.order_id for o in server.sim.orders()] == [int(resting["id"])]
    assert exchange.fetch_balance()["total"] == balance["total"]
    assert by_client_id(exchange, "bot1-cycle7")["status"] == "open"


def test_an_open_id_still_refuses_over_raw_http_with_status_400(server, exchange):
    rest_buy(exchange, "raw-dup")
    with pytest.raises(ccxt.InvalidOrder):
        exchange.private_post_order(
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "MARKET",
                "quantity": "0.001",
                "newClientOrderId": "raw-dup",
            }
        )
    assert exchange.last_http_response == DUPLICATE
    assert server.sim.stats()["errors"] == {"-2010": 1}


def test_an_open_id_does_not_block_another_symbol_or_account(server, exchange):
    rest_buy(exchange, "shared-id")
    other = exchange.create_order(
        "ETH/USDT", "limit", "buy", 0.01, 2000, {"newClientOrderId": "shared-id"}
    )
    assert other["status"] == "open"
    server.sim.add_account("second", "second-secret")
    second = server.client("second", "second-secret")
    assert market_buy(second, "shared-id")["status"] == "closed"
    assert by_client_id(exchange, "shared-id")["status"] == "open"  # still BTC's resting one
    assert by_client_id(exchange, "shared-id", "ETH/USDT")["id"] == other["id"]


def test_an_id_is_accepted_again_once_its_order_filled(server, exchange):
    first = market_buy(exchange, "bot1-cycle8")
    assert first["status"] == "closed"
    second = market_buy(exchange, "bot1-cycle8")  # a naive resend would buy twice
    assert second["status"] == "closed" and second["id"] != first["id"]
    assert exchange.fetch_balance()["BTC"]["total"] == 0.001998  # twice 0.001, less fees
    assert [o.client_order_id for o in server.sim.orders()] == ["bot1-cycle8"] * 2
    # The lookup by client order id answers the most recent order; the older one stays
    # reachable by its order id.
    assert by_client_id(exchange, "bot1-cycle8")["id"] == second["id"]
    assert exchange.fetch_order(first["id"], "BTC/USDT")["clientOrderId"] == "bot1-cycle8"


def test_an_id_is_accepted_again_once_its_order_expired(exchange):
    expired = exchange.create_order(
        "BTC/USDT", "limit", "buy", 0.001, 40000, {"timeInForce": "IOC", "clientOrderId": "ioc-1"}
    )
    assert by_client_id(exchange, "ioc-1")["info"]["status"] == "EXPIRED"
    again = market_buy(exchange, "ioc-1")
    assert again["status"] == "closed" and again["id"] != expired["id"]


def test_cancel_by_client_order_id_frees_the_id(server, exchange):
    resting = rest_buy(exchange, "bot2-cycle1")
    assert exchange.fetch_balance()["USDT"]["used"] > 0
    canceled = exchange.cancel_order(None, "BTC/USDT", {"origClientOrderId": "bot2-cycle1"})
    assert canceled["id"] == resting["id"] and canceled["status"] == "canceled"
    assert canceled["info"]["origClientOrderId"] == "bot2-cycle1"
    assert exchange.fetch_balance()["USDT"]["used"] == 0
    assert by_client_id(exchange, "bot2-cycle1")["status"] == "canceled"

    reused = rest_buy(exchange, "bot2-cycle1")
    assert reused["status"] == "open" and reused["id"] != resting["id"]
    assert by_client_id(exchange, "bot2-cycle1")["id"] == reused["id"]
    # A cancel by client order id reaches the newest order with it, the open one ...
    canceled = exchange.cancel_order(None, "BTC/USDT", {"origClientOrderId": "bot2-cycle1"})
    assert canceled["id"] == reused["id"]
    # ... and once none is open, Binance's "Unknown order sent." (ccxt: OrderNotFound).
    with pytest.raises(ccxt.OrderNotFound, match="-2011"):
        exchange.cancel_order(None, "BTC/USDT", {"origClientOrderId": "bot2-cycle1"})
    assert [o.status.value for o in server.sim.orders()] == ["CANCELED", "CANCELED"]


def test_a_lookup_by_unknown_or_mismatched_client_order_id_does_not_exist(exchange):
    order = market_buy(exchange, "bot3-cycle1")
    with pytest.raises(ccxt.OrderNotFound, match="-2013"):
        by_client_id(exchange, "never-sent")
    with pytest.raises(ccxt.OrderNotFound, match="-2013"):
        by_client_id(exchange, "bot3-cycle1", "ETH/USDT")  # ids are per symbol
    # Both given: Binance finds the order id, then checks the client order id against it.
    with pytest.raises(ccxt.OrderNotFound, match="-2013"):
        exchange.private_get_order(
            {"symbol": "BTCUSDT", "orderId": order["id"], "origClientOrderId": "other"}
        )
    both = exchange.private_get_order(
        {"symbol": "BTCUSDT", "orderId": order["id"], "origClientOrderId": "bot3-cycle1"}
    )
    assert str(both["orderId"]) == order["id"]


def test_a_lost_answer_carries_the_order_out_but_the_client_only_sees_a_timeout(server):
    server.sim.set_price("BTC/USDT", 60000)
    client = server.client(KEY, SECRET, timeout_ms=300)
    client.load_markets()
    server.sim.hang_seconds = 2
    server.sim.set_failure("lost_answer", count=1, endpoint="POST /api/v3/order")
    assert client.fetch_ticker("BTC/USDT")["last"] == 60000  # other requests are answered
    with pytest.raises(ccxt.RequestTimeout):
        market_buy(client, "lost-1")
    [order] = server.sim.orders()
    assert (order.client_order_id, order.status.value) == ("lost-1", "FILLED")
    assert by_client_id(client, "lost-1")["status"] == "closed"
    assert server.sim.failure() is None  # its one request is used up
    assert market_buy(client, "lost-1")["status"] == "closed"  # and the exchange takes it again
    assert len(server.sim.orders()) == 2


def test_the_control_api_sets_an_outage_for_one_endpoint(server):
    server.sim.set_price("BTC/USDT", 60000)
    answer = requests.post(
        server.url + "/sim/fail",
        data=json.dumps({"mode": "unavailable", "count": 1, "endpoint": "POST /api/v3/order"}),
        timeout=5,
    )
    assert answer.json() == {"mode": "unavailable", "count": 1, "endpoint": "POST /api/v3/order"}
    client = server.client(KEY, SECRET, timeout_ms=5000)
    client.load_markets()
    assert client.fetch_balance()["USDT"]["free"] == 10000
    with pytest.raises(ccxt.ExchangeNotAvailable):
        market_buy(client, "ctl-1")
    assert server.sim.orders() == []
    assert market_buy(client, "ctl-1")["status"] == "closed"
    bad = requests.post(server.url + "/sim/fail", data=json.dumps({"endpoint": 5}), timeout=5)
    assert bad.status_code == 400 and "endpoint" in bad.json()["error"]
