"""Ten candles worked out by hand: every trade, fee, PnL and summary figure."""

from __future__ import annotations

from decimal import Decimal

import pytest

from webapp.backtest import engine
from webapp.backtest.errors import NoCandles
from webapp.strategies import Candle

T0 = 1_767_571_200_000  # 2026-01-05 00:00 UTC
MIN = 60_000

# open, high, low, close
BARS = [
    (105, 106, 104, 105),
    (104, 105, 98, 99),  # closes below 100: the buy fills at the next open
    (100, 101, 99, 100),  # buy 1 at 100
    (101, 108, 100, 107),
    (108, 112, 107, 111),  # closes above 110: the sell fills at the next open
    (112, 113, 110, 111),  # sell 1 at 112
    (111, 111, 95, 96),
    (95, 97, 94, 96),  # buy 1.052 at 95 (100/95 rounded down to the 0.001 step)
    (96, 98, 90, 91),  # the low reaches a 5% stop-loss (90.34025)
    (91, 92, 89, 90),
]
CANDLES = [Candle(T0 + i * MIN, o, h, lo, c, 1.0) for i, (o, h, lo, c) in enumerate(BARS)]


def settings(**overrides) -> engine.Settings:
    values = dict(
        symbol="BTC/USDT",
        timeframe="1m",
        strategy="threshold",
        params={"buy_below": "100", "sell_above": "110"},
        quote_amount=Decimal(100),
        fee_rate=Decimal("0.001"),
        amount_step=Decimal("0.001"),
        min_qty=Decimal("0.001"),
        min_notional=Decimal(5),
    )
    values.update(overrides)
    return engine.Settings(**values)


def test_ten_candles_by_hand():
    result = engine.run(settings(), CANDLES)
    trades = [
        (t["time"], t["side"], t["qty"], t["price"], t["fee"], t["realized_pnl"], t["reason"])
        for t in result.trades
    ]
    assert trades == [
        (T0 + 2 * MIN, "buy", "1", "100", "0.1", None, "signal"),
        # 112 - 0.112 fee - 1 x 100.1 (the entry price with the buy's fee inside)
        (T0 + 5 * MIN, "sell", "1", "112", "0.112", "11.788", "signal"),
        (T0 + 7 * MIN, "buy", "1.052", "95", "0.09994", None, "signal"),
    ]
    s = result.summary
    assert s["trades"] == 3 and s["buys"] == 2 and s["sells"] == 1
    assert s["realized_pnl"] == "11.788"
    assert s["fees"] == "0.31194"
    # 1.052 still held at an entry of 95.095, valued at the last close of 90
    assert s["open_qty"] == "1.052" and s["open_avg_price"] == "95.095"
    assert s["unrealized_pnl"] == "-5.35994"
    assert s["total_pnl"] == "6.42806"
    assert s["return_pct"] == "6.4281"
    assert s["win_rate_pct"] == "100"
    assert s["profit_factor"] == "inf"
    assert s["exposure_pct"] == "60"
    # equity peaks at 12.74006 (candle 7) and ends at 6.42806
    assert s["max_drawdown"] == "6.312"
    # buy 0.952 at 105 (avg 105.105 with the fee), sell at 90 less its 0.08568 fee
    assert s["buy_and_hold_pnl"] == "-14.46564"
    assert s["candles"] == 10 and s["stopped"] is None


def test_a_stop_loss_inside_a_candle_fills_at_its_level():
    result = engine.run(settings(stop_loss_pct=Decimal(5)), CANDLES)
    sl = result.trades[3]
    assert (sl["time"], sl["side"], sl["reason"]) == (T0 + 8 * MIN, "sell", "stop_loss")
    # 95.095 x 0.95 = 90.34025; 1.052 x 90.34025 = 95.037943
    assert (sl["qty"], sl["price"], sl["fee"]) == ("1.052", "90.34025", "0.095037943")
    assert sl["realized_pnl"] == "-5.097034943"
    # flat again, the close of 91 below 100 buys at the last open
    assert result.trades[4]["side"] == "buy" and result.trades[4]["qty"] == "1.098"
    assert result.summary["realized_pnl"] == "6.690965057"


def test_exits_at_the_open_only_see_what_a_live_cycle_sees():
    result = engine.run(settings(stop_loss_pct=Decimal(5), exit_model="open"), CANDLES)
    assert [t["reason"] for t in result.trades] == ["signal", "signal", "signal"]


def test_both_exits_in_one_candle_take_the_stop_loss():
    bars = [
        Candle(T0, 99, 99, 99, 99, 1.0),
        Candle(T0 + MIN, 100, 100, 100, 100, 1.0),  # buy 1 at 100 (entry 100.1)
        Candle(T0 + 2 * MIN, 100, 120, 80, 100, 1.0),  # reaches both 95.095 and 105.105
    ]
    s = settings(stop_loss_pct=Decimal(5), take_profit_pct=Decimal(5))
    result = engine.run(s, bars)
    assert [t["reason"] for t in result.trades] == ["signal", "stop_loss"]
    assert result.trades[1]["price"] == "95.095"


def test_slippage_moves_fills_against_the_order():
    result = engine.run(settings(slippage_bps=Decimal(10)), CANDLES)
    assert result.trades[0]["price"] == "100.1"  # 10 bps above the open
    assert result.trades[1]["price"] == "111.888"  # 10 bps below


def test_the_daily_loss_limit_stops_the_replay():
    s = settings(stop_loss_pct=Decimal(5), daily_loss_limit=Decimal(5))
    result = engine.run(s, CANDLES[6:])
    # buy at 95, the stop-loss realizes -5.097: no buy at the last open although 91 < 100
    assert [t["side"] for t in result.trades] == ["buy", "sell"]
    assert "daily loss limit" in result.summary["stopped"]


def test_the_daily_profit_target_pauses_until_midnight():
    result = engine.run(settings(daily_profit_target=Decimal(10)), CANDLES)
    assert [t["side"] for t in result.trades] == ["buy", "sell"]  # 11.788 >= 10: done today
    later = [c._replace(ts=c.ts + 86_400_000) for c in CANDLES[6:]]
    result = engine.run(settings(daily_profit_target=Decimal(10)), [*CANDLES, *later])
    assert [t["side"] for t in result.trades] == ["buy", "sell", "buy"]  # the next day trades


def test_same_settings_same_candles_same_bytes():
    a = engine.run(settings(stop_loss_pct=Decimal(5)), CANDLES).to_json()
    b = engine.run(settings(stop_loss_pct=Decimal(5)), list(CANDLES)).to_json()
    assert a == b
    assert engine.fingerprint(settings(), 0, 1, "x") == engine.fingerprint(settings(), 0, 1, "x")
    assert engine.fingerprint(settings(), 0, 1, "x") != engine.fingerprint(
        settings(fee_rate=Decimal("0.002")), 0, 1, "x"
    )


def test_no_candles_is_a_clear_error():
    with pytest.raises(NoCandles):
        engine.run(settings(), [])


def test_progress_is_reported_and_returning_false_cancels():
    from webapp.backtest.errors import Cancelled

    many = [Candle(T0 + i * MIN, 105.0, 106.0, 104.0, 105.0, 1.0) for i in range(40_000)]
    seen = []
    engine.run(settings(), many, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(16384, 40_000), (32768, 40_000), (40_000, 40_000)]
    with pytest.raises(Cancelled):
        engine.run(settings(), many, progress=lambda done, total: False)
