"""Trade and activity rows are rendered once and kept (webapp/fragments.py), yet a page always
shows what is true now: a renamed bot, a changed field, the reader's time zone and language."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from types import SimpleNamespace

from tests.bots.helpers import T0, add_activity, add_trade, make_bot, texts
from webapp.extensions import db
from webapp.fragments import ACTIVITY_ROWS, TRADE_ROWS, RowCache
from webapp.models import ActivityKind, QuietHours


def test_a_kept_trade_row_follows_what_it_shows(client, alice, alice_key):
    bot = make_bot(alice, alice_key, "Trend BTC")
    trade = add_trade(bot, "sell", "0.01", "61000", fee="0.61", pnl="8.79", at=T0)
    line = "2026-03-01 12:00:00 UTC Trend BTC BTC/USDT sell 0.01 61000 0.61 +8.7900 Signal paper"
    assert texts(client.get("/trades/").get_data(as_text=True), "trade-row") == [line]
    assert texts(client.get("/trades/").get_data(as_text=True), "trade-row") == [line]

    trade.realized_pnl = Decimal("-1.5")
    db.session.commit()
    page = client.get("/trades/").get_data(as_text=True)
    assert texts(page, "trade-row") == [line.replace("+8.7900", "-1.5000")]
    bot.name = "Renamed"
    db.session.commit()
    page = client.get("/trades/").get_data(as_text=True)
    assert texts(page, "trade-row") == [
        "2026-03-01 12:00:00 UTC Renamed BTC/USDT sell 0.01 61000 0.61 -1.5000 Signal paper"
    ]

    db.session.add(
        QuietHours(user_id=alice.id, start_time=time(22), end_time=time(7), timezone="Asia/Tokyo")
    )
    alice.locale = "fr"
    db.session.commit()
    [row] = texts(client.get("/trades/").get_data(as_text=True), "trade-row")
    assert row.startswith("01/03/2026 21:00:00 UTC+09:00 Renamed BTC/USDT")
    assert "-1,5000" in row
    [row] = texts(client.get(f"/bots/{bot.id}").get_data(as_text=True), "bot-trade-row")
    assert row.startswith("01/03/2026 21:00:00 UTC+09:00") and "-1,5000" in row


def test_a_kept_activity_row_is_in_the_readers_language(client, alice, alice_key):
    bot = make_bot(alice, alice_key, "Trend BTC")
    add_activity(bot, "Bot started.", ActivityKind.STATE)
    english = texts(client.get(f"/bots/{bot.id}").get_data(as_text=True), "activity-row")
    alice.locale = "tr"
    db.session.commit()
    turkish = texts(client.get(f"/bots/{bot.id}").get_data(as_text=True), "activity-row")
    assert len(english) == len(turkish) == 1
    assert "Bot started." in english[0] and english != turkish


def test_the_kept_rows_are_bounded(app):
    rows = RowCache(ACTIVITY_ROWS.template, ACTIVITY_ROWS.macro, ACTIVITY_ROWS.fields, size=3)
    lines = [
        SimpleNamespace(id=n, at=T0, kind=ActivityKind.CYCLE, message=f"line {n}") for n in range(5)
    ]
    with app.test_request_context("/"):
        rendered = [rows.render(line) for line in lines]
        assert all(f"line {n}" in row for n, row in enumerate(rendered))
        assert len(rows._rows) == 3
        assert "line 0" in rows.render(lines[0])  # dropped, rendered again
        assert len(TRADE_ROWS._rows) <= TRADE_ROWS.size
