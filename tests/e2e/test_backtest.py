"""A person backtests a strategy in the browser: the form, a progress bar that moves in place
while the job runs, the results replacing it without a reload, and Cancel.

The job runs in the test thread (as a worker would run it) while the browser watches.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from webapp.backtest import candles as store
from webapp.backtest import service
from webapp.exchange.sim import SimServer, Simulator
from webapp.extensions import db
from webapp.models import Backtest, BacktestStatus, User
from workers.backtest import run_backtest

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def history(app) -> Iterator[None]:
    sim = Simulator(seed=11, clock=lambda: NOW.timestamp())
    with SimServer(sim) as server:
        app.config.update(EXCHANGE_SIM_URL=server.url, BOT_OHLCV_LIMIT=30)
        store.fetch("binance", "BTC/USDT", "1m", NOW - timedelta(hours=3), NOW)
        yield


def latest() -> Backtest:
    db.session.expire_all()
    return db.session.scalars(sa.select(Backtest).order_by(Backtest.id.desc())).first()


def test_the_progress_bar_moves_in_place_and_the_results_replace_it(page: Page, e2e_user, history):
    page.goto("/backtests/")
    page.get_by_test_id("new-backtest").click()
    page.get_by_label("Symbol").fill("BTC/USDT")
    page.get_by_label("Strategy").select_option("ema_cross")
    page.get_by_label("Fast EMA period").fill("5")
    page.get_by_label("Slow EMA period").fill("13")
    page.get_by_label("Order size").fill("100")
    page.get_by_label("From", exact=True).fill("2026-03-10T09:30")
    page.get_by_label("To", exact=True).fill("2026-03-10T12:00")
    page.get_by_test_id("run-backtest").click()

    bar = page.get_by_test_id("backtest-progress")
    expect(bar).to_be_visible()
    expect(page.get_by_test_id("backtest-status")).to_have_text("Queued")
    page.evaluate("window.sameDocument = true")
    backtest = latest()

    # The job reports progress as it replays (what service.execute writes every few candles).
    assert service._set_progress(backtest.id, BacktestStatus.RUNNING, 40)
    expect(page.get_by_test_id("backtest-progress-text")).to_have_text("40%")
    expect(bar).to_have_attribute("value", "40")
    expect(page.get_by_test_id("backtest-status")).to_have_text("Running")

    run_backtest(backtest.id, False)
    summary = latest().summary
    expect(page.get_by_test_id("bt-total-pnl")).to_have_text(summary["total_pnl"])
    expect(page.get_by_test_id("bt-trades")).to_have_text(str(summary["trades"]))
    expect(bar).to_have_count(0)
    expect(page.locator('[data-testid="bt-equity-chart"] canvas')).to_have_count(1)
    assert page.evaluate("window.sameDocument") is True  # updated in place, never reloaded


def test_cancel_in_the_browser(page: Page, e2e_user, history):
    user = db.session.scalar(sa.select(User).where(User.email == e2e_user))
    settings = service.build_settings(
        "binance",
        {"symbol": "BTC/USDT", "timeframe": "1m", "strategy": "threshold", "quote_amount": "50"},
        {"buy_below": "70000", "sell_above": "71000"},
    )
    backtest = service.create(user, settings, "binance-sim", NOW - timedelta(hours=2), NOW)
    db.session.commit()
    page.goto(f"/backtests/{backtest.id}")
    expect(page.get_by_test_id("backtest-progress")).to_be_visible()
    page.get_by_test_id("cancel-backtest").click()
    expect(page.get_by_test_id("backtest-status")).to_have_text("Cancelled")
    expect(page.get_by_test_id("backtest-error")).to_have_text("Cancelled before it started.")
    assert latest().status is BacktestStatus.CANCELLED
