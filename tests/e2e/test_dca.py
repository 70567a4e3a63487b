"""A person makes a DCA bot in Chromium, starts it, and watches its deal fill in on the bot
page without reloading: the base order, the safety orders resting below it, a safety order
that fills, the take-profit moving down with the average entry, then the deal closing."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.test_bots import cycle, demo_key, market, settled, step  # noqa: F401
from webapp.engine.cycle import Outcome
from webapp.extensions import db
from webapp.models import Bot


def level(page, n: int):
    return page.locator(f'[data-testid="deal-level"][data-level="{n}"]')


def test_a_dca_bot_shows_its_ladder_and_deal_filling_in(page, market, demo_key):  # noqa: F811
    page.goto("/bots/new")
    settled(page)
    page.get_by_label("Name", exact=True).fill("DCA BTC")
    page.get_by_label("Symbol").fill("BTC/USDT")
    page.get_by_label("Timeframe").select_option("1m")
    page.get_by_label("Strategy").select_option("dca")
    settled(page)
    page.get_by_label("Base order", exact=True).fill("100")
    page.get_by_label("Safety order", exact=True).fill("50")
    page.get_by_label("Safety orders", exact=True).fill("3")
    page.get_by_label("Price deviation (%)").fill("2")
    page.get_by_label("Active safety orders").fill("2")
    page.get_by_label("Take profit (%)").fill("1.5")
    expect(page.get_by_label("Deal entry")).to_have_value("immediately")
    page.get_by_label("Order size").fill("100")
    page.get_by_label("Cycle interval (seconds)").fill("10")
    page.get_by_label("Paper").check()
    page.get_by_test_id("save-bot").click()
    expect(page.get_by_test_id("bot-name")).to_have_text("DCA BTC")
    bot = db.session.scalars(sa.select(Bot)).one()
    assert bot.params["base_order"] == "100" and bot.params["max_safety_orders"] == 3
    assert "stop_loss_pct" not in bot.params  # left blank: no deal stop-loss
    expect(page.get_by_test_id("no-deal")).to_be_visible()
    settled(page)
    page.evaluate("window.__sameDocument = true")

    page.get_by_test_id("start-bot").click()
    expect(page.get_by_test_id("bot-status-badge")).to_have_text("Running")
    # First cycle: the base order. Next: the ladder below it and the take-profit above.
    step(market, "60000")
    assert cycle(bot.id) is Outcome.TRADED
    step(market, "60000")
    cycle(bot.id)
    expect(page.get_by_test_id("deal-level")).to_have_count(4)
    expect(level(page, 0)).to_have_attribute("data-state", "filled")
    expect(level(page, 1)).to_have_attribute("data-state", "resting")
    expect(level(page, 1)).to_contain_text("58800")  # 2% below 60,000
    expect(level(page, 2)).to_have_attribute("data-state", "resting")
    expect(level(page, 3)).to_have_attribute("data-state", "waiting")
    expect(page.get_by_test_id("deal-take-profit")).to_contain_text(
        "60960.9"
    )  # 1.5% above 60,060 (60,000 and the 0.1% fee)
    first_tp = page.get_by_test_id("deal-take-profit").inner_text()

    # The price dips through 58,800: safety order 1 fills, the take-profit moves down.
    step(market, "58700")
    step(market, "58900")
    assert cycle(bot.id) is Outcome.TRADED
    expect(level(page, 1)).to_have_attribute("data-state", "filled")
    expect(level(page, 3)).to_have_attribute("data-state", "resting")
    expect(page.get_by_test_id("deal-take-profit")).not_to_have_text(first_tp)
    expect(page.get_by_test_id("bot-trade-row")).to_have_count(2)

    # Up through the take-profit: the deal closes and is listed with its profit.
    step(market, "61000")
    cycle(bot.id)
    expect(page.get_by_test_id("past-deal")).to_have_count(1)
    expect(page.get_by_test_id("deal-profit")).to_contain_text("+")
    assert page.evaluate("window.__sameDocument") is True
