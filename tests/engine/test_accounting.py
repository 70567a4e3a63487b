"""Position/PnL bookkeeping, order sizing and stop-loss/take-profit, with hand-computed numbers."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from webapp.engine.accounting import (
    AccountingError,
    ExitReason,
    apply_fill,
    check_exit,
    round_to_step,
    size_order,
    size_sell,
)
from webapp.models import TradeSide as Side
from webapp.strategies import Position


def test_buy_fees_go_into_the_average_entry_price():
    pos, realized = apply_fill(Position(), "buy", D("0.1"), D("60000"), D("6"))
    assert (pos.qty, pos.avg_price, realized) == (D("0.1"), D("60060"), 0)
    # (6000 + 6 + 5800 + 5.8) / 0.2 = 59059
    pos, realized = apply_fill(pos, Side.BUY, D("0.1"), D("58000"), D("5.8"))
    assert (pos.qty, pos.avg_price, realized) == (D("0.2"), D("59059"), 0)


def test_selling_everything_realizes_against_the_average_and_goes_flat():
    pos = Position(qty=D("0.2"), avg_price=D("59059"))
    # 0.2*61000 - 12.2 - 0.2*59059 = 12200 - 12.2 - 11811.8 = 376.0
    pos, realized = apply_fill(pos, "sell", D("0.2"), D("61000"), D("12.2"))
    assert realized == D("376.0")
    assert pos == Position()
    assert not pos.is_open


def test_partial_sell_keeps_the_average_price():
    pos = Position(qty=D("0.2"), avg_price=D("59059"))
    # 0.05*61000 - 3.05 - 0.05*59059 = 3050 - 3.05 - 2952.95 = 94.00
    pos, realized = apply_fill(pos, "SELL", D("0.05"), D("61000"), D("3.05"))
    assert realized == D("94.00")
    assert pos == Position(qty=D("0.15"), avg_price=D("59059"))


def test_a_losing_sell_realizes_a_negative_amount_including_its_fee():
    pos = Position(qty=D("1"), avg_price=D("100.1"))
    # 1*95 - 0.095 - 100.1 = -5.195
    _, realized = apply_fill(pos, "sell", 1, "95", "0.095")
    assert realized == D("-5.195")


def test_exchange_floats_are_taken_at_their_written_value():
    pos, _ = apply_fill(Position(), "buy", 0.1, 0.3, 0)
    assert pos == Position(qty=D("0.1"), avg_price=D("0.3"))


def test_selling_more_than_held_is_refused():
    with pytest.raises(AccountingError, match=r"cannot sell 0\.3: position holds only 0\.2"):
        apply_fill(Position(qty=D("0.2"), avg_price=D("1")), "sell", D("0.3"), D("1"), D("0"))
    with pytest.raises(AccountingError):
        apply_fill(Position(), "sell", D("0.1"), D("1"), D("0"))


@pytest.mark.parametrize(
    ("side", "qty", "price", "fee"),
    [("buy", "0", "1", "0"), ("buy", "1", "0", "0"), ("buy", "1", "1", "-1"), ("hold", 1, 1, 0)],
)
def test_impossible_fills_are_refused(side, qty, price, fee):
    with pytest.raises(AccountingError):
        apply_fill(Position(), side, qty, price, fee)


def test_round_to_step_rounds_down():
    assert round_to_step(D("0.123456"), D("0.001")) == D("0.123")
    assert round_to_step(D("0.1239999"), 1e-05) == D("0.12399")
    assert round_to_step(7, 2) == 6
    assert round_to_step(D("1.5"), None) == D("1.5")
    with pytest.raises(AccountingError):
        round_to_step(1, 0)


def test_size_order_rounds_down_to_the_step():
    # 100 / 61000 = 0.0016393... -> 0.00163 BTC, worth 99.43 USDT
    result = size_order(100, 61000, 1e-05, 1e-05, 5, symbol="BTC/USDT")
    assert result.ok
    assert result.qty == D("0.00163")
    assert result.reason == "0.00163 BTC at 61000 = 99.43 USDT"


def test_size_order_below_min_notional_is_refused_with_the_amounts():
    # 3.2 / 0.4 = 8 DOGE, worth 3.2 USDT < 5
    result = size_order("3.2", "0.4", 1, 1, 5, symbol="DOGE/USDT")
    assert result.qty is None
    assert not result.ok
    assert result.reason == "order of 3.2 USDT is below the exchange minimum of 5 USDT"


def test_size_order_below_min_qty_is_refused():
    result = size_order(50, 61000, "0.00001", "0.001", None, symbol="BTC/USDT")
    assert result.reason == "order of 0.00081 BTC is below the exchange minimum of 0.001 BTC"
    assert result.qty is None


def test_size_order_too_small_for_one_step():
    result = size_order("0.5", 61000, "0.0001", None, None, symbol="BTC/USDT")
    assert result.qty is None
    assert result.reason == (
        "order of 0.5 USDT buys less than the smallest amount step (0.0001 BTC) at 61000"
    )


def test_size_order_caps_at_max_qty_and_ignores_unknown_limits():
    assert size_order(1000, 10, "0.1", None, None, max_qty=50).qty == D("50")
    assert size_order(1000, 3, None, None, None).qty == D(1000) / D(3)
    assert size_order(0, 10, "0.1", None, None).reason == "order size must be greater than 0"
    with pytest.raises(AccountingError):
        size_order(100, 0, "0.1", None, None)


def test_size_sell_leaves_dust_below_the_step():
    result = size_sell(D("0.0016389"), 61000, "0.00001", "0.00001", 5, symbol="BTC/USDT")
    assert result.qty == D("0.00163")
    dust = size_sell(D("0.000004"), 61000, "0.00001", None, None, symbol="BTC/USDT")
    assert dust.qty is None
    assert dust.reason == (
        "position of 0.000004 BTC is smaller than the smallest amount step (0.00001 BTC)"
    )
    small = size_sell(D("0.00005"), 61000, "0.00001", None, 5, symbol="BTC/USDT")
    assert small.reason == "order of 3.05 USDT is below the exchange minimum of 5 USDT"


LONG_AT_100 = Position(qty=D("1"), avg_price=D("100"))


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        ("95", ExitReason.STOP_LOSS),
        ("94", ExitReason.STOP_LOSS),
        ("95.01", None),
        ("109.99", None),
        ("110", ExitReason.TAKE_PROFIT),
        ("150", ExitReason.TAKE_PROFIT),
    ],
)
def test_check_exit_thresholds_are_inclusive(price, expected):
    assert check_exit(LONG_AT_100, price, D("5"), D("10")) is expected


def test_check_exit_disabled_and_flat():
    assert check_exit(LONG_AT_100, "1", None, 10) is None
    assert check_exit(LONG_AT_100, "1", 0, 10) is None
    assert check_exit(LONG_AT_100, "1000", 5, None) is None
    assert check_exit(LONG_AT_100, "1000", 5, "0") is None
    assert check_exit(Position(), "1", 5, 10) is None
    with pytest.raises(AccountingError):
        check_exit(LONG_AT_100, "100", -1, None)


def test_exit_reason_values_are_what_trades_store():
    assert ExitReason.STOP_LOSS == "stop_loss"
    assert str(ExitReason.TAKE_PROFIT) == "take_profit"
