"""The cumulative PnL charts of the bot page and the dashboard are kept between page views
(webapp.bots.curves), yet always draw the trades as they are: a new trade, a deleted bot, the
reader's language each give the chart they would give computed afresh."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from tests.bots.helpers import T0, add_trade, make_bot
from tests.i18n.conftest import set_locale
from webapp.engine import service
from webapp.extensions import db, redis_ext

HOUR = timedelta(hours=1)


def pnl_chart(page: str) -> dict:
    raw = re.search(
        r'data-chart data-testid="pnl-chart"><script type="application/json">(.*?)</script>', page
    ).group(1)
    return json.loads(raw)


def cached_charts() -> int:
    return len(list(redis_ext.conn.scan_iter("charts:pnl:*")))


def test_a_new_trade_redraws_the_bot_chart_and_views_between_share_it(client, alice, alice_key):
    bot = make_bot(alice, alice_key)
    add_trade(bot, "buy", "0.01", "60000", at=T0)
    add_trade(bot, "sell", "0.01", "61000", pnl="9.8", at=T0 + HOUR)
    first = pnl_chart(client.get(f"/bots/{bot.id}").get_data(as_text=True))
    assert first["y"] == [0.0, 9.8]
    assert cached_charts() == 1
    assert pnl_chart(client.get(f"/bots/{bot.id}").get_data(as_text=True)) == first
    assert cached_charts() == 1  # the second view read it back

    add_trade(bot, "buy", "0.01", "61000", at=T0 + 2 * HOUR)
    add_trade(bot, "sell", "0.01", "60000", pnl="-10.2", at=T0 + 3 * HOUR)
    after = pnl_chart(client.get(f"/bots/{bot.id}").get_data(as_text=True))
    assert after["y"] == [0.0, 9.8, -0.4]
    assert after["x"][-1] == (T0 + 3 * HOUR).timestamp()


def test_deleting_a_bot_takes_its_sells_off_the_dashboard_chart(client, alice, alice_key):
    kept, gone = make_bot(alice, alice_key, "Kept"), make_bot(alice, alice_key, "Gone")
    add_trade(kept, "sell", "0.01", "61000", pnl="5", at=T0)
    add_trade(gone, "sell", "0.01", "61000", pnl="7", at=T0 + HOUR)
    add_trade(kept, "sell", "0.01", "61000", pnl="1", at=T0 + 2 * HOUR)
    assert pnl_chart(client.get("/").get_data(as_text=True))["y"] == [0.0, 5.0, 12.0, 13.0]
    service.delete_bot(gone)
    db.session.commit()
    assert pnl_chart(client.get("/").get_data(as_text=True))["y"] == [0.0, 5.0, 6.0]


def test_each_language_gets_its_own_chart(client, alice, alice_key):
    bot = make_bot(alice, alice_key)
    add_trade(bot, "sell", "0.01", "61000", pnl="5", at=T0)
    assert pnl_chart(client.get("/").get_data(as_text=True))["label"] == "Cumulative realized PnL"
    set_locale(alice, "fr")
    label = pnl_chart(client.get("/").get_data(as_text=True))["label"]
    assert label == "Résultat réalisé cumulé"
