"""One bot's page: its state, figures equal to the report's, and live parts that refresh in
place while it runs and stop refreshing once it stops."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.bots.conftest import htmx
from tests.bots.helpers import T0, add_activity, add_trade, make_bot, make_key, text, texts
from webapp.bots import display
from webapp.engine import service
from webapp.engine.errors import LIVE_DISABLED_MESSAGE
from webapp.extensions import db
from webapp.models import ActivityKind, Bot, BotActivity, BotMode, BotStatus, Trade
from webapp.models.types import utcnow

POLL = 'hx-trigger="every 5s"'
EVERY = 'hx-trigger="every'
HOUR = timedelta(hours=1)


def seed_round_trips(bot: Bot) -> None:
    """Three round trips: +8.79, -21.22, +5.5 (fees included)."""
    add_trade(bot, "buy", "0.01", "60000", fee="0.6", at=T0)
    add_trade(bot, "sell", "0.01", "61000", fee="0.61", pnl="8.79", at=T0 + HOUR)
    add_trade(bot, "buy", "0.02", "61000", fee="1.22", at=T0 + 2 * HOUR)
    add_trade(bot, "sell", "0.02", "60000", fee="1.2", pnl="-21.22", at=T0 + 3 * HOUR)
    add_trade(bot, "buy", "0.01", "59000", fee="0.59", at=T0 + 4 * HOUR)
    add_trade(
        bot, "sell", "0.01", "59700", fee="0.6", pnl="5.5", at=T0 + 5 * HOUR, reason="take_profit"
    )


def test_performance_figures_are_the_reports(client, alice, alice_key):
    bot = make_bot(alice, alice_key)
    seed_round_trips(bot)
    report = service.bot_report(bot)
    page = client.get(f"/bots/{bot.id}").get_data(as_text=True)

    assert text(page, "perf-trades") == str(report.trade_count) == "6"
    assert text(page, "perf-buys-sells") == f"{report.buys} / {report.sells}" == "3 / 3"
    assert text(page, "perf-pnl") == display.pnl(report.total_realized_pnl) == "-6.9300"
    assert text(page, "perf-win-rate") == display.percent(report.win_rate) == "66.7%"
    assert text(page, "perf-drawdown") == display.amount(report.max_drawdown) == "21.2200"
    assert text(page, "perf-last-trade") == "2026-03-01 17:00:00 UTC"

    # The latest trades, newest first, and the way to all of them.
    rows = texts(page, "bot-trade-row")
    assert len(rows) == 6
    assert rows[0].startswith("2026-03-01 17:00:00 UTC sell 0.01 59700 0.6 +5.5000 Take-profit")
    assert rows[-1] == "2026-03-01 12:00:00 UTC buy 0.01 60000 0.6 — Signal"
    assert f'href="/trades/?bot={bot.id}"' in page


def test_the_cumulative_pnl_chart_gets_the_curve_as_json(client, alice, alice_key):
    bot = make_bot(alice, alice_key)
    seed_round_trips(bot)
    page = client.get(f"/bots/{bot.id}").get_data(as_text=True)
    raw = re.search(
        r'data-chart data-testid="pnl-chart"><script type="application/json">(.*?)</script>', page
    ).group(1)
    data = json.loads(raw)
    assert data["kind"] == "pnl"
    assert data["y"] == [0.0, 8.79, -12.43, -6.93]
    # From 0 at the first trade (a buy), one step per sell.
    sells = [T0 + HOUR, T0 + 3 * HOUR, T0 + 5 * HOUR]
    assert data["x"] == [at.timestamp() for at in [T0, *sells]]
    assert 'src="/static/js/charts.js"' in page and "uplot-1.6.32.min.js" in page


def test_without_sells_there_is_no_chart_yet(client, alice, alice_key):
    bot = make_bot(alice, alice_key)
    add_trade(bot, "buy", "0.01", "60000")
    page = client.get(f"/bots/{bot.id}").get_data(as_text=True)
    assert "data-chart" not in page
    assert "The cumulative PnL chart appears after the first sell." in page


def test_the_state_shows_position_signal_cycle_errors_and_pause(client, alice, alice_key):
    now = utcnow()
    bot = make_bot(
        alice,
        alice_key,
        status=BotStatus.RUNNING,
        state_position_qty=Decimal("0.015"),
        state_position_avg_price=Decimal("60123.45"),
        state_last_signal="buy",
        state_last_reason="fast EMA(3) 60,100 crossed above slow EMA(5) 60,050",
        state_last_cycle_at=T0,
        state_cycle_count=42,
        state_next_run_at=T0 + timedelta(seconds=10),
        state_last_error="The exchange could not be reached.",
        state_last_error_at=T0 - HOUR,
        state_consecutive_errors=2,
        state_paused_until=now + HOUR,
        state_realized_pnl_today=Decimal("12.5"),
        state_pnl_day=now.date(),
    )
    page = client.get(f"/bots/{bot.id}").get_data(as_text=True)
    status = text(page, "bot-status")
    assert "Paused" in text(page, "bot-status-badge")
    assert text(page, "bot-position") == "0.015 BTC @ 60123.45"
    assert text(page, "bot-last-signal") == (
        "buy fast EMA(3) 60,100 crossed above slow EMA(5) 60,050"
    )
    assert text(page, "bot-last-cycle") == "2026-03-01 12:00:00 UTC (42 cycles)"
    assert "Next run 2026-03-01 12:00:10 UTC" in status
    assert "daily profit target reached" in text(page, "bot-paused-until")
    assert text(page, "bot-last-error") == (
        "The exchange could not be reached. 2026-03-01 11:00:00 UTC · 2 in a row"
    )
    assert "Today's PnL +12.5000 USDT" in status


def test_a_stopped_bot_says_why(client, alice, alice_key):
    bot = make_bot(
        alice, alice_key, status=BotStatus.ERROR, state_status_reason="5 failed cycles in a row."
    )
    page = client.get(f"/bots/{bot.id}").get_data(as_text=True)
    assert text(page, "bot-status-badge") == "Error"
    assert text(page, "status-reason") == "5 failed cycles in a row."
    assert 'data-testid="start-bot"' in page and 'data-testid="stop-bot"' not in page


def test_the_activity_log_shows_the_newest_fifty_first(client, alice, alice_key):
    bot = make_bot(alice, alice_key)
    for n in range(60):
        add_activity(bot, f"line {n:02d}", ActivityKind.ERROR if n == 59 else ActivityKind.CYCLE)
    page = client.get(f"/bots/{bot.id}").get_data(as_text=True)
    rows = texts(page, "activity-row")
    assert len(rows) == 50
    assert rows[0].endswith("error line 59") and rows[-1].endswith("cycle line 10")


@pytest.mark.parametrize(
    ("target", "start"),
    [
        ("bot-status", '<article id="bot-status"'),
        ("bot-activity", '<section id="bot-activity"'),
        ("bot-performance", '<section id="bot-performance"'),
    ],
)
def test_each_live_part_is_served_alone_to_htmx(client, alice, alice_key, target, start):
    bot = make_bot(alice, alice_key, status=BotStatus.RUNNING)
    body = client.get(f"/bots/{bot.id}", headers=htmx(target)).get_data(as_text=True)
    assert body.strip().startswith(start)
    assert "<html" not in body and "<nav" not in body
    assert POLL in body
    others = {"bot-trades", "bot-price"}  # parts of the performance block
    assert {i for i in re.findall(r' id="([^"]+)"', body) if i not in others} == {target}


def test_live_parts_poll_while_running_and_not_when_stopped(client, alice, alice_key):
    bot = make_bot(alice, alice_key, status=BotStatus.RUNNING)
    page = client.get(f"/bots/{bot.id}").get_data(as_text=True)
    assert page.count(POLL) == 3  # status, activity, performance

    bot.state.status = BotStatus.STOPPED
    db.session.commit()
    for target in ("bot-status", "bot-activity", "bot-performance"):
        body = client.get(f"/bots/{bot.id}", headers=htmx(target)).get_data(as_text=True)
        assert EVERY not in body, target
    assert EVERY not in client.get(f"/bots/{bot.id}").get_data(as_text=True)


def test_polling_performance_swaps_only_when_a_trade_arrived(client, alice, alice_key):
    bot = make_bot(alice, alice_key, status=BotStatus.RUNNING)
    first = add_trade(bot, "buy", "0.01", "60000")
    page = client.get(f"/bots/{bot.id}").get_data(as_text=True)
    url = f"/bots/{bot.id}?since={first.id}"
    assert f'hx-get="{url}"' in page

    response = client.get(url, headers=htmx("bot-performance"))
    assert response.status_code == 204 and response.get_data() == b""

    second = add_trade(bot, "sell", "0.01", "61000", pnl="9.4", at=T0 + HOUR)
    response = client.get(url, headers=htmx("bot-performance"))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert f'hx-get="/bots/{bot.id}?since={second.id}"' in body
    assert len(texts(body, "bot-trade-row")) == 2 and text(body, "perf-pnl") == "+9.4000"


def test_start_swaps_the_status_and_starts_the_live_parts(client, alice, alice_key):
    bot = make_bot(alice, alice_key)
    response = client.post(f"/bots/{bot.id}/start", headers=htmx("bot-status"))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.strip().startswith('<article id="bot-status"') and "<html" not in body
    assert text(body, "bot-status-badge") == "Running"
    assert 'data-testid="stop-bot"' in body
    # The activity log and performance come along out of band, now polling.
    assert re.search(r'<section id="bot-activity"[^>]*hx-swap-oob="true"', body)
    assert re.search(r'<section id="bot-performance"[^>]*hx-swap-oob="true"', body)
    assert body.count(POLL) == 3
    assert "Started." in text(body, "bot-activity")
    db.session.refresh(bot)
    assert bot.state.status == BotStatus.RUNNING and bot.state.next_run_at is not None

    response = client.post(f"/bots/{bot.id}/stop", headers=htmx("bot-status"))
    body = response.get_data(as_text=True)
    assert text(body, "bot-status-badge") == "Stopped"
    assert text(body, "status-reason") == "Stopped by you."
    assert EVERY not in body and 'data-testid="start-bot"' in body
    db.session.refresh(bot)
    assert bot.state.status == BotStatus.STOPPED and bot.state.next_run_at is None


def test_start_without_htmx_redirects_with_a_message(client, alice, alice_key):
    bot = make_bot(alice, alice_key)
    response = client.post(f"/bots/{bot.id}/start")
    assert response.status_code == 302 and response.headers["Location"] == f"/bots/{bot.id}"
    page = client.get(f"/bots/{bot.id}").get_data(as_text=True)
    assert "started: its first cycle runs shortly" in page


def test_start_is_refused_with_an_invalid_key(client, alice):
    bot = make_bot(alice, make_key(alice, "Revoked", valid=False))
    response = client.post(f"/bots/{bot.id}/start", headers=htmx("bot-status"))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "The API key “Revoked” cannot be used" in text(body, "status-error")
    assert text(body, "bot-status-badge") == "Stopped" and EVERY not in body
    db.session.refresh(bot)
    assert bot.state.status == BotStatus.STOPPED


def test_start_is_refused_for_live_mode_when_live_trading_is_off(client, app, alice, alice_key):
    app.config.update(EXCHANGE_SIM_URL=None, LIVE_TRADING_ENABLED=False)
    bot = make_bot(alice, alice_key, mode=BotMode.LIVE)
    response = client.post(f"/bots/{bot.id}/start", headers=htmx("bot-status"))
    assert response.status_code == 422
    assert LIVE_DISABLED_MESSAGE in response.get_data(as_text=True)
    db.session.refresh(bot)
    assert bot.state.status == BotStatus.STOPPED


def counts(bot_id: int) -> tuple[int, int, int]:
    return tuple(
        db.session.scalar(sa.select(sa.func.count()).select_from(model).where(column == bot_id))
        for model, column in (
            (Bot, Bot.id),
            (Trade, Trade.bot_id),
            (BotActivity, BotActivity.bot_id),
        )
    )


def test_deleting_a_running_bot_stops_it_and_removes_its_history(client, alice, alice_key):
    bot = make_bot(alice, alice_key, status=BotStatus.RUNNING)
    add_trade(bot, "buy", "0.01", "60000")
    add_activity(bot, "a cycle")
    keep = make_bot(alice, alice_key, "Keep me")
    add_trade(keep, "buy", "0.01", "60000")
    bot_id = bot.id
    response = client.post(f"/bots/{bot_id}/delete", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["HX-Location"] == "/bots/"
    assert counts(bot_id) == (0, 0, 0)
    assert counts(keep.id) == (1, 1, 0)
    page = client.get("/bots/").get_data(as_text=True)
    assert "Deleted bot “Trend BTC” with its trades and activity log." in page


def test_deleting_without_htmx_redirects_to_the_list(client, alice, alice_key):
    bot_id = make_bot(alice, alice_key).id
    response = client.delete(f"/bots/{bot_id}")
    assert response.status_code == 302 and response.headers["Location"] == "/bots/"
    assert counts(bot_id) == (0, 0, 0)


def test_the_delete_button_asks_first(client, alice, alice_key):
    bot = make_bot(alice, alice_key)
    page = client.get(f"/bots/{bot.id}").get_data(as_text=True)
    assert 'hx-confirm="Delete the bot “Trend BTC” with its trades and activity log?' in page


def chart_data(body: str, testid: str) -> dict:
    pattern = rf'data-testid="{testid}"><script type="application/json">(.*?)</script>'
    return json.loads(re.search(pattern, body).group(1))


def test_the_price_chart_marks_the_bots_trades_on_recent_closes(client, alice, sim_key):
    bot = make_bot(alice, sim_key)
    now = utcnow()
    add_trade(bot, "buy", "0.01", "60000", at=T0)  # long before the window: left out
    buy = add_trade(bot, "buy", "0.01", "12345.6", at=now - timedelta(minutes=5))
    add_trade(bot, "sell", "0.01", "12400", pnl="0.3", at=now)  # in the candle still open

    page = client.get(f"/bots/{bot.id}").get_data(as_text=True)
    assert f'hx-get="/bots/{bot.id}/price-chart" hx-trigger="load"' in page

    response = client.get(f"/bots/{bot.id}/price-chart", headers=htmx("bot-price"))
    assert response.status_code == 200
    data = chart_data(response.get_data(as_text=True), "price-chart")
    assert data["kind"] == "price"
    assert len(data["x"]) == len(data["y"]) == len(data["buys"]) == len(data["sells"]) == 121
    assert data["x"] == sorted(data["x"]) and None not in data["y"]
    [(index, price)] = [(i, p) for i, p in enumerate(data["buys"]) if p is not None]
    assert price == 12345.6
    at = buy.executed_at.timestamp()
    assert data["x"][index] <= at < data["x"][index] + 60
    assert [p for p in data["sells"] if p is not None] == [12400.0]
    # The sell sits on the candle that holds it: the one still open when it was made (or,
    # when a minute began since, the one just closed, now last but one).
    sold = next(i for i, x in enumerate(data["x"]) if x <= now.timestamp() < x + 60)
    assert data["sells"][sold] == 12400.0 and sold >= len(data["x"]) - 2


def test_the_price_chart_says_when_the_exchange_cannot_be_reached(
    client, alice, alice_key, sim_server
):
    bot = make_bot(alice, alice_key)
    sim_server.stop()
    body = client.get(f"/bots/{bot.id}/price-chart").get_data(as_text=True)
    assert "No price chart right now: The exchange could not be reached" in text(
        body, "price-chart-error"
    )
