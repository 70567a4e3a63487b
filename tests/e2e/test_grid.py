"""A person makes a grid bot in Chromium, starts it, and watches its ladder fill in on the bot
page without reloading: the start-up buy, one order per interval, then a buy that fills and
is answered by a sell one level up, the ladder drawn across the price chart."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.test_bots import cycle, demo_key, market, settled, step  # noqa: F401
from webapp.engine.cycle import Outcome
from webapp.extensions import db
from webapp.models import Bot

#: The share of a chart row a dashed line covers, whatever the close line crossing it.
DRAWN = 0.3


def line_colours(page, price: float) -> dict[str, float]:
    """How much of the price chart's row at `price` is green, red and grey (drawn lines)."""
    return page.evaluate(
        """(price) => {
          const el = document.querySelector('[data-testid="price-chart"]');
          const u = el.tradebotsChart;
          const box = u.bbox;
          const y = Math.round(u.valToPos(price, "y", true));
          const row = u.ctx.getImageData(box.left, y, box.width, 1).data;
          const seen = { green: 0, red: 0, grey: 0 };
          for (let i = 0; i < row.length; i += 4) {
            const [r, g, b, a] = [row[i], row[i + 1], row[i + 2], row[i + 3]];
            if (a < 128) continue;
            if (g > r + 40 && g > b + 30) seen.green += 1;
            else if (r > g + 60 && r > b + 60) seen.red += 1;
            else if (Math.abs(r - g) < 16 && Math.abs(g - b) < 16 && r > 100 && r < 190)
              seen.grey += 1;
          }
          const n = row.length / 4;
          return { green: seen.green / n, red: seen.red / n, grey: seen.grey / n };
        }""",
        price,
    )


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
    # The trade redraws the price chart with the ladder across it: the resting buy at 59,000
    # in green, the sells at 60,000 and 61,000 in red, the bare level at 59,500 in grey.
    expect(page.get_by_test_id("price-chart-marks")).to_be_visible()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"price-chart\"]')?.tradebotsChart"
    )
    assert line_colours(page, 59000)["green"] > DRAWN
    assert line_colours(page, 60000)["red"] > DRAWN
    assert line_colours(page, 61000)["red"] > DRAWN
    assert line_colours(page, 59500)["grey"] > DRAWN
    assert line_colours(page, 59250)["green"] + line_colours(page, 59250)["red"] < 0.05

    # Stopped, the page says its orders go at the next cycle; that cycle cancels them.
    settled(page)
    page.get_by_test_id("stop-bot").click()
    expect(page.get_by_test_id("orders-winding-down")).to_be_visible()
    assert cycle(bot.id) is Outcome.STOPPED
    expect(rows).to_have_count(0)
    expect(page.get_by_test_id("no-resting-orders")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True
