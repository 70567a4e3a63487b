"""The trades page: the user's trades only, filters, cursor pages, and an exact CSV export."""

from __future__ import annotations

import base64
import csv
import html
import io
import re
from datetime import timedelta
from urllib.parse import quote

import pytest

from tests.bots.conftest import htmx
from tests.bots.helpers import T0, add_trade, make_bot, make_key, text, texts
from webapp.trades import keyset

DAY = timedelta(days=1)


@pytest.fixture
def seeded(alice, alice_key, bob):
    """Alice's two bots with trades on three days; Bob's bot with one trade."""
    btc = make_bot(alice, alice_key, "Trend BTC")
    eth = make_bot(alice, alice_key, "Dip ETH", symbol="ETH/USDT")
    trades = {
        "btc_buy": add_trade(btc, "buy", "0.01", "60000", fee="0.6", at=T0),
        "eth_buy": add_trade(eth, "buy", "0.5", "2000.5", fee="1.00025", at=T0 + DAY),
        "btc_sell": add_trade(
            btc, "sell", "0.01", "61000", fee="0.61", pnl="8.79", at=T0 + DAY + timedelta(hours=2)
        ),
        "eth_sell": add_trade(
            eth, "sell", "0.5", "1990", fee="0.995", pnl="-7.25", at=T0 + 2 * DAY
        ),
    }
    bobs = make_bot(bob, make_key(bob, "Bob key"), "Bob bot")
    add_trade(bobs, "buy", "3", "777.77", at=T0 + DAY)
    return {"btc": btc, "eth": eth, "bob": bobs, **trades}


def rows(page: str) -> list[str]:
    return texts(page, "trade-row")


def test_lists_the_users_trades_newest_first(client, seeded):
    page = client.get("/trades/").get_data(as_text=True)
    assert rows(page) == [
        "2026-03-03 12:00:00 UTC Dip ETH ETH/USDT sell 0.5 1990 0.995 -7.2500 Signal paper",
        "2026-03-02 14:00:00 UTC Trend BTC BTC/USDT sell 0.01 61000 0.61 +8.7900 Signal paper",
        "2026-03-02 12:00:00 UTC Dip ETH ETH/USDT buy 0.5 2000.5 1.00025 — Signal paper",
        "2026-03-01 12:00:00 UTC Trend BTC BTC/USDT buy 0.01 60000 0.6 — Signal paper",
    ]
    assert "777.77" not in page and "Bob bot" not in page
    assert text(page, "trades-count") == "1\N{EN DASH}4 of 4 trades"
    # Bob's bot is not offered as a filter.
    assert f'<option value="{seeded["btc"].id}"' in page
    assert f'<option value="{seeded["bob"].id}"' not in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("side=buy", ["eth_buy", "btc_buy"]),
        ("side=sell", ["eth_sell", "btc_sell"]),
        ("bot={btc}", ["btc_sell", "btc_buy"]),
        ("bot={eth}&side=sell", ["eth_sell"]),
        ("from=2026-03-02", ["eth_sell", "btc_sell", "eth_buy"]),
        ("to=2026-03-02", ["btc_sell", "eth_buy", "btc_buy"]),  # the whole last day counts
        ("from=2026-03-02&to=2026-03-02", ["btc_sell", "eth_buy"]),
        ("from=2026-03-04", []),
        ("bot=&side=&from=&to=", ["eth_sell", "btc_sell", "eth_buy", "btc_buy"]),
    ],
)
def test_filters(client, seeded, query, expected):
    query = query.format(btc=seeded["btc"].id, eth=seeded["eth"].id)
    page = client.get(f"/trades/?{query}").get_data(as_text=True)
    shown = [row.split(" UTC ")[0] for row in rows(page)]
    assert shown == [seeded[name].executed_at.strftime("%Y-%m-%d %H:%M:%S") for name in expected]
    if not expected:
        assert "No trades match these filters." in page
    # The CSV link carries the same filters.
    csv_rows = list(csv.reader(io.StringIO(client.get(f"/trades/export.csv?{query}").text)))
    assert [int(r[0]) for r in csv_rows[1:]] == [seeded[name].id for name in expected]


def test_a_filter_on_someone_elses_bot_is_not_found(client, seeded):
    for path in ("/trades/", "/trades/export.csv"):
        response = client.get(f"{path}?bot={seeded['bob'].id}")
        assert response.status_code == 404
        assert "777.77" not in response.get_data(as_text=True)


def test_bad_dates_are_explained(client, seeded):
    response = client.get("/trades/?from=yesterday&to=2026-01-01", headers=htmx("trades-table"))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert body.strip().startswith('<section id="trades-table"') and "<html" not in body
    assert "From must be a date like 2026-01-31." in text(body, "filter-errors")
    response = client.get("/trades/?from=2026-03-02&to=2026-03-01")
    assert response.status_code == 422
    assert "To must be on or after From." in response.get_data(as_text=True)


def test_the_filter_form_swaps_the_table_and_pushes_the_url(client, seeded):
    page = client.get("/trades/").get_data(as_text=True)
    assert 'hx-target="#trades-table"' in page and 'hx-push-url="true"' in page
    body = client.get("/trades/?side=sell", headers=htmx("trades-table")).get_data(as_text=True)
    assert body.strip().startswith('<section id="trades-table"')
    assert "<html" not in body and "<form" not in body
    assert len(rows(body)) == 2
    assert 'href="/trades/export.csv?side=sell"' in body


def link(page: str, rel: str) -> str | None:
    """The href of the pagination link `rel` (next = Older, prev = Newer, first = Newest)."""
    found = re.search(rf'<a href="([^"]+)"[^>]*rel="{rel}"', page)
    return html.unescape(found.group(1)) if found else None


def test_pages_of_fifty_older_and_newer(client, alice, alice_key):
    bot = make_bot(alice, alice_key)
    for n in range(120):
        add_trade(bot, "buy", "0.001", str(60000 + n), at=T0 + timedelta(minutes=n // 2))
    add_trade(bot, "sell", "0.001", "1", at=T0)
    page = client.get("/trades/?side=buy").get_data(as_text=True)
    assert len(rows(page)) == 50
    assert text(page, "trades-count") == "1\N{EN DASH}50 of 120 trades"
    assert rows(page)[0].split()[8] == "60119"  # newest first
    assert link(page, "prev") is None and link(page, "first") is None
    older = link(page, "next")
    assert older.startswith("/trades/?after=") and older.endswith("&side=buy")  # keeps filters

    second = client.get(older).get_data(as_text=True)
    assert text(second, "trades-count") == "51\N{EN DASH}100 of 120 trades"
    assert [r.split()[8] for r in rows(second)] == [str(60069 - n) for n in range(50)]
    body = client.get(link(second, "next"), headers=htmx("trades-table")).get_data(as_text=True)
    assert "<html" not in body and body.strip().startswith('<section id="trades-table"')
    # Two trades share each minute: the id breaks the tie, none is shown twice or skipped.
    assert [r.split()[8] for r in rows(body)] == [str(60019 - n) for n in range(20)]
    assert text(body, "trades-count") == "101\N{EN DASH}120 of 120 trades"
    assert link(body, "next") is None and link(body, "first") == "/trades/?side=buy"

    # Newer goes back the way it came, and from the second page to the first, full.
    back = client.get(link(body, "prev")).get_data(as_text=True)
    assert rows(back) == rows(second) and text(back, "trades-count") == text(second, "trades-count")
    top = client.get(link(back, "prev")).get_data(as_text=True)
    assert rows(top) == rows(page) and link(top, "prev") is None


def test_newer_from_near_the_top_shows_a_full_first_page(client, alice, alice_key):
    bot = make_bot(alice, alice_key)
    trades = [
        add_trade(bot, "buy", "0.001", str(100 + n), at=T0 + timedelta(minutes=n))
        for n in range(60)
    ]
    newer = client.get(f"/trades/?before={keyset.encode(keyset.Key.of(trades[40]))}")
    page = newer.get_data(as_text=True)
    assert newer.status_code == 200
    assert text(page, "trades-count") == "1\N{EN DASH}50 of 60 trades"
    assert rows(page)[0].split()[8] == "159" and link(page, "prev") is None


def test_a_cursor_past_the_oldest_trade_is_an_empty_page_not_an_error(client, seeded):
    oldest = keyset.Key(T0 - DAY, 1)
    response = client.get(f"/trades/?after={keyset.encode(oldest)}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert rows(body) == [] and "No older trades match these filters." in body


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


BAD_CURSORS = [
    "garbage",
    "WyJ4IiwxXQ",  # ["x",1]
    _b64(b'["2026-03-01T12:00:00+00:00",NaN]'),
    _b64(b"[NaN,1]"),
    _b64(b'["2026-03-01T12:00:00+00:00",1e400]'),
    _b64(b'["2026-03-01T12:00:00+00:00",' + str(10**30).encode() + b"]"),
    _b64(b'["2026-03-01T12:00:00+00:00",-1]'),
    _b64(b'["2026-03-01T12:00:00+00:00",true]'),
    _b64(b'["2026-03-01T12:00:00",1]'),  # no time zone
    _b64(b'["0001-01-01T00:00:00+01:00",1]'),  # before year 1 in UTC
    _b64(b'["9999-12-31T23:00:00-05:00",1]'),  # after year 9999 in UTC
    _b64(b'["2026-03-01T12:00:00+00:00",1,2]'),
    _b64(b'{"a":1}'),
    _b64(b"[" * 5000),
    "A" * 10_000,
    "\N{SNOWMAN}\N{GREEK SMALL LETTER ALPHA}",
    "%ff%fe",
    "WyIyMDI2LTAzLTAxVDEyOjAwOjAwKzAwOjAwIiwxXQ==" * 3,
]


def test_a_bad_cursor_is_explained_and_links_to_the_newest(client, seeded):
    for name in ("after", "before"):
        for cursor in BAD_CURSORS:
            response = client.get(f"/trades/?side=sell&{name}={quote(cursor, safe='%')}")
            assert response.status_code == 422, (name, cursor)
            body = response.get_data(as_text=True)
            assert "This page link is not valid (cut short or edited)" in text(
                body, "filter-errors"
            )
            assert 'data-testid="newest-link"' in body and 'href="/trades/?side=sell"' in body
            swap = client.get(
                f"/trades/?{name}={quote(cursor, safe='%')}", headers=htmx("trades-table")
            )
            assert swap.status_code == 422 and "<html" not in swap.get_data(as_text=True)
        # A NUL byte is refused before the page runs, like anywhere in the app.
        response = client.get(f"/trades/?{name}=%00")
        assert response.status_code == 400 and "Traceback" not in response.get_data(as_text=True)


def test_csv_export_is_exact(client, seeded):
    response = client.get("/trades/export.csv")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="trades-') and disposition.endswith('.csv"')
    s = seeded
    b, e = s["btc"].id, s["eth"].id
    expected = (
        "id,executed_at,bot_id,bot,symbol,side,qty,price,fee,realized_pnl,reason,mode,"
        "client_order_id,exchange_order_id\r\n"
        f"{s['eth_sell'].id},2026-03-03T12:00:00+00:00,{e},Dip ETH,ETH/USDT,sell,0.5,1990,"
        f"0.995,-7.25,signal,paper,{s['eth_sell'].client_order_id},\r\n"
        f"{s['btc_sell'].id},2026-03-02T14:00:00+00:00,{b},Trend BTC,BTC/USDT,sell,0.01,61000,"
        f"0.61,8.79,signal,paper,{s['btc_sell'].client_order_id},\r\n"
        f"{s['eth_buy'].id},2026-03-02T12:00:00+00:00,{e},Dip ETH,ETH/USDT,buy,0.5,2000.5,"
        f"1.00025,,signal,paper,{s['eth_buy'].client_order_id},\r\n"
        f"{s['btc_buy'].id},2026-03-01T12:00:00+00:00,{b},Trend BTC,BTC/USDT,buy,0.01,60000,"
        f"0.6,,signal,paper,{s['btc_buy'].client_order_id},\r\n"
    )
    assert response.get_data(as_text=True) == expected


def test_csv_export_of_nothing_is_just_the_header(client, alice):
    body = client.get("/trades/export.csv").get_data(as_text=True)
    assert body.startswith("id,executed_at,bot_id,") and body.count("\r\n") == 1


def test_a_bots_trades_link_filters_by_that_bot(client, seeded):
    page = client.get(f"/bots/{seeded['eth'].id}").get_data(as_text=True)
    assert f'href="/trades/?bot={seeded["eth"].id}"' in page
    listed = client.get(f"/trades/?bot={seeded['eth'].id}").get_data(as_text=True)
    assert [r.split()[3] for r in rows(listed)] == ["Dip", "Dip"]
    assert f'<option value="{seeded["eth"].id}" selected>Dip ETH</option>' in listed


def test_extreme_dates_are_valid_filters_not_errors(client, seeded):
    every = ["eth_sell", "btc_sell", "eth_buy", "btc_buy"]
    for query in ("to=9999-12-31", "from=0001-01-01&to=9999-12-31"):
        page = client.get(f"/trades/?{query}")
        assert page.status_code == 200
        shown = [row.split(" UTC ")[0] for row in rows(page.get_data(as_text=True))]
        assert len(shown) == len(every)
        export = client.get(f"/trades/export.csv?{query}")
        assert export.status_code == 200
        assert [int(r[0]) for r in list(csv.reader(io.StringIO(export.text)))[1:]] == [
            seeded[name].id for name in every
        ]


def test_huge_numbers_in_the_query_are_not_server_errors(client, seeded):
    for path in ("/trades/", "/trades/export.csv"):
        assert client.get(f"{path}?bot={2**63}").status_code == 404
        assert client.get(f"{path}?bot={10**30}").status_code == 404
    # The old page numbers are no longer read: such a link shows the newest trades.
    page = client.get(f"/trades/?page={10**30}")
    assert page.status_code == 200
    assert len(rows(page.get_data(as_text=True))) == 4
