"""The dashboard sums up every bot of the user, and refreshes while one of them runs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tests.bots.conftest import htmx
from tests.bots.helpers import T0, add_trade, make_bot, make_key, text, texts
from webapp.bots import display
from webapp.engine import service
from webapp.extensions import db
from webapp.models import BotStatus
from webapp.models.types import utcnow

HOUR = timedelta(hours=1)


def test_summary_figures_are_the_services(client, alice, alice_key, bob):
    today = utcnow().date()
    btc = make_bot(
        alice,
        alice_key,
        "Trend BTC",
        status=BotStatus.RUNNING,
        state_realized_pnl_today=Decimal("4.5"),
        state_pnl_day=today,
    )
    eth = make_bot(
        alice,
        alice_key,
        "Dip ETH",
        symbol="ETH/USDT",
        state_realized_pnl_today=Decimal("-1.25"),
        state_pnl_day=today,
    )
    make_bot(alice, alice_key, "Idle", status=BotStatus.ERROR)
    add_trade(btc, "buy", "0.01", "60000", at=T0)
    add_trade(btc, "sell", "0.01", "61000", pnl="9.5", at=T0 + HOUR)
    add_trade(eth, "buy", "1", "2000", at=T0 + 2 * HOUR)
    add_trade(eth, "sell", "1", "1990", pnl="-12", at=T0 + 3 * HOUR)
    add_trade(btc, "buy", "0.01", "60000", at=T0 + 4 * HOUR)
    add_trade(btc, "sell", "0.01", "60500", pnl="4.25", at=T0 + 5 * HOUR)
    bobs = make_bot(bob, make_key(bob, "Bob key"), "Bob bot", status=BotStatus.RUNNING)
    add_trade(bobs, "sell", "1", "1", pnl="1000")

    summary = service.user_summary(alice)
    page = client.get("/").get_data(as_text=True)
    assert text(page, "current-user") == "alice@example.com"
    assert text(page, "sum-running") == f"{summary.running} / {summary.bots}" == "1 / 3"
    assert text(page, "sum-pnl") == display.pnl(summary.report.total_realized_pnl) == "+1.7500"
    assert text(page, "sum-today") == display.pnl(summary.realized_pnl_today) == "+3.2500"
    assert text(page, "sum-trades") == str(summary.report.trade_count) == "6"
    assert text(page, "sum-win-rate") == display.percent(summary.report.win_rate) == "66.7%"
    assert texts(page, "dashboard-bot-row") == [
        "Dip ETH ETH/USDT Stopped flat -1.2500 -12.0000 2",
        "Idle BTC/USDT Error flat 0.0000 0.0000 0",
        "Trend BTC BTC/USDT Running flat +4.5000 +13.7500 4",
    ]
    assert "1 bot stopped with an error" in page
    assert "Bob bot" not in page and "1,000" not in page
    assert 'data-chart data-testid="pnl-chart"' in page


def test_the_summary_refreshes_only_while_a_bot_runs(client, alice, alice_key):
    bot = make_bot(alice, alice_key, status=BotStatus.RUNNING)
    page = client.get("/").get_data(as_text=True)
    assert 'hx-trigger="every 5s"' in page
    body = client.get("/", headers=htmx("dashboard-summary")).get_data(as_text=True)
    assert body.strip().startswith('<section id="dashboard-summary"') and "<html" not in body
    assert text(body, "sum-running") == "1 / 1"

    bot.state.status = BotStatus.STOPPED
    db.session.commit()
    body = client.get("/", headers=htmx("dashboard-summary")).get_data(as_text=True)
    assert text(body, "sum-running") == "0 / 1" and "hx-trigger" not in body


def test_no_bots_yet(client, alice):
    page = client.get("/").get_data(as_text=True)
    assert "No bots yet." in page and 'href="/bots/new"' in page
    assert "hx-trigger" not in page


def test_polling_never_reads_the_trade_history(client, alice, alice_key):
    import sqlalchemy as sa

    bot = make_bot(alice, alice_key, "Busy", status=BotStatus.RUNNING)
    for n in range(30):
        add_trade(bot, "buy" if n % 2 == 0 else "sell", "0.01", "60000", pnl="1", at=T0 + n * HOUR)
    db.session.commit()
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    def trade_rows_read() -> bool:
        # Reading trade rows for a report selects their quantities; a summary query does not.
        return any("trades.qty" in s and "FROM trades" in s for s in statements)

    first = client.get("/", headers=htmx("dashboard-summary")).get_data(as_text=True)
    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        again = client.get("/", headers=htmx("dashboard-summary")).get_data(as_text=True)
        assert again == first
        assert not trade_rows_read()
        assert client.get(f"/bots/{bot.id}").status_code == 200
        assert not trade_rows_read() or all(
            "LIMIT" in s for s in statements if "trades.qty" in s
        )  # only the page's recent-trades table, never the whole history

        add_trade(bot, "sell", "0.01", "61000", pnl="7", at=T0 + 40 * HOUR)
        db.session.commit()
        statements.clear()
        updated = client.get("/", headers=htmx("dashboard-summary")).get_data(as_text=True)
        assert not trade_rows_read()  # the daily rollups already hold the new trade
        assert updated != first
        assert (text(first, "sum-pnl"), text(updated, "sum-pnl")) == ("+15.0000", "+22.0000")
        assert (text(first, "sum-trades"), text(updated, "sum-trades")) == ("30", "31")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def test_a_poll_with_nothing_new_is_answered_with_no_content(client, alice, alice_key):
    import re

    bot = make_bot(alice, alice_key, status=BotStatus.RUNNING)
    add_trade(bot, "buy", "0.01", "60000", at=T0)
    db.session.commit()
    body = client.get("/", headers=htmx("dashboard-summary")).get_data(as_text=True)
    poll_url = re.search(r'hx-get="([^"]+)"', body).group(1).replace("&amp;", "&")
    assert "since=" in poll_url

    assert client.get(poll_url, headers=htmx("dashboard-summary")).status_code == 204
    # The full page (a reload) is always rendered.
    assert client.get(poll_url).status_code == 200

    add_trade(bot, "sell", "0.01", "61000", pnl="9", at=T0 + HOUR)
    db.session.commit()
    response = client.get(poll_url, headers=htmx("dashboard-summary"))
    assert response.status_code == 200
    assert text(response.get_data(as_text=True), "sum-running") == "1 / 1"

    bot.state.status = BotStatus.STOPPED
    db.session.commit()
    new_url = re.search(r'hx-get="([^"]+)"', response.get_data(as_text=True)).group(1)
    response = client.get(new_url.replace("&amp;", "&"), headers=htmx("dashboard-summary"))
    assert response.status_code == 200 and "hx-trigger" not in response.get_data(as_text=True)


def test_last_7_days_counts_the_sells_of_the_last_7_utc_days(client, alice, alice_key):
    from datetime import UTC, datetime

    from tests.api.conftest import ApiClient, new_token

    midnight = datetime.combine(utcnow().date(), datetime.min.time(), tzinfo=UTC)
    bot = make_bot(alice, alice_key, "Weekly")
    add_trade(bot, "sell", "0.01", "60000", pnl="100", at=midnight - timedelta(days=7))
    add_trade(bot, "sell", "0.01", "60000", pnl="-3.5", at=midnight - timedelta(days=6))
    add_trade(bot, "sell", "0.01", "60000", pnl="2.25", at=min(utcnow(), midnight + HOUR))
    dashboard = client.get("/").get_data(as_text=True)
    assert text(dashboard, "sum-7d") == "-1.2500"
    assert text(dashboard, "sum-pnl") == "+98.7500"
    page = client.get(f"/bots/{bot.id}").get_data(as_text=True)
    assert text(page, "perf-pnl-7d") == "-1.2500"
    api = ApiClient(client.application.test_client(), new_token(alice, "read"))
    summary = api.get("/api/v1/reports/summary").get_json()
    assert summary["report"]["realized_pnl_7d"] == "-1.25"
    assert summary["per_bot"][0]["realized_pnl_7d"] == "-1.25"
    performance = api.get(f"/api/v1/bots/{bot.id}/performance").get_json()
    assert performance["realized_pnl_7d"] == "-1.25"


def test_a_trade_filled_earlier_than_the_last_one_still_ends_the_204s(client, alice, alice_key):
    """An exchange clock behind ours records a trade that sorts before the newest one; the
    polls must still see it."""
    import re

    bot = make_bot(alice, alice_key, status=BotStatus.RUNNING)
    add_trade(bot, "buy", "0.01", "60000", at=T0 + 2 * HOUR)
    pages = {
        "dashboard-summary": "/",
        "bot-performance": f"/bots/{bot.id}",
    }
    polls = {}
    for target, path in pages.items():
        body = client.get(path, headers=htmx(target)).get_data(as_text=True)
        polls[target] = re.search(r'hx-get="([^"]+)"', body).group(1).replace("&amp;", "&")
        assert client.get(polls[target], headers=htmx(target)).status_code == 204

    add_trade(bot, "sell", "0.01", "61000", pnl="9", at=T0 + HOUR)
    for target, url in polls.items():
        response = client.get(url, headers=htmx(target))
        assert response.status_code == 200, target
    body = client.get("/", headers=htmx("dashboard-summary")).get_data(as_text=True)
    assert text(body, "sum-pnl") == "+9.0000"
