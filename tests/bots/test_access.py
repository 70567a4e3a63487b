"""Every bot and trade route needs a login, and someone else's bot is a 404 everywhere."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.bots.helpers import add_activity, add_trade, make_bot, make_key
from webapp.extensions import db
from webapp.models import Bot, BotStatus, Trade

# (method, path); {id} is a bot id.
ROUTES = [
    ("GET", "/"),
    ("GET", "/bots/"),
    ("GET", "/bots/new"),
    ("POST", "/bots/new"),
    ("GET", "/bots/strategy-fields?strategy=ema_cross"),
    ("GET", "/bots/{id}"),
    ("GET", "/bots/{id}/edit"),
    ("POST", "/bots/{id}/edit"),
    ("GET", "/bots/{id}/strategy-fields?strategy=ema_cross"),
    ("GET", "/bots/{id}/price-chart"),
    ("POST", "/bots/{id}/start"),
    ("POST", "/bots/{id}/stop"),
    ("POST", "/bots/{id}/signal-url"),
    ("POST", "/bots/{id}/delete"),
    ("DELETE", "/bots/{id}"),
    ("GET", "/trades/"),
    ("GET", "/trades/?bot={id}"),
    ("GET", "/trades/export.csv"),
    ("GET", "/trades/export.csv?bot={id}"),
]
BOT_ROUTES = [route for route in ROUTES if "{id}" in route[1]]
EDIT_FORM = {"name": "Hijacked", "symbol": "ETH/USDT", "quote_amount": "1"}


@pytest.fixture
def bobs_bot(bob):
    bot = make_bot(bob, make_key(bob, "Bob key"), "Moonshot Bob", status=BotStatus.RUNNING)
    add_trade(bot, "buy", "0.5", "123.45", at=bot.created_at)
    add_activity(bot, "bob private activity line")
    return bot


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_requires_login(client, bobs_bot, method, path):
    response = client.open(path.format(id=bobs_bot.id), method=method, data=EDIT_FORM)
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]
    assert db.session.get(Bot, bobs_bot.id).state.status == BotStatus.RUNNING


@pytest.mark.parametrize(("method", "path"), BOT_ROUTES)
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_someone_elses_bot_is_not_found_on_every_route(client, alice, bobs_bot, method, path, htmx):
    headers = {"HX-Request": "true", "HX-Target": "bot-status"} if htmx else {}
    response = client.open(
        path.format(id=bobs_bot.id), method=method, data=EDIT_FORM, headers=headers
    )
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    for secret in ("Moonshot Bob", "bob private activity line", "123.45", "Hijacked"):
        assert secret not in body
    # Nothing changed: still running, same name, its trade still there.
    bot = db.session.get(Bot, bobs_bot.id)
    assert bot.name == "Moonshot Bob"
    assert bot.state.status == BotStatus.RUNNING
    assert db.session.scalar(sa.select(sa.func.count(Trade.id))) == 1


@pytest.mark.parametrize("path", ["/bots/{id}", "/bots/{id}/edit", "/trades/?bot={id}"])
def test_a_bot_that_does_not_exist_looks_the_same(client, alice, bobs_bot, path):
    assert client.get(path.format(id=bobs_bot.id + 1000)).status_code == 404


def test_lists_and_dashboard_show_nothing_of_another_user(client, alice, bobs_bot):
    for path in ("/", "/bots/", "/trades/", "/trades/export.csv"):
        response = client.get(path)
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert "Moonshot Bob" not in body
        assert "123.45" not in body


def test_the_owner_reaches_every_bot_route(client, other_client, bobs_bot):
    """The same routes answer the owner (so the 404s above are about ownership)."""
    for method, path in BOT_ROUTES:
        if method in {"POST", "DELETE"}:
            continue
        response = other_client.open(path.format(id=bobs_bot.id), method=method)
        assert response.status_code == 200, path
        expected = {"strategy-fields": "param_fast", "price-chart": "price-chart"}.get(
            path.split("?")[0].rsplit("/", 1)[-1], "Moonshot Bob"
        )
        assert expected in response.get_data(as_text=True), path
