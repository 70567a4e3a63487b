"""Notifications through the API: the outbox, preferences, counts and the webhook endpoint."""

from __future__ import annotations

import pytest

from webapp.events import EventType
from webapp.extensions import db
from webapp.models import NotificationChannel, NotificationStatus
from webapp.notify import outbox, preferences


@pytest.fixture
def rows(alice, bob):
    made = []
    for n in range(5):
        row = outbox.add_notification(alice.id, "bot_error", NotificationChannel.EMAIL, {"n": n})
        made.append(row)
    made[1].status = NotificationStatus.FAILED
    made[1].last_error = "SMTP refused"
    outbox.add_notification(alice.id, "trade_executed", NotificationChannel.WEBHOOK, {})
    outbox.add_notification(bob.id, "bot_error", NotificationChannel.EMAIL, {"bob": True})
    db.session.commit()
    return made


def test_list_filter_and_page(api, rows):
    page = api.get("/api/v1/notifications?limit=4").get_json()
    assert len(page["items"]) == 4 and page["next_cursor"]
    rest = api.get(f"/api/v1/notifications?limit=4&cursor={page['next_cursor']}").get_json()
    ids = [n["id"] for n in page["items"] + rest["items"]]
    assert len(ids) == len(set(ids)) == 6 and rest["next_cursor"] is None
    failed = api.get("/api/v1/notifications?status=failed").get_json()["items"]
    assert [n["id"] for n in failed] == [rows[1].public_id]
    assert failed[0]["last_error"] == "SMTP refused"
    hooks = api.get("/api/v1/notifications?channel=webhook&event_type=trade_executed")
    assert len(hooks.get_json()["items"]) == 1
    bad = api.get("/api/v1/notifications?status=lost&channel=pigeon")
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"status", "channel"}


def test_one_and_send_again(api, rows):
    failed = rows[1]
    body = api.get(f"/api/v1/notifications/{failed.public_id}").get_json()
    assert body["status"] == "failed" and body["label"] == "Bot error (bot stopped)"
    again = api.post(f"/api/v1/notifications/{failed.public_id}/resend")
    assert again.status_code == 200 and again.get_json()["status"] == "pending"
    refused = api.post(f"/api/v1/notifications/{rows[0].public_id}/resend")
    assert refused.status_code == 422
    assert refused.get_json()["detail"] == "Only a failed notification can be sent again."


def test_preferences_read_and_change(api, alice):
    grid = api.get("/api/v1/notifications/preferences").get_json()["items"]
    assert {"event_type": "bot_error", "channel": "email", "enabled": True} in grid
    response = api.put(
        "/api/v1/notifications/preferences",
        json={"items": [{"event_type": "trade_executed", "channel": "email", "enabled": True},
                        {"event_type": "bot_error", "channel": "email", "enabled": False}]},
    )  # fmt: skip
    assert response.status_code == 200
    grid = preferences.grid_for(alice.id)
    assert grid[(EventType.TRADE_EXECUTED, NotificationChannel.EMAIL)] is True
    assert grid[(EventType.BOT_ERROR, NotificationChannel.EMAIL)] is False
    bad = api.put(
        "/api/v1/notifications/preferences",
        json={"items": [{"event_type": "moon", "channel": "email", "enabled": True}]},
    )
    assert bad.status_code == 422 and "items.0.event_type" in bad.get_json()["errors"]


def test_a_webhook_preference_without_an_endpoint_is_refused_and_nothing_is_kept(api, alice):
    before = preferences.grid_for(alice.id)
    refused = api.put(
        "/api/v1/notifications/preferences",
        json={"items": [{"event_type": "trade_executed", "channel": "email", "enabled": True},
                        {"event_type": "bot_error", "channel": "webhook", "enabled": True}]},
    )  # fmt: skip
    assert refused.status_code == 422
    problem = refused.get_json()
    assert problem["code"] == "refused" and "webhook endpoint" in problem["detail"].lower()
    assert preferences.grid_for(alice.id) == before  # the email change went back too


def test_stats_count_only_the_users_own(api, rows):
    stats = api.get("/api/v1/notifications/stats").get_json()
    assert stats["total"] == 6
    assert stats["by_status"] == {"pending": 5, "sent": 0, "failed": 1, "rate_limited": 0}
    assert stats["by_channel"]["webhook"]["pending"] == 1
    assert stats["success_rate"] == 0.0


def test_webhook_create_rotate_delete(app, api):
    app.config["ALLOW_HTTP_WEBHOOKS"] = True
    app.config["WEBHOOK_ALLOWED_HOSTS"] = ["127.0.0.1"]
    refused = api.post("/api/v1/notifications/webhooks", json={"url": "http://10.0.0.1/x"})
    assert refused.status_code == 422 and "url" in refused.get_json()["errors"]
    created = api.post("/api/v1/notifications/webhooks", json={"url": "http://127.0.0.1:9/h"})
    assert created.status_code == 201
    endpoint = created.get_json()
    assert endpoint["secret"].startswith("whsec_")
    listed = api.get("/api/v1/notifications/webhooks").get_json()["items"]
    assert [e["id"] for e in listed] == [endpoint["id"]]
    assert endpoint["secret"] not in str(listed)
    again = api.post("/api/v1/notifications/webhooks", json={"url": "http://127.0.0.1:9/h"})
    assert again.status_code == 409
    rotated = api.post(f"/api/v1/notifications/webhooks/{endpoint['id']}/rotate").get_json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != endpoint["secret"]
    assert rotated["previous_secret_expires_at"]
    assert api.delete(f"/api/v1/notifications/webhooks/{endpoint['id']}").status_code == 200
    assert api.get("/api/v1/notifications/webhooks").get_json()["items"] == []


def test_several_webhook_endpoints_each_with_its_events(app, api, alice):
    app.config["ALLOW_HTTP_WEBHOOKS"] = True
    app.config["WEBHOOK_ALLOWED_HOSTS"] = ["127.0.0.1"]
    hooks = "/api/v1/notifications/webhooks"
    # Without `events`, an endpoint gets the webhook column of the preferences (none yet).
    legacy = api.post(hooks, json={"url": "http://127.0.0.1:9/a"}).get_json()
    assert legacy["events"] == []
    api.put(
        "/api/v1/notifications/preferences",
        json={"items": [{"event_type": "bot_error", "channel": "webhook", "enabled": True}]},
    )
    second = api.post(hooks, json={"url": "http://127.0.0.1:9/b", "events": ["trade_executed"]})
    assert second.status_code == 201 and second.get_json()["events"] == ["trade_executed"]
    listed = api.get(hooks).get_json()["items"]
    assert [(e["url"], e["events"]) for e in listed] == [
        ("http://127.0.0.1:9/a", ["bot_error"]),
        ("http://127.0.0.1:9/b", ["trade_executed"]),
    ]
    b = second.get_json()["id"]
    for body, field in [
        ({"url": "http://127.0.0.1:9/c", "events": []}, "events"),
        ({"url": "http://127.0.0.1:9/c", "events": ["nope"]}, "events.0"),
        ({"url": "http://10.0.0.1/c", "events": ["bot_error"]}, "url"),
        ({"url": "http://127.0.0.1:9/" + "x" * 3000, "events": ["bot_error"]}, "url"),
    ]:
        refused = api.post(hooks, json=body)
        assert refused.status_code == 422, body
        assert field in refused.get_json()["errors"]
    assert api.patch(f"{hooks}/{b}", json={"events": []}).status_code == 422
    assert api.patch(f"{hooks}/{b}", json={"url": "http://127.0.0.1:9/a"}).status_code == 409
    assert len(api.get(hooks).get_json()["items"]) == 2
    changed = api.patch(f"{hooks}/{b}", json={"events": ["bot_error"], "enabled": False})
    assert changed.status_code == 200
    assert changed.get_json()["events"] == ["bot_error"] and not changed.get_json()["enabled"]
    assert api.post(f"{hooks}/{b}/test").status_code == 422  # turned off
    api.patch(f"{hooks}/{b}", json={"enabled": True})
    test = api.post(f"{hooks}/{b}/test")
    assert test.status_code == 201 and test.get_json()["endpoint_id"] == b
    assert api.get(f"{hooks}/{b}").get_json()["url"] == "http://127.0.0.1:9/b"
