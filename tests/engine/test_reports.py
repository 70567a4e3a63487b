"""Bot and dashboard figures from trades, checked against hand-computed numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import NamedTuple

from webapp.engine.accounting import apply_fill
from webapp.engine.reports import BotReport, combine, max_drawdown, summarize
from webapp.strategies import Position

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


class Trade(NamedTuple):
    side: str
    qty: D
    price: D
    fee: D
    realized_pnl: D | None
    executed_at: datetime


def sell(pnl: str, minute: int, fee: str = "1") -> Trade:
    return Trade("sell", D("1"), D("100"), D(fee), D(pnl), at(minute))


def buy(minute: int, fee: str = "1") -> Trade:
    return Trade("buy", D("1"), D("100"), D(fee), None, at(minute))


def test_round_trip_with_two_buys_and_one_sell():
    pos, _ = apply_fill(Position(), "buy", D("0.1"), D("60000"), D("6"))
    pos, _ = apply_fill(pos, "buy", D("0.1"), D("58000"), D("5.8"))
    assert pos.avg_price == D("59059")  # (6000 + 6 + 5800 + 5.8) / 0.2
    _, realized = apply_fill(pos, "sell", D("0.2"), D("61000"), D("12.2"))
    assert realized == D("376.0")  # 12200 - 12.2 - 0.2 * 59059

    trades = [
        Trade("buy", D("0.1"), D("60000"), D("6"), None, at(0)),
        Trade("buy", D("0.1"), D("58000"), D("5.8"), None, at(5)),
        Trade("sell", D("0.2"), D("61000"), D("12.2"), realized, at(9)),
    ]
    report = summarize(trades)
    assert (report.trade_count, report.buys, report.sells, report.wins) == (3, 2, 1, 1)
    assert report.total_realized_pnl == D("376.0")
    assert report.total_fees == D("24.0")  # 6 + 5.8 + 12.2
    assert report.win_rate == 1
    assert report.win_rate_pct == 100
    assert report.max_drawdown == 0
    assert report.last_trade_at == at(9)
    assert report.pnl_series == [(at(9), D("376.0"))]


def test_drawdown_is_the_fall_between_two_gains():
    # Cumulative: +100, -50, +150, +120 -> peak 100 to trough -50 = 150.
    trades = [buy(0), sell("100", 1), buy(2), sell("-150", 3), buy(4), sell("200", 5)]
    trades += [buy(6), sell("-30", 7)]
    report = summarize(trades)
    assert report.max_drawdown == D("150")
    assert report.total_realized_pnl == D("120")
    assert (report.sells, report.wins) == (4, 2)
    assert report.win_rate == D("0.5")
    assert report.total_fees == D("8")
    assert report.pnl_series == [
        (at(1), D("100")),
        (at(3), D("-50")),
        (at(5), D("150")),
        (at(7), D("120")),
    ]


def test_drawdown_counts_from_zero_and_over_several_losses():
    assert max_drawdown([D("-40"), D("10")]) == D("40")
    # 50, 30, 0, 10, -50: from the peak of 50 down to -50.
    assert max_drawdown([D(x) for x in ("50", "-20", "-30", "10", "-60")]) == D("100")
    assert max_drawdown([D("5"), D("7")]) == 0


def test_trades_are_ordered_by_time_whatever_the_input_order():
    trades = [sell("-150", 3), sell("100", 1), sell("200", 5)]
    report = summarize(trades)
    assert report.max_drawdown == D("150")
    assert report.last_trade_at == at(5)
    assert [p for _, p in report.pnl_series] == [D("100"), D("-50"), D("150")]


def test_break_even_sell_is_not_a_win_and_buys_alone_have_no_win_rate():
    assert summarize([sell("0", 1)]).win_rate == 0
    only_buys = summarize([buy(0), buy(1, fee="2.5")])
    assert only_buys.win_rate is None
    assert only_buys.total_fees == D("3.5")
    assert only_buys.total_realized_pnl == 0


def test_no_trades():
    report = summarize([])
    assert report == BotReport()
    assert report.win_rate is None
    assert report.last_trade_at is None
    assert report.pnl_series == []


def test_combined_report_uses_the_merged_curve_not_the_sum_of_drawdowns():
    bot_a = [buy(0), sell("-100", 1), buy(2), sell("100", 2)]
    bot_b = [buy(0), sell("-100", 3)]
    a, b = summarize(bot_a), summarize(bot_b)
    assert (a.max_drawdown, b.max_drawdown) == (D("100"), D("100"))

    total = combine([a, b])
    # Merged cumulative: -100, 0, -100 -> the worst fall is 100, not 100 + 100.
    assert total.max_drawdown == D("100")
    assert total.total_realized_pnl == D("-100")
    assert (total.trade_count, total.buys, total.sells, total.wins) == (6, 3, 3, 1)
    assert total.win_rate == D(1) / D(3)
    assert total.total_fees == D("6")
    assert total.last_trade_at == at(3)
    assert total == summarize(bot_a + bot_b)


def test_combining_nothing_is_an_empty_report():
    assert combine([]) == BotReport()
    assert combine([summarize([]), summarize([buy(4)])]).last_trade_at == at(4)
