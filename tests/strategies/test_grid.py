"""The grid's completed pairs, checked by hand: each sell pairs with the buy that filled its
interval before it, the start-up buy for the intervals it bought."""

from __future__ import annotations

from decimal import Decimal as D

from webapp.strategies.book import BookOrder
from webapp.strategies.grid import completed_pairs


def filled(seq, tag, side, price, qty, fee):
    return BookOrder(
        tag=tag, side=side, price=D(price), qty=D(qty), executed_qty=D(qty), status="filled",
        average_price=D(price), held_qty=D(qty), seq=seq, fee=D(fee),
    )  # fmt: skip


def test_each_sell_pairs_with_the_buy_before_it_and_the_start_up_buy_once():
    orders = [
        # Start-up: 0.004 BTC at 49,800 for intervals 2 and 3; its fee is 49.8 USDT a BTC.
        filled(1, "init2", "buy", "49800", "0.004", "0.1992"),
        filled(2, "g1b", "buy", "49500", "0.002", "0.099"),
        filled(3, "g2s", "sell", "50500", "0.002", "0.101"),
        filled(4, "g1s", "sell", "50000", "0.002", "0.1"),
        filled(5, "g2b", "buy", "50000", "0.002", "0.1"),
        filled(6, "g2s", "sell", "50500", "0.002", "0.101"),
        # A canceled order with nothing filled is no pair.
        BookOrder("g0b", "buy", D("49000"), D("0.002"), D(0), "canceled", None, D(0), 7),
    ]
    pairs = completed_pairs(orders)
    assert [(p.interval, p.buy_price, p.sell_price) for p in pairs] == [
        (2, D("49800"), D("50500")),  # bought by the start-up buy
        (1, D("49500"), D("50000")),
        (2, D("50000"), D("50500")),  # the second time: its own buy, not the start-up's again
    ]
    # 0.002 * (50500 - 49800) - 0.101 - 0.002 * 0.1992 / 0.004
    assert pairs[0].profit == D("1.4") - D("0.101") - D("0.0996")
    # 0.002 * (50000 - 49500) - 0.1 - 0.099
    assert pairs[1].profit == D("0.801")
    # 0.002 * (50500 - 50000) - 0.101 - 0.1
    assert pairs[2].profit == D("0.799")
