"""With Redis down (market data cache, bot locks) the bot pages degrade with a message instead
of failing with a server error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis import Redis

from tests.bots.conftest import htmx
from tests.bots.helpers import make_bot
from tests.bots.test_bot_form import form_data
from tests.support.services import RedisServer
from webapp.engine import marketdata
from webapp.extensions import db
from webapp.models import Bot


@pytest.fixture
def redis_down(app, sim_key, tmp_path) -> Iterator[None]:
    """The app's Redis swapped for a private one that is then stopped (logged in already), in
    a process that has not read the markets yet (an earlier test may have, within the minute
    a process keeps them)."""
    marketdata.forget_local()
    server = RedisServer(tmp_path).start()
    shared = app.extensions["redis"]
    app.extensions["redis"] = Redis.from_url(server.url, socket_connect_timeout=1, socket_timeout=1)
    server.stop()
    try:
        yield
    finally:
        app.extensions["redis"] = shared


def test_the_bot_form_and_edit_work_without_the_market_cache(client, sim_key, alice, redis_down):
    response = client.get("/bots/new")
    assert response.status_code == 200
    assert 'name="symbol"' in response.get_data(as_text=True)

    # A new symbol cannot be checked: the field says so, nothing is saved.
    response = client.post("/bots/new", data=form_data(sim_key), headers=htmx("bot-form"))
    assert response.status_code == 422
    assert "could not be reached to check this symbol" in response.get_data(as_text=True)

    bot = make_bot(alice, sim_key)
    assert client.get(f"/bots/{bot.id}/edit").status_code == 200
    # The bot's own, already checked symbol can stay while other settings change.
    data = form_data(sim_key, name="Renamed", strategy="threshold")
    data.update(param_buy_below="50000", param_sell_above="60000", symbol=bot.symbol)
    response = client.post(f"/bots/{bot.id}/edit", data=data, headers=htmx("bot-form"))
    assert response.status_code == 200, response.get_data(as_text=True)
    db.session.refresh(bot)
    assert bot.name == "Renamed"


def test_the_price_chart_and_delete_say_what_is_wrong(client, sim_key, alice, redis_down):
    bot = make_bot(alice, sim_key)
    response = client.get(f"/bots/{bot.id}/price-chart")
    assert response.status_code == 200
    assert "Market data is briefly unavailable" in response.get_data(as_text=True)

    response = client.post(f"/bots/{bot.id}/delete", headers=htmx("bot-status"))
    assert response.status_code == 409
    assert "briefly unavailable; nothing was changed" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Bot, bot.id) is not None


def test_the_bot_page_and_the_dashboard_draw_their_charts_without_the_cache(
    client, sim_key, alice, redis_down
):
    from tests.bots.helpers import add_trade
    from tests.bots.test_pnl_charts import pnl_chart

    bot = make_bot(alice, sim_key)
    add_trade(bot, "sell", "0.01", "61000", pnl="5")
    for path in (f"/bots/{bot.id}", "/"):
        response = client.get(path)
        assert response.status_code == 200
        assert pnl_chart(response.get_data(as_text=True))["y"] == [0.0, 5.0]
