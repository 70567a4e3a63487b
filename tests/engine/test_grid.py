"""The grid bot on the simulator through the real ccxt client: it buys what the intervals
above the price need, keeps one order per interval on the exchange, answers each fill with
the opposite order one level away within one cycle, and stopping cancels every order. A
paper grid keeps the same ladder in its own book. Bad ranges are refused before anything is
saved.
"""

from __future__ import annotations

import html
import itertools
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD
from tests.engine.conftest import step, trades
from webapp.engine import orders, service
from webapp.engine.cycle import Outcome, run_cycle
from webapp.engine.errors import BotValidationError
from webapp.engine.tick import tick
from webapp.extensions import db
from webapp.models import Bot, BotActivity, BotOrder
from webapp.strategies import StrategyParamError, build_strategy, get_strategy

GRID = {"lower": "49000", "upper": "51000", "grids": 4, "investment": "400"}
LEVELS = [Decimal(p) for p in ("49000", "49500", "50000", "50500", "51000")]
# 100 USDT an interval, worth at its lower level, cut to the market's 0.00001 BTC step.
QTY = [Decimal("0.00204"), Decimal("0.00202"), Decimal("0.002"), Decimal("0.00198")]


def grid_bot(make_bot, **fields):
    fields.setdefault("strategy", "grid")
    fields.setdefault("params", GRID)
    return make_bot(**fields)


def active(bot) -> dict[str, BotOrder]:
    db.session.expire_all()
    rows = db.session.scalars(
        sa.select(BotOrder).where(BotOrder.bot_id == bot.id).order_by(BotOrder.id)
    )
    return {r.tag: r for r in rows if r.status.is_active}


def ladder(bot) -> set[tuple[str, float, float]]:
    """The bot's open orders as the exchange lists them: (side, price, amount)."""
    listed = orders.live_client(bot).fetch_open_orders(bot.symbol)
    return {(o["side"], o["price"], o["amount"]) for o in listed}


def ladder_up(bot, sim, clock) -> None:
    """Two cycles at 49,800: the start-up buy, then the ladder."""
    for _ in range(2):
        step(sim, clock, "BTC/USDT", "49800")
        run_cycle(bot.id)


def test_the_levels_and_quantities_follow_the_parameters():
    grid = build_strategy("grid", GRID)
    assert grid.levels() == LEVELS
    assert [q.quantize(Decimal("0.00001"), "ROUND_FLOOR") for q in grid.quantities(LEVELS)] == QTY


def test_a_live_grid_rests_its_ladder_and_answers_each_fill_one_level_away(
    bot_app, sim, clock, make_bot
):
    bot = grid_bot(make_bot)
    step(sim, clock, "BTC/USDT", "49800")

    # First cycle: buy at once what the two intervals above the price will sell.
    assert run_cycle(bot.id).outcome is Outcome.TRADED
    [init] = trades(bot)
    assert (init.side.value, init.qty, init.price) == ("buy", QTY[2] + QTY[3], Decimal("49800"))

    # Next cycle: one order per interval, buys below the price and sells above it.
    step(sim, clock, "BTC/USDT", "49800")
    run_cycle(bot.id)
    assert ladder(bot) == {
        ("buy", 49000.0, float(QTY[0])),
        ("buy", 49500.0, float(QTY[1])),
        ("sell", 50500.0, float(QTY[2])),
        ("sell", 51000.0, float(QTY[3])),
    }
    assert sorted(active(bot)) == ["g0b", "g1b", "g2s", "g3s"]

    # Down through 49,500: that buy fills, and the next cycle answers it one level up.
    step(sim, clock, "BTC/USDT", "49400")
    assert run_cycle(bot.id).outcome is Outcome.TRADED
    buy = trades(bot)[-1]
    assert (buy.side.value, buy.price, buy.qty) == ("buy", LEVELS[1], QTY[1])
    assert ("sell", 50000.0, float(QTY[1])) in ladder(bot)
    assert ("buy", 49500.0, float(QTY[1])) not in ladder(bot)

    # Back up through 50,000: the pair completes (same quantity, one level apart) and the
    # buy rests again.
    step(sim, clock, "BTC/USDT", "50100")
    run_cycle(bot.id)
    sell = trades(bot)[-1]
    assert (sell.side.value, sell.price, sell.qty) == ("sell", LEVELS[2], QTY[1])
    assert sell.qty * (LEVELS[2] - LEVELS[1]) - buy.fee - sell.fee > 0
    assert ("buy", 49500.0, float(QTY[1])) in ladder(bot)
    assert len(ladder(bot)) == 4

    # The page counts the pair and its profit: the step between the levels on that quantity,
    # less the buy's and the sell's fee.
    from flask import current_app

    from tests.conftest import PASSWORD as password

    client = current_app.test_client()
    client.post("/auth/login", data={"email": "trader@example.com", "password": password})
    page = client.get(f"/bots/{bot.id}").get_data(as_text=True)
    profit = QTY[1] * (LEVELS[2] - LEVELS[1]) - buy.fee - sell.fee
    assert re.search(r'data-testid="grid-pairs">1<', page)
    assert f'data-testid="grid-profit" class="pos">{profit.normalize():f} USDT' in page

    # Stop: the next tick's cycle cancels the whole ladder on the exchange.
    service.stop_by_owner(bot)
    db.session.commit()
    tick()
    assert run_cycle(bot.id).outcome is Outcome.STOPPED
    assert ladder(bot) == set()
    assert active(bot) == {}


def test_out_of_range_the_grid_places_nothing_new(bot_app, sim, clock, make_bot):
    bot = grid_bot(make_bot)
    ladder_up(bot, sim, clock)
    # Below the range both buys fill; their sells are not placed while the price is out,
    # and the bot says so, once.
    step(sim, clock, "BTC/USDT", "48000")
    run_cycle(bot.id)
    assert sorted(active(bot)) == ["g2s", "g3s"]
    step(sim, clock, "BTC/USDT", "47900")
    run_cycle(bot.id)
    said = "The price is below the grid's lower price 49000: no new order until it comes back."
    lines = db.session.scalars(
        sa.select(BotActivity.message).where(BotActivity.bot_id == bot.id)
    ).all()
    assert lines.count(said) == 1
    db.session.refresh(bot.state)
    assert bot.state.last_reason == said
    # Back inside, the sells one level up go on the exchange.
    step(sim, clock, "BTC/USDT", "49200")
    run_cycle(bot.id)
    assert sorted(active(bot)) == ["g0s", "g1s", "g2s", "g3s"]


def test_a_paper_grid_keeps_the_same_ladder_in_its_own_book(bot_app, sim, clock, make_bot):
    bot = grid_bot(make_bot, mode="paper")
    ladder_up(bot, sim, clock)
    assert sorted(active(bot)) == ["g0b", "g1b", "g2s", "g3s"]
    assert sim.orders() == []
    step(sim, clock, "BTC/USDT", "49400")
    run_cycle(bot.id)
    assert sorted(active(bot)) == ["g0b", "g1s", "g2s", "g3s"]
    assert trades(bot)[-1].price == LEVELS[1]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({**GRID, "upper": "49000"}, "params.upper", "The upper price must be above the lower"),
        ({**GRID, "grids": 1}, "params.grids", "at least 2"),
        ({**GRID, "grids": 201}, "params.grids", "at most 200"),
        ({**GRID, "investment": "NaN"}, "params.investment", "must be a number"),
    ],
)
def test_a_bad_grid_is_refused_and_nothing_is_saved(make_bot, params, field, message):
    before = db.session.scalar(sa.select(sa.func.count(Bot.id)))
    with pytest.raises(BotValidationError) as caught:
        grid_bot(make_bot, params=params)
    assert message in caught.value.errors[field]
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Bot.id))) == before


def test_the_bot_page_lists_the_ladder_and_offers_a_backtest(bot_app, sim, clock, make_bot, client):
    bot = grid_bot(make_bot)
    ladder_up(bot, sim, clock)
    client.post("/auth/login", data={"email": "trader@example.com", "password": PASSWORD})
    page = client.get(f"/bots/{bot.id}").get_data(as_text=True)
    assert page.count('data-testid="resting-order"') == 4
    assert 'data-tag="g2s"' in page and "50500 USDT" in page
    assert page.count('data-testid="ended-order"') == 1  # the start-up buy
    assert 'data-testid="bot-backtests"' in page  # a grid replays as it trades
    # The block alone, as it polls.
    fragment = client.get(
        f"/bots/{bot.id}", headers={"HX-Request": "true", "HX-Target": "bot-orders"}
    ).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="bot-orders"')
    assert 'hx-trigger="every' in fragment


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        # 20 USDT over 10 intervals is 2 USDT an interval: below the 5 USDT minimum order.
        (
            {**GRID, "investment": "20", "grids": 10},
            "order of 1.96 USDT is below the exchange minimum of 5 USDT",
        ),
        # 200 levels 0.005 USDT apart on a 0.01 USDT tick.
        (
            {"lower": "49000", "upper": "49001", "grids": 200, "investment": "100000"},
            "its levels are closer than the market's price tick of 0.01",
        ),
    ],
)
def test_a_ladder_the_exchange_would_refuse_is_reported_before_the_bot_starts(
    bot_app, sim, clock, make_bot, client, params, reason
):
    bot = grid_bot(make_bot, start=False, params=params)
    client.post("/auth/login", data={"email": "trader@example.com", "password": PASSWORD})
    answer = client.post(f"/bots/{bot.id}/start", headers={"HX-Request": "true"})
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert f"The exchange would refuse this bot's orders: {reason}." in html.unescape(page)
    db.session.expire_all()
    assert bot.state.status.value == "stopped"
    assert sim.orders() == []


def test_selling_the_position_waits_for_the_orders_to_be_canceled(bot_app, sim, clock, make_bot):
    from webapp.engine.cycle import close_position

    bot = grid_bot(make_bot)
    ladder_up(bot, sim, clock)
    result = close_position(bot.id)
    assert result.outcome is Outcome.REFUSED
    assert "orders resting on the exchange" in result.message
    assert len(trades(bot)) == 1


def test_a_script_reads_the_ladder_through_the_api(bot_app, sim, clock, make_bot, user, client):
    from webapp.tokens import service as tokens

    bot = grid_bot(make_bot)
    ladder_up(bot, sim, clock)
    _, token = tokens.create_token(user, "script", ["read"], 30)
    db.session.commit()
    answer = client.get(
        f"/api/v1/bots/{bot.id}/orders", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200
    active = {o["tag"]: o for o in answer.json["active"]}
    assert sorted(active) == ["g0b", "g1b", "g2s", "g3s"]
    assert active["g2s"]["side"] == "sell" and Decimal(active["g2s"]["price"]) == LEVELS[3]
    assert active["g2s"]["status"] == "open" and active["g2s"]["client_order_id"]
    [init] = answer.json["ended"]
    assert init["tag"] == "init2" and init["status"] == "filled"
    assert Decimal(init["executed_qty"]) == QTY[2] + QTY[3]


def test_geometric_levels_are_the_same_percentage_apart():
    grid = build_strategy(
        "grid", {**GRID, "lower": "40000", "upper": "62500", "spacing": "geometric"}
    )
    # 62,500 / 40,000 = 1.5625 = 1.25 ** 2 over 4 intervals: 11.8034% each.
    levels = grid.levels()
    assert levels[0] == 40000 and levels[-1] == 62500 and levels[2] == 50000
    ratios = {(b / a).quantize(Decimal("1e-9")) for a, b in itertools.pairwise(levels)}
    assert ratios == {Decimal("1.118033989")}
    assert build_strategy("grid", GRID).values["spacing"] == "arithmetic"


@pytest.mark.parametrize(
    ("typed", "stored"), [("", "arithmetic"), (None, "arithmetic"), ("Geometric ", "geometric")]
)
def test_spacing_is_read_as_typed_and_defaults_to_arithmetic(typed, stored):
    values = get_strategy("grid").validate_params({**GRID, "spacing": typed})
    assert values["spacing"] == stored


@pytest.mark.parametrize("typed", ["log", 2, "NaN", ["geometric"]])
def test_spacing_takes_only_its_choices(typed):
    with pytest.raises(StrategyParamError) as caught:
        get_strategy("grid").validate_params({**GRID, "spacing": typed})
    assert caught.value.errors["spacing"] == "Spacing must be one of arithmetic, geometric."


@pytest.mark.parametrize(
    ("price", "reason"),
    [
        # Below the range both buys have filled: what they bought is sold at once.
        (
            "48400",
            "the price 48400 reached the grid's stop-below 48500; its orders were canceled and "
            "its position sold",
        ),
        # Above it both sells have filled: nothing is held, the buys are canceled.
        ("51600", "the price 51600 reached the grid's take-above 51500; its orders were canceled"),
    ],
)
def test_past_its_stop_below_or_take_above_the_grid_sells_what_it_holds_and_stops(
    bot_app, sim, clock, make_bot, price, reason
):
    bot = grid_bot(make_bot, params={**GRID, "stop_below": "48500", "take_above": "51500"})
    ladder_up(bot, sim, clock)
    assert len(ladder(bot)) == 4
    step(sim, clock, "BTC/USDT", price)
    run_cycle(bot.id)
    # Every order canceled, everything held sold at once, and the bot stopped saying why.
    assert ladder(bot) == set()
    assert active(bot) == {}
    db.session.refresh(bot.state)
    assert bot.state.position_qty == 0
    assert trades(bot)[-1].side.value == "sell"
    assert bot.state.status.value == "stopped"
    assert bot.state.status_reason == f"Closed: {reason}."
    assert run_cycle(bot.id).outcome is Outcome.NOT_RUNNING  # nothing left to cancel


def test_a_stop_below_inside_the_range_is_refused(make_bot):
    with pytest.raises(BotValidationError) as caught:
        grid_bot(make_bot, params={**GRID, "stop_below": "49000"})
    assert "Stop below must be under the lower price" in caught.value.errors["params.stop_below"]
