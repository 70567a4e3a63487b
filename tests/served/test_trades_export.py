"""The trades CSV as gunicorn serves it: every trade arrives, and memory stays flat."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from tests.bots.helpers import T0, add_trade, bulk_trades, make_bot, make_key
from webapp.extensions import db
from webapp.models import User

MB = 1024 * 1024


def alice() -> User:
    """The user the `web` client is signed in as."""
    return db.session.scalar(sa.select(User).filter_by(email="alice@example.com"))


@pytest.fixture
def bot(web):
    user = alice()
    return make_bot(user, make_key(user))


def download(web, query: str = "") -> list[list[str]]:
    response = web.get(f"/trades/export.csv{query}", stream=True)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"].startswith('attachment; filename="trades-')
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_no_trades_is_just_the_header(web, bot):
    rows = download(web)
    assert rows[0][:3] == ["id", "executed_at", "bot_id"]
    assert rows[1:] == []


def test_one_trade_arrives_whole(web, bot):
    trade = add_trade(bot, "sell", "0.01", "61000.5", fee="0.61", pnl="8.79", at=T0)
    rows = download(web)
    assert rows[1:] == [
        [
            str(trade.id),
            "2026-03-01T12:00:00+00:00",
            str(bot.id),
            "Trend BTC",
            "BTC/USDT",
            "sell",
            "0.01",
            "61000.5",
            "0.61",
            "8.79",
            "signal",
            "paper",
            trade.client_order_id,
            "",
        ]
    ]


@pytest.mark.parametrize("query", ["", "?side=sell&from=2026-03-01&to=2026-12-31"])
def test_filters_apply_to_the_stream(web, bot, query):
    add_trade(bot, "buy", "0.01", "60000", at=T0)
    sell = add_trade(bot, "sell", "0.01", "61000", pnl="1", at=T0)
    ids = [row[0] for row in download(web, query)[1:]]
    assert ids == ([str(sell.id)] if query else [str(sell.id), str(sell.id - 1)])


@pytest.mark.slow
def test_100k_trades_all_arrive_with_flat_memory(web, bot, served):
    bulk_trades(bot, 100_000)
    for _ in range(2):  # warm both workers up (imports, templates, connection pools)
        assert len(download(web, "?from=2100-01-01")) == 1
    baseline = peak = served.workers_rss()
    response = web.get("/trades/export.csv", stream=True)
    assert response.status_code == 200
    received = []
    for n, chunk in enumerate(response.iter_content(chunk_size=64 * 1024)):
        received.append(chunk)
        if n % 20 == 0:
            peak = max(peak, served.workers_rss())
    rows = list(csv.reader(io.StringIO(b"".join(received).decode())))
    assert len(rows) == 1 + 100_000
    ids = [int(row[0]) for row in rows[1:]]
    assert len(set(ids)) == 100_000
    assert rows[-1][13] == "" and rows[1][5] == "sell"  # newest first, every column there
    # Streamed as read: the workers hold a batch of rows, never the whole history.
    assert peak - baseline < 40 * MB, f"workers grew by {(peak - baseline) / MB:.0f} MB"
