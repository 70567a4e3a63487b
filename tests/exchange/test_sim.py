"""The simulated exchange seen through the real ccxt `binance` class, over loopback HTTP."""

from __future__ import annotations

import itertools
import threading
from decimal import Decimal

import ccxt
import pytest

from tests.exchange.helpers import FIXED_TIME, KEY, SECRET
from webapp.exchange.sim import SimServer, Simulator, build_sim_client


def buy_btc(exchange: ccxt.binance, amount: float = 0.01, **params: object) -> dict:
    return exchange.create_order("BTC/USDT", "market", "buy", amount, None, params)


# -- markets and market data ---------------------------------------------------------------


def test_load_markets_gives_spot_markets_with_filters(server: SimServer, exchange) -> None:
    markets = exchange.markets
    assert len(markets) >= 50
    assert {"BTC/USDT", "ETH/USDT", "SOL/USDT"} <= set(markets)
    assert all(m["spot"] and m["type"] == "spot" and m["active"] for m in markets.values())
    btc = markets["BTC/USDT"]
    assert btc["id"] == "BTCUSDT"
    assert btc["precision"]["price"] == 0.01
    assert btc["precision"]["amount"] == 0.00001
    assert btc["limits"]["amount"]["min"] == 0.00001
    assert btc["limits"]["cost"]["min"] == 5
    # only exchangeInfo was needed: no sapi currency/margin calls, no /time
    assert server.sim.stats()["requests"] == {"GET /api/v3/exchangeInfo": 1}


def test_ticker_and_candles_agree_on_the_current_price() -> None:
    sim = Simulator(seed=5, clock=lambda: FIXED_TIME)  # walking, but at a pinned instant
    with SimServer(sim) as server:
        exchange = server.client()
        ticker = exchange.fetch_ticker("ETH/USDT")
        for timeframe, seconds in (("1m", 60), ("15m", 900), ("1h", 3600), ("1d", 86400)):
            candles = exchange.fetch_ohlcv("ETH/USDT", timeframe, limit=30)
            assert len(candles) == 30
            assert candles[-1][4] == ticker["last"], timeframe
            assert candles[-1][0] == int(FIXED_TIME) // seconds * seconds * 1000
            for previous, candle in itertools.pairwise(candles):
                assert candle[0] - previous[0] == seconds * 1000
            for _, o, h, low, c, volume in candles:
                assert low <= min(o, c) <= max(o, c) <= h and volume > 0
        assert ticker["low"] <= ticker["last"] <= ticker["high"]
        assert ticker["open"] == pytest.approx(ticker["last"] - ticker["change"])
        assert 1000 < ticker["last"] < 10000


def test_ohlcv_since_and_until_are_honoured() -> None:
    sim = Simulator(seed=5, clock=lambda: FIXED_TIME)
    with SimServer(sim) as server:
        exchange = server.client()
        since = (int(FIXED_TIME) // 60 - 100) * 60 * 1000
        candles = exchange.fetch_ohlcv("BTC/USDT", "1m", since=since, limit=10)
        assert [c[0] for c in candles] == [since + i * 60000 for i in range(10)]
        until = since + 5 * 60000
        bounded = exchange.fetch_ohlcv("BTC/USDT", "1m", since=since, params={"until": until})
        assert [c[0] for c in bounded] == [since + i * 60000 for i in range(6)]


def test_fetch_balance(exchange) -> None:
    balance = exchange.fetch_balance()
    assert balance["USDT"] == {"free": 10000.0, "used": 0.0, "total": 10000.0}


# -- orders ----------------------------------------------------------------------------------


def test_a_market_buy_pays_its_fee_in_base_and_a_sell_in_quote(server, exchange) -> None:
    server.sim.set_price("BTC/USDT", 60000)
    bought = buy_btc(exchange, 0.01)
    assert bought["status"] == "closed"
    assert bought["filled"] == 0.01 and bought["average"] == 60000 and bought["cost"] == 600
    assert bought["fee"] == {"currency": "BTC", "cost": 0.00001}  # 0.1% of 0.01 BTC
    assert bought["trades"][0]["fee"]["currency"] == "BTC"
    balance = exchange.fetch_balance()
    assert balance["USDT"]["total"] == 9400  # the notional only
    assert balance["BTC"]["total"] == 0.00999  # what was bought, less the fee

    server.sim.set_price("BTC/USDT", "61000")
    sold = exchange.create_order("BTC/USDT", "market", "sell", 0.00999)
    assert sold["cost"] == pytest.approx(609.39, abs=1e-9)
    assert sold["fee"]["currency"] == "USDT"
    assert sold["fee"]["cost"] == pytest.approx(0.60939, abs=1e-9)
    balance = exchange.fetch_balance()
    assert balance["USDT"]["total"] == pytest.approx(10008.78061, abs=1e-9)  # + 609.39 * 0.999
    assert balance["BTC"]["total"] == 0


def test_fees_in_quote_on_both_sides_when_the_simulator_is_told_so(server, exchange) -> None:
    server.sim.fee_asset = "quote"
    server.sim.set_price("BTC/USDT", 60000)
    bought = buy_btc(exchange, 0.01)
    assert bought["status"] == "closed"
    assert bought["filled"] == 0.01 and bought["average"] == 60000 and bought["cost"] == 600
    assert bought["fee"] == {"currency": "USDT", "cost": 0.6}
    assert bought["trades"][0]["fee"]["currency"] == "USDT"
    balance = exchange.fetch_balance()
    assert balance["USDT"]["total"] == 9399.4  # 10000 - 600 * 1.001
    assert balance["BTC"]["total"] == 0.01

    server.sim.set_price("BTC/USDT", "61000")
    sold = exchange.create_order("BTC/USDT", "market", "sell", 0.01)
    assert sold["cost"] == 610 and sold["fee"] == {"currency": "USDT", "cost": 0.61}
    balance = exchange.fetch_balance()
    assert balance["USDT"]["total"] == pytest.approx(10008.79, abs=1e-9)  # + 610 * 0.999
    assert balance["BTC"]["total"] == 0


def test_market_buy_by_cost_uses_quote_order_qty(server: SimServer, exchange) -> None:
    server.sim.set_price("BTC/USDT", 50000)
    order = exchange.create_market_buy_order_with_cost("BTC/USDT", 101)
    assert order["filled"] == 0.00202  # 101 / 50000, rounded down to the 0.00001 step
    assert order["cost"] == 101
    assert order["fee"] == {"currency": "BTC", "cost": 0.00000202}  # 0.1% of what was bought


def test_limit_order_rests_is_listed_cancelled_and_unlocks_funds(server, exchange) -> None:
    server.sim.set_price("BTC/USDT", 60000)
    order = exchange.create_order("BTC/USDT", "limit", "buy", 0.01, 50000)
    assert order["status"] == "open" and order["filled"] == 0
    balance = exchange.fetch_balance()
    assert balance["USDT"]["used"] == 500  # the notional: the fee will be in BTC
    assert balance["USDT"]["free"] == 9500
    assert [o["id"] for o in exchange.fetch_open_orders("BTC/USDT")] == [order["id"]]
    assert [o["id"] for o in exchange.fetch_open_orders()] == [order["id"]]

    cancelled = exchange.cancel_order(order["id"], "BTC/USDT")
    assert cancelled["status"] == "canceled"
    assert exchange.fetch_open_orders("BTC/USDT") == []
    assert exchange.fetch_balance()["USDT"] == {"free": 10000.0, "used": 0.0, "total": 10000.0}
    with pytest.raises(ccxt.OrderNotFound):
        exchange.cancel_order(order["id"], "BTC/USDT")


def test_limit_sell_locks_base_until_cancelled(server: SimServer, exchange) -> None:
    server.sim.set_price("BTC/USDT", 60000)
    buy_btc(exchange, 0.01)  # 0.00999 BTC arrive, the fee kept
    order = exchange.create_order("BTC/USDT", "limit", "sell", 0.00999, 70000)
    assert exchange.fetch_balance()["BTC"] == {"free": 0.0, "used": 0.00999, "total": 0.00999}
    with pytest.raises(ccxt.InsufficientFunds):
        exchange.create_order("BTC/USDT", "market", "sell", 0.00999)
    exchange.cancel_order(order["id"], "BTC/USDT")
    assert exchange.fetch_balance()["BTC"]["free"] == 0.00999


def test_resting_limit_order_fills_once_the_price_reaches_it(server, exchange) -> None:
    server.sim.set_price("BTC/USDT", 60000)
    order = exchange.create_order("BTC/USDT", "limit", "buy", 0.01, 59000)
    server.sim.set_price("BTC/USDT", 58900)
    filled = exchange.fetch_order(order["id"], "BTC/USDT")
    assert filled["status"] == "closed" and filled["price"] == 59000 and filled["filled"] == 0.01
    trade = exchange.fetch_my_trades("BTC/USDT")[0]
    assert trade["takerOrMaker"] == "maker" and trade["price"] == 59000
    balance = exchange.fetch_balance()
    assert balance["USDT"] == {"free": 9410.0, "used": 0.0, "total": 9410.0}  # 590, no fee
    assert balance["BTC"]["total"] == 0.00999  # the fee is in what was bought
    assert exchange.fetch_open_orders("BTC/USDT") == []


def test_marketable_limit_order_fills_at_once_at_the_market_price(server, exchange) -> None:
    server.sim.set_price("ETH/USDT", 3000)
    order = exchange.create_order("ETH/USDT", "limit", "buy", 0.5, 3100)
    assert order["status"] == "closed" and order["average"] == 3000 and order["cost"] == 1500


def test_fetch_order_by_id_and_by_client_order_id(exchange) -> None:
    order = buy_btc(exchange, 0.001, clientOrderId="bot7-cycle42")
    assert order["clientOrderId"] == "bot7-cycle42"
    by_id = exchange.fetch_order(order["id"], "BTC/USDT")
    by_client_id = exchange.fetch_order(None, "BTC/USDT", {"origClientOrderId": "bot7-cycle42"})
    assert by_id["id"] == by_client_id["id"] == order["id"]
    assert by_client_id["clientOrderId"] == "bot7-cycle42"
    assert by_client_id["status"] == "closed" and by_client_id["filled"] == 0.001
    with pytest.raises(ccxt.OrderNotFound):
        exchange.fetch_order(None, "BTC/USDT", {"origClientOrderId": "never-sent"})
    with pytest.raises(ccxt.OrderNotFound):
        exchange.fetch_order(order["id"], "ETH/USDT")  # right id, wrong symbol


def test_new_order_response_types(exchange) -> None:
    ack = buy_btc(exchange, 0.001, newOrderRespType="ACK", clientOrderId="ack-1")
    assert ack["id"] and ack["clientOrderId"] == "ack-1" and ack["status"] is None
    result = buy_btc(exchange, 0.001, newOrderRespType="RESULT")
    assert result["status"] == "closed" and result["filled"] == 0.001 and result["trades"] == []
    full = buy_btc(exchange, 0.001)  # ccxt asks for FULL: fills with the commission
    assert full["trades"][0]["fee"]["currency"] == "BTC"
    assert exchange.fetch_order(ack["id"], "BTC/USDT")["status"] == "closed"


def test_order_history_and_cancel_all(exchange) -> None:
    filled = buy_btc(exchange, 0.001)
    resting = [exchange.create_order("BTC/USDT", "limit", "buy", 0.001, p) for p in (40000, 41000)]
    history = exchange.fetch_orders("BTC/USDT")
    assert [o["id"] for o in history] == [filled["id"]] + [o["id"] for o in resting]
    assert [o["id"] for o in exchange.fetch_closed_orders("BTC/USDT")] == [filled["id"]]
    cancelled = exchange.cancel_all_orders("BTC/USDT")
    assert sorted(o["id"] for o in cancelled) == sorted(o["id"] for o in resting)
    assert exchange.fetch_open_orders("BTC/USDT") == []
    assert exchange.fetch_balance()["USDT"]["used"] == 0


def test_fetch_my_trades(server: SimServer, exchange) -> None:
    server.sim.set_price("BTC/USDT", 60000)
    first = buy_btc(exchange, 0.002)
    second = exchange.create_order("BTC/USDT", "market", "sell", 0.001)
    trades = exchange.fetch_my_trades("BTC/USDT")
    assert [t["order"] for t in trades] == [first["id"], second["id"]]
    assert [t["side"] for t in trades] == ["buy", "sell"]
    assert trades[0]["amount"] == 0.002 and trades[0]["cost"] == 120
    assert trades[1]["fee"] == {"currency": "USDT", "cost": 0.06}
    assert exchange.fetch_my_trades("BTC/USDT", limit=1)[0]["order"] == second["id"]
    assert exchange.fetch_my_trades("ETH/USDT") == []


def test_concurrent_orders_keep_balances_consistent(server: SimServer) -> None:
    server.sim.set_price("SOL/USDT", 100)
    failures: list[BaseException] = []

    def trade() -> None:
        client = server.client(KEY, SECRET)
        try:
            for _ in range(5):
                client.create_order("SOL/USDT", "market", "buy", 0.1)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=trade) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    balances = server.sim.balances(KEY)
    assert balances["SOL"].free == 40 * Decimal("0.0999")  # 0.1 each, less the 0.1% fee
    assert balances["USDT"].free == Decimal("10000") - 40 * Decimal("10")


# -- errors as ccxt raises them --------------------------------------------------------------


def test_wrong_secret_is_an_authentication_error(server: SimServer) -> None:
    client = server.client(KEY, "not-the-secret")
    with pytest.raises(ccxt.AuthenticationError, match="-1022"):
        client.fetch_balance()


def test_unknown_or_malformed_key_is_an_authentication_error(server: SimServer) -> None:
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        server.client("nobody-has-this-key", SECRET).fetch_balance()
    with pytest.raises(ccxt.AuthenticationError, match="-2014"):
        server.client("spaces are not allowed", SECRET).fetch_balance()


def test_removed_key_is_rejected_from_then_on(server: SimServer) -> None:
    server.sim.add_account("short-lived", "x")
    assert server.client("short-lived", "x").fetch_balance()["USDT"]["free"] == 10000
    server.sim.remove_account("short-lived")
    with pytest.raises(ccxt.AuthenticationError):
        server.client("short-lived", "x").fetch_balance()


@pytest.mark.parametrize("skew_ms", [120_000, -5_000])
def test_timestamp_outside_the_window_is_invalid_nonce(server: SimServer, skew_ms: int) -> None:
    client = server.client(KEY, SECRET)
    client.load_markets()
    client.options["timeDifference"] = skew_ms  # ccxt's nonce() = now - timeDifference
    with pytest.raises(ccxt.InvalidNonce, match="-1021"):
        client.fetch_balance()


def test_insufficient_balance(exchange) -> None:
    with pytest.raises(ccxt.InsufficientFunds):
        buy_btc(exchange, 1)  # ~60000 USDT with 10000
    with pytest.raises(ccxt.InsufficientFunds):
        exchange.create_order("ETH/USDT", "market", "sell", 0.1)  # no ETH at all


def test_filter_failures(server: SimServer, exchange) -> None:
    server.sim.set_price("BTC/USDT", 60000)
    # Binance answers -1013 "Filter failure: NOTIONAL"; ccxt maps -1013 to BadRequest (only
    # LOT_SIZE and PRICE_FILTER are special-cased to InvalidOrder).
    with pytest.raises(ccxt.BadRequest, match="NOTIONAL") as caught:
        buy_btc(exchange, 0.00005)  # 3 USDT < 5 USDT minimum
    assert not isinstance(caught.value, ccxt.InvalidOrder)
    # ccxt rounds amounts and prices to precision itself; send raw requests to hit the filters
    raw = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    with pytest.raises(ccxt.InvalidOrder, match="LOT_SIZE"):
        exchange.private_post_order({**raw, "quantity": "0.000001", "price": "60000"})
    with pytest.raises(ccxt.InvalidOrder, match="PRICE_FILTER"):
        exchange.private_post_order({**raw, "quantity": "0.001", "price": "60000.005"})


def test_limit_prices_far_from_the_average_fail_percent_price_by_side(server, exchange) -> None:
    server.sim.set_price("BTC/USDT", 60000)
    [rule] = [
        f for f in exchange.market("BTC/USDT")["info"]["filters"]
        if f["filterType"] == "PERCENT_PRICE_BY_SIDE"
    ]  # fmt: skip
    assert Decimal(rule["bidMultiplierUp"]) == 5 and Decimal(rule["askMultiplierDown"]) == Decimal(
        "0.2"
    )
    for side, price in (("buy", 11000), ("buy", 301000), ("sell", 11000), ("sell", 301000)):
        with pytest.raises(ccxt.InvalidOrder, match="PERCENT_PRICE_BY_SIDE"):
            exchange.create_order("BTC/USDT", "limit", side, 0.001, price)
    resting = exchange.create_order("BTC/USDT", "limit", "buy", 0.001, 13000)  # 0.22x: allowed
    assert resting["status"] == "open"


def test_unknown_symbol_is_bad_symbol(exchange) -> None:
    with pytest.raises(ccxt.BadSymbol, match="-1121"):
        exchange.public_get_ticker_price({"symbol": "NOPEUSDT"})
    with pytest.raises(ccxt.BadSymbol, match="-1121"):
        exchange.private_get_order({"symbol": "NOPEUSDT", "orderId": 1})


def test_unknown_order_is_order_not_found(exchange) -> None:
    with pytest.raises(ccxt.OrderNotFound, match="-2013"):
        exchange.fetch_order("424242", "BTC/USDT")
    with pytest.raises(ccxt.OrderNotFound, match="-2011"):
        exchange.cancel_order("424242", "BTC/USDT")


def test_malformed_requests_are_bad_request(exchange) -> None:
    with pytest.raises(ccxt.BadRequest, match="-1102"):
        exchange.private_get_order({"symbol": "BTCUSDT"})
    with pytest.raises(ccxt.BadRequest, match="-1100"):
        exchange.private_post_order(
            {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1e-3"}
        )
    with pytest.raises(ccxt.BadRequest, match="-1100"):
        buy_btc(exchange, 0.001, clientOrderId="has spaces")


def test_account_that_may_not_trade_gets_permission_denied(server: SimServer) -> None:
    server.sim.add_account("read-only", "ro-secret", can_trade=False)
    client = server.client("read-only", "ro-secret")
    assert client.fetch_balance()["USDT"]["free"] == 10000
    with pytest.raises(ccxt.PermissionDenied):
        buy_btc(client, 0.001)


def test_outages(server: SimServer) -> None:
    client = server.client(KEY, SECRET, timeout_ms=300)
    client.load_markets()
    server.sim.set_failure("unavailable", count=1)
    with pytest.raises(ccxt.ExchangeNotAvailable):
        client.fetch_ticker("BTC/USDT")
    assert client.fetch_ticker("BTC/USDT")["last"] > 0  # only one request failed

    server.sim.set_failure("ratelimit", count=1)
    with pytest.raises(ccxt.DDoSProtection):
        client.fetch_balance()

    server.sim.hang_seconds = 5
    server.sim.set_failure("timeout")
    with pytest.raises(ccxt.RequestTimeout):
        client.fetch_ticker("BTC/USDT")
    server.sim.set_failure(None)
    assert client.fetch_ticker("BTC/USDT")["last"] > 0


def test_client_factory_keeps_ccxt_away_from_the_internet(server: SimServer) -> None:
    client = build_sim_client(server.url, KEY, SECRET)
    for section in ("api", "test", "demo"):
        for url in client.urls[section].values():
            assert url.startswith(server.url), url
    assert client.options["fetchCurrencies"] is False
    assert client.fetch_time() > 0
    # an endpoint the simulator does not serve fails locally instead of reaching Binance
    with pytest.raises(ccxt.ExchangeNotAvailable):
        client.fapiPublicGetTime()
