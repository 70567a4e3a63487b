"""The API's view of signal webhooks: a script reads the bot's secret URL and its signals,
rotates the URL, and the old one stops working."""

from __future__ import annotations

from tests.bots.helpers import make_bot
from webapp.extensions import db
from webapp.models import BotStatus
from webapp.signals import service as signals


def test_a_script_reads_and_rotates_the_signal_url(api, reader, alice, alice_key, client):
    bot = make_bot(alice, alice_key, "Alerts", status=BotStatus.RUNNING, strategy="signal")
    bot.params = {}
    signals.ensure_token(bot)
    db.session.commit()

    listing = reader.get(f"/api/v1/bots/{bot.id}/signals")
    assert listing.status_code == 200
    url = listing.json["url"]
    assert url.startswith("http://localhost/signals/") and listing.json["items"] == []
    assert listing.json["actions"] == ["buy", "sell", "close"]
    path = url.removeprefix("http://localhost")
    sent = client.post(path, data='{"action": "buy"}', csrf=False)
    assert sent.status_code == 202

    (item,) = reader.get(f"/api/v1/bots/{bot.id}/signals").json["items"]
    assert item["action"] == "buy" and item["status"] == "pending"
    assert item["body"] == '{"action": "buy"}' and item["outcome"] is None

    assert reader.post(f"/api/v1/bots/{bot.id}/signals/rotate").status_code == 403
    rotated = api.post(f"/api/v1/bots/{bot.id}/signals/rotate")
    assert rotated.status_code == 200 and rotated.json["url"] != url
    assert client.post(path, data='{"action": "buy"}', csrf=False).status_code == 404
    assert len(rotated.json["items"]) == 1


def test_a_bot_without_signals_has_no_url_and_cannot_rotate(api, alice, alice_key):
    bot = make_bot(alice, alice_key, "Trend")
    listing = api.get(f"/api/v1/bots/{bot.id}/signals")
    assert listing.status_code == 200
    assert listing.json == {"url": None, "actions": [], "items": []}
    refused = api.post(f"/api/v1/bots/{bot.id}/signals/rotate")
    assert refused.status_code == 409 and "takes no signals" in refused.json["detail"]
