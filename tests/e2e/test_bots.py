"""A person creates an EMA-crossover bot on the simulated exchange, starts it, and watches its
status, activity log and trades change without reloading the page; then stops it.

The engine's cycle runs in the test thread (as a worker would run it) while the browser
watches; the simulator's market clock and prices are the test's, so the EMAs cross on cue.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from webapp.engine.cycle import Outcome, run_cycle
from webapp.exchange.sim import SimServer, Simulator
from webapp.extensions import db
from webapp.keys import service as keys_service
from webapp.models import Bot, BotStatus, Trade, User

DEMO_KEY = "demo-key-e2e-bots-4242"
DEMO_SECRET = "StestSecretE2eBots-a1b2c3d4e5f60718"
START = 1767237945.25  # 2026-01-01 03:25:45 UTC on the market clock


class MarketClock:
    """The simulator's market time; `advance` closes the current candle."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float = 60) -> None:
        self.now += seconds


@pytest.fixture
def market(app) -> Iterator[tuple[Simulator, MarketClock]]:
    clock = MarketClock()
    sim = Simulator(seed=3, frozen=True, clock=clock)
    sim.add_account(DEMO_KEY, DEMO_SECRET, {"USDT": "10000"})
    # A flat hour: every candle the bot will see is 60000, so the EMAs start equal.
    sim.set_price("BTC/USDT", Decimal("60000"))
    clock.advance(70 * 60)
    with SimServer(sim) as server:
        app.config.update(
            EXCHANGE_SIM_URL=server.url,
            DEMO_API_KEY=DEMO_KEY,
            DEMO_API_SECRET=DEMO_SECRET,
            BOT_OHLCV_LIMIT=60,
            BOT_PAGE_POLL_SECONDS=1,
        )
        yield sim, clock


@pytest.fixture
def demo_key(market, e2e_user):
    user = User.by_email(e2e_user)
    api_key = keys_service.add_key(user, "binance", "Demo account", DEMO_KEY, DEMO_SECRET)
    db.session.commit()
    return api_key


def step(market: tuple[Simulator, MarketClock], price: str) -> None:
    """Move BTC to `price` and close the candle, so the strategy sees it."""
    sim, clock = market
    sim.set_price("BTC/USDT", Decimal(price))
    clock.advance(60)


def cycle(bot_id: int) -> Outcome:
    result = run_cycle(bot_id)
    db.session.expire_all()
    return result.outcome


def settled(page: Page) -> None:
    """Wait until htmx has processed swapped-in content (it does so ~20 ms after the swap);
    a click or change before that would miss the new elements' htmx behaviour."""
    expect(page.locator(".htmx-swapping, .htmx-settling, .htmx-added")).to_have_count(0)


def requests_to(page: Page, pattern: str) -> list[str]:
    seen: list[str] = []
    page.on(
        "request",
        lambda request: seen.append(request.url) if re.search(pattern, request.url) else None,
    )
    return seen


def test_create_start_watch_and_stop_an_ema_cross_bot(page, market, demo_key):
    # -- create, through the form ------------------------------------------------------
    page.goto("/")
    page.get_by_role("link", name="Bots", exact=True).click()
    expect(page.get_by_text("No bots yet.")).to_be_visible()
    page.get_by_test_id("new-bot").click()
    expect(page.get_by_role("heading", name="New bot")).to_be_visible()
    page.get_by_role("link", name="Cancel").click()  # back to the list, as a whole page
    expect(page.get_by_text("No bots yet.")).to_be_visible()
    expect(page.get_by_role("heading", name="New bot")).to_have_count(0)
    page.get_by_test_id("new-bot").click()
    expect(page.get_by_role("heading", name="New bot")).to_be_visible()
    settled(page)

    page.get_by_label("Name", exact=True).fill("BTC crossover")
    expect(page.get_by_label("API key")).to_have_value(str(demo_key.id))
    page.get_by_label("Symbol").fill("BTC/USDT")
    page.get_by_label("Timeframe").select_option("1m")
    # Changing the strategy swaps in its own parameters.
    page.get_by_label("Strategy").select_option("threshold")
    expect(page.get_by_label("Buy below")).to_be_visible()
    expect(page.get_by_label("Fast EMA period")).to_have_count(0)
    settled(page)
    page.get_by_label("Strategy").select_option("ema_cross")
    page.get_by_label("Fast EMA period").fill("2")
    page.get_by_label("Slow EMA period").fill("3")
    page.get_by_label("Order size").fill("100")
    page.get_by_label("Cycle interval (seconds)").fill("5")
    page.get_by_label("Paper").check()
    page.get_by_test_id("save-bot").click()

    # Refused in place: the interval is too short; nothing saved, what was typed is kept.
    expect(page.get_by_text("Cycle interval must be at least 10 seconds.")).to_be_visible()
    expect(page.get_by_label("Fast EMA period")).to_have_value("2")
    assert db.session.scalar(sa.select(sa.func.count(Bot.id))) == 0
    settled(page)
    page.get_by_label("Cycle interval (seconds)").fill("10")
    page.get_by_test_id("save-bot").click()

    expect(page.get_by_test_id("bot-name")).to_have_text("BTC crossover")
    expect(page.get_by_role("status")).to_contain_text("Bot “BTC crossover” created.")
    expect(page).to_have_url(re.compile(r"/bots/\d+$"))
    bot = db.session.scalars(sa.select(Bot)).one()
    assert (bot.strategy, bot.params, bot.interval_seconds) == (
        "ema_cross",
        {"fast": 2, "slow": 3},
        10,
    )
    expect(page.get_by_test_id("bot-status-badge")).to_have_text("Stopped")
    expect(page.get_by_test_id("no-trades")).to_be_visible()

    # From here on the page must never reload: a marker on `window` would be lost.
    settled(page)
    page.evaluate("window.__sameDocument = true")

    # -- start: the status block swaps in place ----------------------------------------
    page.get_by_test_id("start-bot").click()
    expect(page.get_by_test_id("bot-status-badge")).to_have_text("Running")
    expect(page.get_by_test_id("stop-bot")).to_be_visible()
    activity = page.get_by_test_id("activity-row")
    expect(activity.first).to_contain_text("Started.")

    # -- cycles run (as a worker would run them); the page follows ---------------------
    assert cycle(bot.id) is Outcome.HOLD  # flat market: no cross
    expect(page.get_by_test_id("bot-last-cycle")).to_contain_text("(1 cycle)")
    expect(page.get_by_test_id("bot-last-signal")).to_contain_text("hold")

    step(market, "70000")  # the fast EMA crosses above the slow one: buy
    assert cycle(bot.id) is Outcome.TRADED
    expect(page.get_by_test_id("bot-trade-row")).to_have_count(1)
    expect(page.get_by_test_id("bot-trade-row").first).to_contain_text("buy")
    expect(page.get_by_test_id("bot-position")).to_contain_text("BTC @ ")
    expect(page.get_by_test_id("bot-last-signal")).to_contain_text("crossed above")
    expect(activity.first).not_to_contain_text("Started.")

    step(market, "77000")
    assert cycle(bot.id) is Outcome.HOLD
    step(market, "60000")  # and back below: sell the position
    assert cycle(bot.id) is Outcome.TRADED
    expect(page.get_by_test_id("bot-trade-row")).to_have_count(2)
    expect(page.get_by_test_id("bot-trade-row").first).to_contain_text("sell")
    expect(page.get_by_test_id("bot-position")).to_have_text("flat")
    expect(page.get_by_test_id("perf-buys-sells")).to_have_text("1 / 1")
    expect(page.get_by_test_id("pnl-chart").locator("canvas")).to_have_count(1)
    [_buy, sell] = db.session.scalars(sa.select(Trade).order_by(Trade.id)).all()
    assert sell.realized_pnl < 0  # bought at 70000, sold at 60000
    expect(page.get_by_test_id("perf-pnl")).to_have_text(f"{sell.realized_pnl:,.4f}")
    assert page.evaluate("window.__sameDocument") is True

    # -- stop: the status swaps back, and the live parts stop polling -----------------
    page.get_by_test_id("stop-bot").click()
    expect(page.get_by_test_id("bot-status-badge")).to_have_text("Stopped")
    expect(page.get_by_test_id("status-reason")).to_have_text("Stopped by you.")
    expect(page.locator("[hx-trigger^='every']")).to_have_count(0)
    polls = requests_to(page, rf"/bots/{bot.id}(\?|$)")
    time.sleep(2.5)  # more than two poll periods
    assert polls == []
    db.session.expire_all()
    assert db.session.get(Bot, bot.id).state.status == BotStatus.STOPPED
    assert page.evaluate("window.__sameDocument") is True

    # -- the trades page and the dashboard agree ---------------------------------------
    page.get_by_test_id("all-trades-link").click()
    expect(page.get_by_test_id("trade-row")).to_have_count(2)
    settled(page)
    page.get_by_label("Side").select_option("sell")
    expect(page.get_by_test_id("trade-row")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"side=sell"))
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_test_id("sum-running")).to_have_text("0 / 1")
    expect(page.get_by_test_id("sum-trades")).to_have_text("2")
    expect(page.get_by_test_id("sum-win-rate")).to_have_text("0.0%")


def test_the_bots_list_follows_a_running_bot(page, market, demo_key):
    from webapp.engine import service

    user = User.by_email("trader@example.com")
    bot = service.create_bot(
        user,
        name="Lister",
        api_key_id=demo_key.id,
        symbol="BTC/USDT",
        timeframe="1m",
        strategy="ema_cross",
        params={"fast": 2, "slow": 3},
        quote_amount="100",
        interval_seconds=10,
    )
    service.start_bot(bot)
    db.session.commit()

    page.goto("/bots/")
    row = page.get_by_test_id("bot-row")
    expect(row.get_by_test_id("bot-status-badge")).to_have_text("Running")
    page.evaluate("window.__sameDocument = true")

    step(market, "70000")
    assert cycle(bot.id) is Outcome.TRADED
    expect(row).to_contain_text("0.00142 BTC @ 70070")  # the fee is in the entry price

    # The bot stops (its daily loss limit, an error, another tab): the row follows, then the
    # polling ends.
    service.stop_bot(db.session.get(Bot, bot.id), "Stopped elsewhere.")
    db.session.commit()
    expect(row.get_by_test_id("bot-status-badge")).to_have_text("Stopped")
    expect(page.locator("#bots-body[hx-trigger]")).to_have_count(0)
    assert page.evaluate("window.__sameDocument") is True


def test_links_inside_refreshing_parts_open_their_page(page, market, demo_key):
    """A running bot's rows and blocks refresh themselves; their links still navigate."""
    from webapp.engine import service

    user = User.by_email("trader@example.com")
    bot = service.create_bot(
        user,
        name="Linked",
        api_key_id=demo_key.id,
        symbol="BTC/USDT",
        timeframe="1m",
        strategy="ema_cross",
        params={"fast": 2, "slow": 3},
        quote_amount="100",
        interval_seconds=10,
    )
    service.start_bot(bot)
    db.session.commit()
    step(market, "70000")
    assert cycle(bot.id) is Outcome.TRADED

    page.goto("/")
    page.get_by_test_id("dashboard-bot-row").get_by_role("link", name="Linked").click()
    expect(page.get_by_test_id("bot-name")).to_have_text("Linked")
    settled(page)
    page.get_by_role("banner").get_by_role("link", name="Bots", exact=True).click()
    expect(page.get_by_test_id("bot-row")).to_have_count(1)
    settled(page)
    page.get_by_test_id("bot-row").get_by_role("link", name="Linked").click()
    expect(page.get_by_test_id("bot-name")).to_have_text("Linked")
    expect(page.get_by_test_id("price-chart").locator("canvas")).to_have_count(1)
    settled(page)
    page.get_by_test_id("all-trades-link").click()
    expect(page).to_have_url(re.compile(rf"/trades/\?bot={bot.id}$"))
    expect(page.get_by_role("heading", name="Trades")).to_be_visible()
    expect(page.get_by_test_id("trade-row")).to_have_count(1)
    expect(page.locator("header nav")).to_have_count(1)  # one whole page, not a page in a page


def test_deleting_a_bot_asks_first(page, market, demo_key):
    from webapp.engine import service

    user = User.by_email("trader@example.com")
    bot = service.create_bot(
        user,
        name="Short lived",
        api_key_id=demo_key.id,
        symbol="BTC/USDT",
        timeframe="1m",
        strategy="ema_cross",
        quote_amount="100",
    )
    db.session.commit()
    bot_id = bot.id
    page.goto(f"/bots/{bot_id}")
    messages: list[str] = []

    def answer(dialog) -> None:
        messages.append(dialog.message)
        dialog.dismiss() if len(messages) == 1 else dialog.accept()

    page.on("dialog", answer)
    page.get_by_test_id("delete-bot").click()
    expect(page.get_by_test_id("bot-name")).to_have_text("Short lived")  # dismissed: still here
    page.get_by_test_id("delete-bot").click()
    expect(page.get_by_role("status")).to_have_text(
        "Deleted bot “Short lived” with its trades and activity log."
    )
    expect(page).to_have_url(re.compile(r"/bots/$"))
    assert "Delete the bot “Short lived”" in messages[0]
    db.session.expire_all()
    assert db.session.get(Bot, bot_id) is None
