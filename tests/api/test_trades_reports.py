"""Trades (the page's filters, a cursor, CSV) and reports (the pages' own figures)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from tests.bots.helpers import T0, add_trade, bulk_trades, make_bot
from webapp.engine import service


@pytest.fixture
def history(alice, alice_key):
    bot = make_bot(alice, alice_key)
    other = make_bot(alice, alice_key, name="Other")
    bulk_trades(bot, 25)
    add_trade(other, "buy", "1", "100", at=T0 + timedelta(days=3))
    return bot, other


def all_pages(api, query: str) -> tuple[list[dict], list[str]]:
    items, links = [], []
    response = api.get(f"/api/v1/trades?{query}")
    while True:
        assert response.status_code == 200, response.get_data(as_text=True)
        page = response.get_json()
        items += page["items"]
        if page["next_cursor"] is None:
            assert "Link" not in response.headers
            return items, links
        link = response.headers["Link"]
        links.append(link)
        url = link[link.index("<") + 1 : link.index(">")]
        assert link.endswith('; rel="next"')
        response = api.get(url.replace("http://localhost", ""))


def test_pages_follow_the_cursor_through_every_trade_once(api, history):
    bot, _ = history
    items, links = all_pages(api, "limit=7")
    assert len(items) == 26 and len(links) == 3
    assert len({t["id"] for t in items}) == 26
    assert [t["executed_at"] for t in items] == sorted((t["executed_at"] for t in items),
                                                        reverse=True)  # fmt: skip
    assert items[-1]["executed_at"] == "2026-03-01T12:00:00Z"
    expected = [t.id for t in __import__("webapp.extensions").extensions.db.session.scalars(
        service.trades_query(bot.user_id))]  # fmt: skip
    assert [t["id"] for t in items] == expected


def test_filters_are_the_pages(api, history):
    bot, other = history
    items, links = all_pages(api, f"bot={bot.id}&side=sell&from=2026-03-01&to=2026-03-01&limit=5")
    assert len(items) == 12 and {t["side"] for t in items} == {"sell"}
    assert all(f"bot={bot.id}" in link and "side=sell" in link for link in links)
    assert all(t["realized_pnl"] == "0.5" and t["qty"] == "0.001" for t in items)
    assert [t["bot_id"] for t in all_pages(api, f"bot={other.id}")[0]] == [other.id]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("side=short", "side", "Side must be buy or sell."),
        ("from=yesterday", "from", "From must be a date like 2026-01-31."),
        ("from=2026-02-01&to=2026-01-01", "to", "To must be on or after From."),
        ("limit=501", "limit", ""),
        ("limit=0", "limit", ""),
        ("cursor=garbage", "cursor", "This cursor is not valid"),
        ("cursor=WyJ4IiwxXQ", "cursor", "This cursor is not valid"),
    ],
)
def test_bad_filters_get_a_message_on_the_field(api, history, query, field, message):
    response = api.get(f"/api/v1/trades?{query}")
    assert response.status_code == 422
    assert message in response.get_json()["errors"][field]


def test_the_csv_is_the_pages_export(api, history, client, auth):
    bot, _ = history
    response = api.get(f"/api/v1/trades.csv?bot={bot.id}&side=buy")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="trades-')
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:4] == ["id", "executed_at", "bot_id", "bot"]
    assert len(rows) == 1 + 13 and {r[5] for r in rows[1:]} == {"buy"}
    auth.login()
    page = client.get(f"/trades/export.csv?bot={bot.id}&side=buy").get_data(as_text=True)
    assert page == response.get_data(as_text=True)


def test_the_summary_is_the_dashboards(api, history, alice):
    bot, other = history
    body = api.get("/api/v1/reports/summary").get_json()
    summary = service.user_summary(alice)
    assert body["bots"] == 2 == summary.bots
    assert body["report"]["trade_count"] == 26 == summary.report.trade_count
    assert body["report"]["total_realized_pnl"] == "6" == format(
        summary.report.total_realized_pnl.normalize(), "f")  # fmt: skip
    assert body["report"]["win_rate"] == "1"
    assert len(body["pnl_series"]) == 12
    assert {r["bot_id"] for r in body["per_bot"]} == {bot.id, other.id}


def test_performance_is_the_bot_pages(api, history):
    bot, _ = history
    body = api.get(f"/api/v1/bots/{bot.id}/performance").get_json()
    report = service.bot_report(bot)
    assert body["trade_count"] == report.trade_count == 25
    assert body["sells"] == 12 and body["buys"] == 13
    assert body["total_fees"] == "1.5"
    assert body["pnl_series"][-1]["cumulative"] == "6"
    assert body["last_trade_at"] == "2026-03-01T12:24:00Z"


def test_each_trade_is_written_as_its_schema_writes_it(api, alice, alice_key):
    """The trades list writes its items itself, without marshmallow: every field reads as
    `TradeSchema` would write it, exact digits, no exponents, UTC times, nulls."""
    from webapp.api.schemas import TradeSchema
    from webapp.extensions import db

    bot = make_bot(alice, alice_key)
    late = T0 + timedelta(hours=23, minutes=59, seconds=59, microseconds=999999)
    made = [
        add_trade(bot, "buy", "0.000000000001", "65000.123456789012", fee="0", at=T0),
        add_trade(bot, "sell", "1E+3", "12345678901234.5", fee="0.00100000", pnl="-0.5", at=late),
        add_trade(bot, "sell", "2.50", "3", pnl="0", at=T0 + timedelta(days=400)),
    ]
    made[1].exchange_order_id = "x-42"
    db.session.commit()
    items = {t["id"]: t for t in api.get("/api/v1/trades?limit=10").get_json()["items"]}
    for trade in made:
        raw = {column: getattr(trade, column) for column in TradeSchema().fields}
        raw.update(side=trade.side.value, reason=trade.reason.value, mode=trade.mode.value)
        assert items[trade.id] == TradeSchema().dump(raw)
    assert items[made[0].id]["qty"] == "0.000000000001" and items[made[0].id]["fee"] == "0"
    assert items[made[0].id]["realized_pnl"] is None
    assert items[made[0].id]["exchange_order_id"] is None
    assert items[made[1].id]["qty"] == "1000" and items[made[1].id]["fee"] == "0.001"
    assert items[made[1].id]["executed_at"] == "2026-03-02T11:59:59.999999Z"
    assert items[made[1].id]["exchange_order_id"] == "x-42"


def test_the_openapi_document_still_describes_each_trade(api):
    spec = api.get("/api/v1/openapi.json").get_json()
    page = spec["components"]["schemas"]["TradesPage"]
    assert page["properties"]["items"]["type"] == "array"
    assert page["properties"]["items"]["items"] == {"$ref": "#/components/schemas/Trade"}
    trade = spec["components"]["schemas"]["Trade"]["properties"]
    assert {"qty", "price", "fee", "realized_pnl", "executed_at", "side"} <= trade.keys()
