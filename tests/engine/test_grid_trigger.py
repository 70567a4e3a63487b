"""A grid with a trigger price waits, placing nothing on the exchange, until the price at a
cycle reaches it from the side the bot started on; the bot page, its price chart and the API
show the ladder, what the grid holds and its unrealized PnL."""

from __future__ import annotations

import html
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.bots.test_bot_detail import chart_data
from tests.engine.conftest import activity, step, trades
from tests.engine.test_dca import login
from tests.engine.test_grid import GRID, LEVELS, QTY, active, grid_bot, ladder, ladder_up
from webapp.engine import service
from webapp.engine.cycle import Outcome, run_cycle
from webapp.engine.errors import BotValidationError
from webapp.extensions import db
from webapp.models import Bot
from webapp.models.bot import quantize

WAITING = "Waiting for the price to reach the trigger price %s: no order until then."


def test_a_grid_started_below_its_trigger_waits_until_the_price_rises_to_it(
    bot_app, sim, clock, make_bot, client
):
    bot = grid_bot(make_bot, params={**GRID, "trigger_price": "50200"})
    for price in ("49800", "50000", "50199.99"):
        step(sim, clock, "BTC/USDT", price)
        assert run_cycle(bot.id).outcome is Outcome.HOLD
    assert ladder(bot) == set() and trades(bot) == []
    db.session.refresh(bot.state)
    assert bot.state.start_price == Decimal("49800")
    assert activity(bot).count(WAITING % "50200") == 1  # said once, when it starts to wait
    login(client)
    page = html.unescape(client.get(f"/bots/{bot.id}").get_data(as_text=True))
    assert 'data-testid="grid-waiting"' in page and WAITING % "50200" in page

    # At 50,300 the trigger is reached: the grid starts at that price (one interval above it).
    step(sim, clock, "BTC/USDT", "50300")
    assert run_cycle(bot.id).outcome is Outcome.TRADED
    [init] = trades(bot)
    assert (init.side.value, init.qty, init.price) == ("buy", QTY[3], Decimal("50300"))
    # Back under the trigger it goes on: the ladder is up, one order per interval.
    step(sim, clock, "BTC/USDT", "50100")
    run_cycle(bot.id)
    assert sorted(active(bot)) == ["g0b", "g1b", "g2b", "g3s"]
    page = client.get(f"/bots/{bot.id}").get_data(as_text=True)
    assert 'data-testid="grid-waiting"' not in page


def test_a_grid_started_above_its_trigger_waits_until_the_price_falls_to_it(
    bot_app, sim, clock, make_bot
):
    bot = grid_bot(make_bot, params={**GRID, "trigger_price": "49700"})
    for price in ("50400", "49900", "50600"):
        step(sim, clock, "BTC/USDT", price)
        run_cycle(bot.id)
    assert ladder(bot) == set() and trades(bot) == []
    step(sim, clock, "BTC/USDT", "49700")  # at it counts
    assert run_cycle(bot.id).outcome is Outcome.TRADED
    assert trades(bot)[0].qty == QTY[2] + QTY[3]  # the intervals above 49,700


def test_a_restarted_grid_waits_for_its_trigger_from_its_new_side(bot_app, sim, clock, make_bot):
    bot = grid_bot(make_bot, params={**GRID, "trigger_price": "50200"})
    step(sim, clock, "BTC/USDT", "49800")
    run_cycle(bot.id)
    service.stop_by_owner(bot)
    db.session.commit()
    run_cycle(bot.id)
    service.start_bot(bot)
    db.session.commit()
    db.session.refresh(bot.state)
    assert bot.state.start_price is None
    # Started again above the trigger: now it waits for the price to fall to 50,200.
    step(sim, clock, "BTC/USDT", "50600")
    run_cycle(bot.id)
    step(sim, clock, "BTC/USDT", "50300")
    run_cycle(bot.id)
    assert trades(bot) == []
    db.session.refresh(bot.state)
    assert bot.state.start_price == Decimal("50600")
    step(sim, clock, "BTC/USDT", "50150")
    assert run_cycle(bot.id).outcome is Outcome.TRADED


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"stop_below": "48000", "trigger_price": "48000"}, "must be over the stop below"),
        ({"take_above": "52000", "trigger_price": "52500"}, "must be under the take above"),
        ({"trigger_price": "NaN"}, "Trigger price must be a number"),
        ({"trigger_price": "-1"}, "Trigger price must be greater than 0"),
        ({"trigger_price": "1e400"}, "Trigger price is too large"),
    ],
)
def test_a_bad_trigger_price_is_refused_and_nothing_is_saved(make_bot, params, message):
    before = db.session.scalar(sa.select(sa.func.count(Bot.id)))
    with pytest.raises(BotValidationError) as caught:
        grid_bot(make_bot, params={**GRID, **params})
    assert message in caught.value.errors["params.trigger_price"]
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Bot.id))) == before


def test_the_page_and_the_api_show_what_the_grid_holds_and_its_unrealized_pnl(
    bot_app, sim, clock, make_bot, user, client
):
    from webapp.tokens import service as tokens

    bot = grid_bot(make_bot)
    ladder_up(bot, sim, clock)
    step(sim, clock, "BTC/USDT", "50300")  # up, but through no level
    run_cycle(bot.id)
    db.session.refresh(bot.state)
    held, avg = bot.state.position_qty, bot.state.position_avg_price
    assert held == QTY[2] + QTY[3] and avg > Decimal("49800")  # the buy's fee is in
    unrealized = quantize(held * (Decimal("50300") - avg))
    assert unrealized > 0

    login(client)
    page = html.unescape(client.get(f"/bots/{bot.id}").get_data(as_text=True))
    assert f'data-testid="grid-unrealized" class="pos">{unrealized.normalize():f} USDT' in page
    assert f"{held.normalize():f} BTC held at {avg.normalize():f} on average" in page
    assert "price 50300 at the last cycle" in page
    # The bot's own order size, stop-loss and take-profit do not apply to a grid: it says so,
    # on its page and in the form once the strategy is chosen.
    assert 'data-testid="bot-sizes-own-orders"' in page and "Stop-loss</dt>" not in page
    fields = client.get("/bots/strategy-fields?strategy=grid").get_data(as_text=True)
    assert 'data-testid="strategy-sizes-own-orders"' in fields
    fields = client.get("/bots/strategy-fields?strategy=ema_cross").get_data(as_text=True)
    assert 'data-testid="strategy-sizes-own-orders"' not in fields

    _, token = tokens.create_token(user, "script", ["read"], 30)
    db.session.commit()
    answer = client.get(f"/api/v1/bots/{bot.id}/grid", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    body = answer.json
    assert [Decimal(lv["price"]) for lv in body["levels"]] == LEVELS
    assert [(lv["side"], lv["tag"]) for lv in body["levels"]] == [
        ("buy", "g0b"),
        ("buy", "g1b"),
        (None, None),  # between the buys and the sells: the price's own level
        ("sell", "g2s"),
        ("sell", "g3s"),
    ]
    assert Decimal(body["held"]) == held and Decimal(body["unrealized_pnl"]) == unrealized
    assert Decimal(body["price"]) == Decimal("50300") and body["waiting"] is False
    assert (body["completed_pairs"], Decimal(body["grid_profit"])) == (0, 0)

    # Another strategy's bot answers an empty grid.
    other = make_bot(name="EMA")
    answer = client.get(
        f"/api/v1/bots/{other.id}/grid", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.json["levels"] == [] and answer.json["unrealized_pnl"] is None


def test_the_price_chart_draws_the_ladder(bot_app, sim, clock, make_bot, client):
    bot = grid_bot(make_bot, params={**GRID, "stop_below": "48000", "take_above": "52000"})
    ladder_up(bot, sim, clock)
    login(client)
    answer = client.get(
        f"/bots/{bot.id}/price-chart", headers={"HX-Request": "true", "HX-Target": "bot-price"}
    )
    body = answer.get_data(as_text=True)
    marks = chart_data(body, "price-chart")["marks"]
    assert marks == [
        {"p": 49000.0, "k": "buy"},
        {"p": 49500.0, "k": "buy"},
        {"p": 50000.0, "k": "level"},
        {"p": 50500.0, "k": "sell"},
        {"p": 51000.0, "k": "sell"},
        {"p": 48000.0, "k": "stop"},
        {"p": 52000.0, "k": "take"},
    ]
    assert 'data-testid="price-chart-marks"' in body
