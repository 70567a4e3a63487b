"""The bots list: what each bot is doing, refreshed in place only while one is running."""

from __future__ import annotations

from decimal import Decimal

from tests.bots.conftest import htmx
from tests.bots.helpers import make_bot
from webapp.extensions import db
from webapp.models import BotStatus
from webapp.models.types import utcnow

POLL = 'hx-trigger="every 5s"'


def test_each_bot_shows_market_strategy_mode_status_position_and_todays_pnl(
    client, alice, alice_key
):
    today = utcnow().date()
    make_bot(
        alice,
        alice_key,
        "Trend BTC",
        status=BotStatus.RUNNING,
        state_position_qty=Decimal("0.0125"),
        state_position_avg_price=Decimal("61234.5"),
        state_realized_pnl_today=Decimal("-3.21"),
        state_pnl_day=today,
        state_last_cycle_at=utcnow().replace(year=2026, month=2, day=3, hour=4, minute=5, second=6),
    )
    make_bot(
        alice,
        alice_key,
        "Dip ETH",
        symbol="ETH/USDT",
        strategy="threshold",
        params={"buy_below": "2000", "sell_above": "2500"},
        status=BotStatus.ERROR,
        # Yesterday's figure is not today's PnL.
        state_realized_pnl_today=Decimal("50"),
        state_pnl_day=today.replace(day=1) if today.day != 1 else today.replace(month=2),
    )
    page = client.get("/bots/").get_data(as_text=True)
    rows = page.split('data-testid="bot-row"')[1:]
    assert len(rows) == 2
    dip, trend = rows  # by name
    assert "Dip ETH" in dip and "ETH/USDT" in dip and "Price threshold" in dip
    assert ">Error<" in dip and "badge-danger" in dip
    assert "flat" in dip
    assert ">0.0000<" in dip  # only today's PnL counts
    assert "Trend BTC" in trend and "BTC/USDT" in trend and "EMA crossover" in trend
    assert ">Running<" in trend and "badge-ok" in trend
    assert "0.0125 BTC" in trend and "@ 61234.5" in trend
    assert '<span class="neg">-3.2100</span>' in trend
    assert "2026-02-03 04:05:06 UTC" in trend
    assert ">paper<" in trend


def test_no_bots_yet_offers_to_create_one(client, alice):
    page = client.get("/bots/").get_data(as_text=True)
    assert "No bots yet." in page
    assert 'href="/bots/new"' in page
    assert 'href="/bots/"' in page  # the navigation link exists


def test_the_rows_poll_while_a_bot_runs_and_stop_when_none_does(client, alice, alice_key):
    bot = make_bot(alice, alice_key, status=BotStatus.RUNNING)
    page = client.get("/bots/").get_data(as_text=True)
    assert 'id="bots-body" hx-get="/bots/"' in page and POLL in page

    # The poll gets only the rows, from the same template.
    fragment = client.get("/bots/", headers=htmx("bots-body")).get_data(as_text=True)
    assert fragment.strip().startswith('<tbody id="bots-body"')
    assert "<html" not in fragment and "<nav" not in fragment
    assert POLL in fragment and ">Running<" in fragment

    # The bot stops (here: behind the page's back): the next poll comes back without a trigger.
    bot.state.status = BotStatus.STOPPED
    db.session.commit()
    fragment = client.get("/bots/", headers=htmx("bots-body")).get_data(as_text=True)
    assert ">Stopped<" in fragment
    assert "hx-trigger" not in fragment and "hx-get" not in fragment
    assert "hx-trigger" not in client.get("/bots/").get_data(as_text=True).split("<tbody")[1]


def test_a_boosted_navigation_gets_the_whole_page(client, alice, alice_key):
    make_bot(alice, alice_key)
    response = client.get(
        "/bots/", headers={"HX-Request": "true", "HX-Boosted": "true", "HX-Target": "bots-body"}
    )
    assert "<html" in response.get_data(as_text=True)
