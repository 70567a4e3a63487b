"""A person makes a signal bot in Chromium, copies its secret URL into an alert (here: a POST
from the test), and watches the signal arrive, get acted on and become a trade, without
reloading the page; then makes a new URL, and the old one stops working."""

from __future__ import annotations

import re

import requests
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.test_bots import cycle, demo_key, market, settled, step  # noqa: F401
from webapp.engine.cycle import Outcome
from webapp.extensions import db
from webapp.models import Bot


def test_a_signal_bot_trades_on_the_alerts_sent_to_its_url(page, market, demo_key):  # noqa: F811
    page.goto("/bots/new")
    settled(page)
    page.get_by_label("Name", exact=True).fill("Alerts BTC")
    page.get_by_label("Symbol").fill("BTC/USDT")
    page.get_by_label("Strategy").select_option("signal")
    settled(page)
    page.get_by_label("Order size").fill("100")
    page.get_by_label("Cycle interval (seconds)").fill("10")
    page.get_by_label("Paper").check()
    page.get_by_test_id("save-bot").click()
    expect(page.get_by_test_id("bot-name")).to_have_text("Alerts BTC")
    bot = db.session.scalars(sa.select(Bot)).one()

    url = page.get_by_test_id("signal-url").input_value()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/signals/[\w-]{32}", url), url
    expect(page.get_by_test_id("no-signals")).to_be_visible()
    expect(page.get_by_test_id("bot-backtests")).to_have_count(0)
    settled(page)
    page.evaluate("window.__sameDocument = true")

    page.get_by_test_id("start-bot").click()
    expect(page.get_by_test_id("bot-status-badge")).to_have_text("Running")
    answer = requests.post(url, data='{"action": "buy"}', headers={"Content-Type": "text/plain"})
    assert answer.status_code == 202
    row = page.get_by_test_id("signal-row")
    expect(row).to_have_count(1)
    expect(row.first).to_contain_text("Pending")
    expect(row.first).to_contain_text("waiting for the next cycle")

    step(market, "60100")
    assert cycle(bot.id) is Outcome.TRADED
    expect(row.first).to_contain_text("Done")
    expect(row.first).to_contain_text("signal buy")
    expect(page.get_by_test_id("bot-trade-row")).to_have_count(1)
    expect(page.get_by_test_id("bot-position")).to_contain_text("BTC @ ")

    # A new URL: asked first, swapped in place; the old one is refused from now on.
    settled(page)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("rotate-signal-url").click()
    expect(page.get_by_test_id("signal-message")).to_contain_text("New signal URL made")
    new_url = page.get_by_test_id("signal-url").input_value()
    assert new_url != url
    assert requests.post(url, data='{"action": "sell"}').status_code == 404
    assert requests.post(new_url, data='{"action": "sell"}').status_code == 202
    expect(row).to_have_count(2)
    step(market, "60200")
    assert cycle(bot.id) is Outcome.TRADED
    expect(page.get_by_test_id("bot-trade-row")).to_have_count(2)
    expect(page.get_by_test_id("bot-position")).to_have_text("flat")
    assert page.evaluate("window.__sameDocument") is True
