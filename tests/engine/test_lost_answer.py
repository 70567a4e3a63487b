"""An order whose answer never arrives is looked up by its client order id, never sent again.

The simulator treats client order ids as Binance does: a reused id is refused only while its
order is open. A market order fills at once, so resending it with the same id would be
accepted and double the position; each test shows the exchange taking the id again.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

from werkzeug.serving import make_server

from tests.engine.conftest import step, trades
from webapp.engine import orders
from webapp.engine.cycle import Outcome, run_cycle
from webapp.exchange.sim import FailureMode, create_sim_app
from webapp.extensions import db
from webapp.models.types import utcnow

ORDER = "POST /api/v3/order"
LOOKUP = "GET /api/v3/order"


def lose_the_next_order_answer(bot_app, sim) -> None:
    """The next order is carried out, but its answer outlasts the engine's timeout."""
    bot_app.config.update(EXCHANGE_TIMEOUT_MS=500)
    sim.hang_seconds = 1.5
    sim.set_failure(FailureMode.LOST_ANSWER, count=1, endpoint=ORDER)


def requests_to(sim, endpoint: str) -> int:
    return sim.stats()["requests"].get(endpoint, 0)


def assert_the_exchange_takes_the_id_again(bot, client_order_id: str, qty: Decimal) -> None:
    """What a naive resend would have done: the same market order, accepted and filled."""
    client = orders.live_client(bot)
    again = client.create_order(
        bot.symbol, "market", "buy", float(qty), None, {"newClientOrderId": client_order_id}
    )
    assert again["status"] == "closed" and again["clientOrderId"] == client_order_id


def test_a_lost_answer_is_found_by_client_order_id_and_never_placed_twice(
    bot_app, sim, clock, make_bot
):
    bot = make_bot()
    step(sim, clock, "BTC/USDT", "49000")
    lose_the_next_order_answer(bot_app, sim)

    result = run_cycle(bot.id)

    assert result.outcome is Outcome.TRADED, result
    [order] = sim.orders()
    assert order.status.value == "FILLED"
    [trade] = trades(bot)
    assert trade.client_order_id == order.client_order_id
    assert trade.exchange_order_id == str(order.order_id)
    assert (trade.side.value, trade.qty, trade.price) == ("buy", order.executed_qty, 49000)
    assert requests_to(sim, ORDER) == 1  # sent once ...
    assert requests_to(sim, LOOKUP) == 1  # ... then looked up by its id
    db.session.expire_all()
    assert bot.state.pending_client_order_id is None
    assert bot.state.position_qty == trade.qty

    # The next cycles hold; still one order.
    step(sim, clock, "BTC/USDT", "49000")
    assert run_cycle(bot.id).outcome is Outcome.HOLD
    assert len(sim.orders()) == 1

    assert_the_exchange_takes_the_id_again(bot, trade.client_order_id, trade.qty)
    assert len(sim.orders()) == 2


def test_a_lost_answer_whose_lookup_fails_too_is_settled_by_the_next_cycle(
    bot_app, sim, clock, make_bot
):
    bot = make_bot()
    step(sim, clock, "BTC/USDT", "49000")
    lose_the_next_order_answer(bot_app, sim)
    sim.set_failure(FailureMode.UNAVAILABLE, count=1, endpoint=LOOKUP, add=True)

    result = run_cycle(bot.id)

    assert result.outcome is Outcome.ERROR, result
    [order] = sim.orders()
    assert order.status.value == "FILLED"
    assert trades(bot) == []
    db.session.expire_all()
    assert bot.state.pending_client_order_id == order.client_order_id  # the intent stays

    # The strategy would buy again at this price, but the next cycle settles the order first.
    step(sim, clock, "BTC/USDT", "49000")
    result = run_cycle(bot.id)
    assert result.outcome is Outcome.HOLD, result
    [trade] = trades(bot)
    assert trade.client_order_id == order.client_order_id
    assert trade.exchange_order_id == str(order.order_id)
    assert trade.qty == order.executed_qty
    assert len(sim.orders()) == 1 and requests_to(sim, ORDER) == 1
    db.session.expire_all()
    assert bot.state.pending_client_order_id is None

    assert_the_exchange_takes_the_id_again(bot, trade.client_order_id, trade.qty)


def test_an_order_the_exchange_never_got_is_replaced_only_once_it_says_so_and_under_a_new_id(
    bot_app, sim, clock, make_bot
):
    bot = make_bot()
    step(sim, clock, "BTC/USDT", "49000")
    sim.set_failure(FailureMode.UNAVAILABLE, count=1, endpoint=ORDER)  # never carried out

    assert run_cycle(bot.id).outcome is Outcome.ERROR
    assert sim.orders() == []
    assert requests_to(sim, LOOKUP) == 1  # asked, and told "Order does not exist."
    db.session.expire_all()
    lost_id = bot.state.pending_client_order_id
    assert lost_id

    # Too recent to be sure the request cannot still arrive: nothing is placed.
    step(sim, clock, "BTC/USDT", "49000")
    assert run_cycle(bot.id).outcome is Outcome.WAITING
    assert sim.orders() == []

    bot.state.pending_since = utcnow() - timedelta(minutes=1)
    db.session.commit()
    step(sim, clock, "BTC/USDT", "49000")
    assert run_cycle(bot.id).outcome is Outcome.TRADED
    [order] = sim.orders()
    [trade] = trades(bot)
    assert order.client_order_id == trade.client_order_id != lost_id


class AnswersLookupsWith:
    """The simulator behind a loopback server that answers every order lookup with `body`."""

    def __init__(self, sim, body: bytes) -> None:
        self.inner = create_sim_app(sim)
        self.body = body

    def __call__(self, environ, start_response):
        if (environ["REQUEST_METHOD"], environ["PATH_INFO"]) == ("GET", "/api/v3/order"):
            headers = [
                ("Content-Type", "application/json;charset=UTF-8"),
                ("Content-Length", str(len(self.body))),
            ]
            start_response("400 BAD REQUEST", headers)
            return [self.body]
        return self.inner(environ, start_response)


def test_only_order_does_not_exist_lets_the_intent_go(bot_app, sim, clock, make_bot):
    # ccxt raises OrderNotFound for Binance's -2011 "Unknown order sent." too; that answer
    # does not say the order was never placed.
    server = make_server(
        "127.0.0.1", 0, AnswersLookupsWith(sim, b'{"code":-2011,"msg":"Unknown order sent."}')
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        bot_app.config["EXCHANGE_SIM_URL"] = f"http://127.0.0.1:{server.server_port}"
        bot = make_bot()
        step(sim, clock, "BTC/USDT", "49000")
        sim.set_failure(FailureMode.UNAVAILABLE, count=1, endpoint=ORDER)
        assert run_cycle(bot.id).outcome is Outcome.ERROR
        db.session.expire_all()
        lost_id = bot.state.pending_client_order_id
        assert lost_id

        bot.state.pending_since = utcnow() - timedelta(minutes=1)
        db.session.commit()
        step(sim, clock, "BTC/USDT", "49000")
        assert run_cycle(bot.id).outcome is Outcome.ERROR
        assert sim.orders() == []  # no order placed on an answer that proves nothing
        db.session.expire_all()
        assert bot.state.pending_client_order_id == lost_id
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
