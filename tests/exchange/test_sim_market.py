"""The simulated price model: determinism, overrides, and candles that match the per-second path."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.exchange.helpers import FIXED_TIME
from webapp.exchange.sim import Market, Simulator

NOW = int(FIXED_TIME)
ROOT = Path(__file__).resolve().parents[2]


def path_prices(market: Market, symbol: str, start: int, end: int) -> list[Decimal]:
    return [market.price(symbol, t) for t in range(start, end + 1)]


@pytest.mark.parametrize("symbol", ["BTCUSDT", "DOGEUSDT"])
@pytest.mark.parametrize(
    ("open_s", "size"),
    [
        (NOW // 60 * 60 - 3 * 60, 60),  # a closed minute
        (NOW // 300 * 300, 300),  # the current 5m candle (partial)
        (NOW // 3600 * 3600 - 3600, 3600),  # a closed hour
        (NOW // 3600 * 3600 - 1800, 3600),  # a range straddling an hour boundary
    ],
)
def test_candle_ohlc_is_derived_from_the_per_second_path(symbol: str, open_s: int, size: int):
    market = Market(seed=3)
    candle = market.candle(symbol, open_s, size, now=NOW)
    prices = path_prices(market, symbol, open_s, min(open_s + size - 1, NOW))
    assert Decimal(candle.open) == prices[0]
    assert Decimal(candle.close) == prices[-1]
    assert Decimal(candle.high) == max(prices)
    assert Decimal(candle.low) == min(prices)
    assert candle.close_time == (open_s + size) * 1000 - 1


def test_24h_ticker_matches_the_path() -> None:
    market = Market(seed=9)
    ticker = market.ticker_24h("SOLUSDT", now=NOW)
    prices = path_prices(market, "SOLUSDT", NOW - 86399, NOW)
    assert Decimal(ticker["lastPrice"]) == prices[-1] == market.price("SOLUSDT", NOW)
    assert Decimal(ticker["openPrice"]) == prices[0]
    assert Decimal(ticker["highPrice"]) == max(prices)
    assert Decimal(ticker["lowPrice"]) == min(prices)
    change = Decimal(ticker["priceChange"])
    assert change == prices[-1] - prices[0]


def test_prices_move_every_second_in_small_steps() -> None:
    market = Market(seed=4)
    prices = [float(p) for p in path_prices(market, "BTCUSDT", NOW, NOW + 600)]
    moves = [abs(b / a - 1) for a, b in itertools.pairwise(prices)]
    assert sum(m > 0 for m in moves) > 500  # it walks
    assert max(moves) < 0.0005  # one step is ~0.01%, never a jump


def test_prices_stay_near_their_base_level_over_months() -> None:
    market = Market(seed=8)
    for symbol, base in (("BTCUSDT", 60000), ("ETHUSDT", 3000), ("SOLUSDT", 150)):
        closes = [float(c.close) for c in market.klines(symbol, "1d", limit=90, now=NOW)]
        assert all(0.5 * base < c < 2 * base for c in closes), symbol
        assert len(set(closes)) > 60  # levels are a fine geometric grid, so some recur


def test_same_seed_same_prices_different_seed_different_prices() -> None:
    first, second, other = Market(seed=21), Market(seed=21), Market(seed=22)
    for symbol in ("BTCUSDT", "ETHUSDT", "PEPEUSDT"):
        for t in (NOW, NOW + 1, NOW + 7200, NOW - 86400 * 30):
            assert first.price(symbol, t) == second.price(symbol, t)
        assert first.price(symbol, NOW) != other.price(symbol, NOW)
    assert first.klines("ETHUSDT", "1h", limit=48, now=NOW) == second.klines(
        "ETHUSDT", "1h", limit=48, now=NOW
    )
    # and at the real current instant
    assert Simulator(seed=21).price("BTC/USDT") == Simulator(seed=21).price("BTC/USDT")


def test_another_process_with_the_same_seed_agrees() -> None:
    code = (
        "from webapp.exchange.sim import Market\n"
        f"m = Market(seed=21)\n"
        f"print(m.price_str('BTCUSDT', {NOW}), m.price_str('SOLUSDT', {NOW - 99999}))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    here = Market(seed=21)
    assert out == [here.price_str("BTCUSDT", NOW), here.price_str("SOLUSDT", NOW - 99999)]


def test_set_price_continues_the_walk_from_the_new_price() -> None:
    clock = [FIXED_TIME]
    market = Market(seed=2, clock=lambda: clock[0])
    untouched = Market(seed=2)
    before = market.price("BTC/USDT", NOW - 1)
    market.set_price("BTC/USDT", 61000)
    assert market.price("BTC/USDT") == Decimal("61000.00")
    assert market.price("BTC/USDT", NOW - 1) == before  # the past is unchanged
    # afterwards: the override price times the walk's own relative moves
    for later in (NOW + 1, NOW + 60, NOW + 3600):
        expected = (
            61000
            * float(untouched.price("BTCUSDT", later))
            / float(untouched.price("BTCUSDT", NOW))
        )
        assert float(market.price("BTCUSDT", later)) == pytest.approx(expected, rel=2e-6)
    assert market.price("BTCUSDT", NOW + 60) != Decimal("61000.00")
    candle = market.candle("BTCUSDT", NOW // 60 * 60, 60, now=NOW)
    assert candle.close == "61000.00000000"


def test_freeze_holds_prices_and_resuming_continues_from_them() -> None:
    clock = [FIXED_TIME]
    market = Market(seed=2, clock=lambda: clock[0])
    market.freeze(True)
    frozen = market.price("ETHUSDT")
    assert {market.price("ETHUSDT", NOW + k) for k in (1, 60, 86400)} == {frozen}
    clock[0] += 100
    market.set_price("ETHUSDT", 2500)  # while frozen: the new price holds too
    assert market.price("ETHUSDT", NOW + 5000) == Decimal("2500.00")
    clock[0] += 100
    market.freeze(False)
    assert market.price("ETHUSDT") == Decimal("2500.00")
    later = [market.price("ETHUSDT", NOW + 200 + k) for k in range(1, 120)]
    assert len(set(later)) > 10
    assert all(abs(float(p) / 2500 - 1) < 0.02 for p in later)


def test_frozen_simulator_and_set_price_through_the_simulator() -> None:
    sim = Simulator(seed=1, frozen=True)
    sim.set_price("SOLUSDT", "151.234")
    assert sim.price("SOL/USDT") == Decimal("151.234")


def test_klines_paging_like_binance() -> None:
    market = Market(seed=6)
    latest = market.klines("BTCUSDT", "5m", limit=3, now=NOW)
    assert [c.open_time // 1000 for c in latest] == [
        NOW // 300 * 300 - 600 + 300 * i for i in range(3)
    ]
    start = (NOW // 300 - 50) * 300 * 1000
    paged = market.klines("BTCUSDT", "5m", start_ms=start + 1, limit=4, now=NOW)
    assert paged[0].open_time == start + 300_000  # first candle opening at or after startTime
    ended = market.klines("BTCUSDT", "5m", end_ms=start, limit=2, now=NOW)
    assert [c.open_time for c in ended] == [start - 300_000, start]
    assert market.klines("BTCUSDT", "5m", start_ms=(NOW + 3600) * 1000, now=NOW) == []


def test_weekly_candles_open_on_monday() -> None:
    market = Market(seed=6)
    candle = market.klines("BTCUSDT", "1w", limit=1, now=NOW)[0]
    assert (candle.open_time // 1000 // 86400 + 3) % 7 == 0  # epoch day 0 was a Thursday


def test_unknown_symbol_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown symbol"):
        Market(seed=1).set_price("NOPE/USDT", 1)
