"""A grid backtested on a price path that crosses its levels back and forth, checked by hand:
every order's price and quantity, each sell paired with a buy one level below of the same
quantity, and the grid profit equal to the sum of those pairs, without fees and with them."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

import pytest

from webapp.backtest.engine import Settings, run
from webapp.strategies import Candle
from webapp.strategies.book import BookOrder
from webapp.strategies.grid import completed_pairs

GRID = {"lower": "49000", "upper": "51000", "grids": 4, "investment": "400"}
# 100 USDT an interval at its lower level (49000, 49500, 50000, 50500), to the 0.00001 step.
Q0, Q1, Q2, Q3 = D("0.00204"), D("0.00202"), D("0.002"), D("0.00198")
MINUTE = 60_000
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC

# (open, high, low, close) a minute: down through 49,500, up through 50,000 and 50,500, down
# through 50,000, up through 50,500 again.
PATH = [
    (49800, 49800, 49800, 49800),  # the start-up buy at the open; the ladder goes up next
    (49800, 49800, 49400, 49450),  # the buy at 49,500 fills
    (49450, 50100, 49450, 50050),  # its sell at 50,000 (placed at this open) fills
    (50050, 50600, 50000, 50550),  # 49,500 rests again; the sell at 50,500 fills
    (50550, 50600, 49900, 49950),  # the buy at 50,000 fills
    (49950, 50550, 49950, 50500),  # and its sell at 50,500
    (50500, 50500, 50500, 50500),  # recorded at this open; nothing else fills
]


def candles() -> list[Candle]:
    return [Candle(T0 + i * MINUTE, *map(float, bar), 1.0) for i, bar in enumerate(PATH)]


def settings(fee_rate: str) -> Settings:
    return Settings(
        symbol="BTC/USDT",
        timeframe="1m",
        strategy="grid",
        params=GRID,
        quote_amount=D("100"),
        fee_rate=D(fee_rate),
        amount_step=D("0.00001"),
        min_qty=D("0.00001"),
        min_notional=D("5"),
        price_step=D("0.01"),
    )


@pytest.mark.parametrize("fee_rate", ["0", "0.001"])
def test_a_grid_backtest_by_hand(fee_rate):
    rate = D(fee_rate)
    result = run(settings(fee_rate), candles())
    got = [(t["time"], t["side"], D(t["qty"]), D(t["price"]), D(t["fee"])) for t in result.trades]

    def at(minute, side, qty, price):
        return (T0 + minute * MINUTE, side, qty, D(price), (qty * D(price) * rate).normalize())

    assert [(t, s, q, p, f.normalize()) for t, s, q, p, f in got] == [
        at(0, "buy", Q2 + Q3, "49800"),  # what the two intervals above 49,800 will sell
        at(2, "buy", Q1, "49500"),  # filled in minute 1, recorded at the next open
        at(3, "sell", Q1, "50000"),  # one level up, the same quantity
        at(4, "sell", Q2, "50500"),  # an interval the start-up buy filled
        at(5, "buy", Q2, "50000"),
        at(6, "sell", Q2, "50500"),
    ]
    assert result.summary["orders_resting_at_end"] == 4
    # Returns are measured against the grid's investment, not the bot's order size.
    total = D(result.summary["total_pnl"])
    assert D(result.summary["return_pct"]) == round(total / 400 * 100, 4)

    # Each sell pairs with the buy one level below it, of the same quantity.
    orders = [
        BookOrder(
            tag, side, D(price), qty, qty, "filled", D(price), qty, seq, qty * D(price) * rate
        )
        for seq, (tag, side, qty, price) in enumerate(
            [
                ("init2", "buy", Q2 + Q3, "49800"),
                ("g1b", "buy", Q1, "49500"),
                ("g1s", "sell", Q1, "50000"),
                ("g2s", "sell", Q2, "50500"),
                ("g2b", "buy", Q2, "50000"),
                ("g2s", "sell", Q2, "50500"),
            ]
        )
    ]
    pairs = completed_pairs(orders)
    assert [(p.buy_price, p.sell_price, p.qty) for p in pairs] == [
        (D("49500"), D("50000"), Q1),
        (D("49800"), D("50500"), Q2),
        (D("50000"), D("50500"), Q2),
    ]
    gross = Q1 * 500 + Q2 * 700 + Q2 * 500  # 1.01 + 1.4 + 1.0
    fees = rate * (Q1 * (49500 + 50000) + Q2 * (49800 + 50500) + Q2 * (50000 + 50500))
    assert sum(p.profit for p in pairs) == gross - fees
    assert gross == D("3.41")


def test_a_grid_backtest_closes_at_its_stop_below_as_a_live_bot_does():
    grid = {**GRID, "stop_below": "48000"}
    path = [*PATH[:2], (49450, 49450, 47800, 47900), (47900, 47900, 47900, 47900),
            (50000, 50000, 50000, 50000)]  # fmt: skip
    bars = [Candle(T0 + i * MINUTE, *map(float, bar), 1.0) for i, bar in enumerate(path)]
    result = run(dataclasses.replace(settings("0"), params=grid), bars)
    sides = [(t["time"], t["side"], D(t["price"])) for t in result.trades]
    # Minute 2 falls through the two buys (49,500 and 49,000) and the stop: at minute 3's open
    # they are recorded and everything held is sold there; nothing trades after.
    assert sides[-1] == (T0 + 3 * MINUTE, "sell", D("47900"))
    assert [s for _t, s, _p in sides].count("sell") == 1
    assert result.summary["stopped"] == (
        "Closed: the price 47900 reached the grid's stop-below 48000; its orders were canceled "
        "and its position sold."
    )
    assert result.summary["orders_resting_at_end"] == 0
    assert D(result.summary["unrealized_pnl"]) == 0


def test_a_grid_backtest_waits_for_its_trigger_price_as_a_live_bot_does():
    grid = {**GRID, "trigger_price": "50200"}
    # A cycle's price is the candle's open: the wick to 50,300 in minute 1 does not reach the
    # trigger, the open of minute 3 does.
    path = [(49800, 49900, 49700, 49850), (49850, 50300, 49800, 50100),
            (50100, 50150, 50000, 50150), (50250, 50300, 50200, 50250),
            (50250, 50250, 50250, 50250)]  # fmt: skip
    bars = [Candle(T0 + i * MINUTE, *map(float, bar), 1.0) for i, bar in enumerate(path)]
    result = run(dataclasses.replace(settings("0"), params=grid), bars)
    sides = [(t["time"], t["side"], D(t["qty"]), D(t["price"])) for t in result.trades]
    # The start-up buy at that open, for the one interval above it; then the ladder rests.
    assert sides == [(T0 + 3 * MINUTE, "buy", Q3, D("50250"))]
    assert result.summary["orders_resting_at_end"] == 4
    # Never reached: nothing trades and nothing rests.
    never = run(dataclasses.replace(settings("0"), params={**GRID, "trigger_price": "51500"}), bars)
    assert never.trades == [] and never.summary["orders_resting_at_end"] == 0
