"""The simulator's Binance rate limits and the rest of the spot API, through the real ccxt
client: weight reported and enforced per IP and minute, 429 then 418 for a client that does not
back off, order counters per account, the book, the tape, fees and key restrictions."""

from __future__ import annotations

import time
from decimal import Decimal

import ccxt
import pytest
import requests

from tests.exchange.helpers import KEY, SECRET
from webapp.exchange.sim import SimServer, Simulator


class Clock:
    """The exchange's wall clock, which the test moves on: the limits count per wall-clock
    minute. It starts 5 s into a minute so that waits are known."""

    def __init__(self) -> None:
        now = time.time()
        self.shift = (now // 60 * 60 + 5) - now

    def __call__(self) -> float:
        return time.time() + self.shift

    def advance(self, seconds: float, *clients: ccxt.binance) -> None:
        """Move on; signed requests of `clients` keep matching the exchange's time."""
        self.shift += seconds
        for client in clients:
            client.options["timeDifference"] = -int(self.shift * 1000)


@pytest.fixture
def wall() -> Clock:
    return Clock()


def limited(wall: Clock, weight_limit: int | None) -> Simulator:
    sim = Simulator(seed=11, frozen=True, weight_limit=weight_limit, wall_clock=wall)
    sim.add_account(KEY, SECRET, {"USDT": "100000"})
    return sim


def used(response: requests.Response) -> int:
    return int(response.headers["X-MBX-USED-WEIGHT-1M"])


def test_every_answer_reports_the_weight_used_this_minute(wall):
    with SimServer(limited(wall, None)) as server:
        get = lambda path, **params: requests.get(server.url + path, params=params, timeout=5)  # noqa: E731
        assert used(get("/api/v3/ping")) == 1
        assert used(get("/api/v3/exchangeInfo")) == 21
        assert used(get("/api/v3/klines", symbol="BTCUSDT", interval="1m")) == 23
        assert used(get("/api/v3/depth", symbol="BTCUSDT", limit=500)) == 48
        assert used(get("/api/v3/ticker/price")) == 52  # every symbol: 4
        assert used(get("/api/v3/ticker/24hr")) == 132  # every symbol: 80
        wall.advance(60)  # a new minute starts from nothing
        assert used(get("/api/v3/ticker/price", symbol="BTCUSDT")) == 2
        wall.advance(60)
        # The real client's signed calls are charged as documented too.
        client = server.client(KEY, SECRET)
        wall.advance(0, client)
        client.load_markets()  # exchangeInfo, 20
        client.fetch_balance()  # account, 20
        assert client.last_response_headers["X-MBX-USED-WEIGHT-1M"] == "40"


def test_past_the_limit_429_with_retry_after_then_418_for_a_client_that_goes_on(wall):
    sim = limited(wall, 100)
    with SimServer(sim) as server:
        client = server.client(KEY, SECRET)
        wall.advance(0, client)
        client.load_markets()  # 20
        for _ in range(4):
            client.fetch_balance()  # 20 each: 100, the whole budget
        # Binance's own wording, which ccxt maps to DDoSProtection as it would on Binance.
        with pytest.raises(ccxt.DDoSProtection, match="-1003"):
            client.fetch_ticker("BTC/USDT")
        refused = requests.get(server.url + "/api/v3/ping", timeout=5)
        assert refused.status_code == 429
        assert refused.json()["code"] == -1003
        assert 50 <= int(refused.headers["Retry-After"]) <= 55  # until the next minute
        assert used(refused) == 100

        # Ten more requests while told to wait are tolerated; the next one is banned.
        for _ in range(9):
            assert requests.get(server.url + "/api/v3/ping", timeout=5).status_code == 429
        banned = requests.get(server.url + "/api/v3/ping", timeout=5)
        assert banned.status_code == 418
        assert int(banned.headers["Retry-After"]) == 120
        assert "banned until" in banned.json()["msg"]
        with pytest.raises(ccxt.DDoSProtection):
            client.fetch_ticker("BTC/USDT")

        wall.advance(60)  # the minute is over, the ban is not
        assert requests.get(server.url + "/api/v3/ping", timeout=5).status_code == 418
        wall.advance(61)
        assert requests.get(server.url + "/api/v3/ping", timeout=5).status_code == 200
        assert sim.stats()["refused"]["418"] >= 2


def test_a_client_that_waits_as_told_is_never_banned(wall):
    with SimServer(limited(wall, 30)) as server:
        for _minute in range(3):
            answers = [requests.get(server.url + "/api/v3/time", timeout=5) for _ in range(31)]
            assert [a.status_code for a in answers] == [200] * 30 + [429]
            wall.advance(int(answers[-1].headers["Retry-After"]))  # as Retry-After says
        assert requests.get(server.url + "/api/v3/time", timeout=5).status_code == 200


def test_each_ip_has_its_own_budget(wall):
    sim = limited(wall, 5)
    assert sim.limits.admit("10.0.0.1", 5).status == 200
    assert sim.limits.admit("10.0.0.1", 1).status == 429
    assert sim.limits.admit("10.0.0.2", 5).status == 200


def test_order_counters_and_the_10_second_order_limit(wall):
    sim = limited(wall, None)
    with SimServer(sim) as server:
        client = server.client(KEY, SECRET)
        wall.advance(0, client)
        client.load_markets()
        for n in range(1, 51):
            client.create_order("BTC/USDT", "limit", "buy", 0.001, 20000)
            headers = client.last_response_headers
            assert headers["X-MBX-ORDER-COUNT-10S"] == str(n)
            assert headers["X-MBX-ORDER-COUNT-1D"] == str(n)
        with pytest.raises(ccxt.DDoSProtection, match="-1015"):
            client.create_order("BTC/USDT", "limit", "buy", 0.001, 20000)
        assert len(client.fetch_open_orders("BTC/USDT")) == 50  # the refused one was not placed
        wall.advance(10, client)
        client.create_order("BTC/USDT", "limit", "buy", 0.001, 20000)
        assert client.last_response_headers["X-MBX-ORDER-COUNT-10S"] == "1"
        assert client.last_response_headers["X-MBX-ORDER-COUNT-1D"] == "51"


def test_the_order_book_is_quoted_at_the_price_one_tick_apart(exchange, sim):
    book = exchange.fetch_order_book("BTC/USDT", limit=5)
    price = float(sim.price("BTC/USDT"))
    tick = float(sim.spec("BTC/USDT").tick)
    assert [p for p, _ in book["bids"]] == pytest.approx([price - n * tick for n in range(5)])
    assert [p for p, _ in book["asks"]] == pytest.approx([price + n * tick for n in range(5)])
    assert all(qty > 0 for _, qty in book["bids"] + book["asks"])
    assert book["nonce"] is not None
    assert len(exchange.fetch_order_book("BTC/USDT")["bids"]) == 100  # Binance's default


def test_the_tape_has_a_trade_per_second_at_that_seconds_price(server):
    sim = Simulator(seed=11, clock=lambda: 1_770_000_000.0)  # walking prices, pinned now
    with SimServer(sim) as walking:
        client = walking.client()
        trades = client.fetch_trades("BTC/USDT", limit=30)
        assert len(trades) == 30
        assert [t["timestamp"] for t in trades] == [
            (1_770_000_000 - 29 + n) * 1000 for n in range(30)
        ]
        for t in trades:
            assert Decimal(str(t["price"])) == sim.market.price("BTC/USDT", t["timestamp"] // 1000)
            assert t["side"] in ("buy", "sell")
        # Aggregate trades by id and by time window, as ccxt asks for them.
        agg = client.publicGetAggTrades({"symbol": "BTCUSDT", "fromId": 1_769_999_990, "limit": 5})
        assert [row["a"] for row in agg] == list(range(1_769_999_990, 1_769_999_995))
        window = client.publicGetAggTrades(
            {"symbol": "BTCUSDT", "startTime": 1_769_999_000_000, "endTime": 1_769_999_009_999}
        )
        assert len(window) == 10
        too_long = {"symbol": "BTCUSDT", "startTime": 0, "endTime": 3_600_001}
        with pytest.raises(ccxt.BadRequest, match="-1127"):
            client.publicGetAggTrades(too_long)


def test_trading_fees_and_an_account_with_every_asset(exchange):
    fees = exchange.fetch_trading_fees()
    assert fees["BTC/USDT"]["maker"] == 0.001 and fees["BTC/USDT"]["taker"] == 0.001
    every = exchange.fetch_balance()["total"]
    assert every["USDT"] == 10000.0 and every["BTC"] == 0.0 and len(every) > 20
    held = exchange.fetch_balance({"omitZeroBalances": True})["total"]
    assert held == {"USDT": 10000.0}


def test_api_key_restrictions_as_the_owner_set_them(exchange, sim, server):
    restrictions = exchange.sapiGetAccountApiRestrictions()
    assert restrictions["enableReading"] is True
    assert restrictions["enableSpotAndMarginTrading"] is True
    assert restrictions["enableWithdrawals"] is False
    assert restrictions["ipRestrict"] is False

    changed = requests.post(
        server.url + "/sim/accounts/restrictions",
        json={"api_key": KEY, "enableWithdrawals": True, "enableSpotAndMarginTrading": False},
        timeout=5,
    )
    assert changed.status_code == 200
    restrictions = exchange.sapiGetAccountApiRestrictions()
    assert restrictions["enableWithdrawals"] is True
    assert restrictions["enableSpotAndMarginTrading"] is False
    with pytest.raises(ccxt.PermissionDenied):
        exchange.create_order("BTC/USDT", "market", "buy", 0.001)

    unknown = requests.post(
        server.url + "/sim/accounts/restrictions", json={"api_key": "nobody"}, timeout=5
    )
    assert unknown.status_code == 404
