"""Scopes and ownership: a read token changes nothing, and another user's ids are 404."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.bots.helpers import add_trade, make_bot, make_key
from webapp.extensions import db
from webapp.models import ApiKey, Bot, BotStatus, Notification, NotificationChannel
from webapp.notify import outbox
from webapp.notify.endpoints import create_endpoint

#: Every route that takes an id, with a body that would be valid for the owner.
ID_ROUTES = [
    ("GET", "/api/v1/keys/{key}", None),
    ("DELETE", "/api/v1/keys/{key}", None),
    ("GET", "/api/v1/bots/{bot}", None),
    ("PATCH", "/api/v1/bots/{bot}", {"name": "Taken over"}),
    ("DELETE", "/api/v1/bots/{bot}", None),
    ("POST", "/api/v1/bots/{bot}/start", None),
    ("POST", "/api/v1/bots/{bot}/stop", None),
    ("POST", "/api/v1/bots/{bot}/sell", None),
    ("GET", "/api/v1/bots/{bot}/performance", None),
    ("GET", "/api/v1/bots/{bot}/signals", None),
    ("POST", "/api/v1/bots/{bot}/signals/rotate", None),
    ("GET", "/api/v1/bots/{bot}/orders", None),
    ("GET", "/api/v1/bots/{bot}/deals", None),
    ("GET", "/api/v1/bots/{bot}/grid", None),
    ("GET", "/api/v1/trades?bot={bot}", None),
    ("GET", "/api/v1/trades.csv?bot={bot}", None),
    ("GET", "/api/v1/notifications/{notification}", None),
    ("POST", "/api/v1/notifications/{notification}/resend", None),
    ("DELETE", "/api/v1/notifications/webhooks/{webhook}", None),
    ("POST", "/api/v1/notifications/webhooks/{webhook}/rotate", None),
]


@pytest.fixture
def alices_things(app, alice):
    app.config["ALLOW_HTTP_WEBHOOKS"] = True
    app.config["WEBHOOK_ALLOWED_HOSTS"] = ["127.0.0.1"]
    key = make_key(alice)
    bot = make_bot(alice, key, status=BotStatus.RUNNING, state_position_qty=1)
    add_trade(bot, "buy", "1", "60000")
    row = outbox.add_notification(alice.id, "bot_error", NotificationChannel.EMAIL, {"x": 1})
    row.status = "failed"
    endpoint, _ = create_endpoint(alice.id, "http://127.0.0.1:9/hook")
    db.session.commit()
    return {"key": key.id, "bot": bot.id, "notification": row.public_id, "webhook": endpoint.id}


def snapshot():
    db.session.expire_all()
    return (
        [(b.id, b.name, b.state.status, b.state.position_qty) for b in db.session.scalars(
            sa.select(Bot))],
        list(db.session.scalars(sa.select(ApiKey.id))),
        [(n.public_id, n.status) for n in db.session.scalars(sa.select(Notification))],
    )  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body"), ID_ROUTES)
def test_another_users_token_gets_404_on_every_id_route(bob_api, alices_things, method, path, body):
    before = snapshot()
    response = bob_api.request(method, path.format(**alices_things), json=body)
    assert response.status_code == 404, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    text = response.get_data(as_text=True)
    assert "alice" not in text and "Trend BTC" not in text
    assert snapshot() == before


@pytest.mark.parametrize(("method", "path", "body"), ID_ROUTES)
def test_unknown_and_absurd_ids_are_404(api, alices_things, method, path, body):
    for fake in ("999999", "9" * 30):
        ids = dict.fromkeys(alices_things, fake)
        ids["notification"] = "msg_" + fake
        response = api.request(method, path.format(**ids), json=body)
        assert response.status_code == 404, (path, response.get_data(as_text=True))


def test_a_read_token_cannot_start_a_bot(reader, alice_bot):
    response = reader.post(f"/api/v1/bots/{alice_bot.id}/start")
    assert response.status_code == 403
    problem = response.get_json()
    assert problem["code"] == "insufficient_scope"
    assert problem["type"] == "urn:tradebots:problem:insufficient_scope"
    assert 'scope="trade"' in response.headers["WWW-Authenticate"]
    db.session.expire_all()
    assert db.session.get(Bot, alice_bot.id).state.status == BotStatus.STOPPED
    # ... yet it reads everything
    assert reader.get(f"/api/v1/bots/{alice_bot.id}").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/bots"),
        ("PATCH", "/api/v1/bots/{bot}"),
        ("DELETE", "/api/v1/bots/{bot}"),
        ("POST", "/api/v1/bots/{bot}/stop"),
        ("POST", "/api/v1/bots/{bot}/sell"),
        ("POST", "/api/v1/keys"),
        ("DELETE", "/api/v1/keys/{key}"),
        ("PUT", "/api/v1/notifications/preferences"),
        ("POST", "/api/v1/notifications/webhooks"),
    ],
)
def test_a_read_token_changes_nothing(reader, alices_things, method, path):
    before = snapshot()
    response = reader.request(method, path.format(**alices_things), json={"name": "x"})
    assert response.status_code == 403
    assert response.get_json()["code"] == "insufficient_scope"
    assert snapshot() == before


def test_a_trade_only_token_cannot_read(app, alice):
    from tests.api.conftest import ApiClient, new_token

    trader = ApiClient(app.test_client(), new_token(alice, "trade"))
    assert trader.get("/api/v1/bots").status_code == 403
