"""The trades list's cursor pages as gunicorn serves them: Older walks every trade once, Newer
walks back, and a cursor that is not one of ours is a 422 with a message, never a 500.

The `served` fixture also fails a test whose request made the web process log a traceback.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote

import pytest

from tests.bots.helpers import bulk_trades, make_bot, make_key
from tests.served.test_trades_export import alice, download
from tests.trades.test_trades_page import BAD_CURSORS

ROW = re.compile(r'data-testid="trade-row">\s*<td>([^<]+)</td>')


@pytest.fixture
def bot(web):
    user = alice()
    return make_bot(user, make_key(user))


def link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)"[^>]*rel="{rel}"', page)
    return html.unescape(found.group(1)) if found else None


def test_older_walks_every_trade_once_and_newer_walks_back(web, bot):
    bulk_trades(bot, 230)
    pages, url = [], "/trades/?side=sell"
    while url:
        response = web.get(url)
        assert response.status_code == 200
        pages.append(response.text)
        url = link(response.text, "next")
    shown = [ROW.findall(page) for page in pages]
    assert [len(rows) for rows in shown] == [50, 50, 15]
    times = [t for rows in shown for t in rows]
    assert len(set(times)) == 115 and times == sorted(times, reverse=True)
    assert "101\N{EN DASH}115 of 115 trades" in pages[-1]
    back = web.get(link(pages[-1], "prev"))
    assert ROW.findall(back.text) == shown[1]
    # The CSV link of a deep page still exports every matching trade, not the page.
    csv_link = html.unescape(
        re.search(r'href="([^"]+)"[^>]*data-testid="csv-export"', pages[-1]).group(1)
    )
    assert len(download(web, csv_link.removeprefix("/trades/export.csv"))) == 1 + 115


@pytest.mark.parametrize("name", ["after", "before"])
def test_a_bad_cursor_is_a_422_with_a_message(web, bot, name):
    bulk_trades(bot, 60)
    for cursor in BAD_CURSORS:
        url = f"/trades/?{name}={quote(cursor, safe='%')}"
        response = web.get(url)
        if len(url) > 4000:  # past gunicorn's request line limit: refused before the app
            assert response.status_code == 414, cursor
            continue
        assert response.status_code == 422, cursor
        assert "This page link is not valid (cut short or edited)" in response.text
        assert "Traceback" not in response.text
        hx = web.get(
            f"/trades/?bot={bot.id}&{name}={quote(cursor, safe='%')}",
            headers={"HX-Request": "true", "HX-Target": "trades-table"},
        )
        assert hx.status_code == 422 and hx.text.lstrip().startswith('<section id="trades-table"')
    assert web.get(f"/trades/?{name}=%00").status_code == 400
