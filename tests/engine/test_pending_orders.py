"""An order whose outcome is not recorded yet: where it went, what may change meanwhile, and
which exchange order is really ours."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.engine.conftest import activity, step, trades
from webapp.engine import orders, service
from webapp.engine.cycle import Outcome, run_cycle
from webapp.engine.errors import ORDER_PENDING_MESSAGE, BotValidationError, OrderPending
from webapp.extensions import db
from webapp.models import Bot, BotMode
from webapp.models.types import utcnow


def place_on_exchange(bot: Bot, client_order_id: str, symbol: str = "BTC/USDT") -> None:
    """Send a real market buy for the bot's account, as a cycle that then died would have."""
    client = orders.live_client(bot, symbol)
    client.create_order(symbol, "market", "buy", 0.002, None, {"newClientOrderId": client_order_id})


def leave_intent(bot: Bot, client_order_id: str, **fields) -> None:
    state = bot.state
    state.pending_client_order_id = client_order_id
    state.pending_side = "buy"
    state.pending_reason = "signal"
    state.pending_since = utcnow()
    for name, value in fields.items():
        setattr(state, name, value)
    db.session.commit()


def test_key_symbol_and_mode_cannot_change_and_the_bot_cannot_go_while_an_order_settles(
    bot_app, sim, clock, make_bot
):
    bot = make_bot()
    leave_intent(bot, "tbpending1")
    for field, value in (("symbol", "ETH/USDT"), ("mode", "paper")):
        with pytest.raises(BotValidationError) as caught:
            service.update_bot(bot, **{field: value})
        assert caught.value.errors[field] == ORDER_PENDING_MESSAGE
        db.session.rollback()
    # Other settings may still change.
    service.update_bot(bot, quote_amount="120")
    db.session.commit()
    with pytest.raises(OrderPending, match="try again in a minute"):
        service.delete_bot(bot, wait_seconds=0)
    db.session.rollback()
    assert db.session.get(Bot, bot.id) is not None


def test_a_pending_order_is_recorded_on_the_market_and_mode_it_was_sent_to(
    bot_app, sim, clock, make_bot
):
    bot = make_bot()
    step(sim, clock, "BTC/USDT", "52000")  # the strategy would not buy
    place_on_exchange(bot, "tbrecover1")
    leave_intent(bot, "tbrecover1", pending_symbol="BTC/USDT", pending_mode=BotMode.LIVE)
    # Settings changed behind the engine's back (e.g. a row edited by hand, an old version).
    db.session.execute(sa.update(Bot).where(Bot.id == bot.id).values(symbol="ETH/USDT"))
    db.session.commit()

    run_cycle(bot.id)
    [trade] = trades(bot)
    assert trade.client_order_id == "tbrecover1"
    assert trade.symbol == "BTC/USDT" and trade.mode is BotMode.LIVE
    assert float(trade.qty) == pytest.approx(0.002)


def test_client_order_ids_carry_a_random_per_bot_token(bot_app, sim, clock, make_bot):
    first = make_bot()
    step(sim, clock, "BTC/USDT", "49000")
    assert run_cycle(first.id).outcome is Outcome.TRADED
    [trade] = trades(first)
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,36}", trade.client_order_id)
    assert first.order_token in trade.client_order_id
    # A bot that gets the same id later (SQLite reuses them) gets other order ids.
    second = Bot(id=first.id, order_token="zzzzzzzz")
    assert orders.client_order_id(second, 1, "buy") != orders.client_order_id(first, 1, "buy")
    huge = Bot(id=2**63 - 1, order_token="abcdefgh")
    assert len(orders.client_order_id(huge, 10**15, "sell")) <= 36


def test_an_older_exchange_order_with_the_same_id_is_not_taken_for_ours(
    bot_app, sim, clock, make_bot
):
    bot = make_bot()
    step(sim, clock, "BTC/USDT", "52000")
    clock.advance(-3600)  # an order placed an hour before this intent, by another install
    place_on_exchange(bot, "tbcollide1")
    clock.advance(3600)
    leave_intent(bot, "tbcollide1", pending_symbol="BTC/USDT", pending_mode=BotMode.LIVE)

    assert run_cycle(bot.id).outcome is Outcome.WAITING
    assert trades(bot) == []
    bot.state.pending_since = utcnow() - timedelta(minutes=1)
    db.session.commit()
    run_cycle(bot.id)
    assert trades(bot) == []
    db.session.expire_all()
    assert bot.state.pending_client_order_id is None
    assert any("never reached the exchange" in line for line in activity(bot))


def test_an_accepted_but_unconfirmed_market_order_waits_and_is_recorded_later(
    bot_app, sim, clock, make_bot
):
    bot = make_bot()
    client = orders.live_client(bot)
    ack_only(client)
    try:
        step(sim, clock, "BTC/USDT", "49000")
        result = run_cycle(bot.id)
    finally:
        client.options["newOrderRespType"].pop("market")
    assert result.outcome is Outcome.WAITING, result
    assert trades(bot) == []
    db.session.expire_all()
    assert bot.state.pending_client_order_id  # kept, so the fill is not lost
    assert len(sim.orders()) == 1

    step(sim, clock, "BTC/USDT", "49000")
    run_cycle(bot.id)
    [trade] = trades(bot)
    assert trade.side.value == "buy"
    assert len(sim.orders()) == 1  # settled, not bought again


def ack_only(client):
    """Make the exchange answer market orders with an acknowledgement only (no fill yet)."""
    client.options["newOrderRespType"] = {**client.options["newOrderRespType"], "market": "ACK"}


def test_the_intent_is_stamped_when_the_order_is_sent_not_when_the_cycle_began(
    bot_app, sim, clock, make_bot, monkeypatch
):
    bot = make_bot()
    client = orders.live_client(bot)
    ack_only(client)
    step(sim, clock, "BTC/USDT", "49000")
    # The cycle began five minutes before its order left (a slow exchange, a long batch).
    times = iter([utcnow() - timedelta(minutes=5)])
    monkeypatch.setattr("webapp.engine.cycle.utcnow", lambda: next(times, None) or utcnow())
    before_send = utcnow()
    try:
        assert run_cycle(bot.id).outcome is Outcome.WAITING
    finally:
        client.options["newOrderRespType"].pop("market")
    db.session.expire_all()
    assert bot.state.pending_since >= before_send


def test_the_key_cannot_be_deleted_while_one_of_its_bots_settles_an_order(
    bot_app, sim, clock, make_bot, user, api_key, client
):
    from tests.conftest import PASSWORD
    from webapp.keys import service as keys
    from webapp.models import ApiKey

    bot = make_bot()
    leave_intent(bot, "tbkeybusy1")
    with pytest.raises(keys.KeyBusy, match="try again in a minute"):
        keys.delete_key(user, api_key.id)
    db.session.rollback()

    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    response = client.delete(f"/keys/{api_key.id}", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "an order being settled; try again in a minute" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ApiKey, api_key.id) is not None
    assert bot.state.status.value == "running"  # nothing was stopped either
