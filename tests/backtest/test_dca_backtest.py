"""A DCA deal backtested and checked by hand, without fees and with the default fee: every
order's price and quantity, the average entry, the take-profit price and the deal's profit
(the README shows the same table)."""

from __future__ import annotations

from decimal import ROUND_CEILING
from decimal import Decimal as D

import pytest

from webapp.backtest.engine import Settings, run
from webapp.strategies import Candle

DCA = {
    "base_order": "100",
    "safety_order": "49",
    "max_safety_orders": 2,
    "deviation_pct": "2",
    "step_scale": "1.5",
    "volume_scale": "2",
    "max_active_safety_orders": 2,
    "take_profit_pct": "1.5",
    "cooldown_minutes": 3,
}
MINUTE = 60_000
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC

# (open, high, low, close) a minute.
PATH = [
    (50000, 50000, 50000, 50000),  # 0: the base order fills at the open
    (50000, 50200, 49800, 50000),  # 1: the safety orders and the take-profit are placed
    (50000, 50000, 48900, 48950),  # 2: safety order 1 (49,000) fills
    (48950, 49500, 48900, 49400),  # 3: recorded; the take-profit moves down
    (49400, 50500, 49400, 50450),  # 4: the take-profit fills
    (50450, 50450, 50450, 50450),  # 5: recorded: the deal is over, safety order 2 canceled
    (50450, 50450, 50450, 50450),  # 6: cooling down
    (50450, 50450, 50450, 50450),  # 7: cooling down
    (50400, 50400, 50400, 50400),  # 8: three minutes after: deal 2's base order
]


def candles() -> list[Candle]:
    return [Candle(T0 + i * MINUTE, *map(float, bar), 1.0) for i, bar in enumerate(PATH)]


def settings(fee_rate: str) -> Settings:
    return Settings(
        symbol="BTC/USDT",
        timeframe="1m",
        strategy="dca",
        params=DCA,
        quote_amount=D("100"),
        fee_rate=D(fee_rate),
        amount_step=D("0.00001"),
        min_qty=D("0.00001"),
        min_notional=D("5"),
        price_step=D("0.01"),
    )


@pytest.mark.parametrize("fee_rate", ["0", "0.001"])
def test_a_dca_deal_by_hand(fee_rate):
    rate = D(fee_rate)
    result = run(settings(fee_rate), candles())
    got = [(t["time"], t["side"], D(t["qty"]), D(t["price"]), D(t["fee"])) for t in result.trades]

    def at(minute, side, qty, price):
        return (T0 + minute * MINUTE, side, qty, D(price), (qty * D(price) * rate).normalize())

    # By hand: the base order buys 100 / 50,000 = 0.002; safety order 1 sits 2% below,
    # at 49,000, and buys 49 / 49,000 = 0.001; after it the position is 0.003 for
    # 149 USDT plus fees, and the take-profit sits 1.5% above that average, up to the tick.
    cost = D("100") * (1 + rate) + D("49") * (1 + rate)
    average = cost / D("0.003")
    take_profit = (average * D("1.015")).quantize(D("0.01"), ROUND_CEILING)
    assert take_profit == (D("50411.67") if rate == 0 else D("50462.08"))
    assert [(t, s, q, p, f.normalize()) for t, s, q, p, f in got] == [
        at(0, "buy", D("0.002"), "50000"),
        at(3, "buy", D("0.001"), "49000"),  # filled in minute 2, recorded at the next open
        at(5, "sell", D("0.003"), str(take_profit)),
        at(8, "buy", D("0.00198"), "50400"),  # deal 2: 100 / 50,400 to the step, after 3 min
    ]
    profit = D("0.003") * take_profit * (1 - rate) - cost
    assert profit == (D("2.23501") if rate == 0 else D("2.08585376"))
    assert D(result.summary["realized_pnl"]) == profit

    deal = result.summary["deals"][0]
    assert D(deal["average_entry"]) == average.quantize(D(1).scaleb(-8))
    assert D(deal["take_profit"]) == take_profit
    assert D(deal["profit"]) == profit
    assert [(D(o["price"]), D(o["qty"])) for o in deal["orders"]] == [
        (D("50000"), D("0.002")),
        (D("49000"), D("0.001")),
        (take_profit, D("0.003")),
    ]
    assert result.summary["deals"][1]["closed"] is None  # deal 2 is still open
    # Safety order 2 (5% below 50,000 = 47,500, costing 98) of deal 1 was canceled; deal 2's
    # two safety orders and its take-profit are not placed before the next cycle.
    assert result.summary["orders_resting_at_end"] == 0


def test_the_cli_prints_each_deal(app):
    """`flask backtest run` prints the deal as the hand calculation above reads it."""
    from webapp.backtest.cli import summary_lines

    result = run(settings("0"), candles())
    with app.test_request_context():
        lines = summary_lines(result.summary)
    assert (
        "Deal 1: 2 buys, average entry 49666.66666667, sold at 50411.67 (take-profit), "
        "profit 2.23501: buy 0.002 @ 50000, buy 0.001 @ 49000, sell 0.003 @ 50411.67"
    ) in lines
    assert "Deal 2 (open at the end): 1 buys, average entry 50400: buy 0.00198 @ 50400" in lines
