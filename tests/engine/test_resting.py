"""Resting limit orders through the real ccxt client and the simulator: the engine places what
a strategy wants, turns every fill (partial ones too) into trades, replaces and cancels what
is no longer wanted, cancels everything once the bot stops, and never leaves an order it does
not know about nor places one twice. Paper bots keep the same book and fill it by the
backtest's rule.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.engine.conftest import step, trades
from webapp.engine import orders, service
from webapp.engine.cycle import Outcome, run_cycle
from webapp.engine.errors import OrdersResting
from webapp.engine.tick import tick
from webapp.exchange.sim import FailureMode
from webapp.extensions import db
from webapp.models import BotActivity, BotOrder, OrderStatus
from webapp.strategies import Strategy, register, unregister
from webapp.strategies.book import Book, OrderWant

RUNGS = [Decimal(p) for p in ("49000", "49500", "50000", "50500", "51000")]
QTY = Decimal("0.002")


class Rungs(Strategy):
    """A small grid for these tests: a buy on each rung below the price; a filled buy is
    answered by a sell one rung up, and that sell's fill by the buy again."""

    name = "test_rungs"
    label = "Rungs"
    description = "Buys on fixed rungs, sells one rung up."
    rests_orders = True

    @property
    def required_candles(self) -> int:
        return 1

    def wanted_orders(self, book: Book) -> list[OrderWant]:
        holding: dict[int, bool] = {}
        for order in book.filled:
            if order.status == "filled":
                holding[int(order.tag[1:])] = order.tag[0] == "b"
        wants = []
        for i, rung in enumerate(RUNGS[:-1]):
            if holding.get(i):
                wants.append(OrderWant(f"s{i}", "sell", RUNGS[i + 1], QTY))
            elif rung < book.price or f"b{i}" in book.active:
                wants.append(OrderWant(f"b{i}", "buy", rung, QTY))
        return wants


class Moving(Rungs):
    """One buy 1% under the last close: a new price each time the market moves."""

    name = "test_moving"
    label = "Moving"

    def wanted_orders(self, book: Book) -> list[OrderWant]:
        close = Decimal(repr(book.candles[-1].close))
        return [OrderWant("dip", "buy", close * Decimal("0.99"), QTY)]


class TooSmall(Rungs):
    name = "test_too_small"
    label = "Too small"

    def wanted_orders(self, book: Book) -> list[OrderWant]:
        return [
            OrderWant("dust", "buy", Decimal("40000"), Decimal("0.0001")),  # 4 USDT
            OrderWant("fine", "buy", Decimal("40000"), QTY),
        ]


@pytest.fixture(autouse=True)
def strategies():
    for cls in (Rungs, Moving, TooSmall):
        register(cls)
    yield
    for cls in (Rungs, Moving, TooSmall):
        unregister(cls.name)


def rungs_bot(make_bot, **fields):
    fields.setdefault("strategy", "test_rungs")
    fields.setdefault("params", {})
    return make_bot(**fields)


def book(bot) -> list[BotOrder]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(BotOrder).where(BotOrder.bot_id == bot.id).order_by(BotOrder.id)
        )
    )


def open_on_exchange(bot) -> dict[str, tuple[str, float, float]]:
    """The bot's open orders as the exchange lists them: client id -> (side, price, amount)."""
    listed = orders.live_client(bot).fetch_open_orders(bot.symbol)
    return {o["clientOrderId"]: (o["side"], o["price"], o["amount"]) for o in listed}


def test_the_wanted_orders_rest_on_the_exchange_and_a_fill_is_answered_one_rung_up(
    bot_app, sim, clock, make_bot
):
    bot = rungs_bot(make_bot)
    step(sim, clock, "BTC/USDT", "49800")

    result = run_cycle(bot.id)

    assert result.outcome is Outcome.HOLD, result
    rows = book(bot)
    assert [(r.tag, r.side.value, r.price, r.qty, r.status) for r in rows] == [
        ("b0", "buy", RUNGS[0], QTY, OrderStatus.OPEN),
        ("b1", "buy", RUNGS[1], QTY, OrderStatus.OPEN),
    ]
    assert open_on_exchange(bot) == {
        rows[0].client_order_id: ("buy", 49000.0, 0.002),
        rows[1].client_order_id: ("buy", 49500.0, 0.002),
    }
    assert trades(bot) == []

    # Nothing moved: the next cycle leaves both orders alone.
    step(sim, clock, "BTC/USDT", "49800")
    assert run_cycle(bot.id).outcome is Outcome.HOLD
    assert len(book(bot)) == 2 and len(open_on_exchange(bot)) == 2

    # The price dips through 49,500: that buy fills on the exchange; the next cycle records
    # it at its limit price and answers it with a sell one rung up.
    step(sim, clock, "BTC/USDT", "49400")
    result = run_cycle(bot.id)
    assert result.outcome is Outcome.TRADED, result
    [buy] = trades(bot)
    assert (buy.side.value, buy.qty, buy.price) == ("buy", QTY, RUNGS[1])
    assert buy.fee == QTY * RUNGS[1] / 1000  # the simulator's 0.1%, in quote
    assert buy.client_order_id == rows[1].client_order_id
    by_tag = {r.tag: r for r in book(bot) if r.status.is_active}
    assert sorted(by_tag) == ["b0", "s1"]
    assert open_on_exchange(bot) == {
        by_tag["b0"].client_order_id: ("buy", 49000.0, 0.002),
        by_tag["s1"].client_order_id: ("sell", 50000.0, 0.002),
    }
    db.session.refresh(bot.state)
    assert bot.state.position_qty == QTY

    # Back up through 50,000: the sell fills, a pair is complete, and the buy rests again.
    step(sim, clock, "BTC/USDT", "50100")
    assert run_cycle(bot.id).outcome is Outcome.TRADED
    buy, sell = trades(bot)
    assert (sell.side.value, sell.qty, sell.price) == ("sell", QTY, RUNGS[2])
    assert sell.realized_pnl == QTY * (RUNGS[2] - RUNGS[1]) - buy.fee - sell.fee
    active = sorted(r.tag for r in book(bot) if r.status.is_active)
    assert active == ["b0", "b1", "b2"]
    assert len(open_on_exchange(bot)) == 3


def test_a_partial_fill_is_a_trade_and_the_rest_fills_later(bot_app, sim, clock, make_bot):
    bot = rungs_bot(make_bot)
    step(sim, clock, "BTC/USDT", "49800")
    run_cycle(bot.id)
    b1 = next(r for r in book(bot) if r.tag == "b1")

    sim.fill_part("KbotTestKey0123456789abcdefABCD", "BTC/USDT", b1.client_order_id, "0.0005")
    step(sim, clock, "BTC/USDT", "49800")
    assert run_cycle(bot.id).outcome is Outcome.TRADED
    [part] = trades(bot)
    assert (part.qty, part.price, part.client_order_id) == (
        Decimal("0.0005"),
        RUNGS[1],
        b1.client_order_id,
    )
    b1 = next(r for r in book(bot) if r.tag == "b1")
    assert b1.status is OrderStatus.OPEN and b1.executed_qty == Decimal("0.0005")
    assert open_on_exchange(bot)[b1.client_order_id] == ("buy", 49500.0, 0.002)

    # Seen again, the same part is not recorded twice.
    step(sim, clock, "BTC/USDT", "49800")
    run_cycle(bot.id)
    assert len(trades(bot)) == 1

    step(sim, clock, "BTC/USDT", "49400")
    run_cycle(bot.id)
    first, rest = trades(bot)
    assert (rest.qty, rest.price) == (Decimal("0.0015"), RUNGS[1])
    assert rest.client_order_id == f"{b1.client_order_id}.2"
    assert first.fee + rest.fee == QTY * RUNGS[1] / 1000
    db.session.refresh(bot.state)
    assert bot.state.position_qty == QTY
    assert "s1" in {r.tag for r in book(bot) if r.status.is_active}


def test_an_order_wanted_at_a_new_price_is_replaced(bot_app, sim, clock, make_bot):
    bot = make_bot(strategy="test_moving", params={})
    step(sim, clock, "BTC/USDT", "50000")
    run_cycle(bot.id)
    [first] = book(bot)
    assert first.price == Decimal("49500") and first.status is OrderStatus.OPEN

    step(sim, clock, "BTC/USDT", "51000")
    run_cycle(bot.id)
    old, new = book(bot)
    assert old.status is OrderStatus.CANCELED and old.note == "replaced at a new price or size"
    assert new.price == Decimal("50490") and new.status is OrderStatus.OPEN
    assert list(open_on_exchange(bot)) == [new.client_order_id]
    assert [o.status.value for o in sim.orders()] == ["CANCELED", "NEW"]


def test_stopping_cancels_every_resting_order_through_the_next_tick(bot_app, sim, clock, make_bot):
    bot = rungs_bot(make_bot)
    step(sim, clock, "BTC/USDT", "49800")
    run_cycle(bot.id)
    assert len(open_on_exchange(bot)) == 2

    service.stop_by_owner(bot)
    db.session.commit()
    # While they rest, the bot can be neither deleted nor moved to another market.
    with pytest.raises(OrdersResting):
        service.delete_bot(bot)
    db.session.rollback()

    # The scheduler's tick queues a stopped bot that still has orders; its cycle cancels them.
    assert tick().bots == 1
    result = run_cycle(bot.id)
    assert result.outcome is Outcome.STOPPED, result
    assert open_on_exchange(bot) == {}
    assert {r.status for r in book(bot)} == {OrderStatus.CANCELED}
    assert tick().bots == 0  # nothing left to do
    messages = db.session.scalars(
        sa.select(BotActivity.message).where(BotActivity.bot_id == bot.id)
    ).all()
    assert messages.count("Order b0 canceled: the bot stopped.") == 1
    service.delete_bot(bot)
    db.session.commit()


def test_a_lost_answer_leaves_a_known_intent_and_no_second_order(bot_app, sim, clock, make_bot):
    bot = rungs_bot(make_bot)
    step(sim, clock, "BTC/USDT", "49800")
    bot_app.config.update(EXCHANGE_TIMEOUT_MS=500)
    sim.hang_seconds = 1.5
    # The first order reaches the exchange and rests, but its answer never comes back.
    sim.set_failure(FailureMode.LOST_ANSWER, count=1, endpoint="POST /api/v3/order")

    run_cycle(bot.id)
    sim.set_failure(None)
    rows = book(bot)
    assert [r.status for r in rows] == [OrderStatus.INTENT, OrderStatus.OPEN]
    assert len(sim.orders()) == 2  # the exchange has both

    # The next cycle finds the intent's order by its client order id; nothing is sent again.
    step(sim, clock, "BTC/USDT", "49800")
    run_cycle(bot.id)
    rows = book(bot)
    assert [r.status for r in rows] == [OrderStatus.OPEN, OrderStatus.OPEN]
    assert len(sim.orders()) == 2
    assert set(open_on_exchange(bot)) == {r.client_order_id for r in rows}


def test_an_intent_the_exchange_never_got_is_retired_and_placed_anew(bot_app, sim, clock, make_bot):
    bot = rungs_bot(make_bot)
    step(sim, clock, "BTC/USDT", "49800")
    bot_app.config.update(EXCHANGE_TIMEOUT_MS=500)
    sim.set_failure(FailureMode.TIMEOUT, count=1, endpoint="POST /api/v3/order")
    sim.hang_seconds = 1.5
    run_cycle(bot.id)
    sim.set_failure(None)
    first = book(bot)[0]
    assert first.status is OrderStatus.INTENT and len(sim.orders()) == 1

    # Past the grace period the exchange still has no such order: it never arrived.
    first.created_at -= orders_grace()
    db.session.commit()
    step(sim, clock, "BTC/USDT", "49800")
    run_cycle(bot.id)
    rows = book(bot)
    assert rows[0].status is OrderStatus.REJECTED
    active = [r for r in rows if r.status.is_active]
    assert sorted(r.tag for r in active) == ["b0", "b1"]
    assert len(sim.orders()) == 2


def orders_grace():
    from webapp.engine.placement import PENDING_GRACE

    return PENDING_GRACE


def test_an_order_the_exchange_would_refuse_is_not_sent_and_says_why(bot_app, sim, clock, make_bot):
    bot = make_bot(strategy="test_too_small", params={})
    step(sim, clock, "BTC/USDT", "50000")
    run_cycle(bot.id)
    assert [r.tag for r in book(bot)] == ["fine"]
    assert len(sim.orders()) == 1
    line = db.session.scalar(
        sa.select(BotActivity.message).where(
            BotActivity.bot_id == bot.id, BotActivity.message.like("Order dust%")
        )
    )
    assert line == (
        "Order dust not placed: order of 4 USDT is below the exchange minimum of 5 USDT."
    )


def test_a_paper_bot_keeps_the_same_book_and_fills_it_by_the_backtest_rule(
    bot_app, sim, clock, make_bot
):
    bot = rungs_bot(make_bot, mode="paper")
    step(sim, clock, "BTC/USDT", "49800")
    run_cycle(bot.id)
    assert [(r.tag, r.status) for r in book(bot)] == [
        ("b0", OrderStatus.OPEN),
        ("b1", OrderStatus.OPEN),
    ]
    assert sim.orders() == []  # a paper book never reaches the exchange

    # A candle that opened after the orders were placed trades down to 49,450, then the
    # price comes back: the buy at 49,500 filled at 49,500, at the maker fee.
    step(sim, clock, "BTC/USDT", "49450")
    step(sim, clock, "BTC/USDT", "49800")
    assert run_cycle(bot.id).outcome is Outcome.TRADED
    [buy] = trades(bot)
    assert (buy.side.value, buy.qty, buy.price) == ("buy", QTY, RUNGS[1])
    assert buy.fee == QTY * RUNGS[1] / 1000
    assert sorted(r.tag for r in book(bot) if r.status.is_active) == ["b0", "s1"]
    assert sim.orders() == []
