"""A person makes a grid bot in Chromium, starts it, and watches its ladder fill in on the bot
page without reloading: the start-up buy, one order per interval, then a buy that fills and
is answered by a sell one level up."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.test_bots import cycle, demo_key, market, settled, step  # noqa: F401
from webapp.engine.cycle import Outcome
from webapp.extensions import db
from webapp.models import Bot


def test_a_grid_bot_shows_its_ladder_filling_in(page, market, demo_key):  # noqa: F811
    page.goto("/bots/new")
    settled(page)
    page.get_by_label("Name", exact=True).fill("Grid BTC")
    page.get_by_label("Symbol").fill("BTC/USDT")
    page.get_by_label("Timeframe").select_option("1m")
    page.get_by_label("Strategy").select_option("grid")
    settled(page)
    page.get_by_label("Lower price").fill("59000")
    page.get_by_label("Upper price").fill("61000")
    page.get_by_label("Grids").fill("4")
    expect(page.get_by_label("Spacing")).to_have_value("arithmetic")
    page.get_by_label("Spacing").select_option("geometric")
    page.get_by_label("Spacing").select_option("arithmetic")
    page.get_by_label("Investment").fill("400")
    page.get_by_label("Order size").fill("100")
    page.get_by_label("Cycle interval (seconds)").fill("10")
    page.get_by_label("Paper").check()
    page.get_by_test_id("save-bot").click()
    expect(page.get_by_test_id("bot-name")).to_have_text("Grid BTC")
    bot = db.session.scalars(sa.select(Bot)).one()
    assert bot.params == {
        "lower": "59000",
        "upper": "61000",
        "grids": 4,
        "spacing": "arithmetic",
        "investment": "400",
    }
    expect(page.get_by_test_id("no-resting-orders")).to_be_visible()
    expect(page.get_by_test_id("bot-backtests")).to_have_count(1)
    settled(page)
    page.evaluate("window.__sameDocument = true")

    page.get_by_test_id("start-bot").click()
    expect(page.get_by_test_id("bot-status-badge")).to_have_text("Running")
    # First cycle: the start-up buy for the two intervals above 60,000.
    step(market, "60000")
    assert cycle(bot.id) is Outcome.TRADED
    expect(page.get_by_test_id("bot-trade-row")).to_have_count(1)
    ended = page.get_by_test_id("ended-order")
    expect(ended).to_have_count(1)
    expect(ended.first).to_contain_text("init2")

    # Next cycle: the ladder, two buys below the price and two sells above.
    step(market, "60000")
    cycle(bot.id)
    rows = page.get_by_test_id("resting-order")
    expect(rows).to_have_count(4)
    expect(page.locator('[data-testid="resting-order"][data-tag="g1b"]')).to_contain_text("59500")
    expect(page.locator('[data-testid="resting-order"][data-tag="g3s"]')).to_contain_text("61000")

    # The price dips through 59,500: that buy fills and a sell one level up takes its place.
    step(market, "59400")
    step(market, "59800")
    assert cycle(bot.id) is Outcome.TRADED
    expect(page.get_by_test_id("bot-trade-row")).to_have_count(2)
    expect(page.locator('[data-testid="resting-order"][data-tag="g1s"]')).to_contain_text("60000")
    expect(page.locator('[data-testid="resting-order"][data-tag="g1b"]')).to_have_count(0)
    expect(ended).to_have_count(2)

    # Stopped, the page says its orders go at the next cycle; that cycle cancels them.
    settled(page)
    page.get_by_test_id("stop-bot").click()
    expect(page.get_by_test_id("orders-winding-down")).to_be_visible()
    assert cycle(bot.id) is Outcome.STOPPED
    expect(rows).to_have_count(0)
    expect(page.get_by_test_id("no-resting-orders")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True
