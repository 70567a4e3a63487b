"""Several webhook endpoints per user: each its own events, secret and on/off, through the
page, the delivery workers and the key rotation, against the real HTTPS server on loopback."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from tests.notify.support import SAMPLE_DATA, drain, rows_for
from webapp import crypto
from webapp.events import EventType, emit
from webapp.extensions import db
from webapp.models import AuditEvent, NotificationChannel, NotificationStatus, WebhookEndpoint
from webapp.notify import endpoints, preferences, signing

pytest_plugins = ["tests.notify.fixtures"]  # fixtures: receiver


def htmx(target: str = "webhook-section") -> dict[str, str]:
    return {"HX-Request": "true", "HX-Target": target}


def add(client, url: str, events: list[str]):
    return client.post(
        "/notifications/webhooks", data={"url": url, "events": events}, headers=htmx()
    )


def secret_in(body: str) -> str:
    return re.search(r'data-testid="webhook-secret">(whsec_[^<]+)<', body).group(1)


def received(https_server) -> dict[str, list[tuple[dict, dict]]]:
    """Path -> [(headers, envelope)] of every webhook the server got."""
    got: dict[str, list] = {}
    for request, _response in https_server.log:
        got.setdefault(request.path, []).append((dict(request.headers), request.get_data()))
    return got


def test_each_endpoint_gets_its_own_events_signed_with_its_own_secret(
    client, auth, receiver, https_server
):
    https_server.expect_request(re.compile("/hook/.*"), method="POST").respond_with_data("ok")
    user = auth.register_and_login()
    trades = add(client, receiver + "/trades", ["trade_executed", "bot_error"])
    errors = add(client, receiver + "/errors", ["bot_error"])
    assert trades.status_code == errors.status_code == 200
    trade_secret = secret_in(trades.get_data(as_text=True))
    error_secret = secret_in(errors.get_data(as_text=True))
    assert trade_secret != error_secret and trade_secret not in errors.get_data(as_text=True)
    # The matrix's webhook column shows what any endpoint wants.
    grid = preferences.grid_for(user.id)
    assert grid[(EventType.BOT_ERROR, NotificationChannel.WEBHOOK)]
    assert not grid[(EventType.STOP_LOSS_TRIGGERED, NotificationChannel.WEBHOOK)]

    emit(user.id, EventType.TRADE_EXECUTED, SAMPLE_DATA[EventType.TRADE_EXECUTED])
    emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    emit(user.id, EventType.STOP_LOSS_TRIGGERED, SAMPLE_DATA[EventType.STOP_LOSS_TRIGGERED])
    db.session.commit()
    drain()

    got = received(https_server)
    # One endpoint's deliveries go out concurrently, so they may arrive in either order (each
    # carries its own timestamp and id); what matters is which endpoint got which events.
    kinds = {
        path: sorted(json.loads(body)["type"] for _h, body in hits) for path, hits in got.items()
    }
    assert kinds == {"/hook/trades": ["bot_error", "trade_executed"], "/hook/errors": ["bot_error"]}
    for path, secret in (("/hook/trades", trade_secret), ("/hook/errors", error_secret)):
        for headers, body in got[path]:
            signing.verify(secret, headers, body)
            other = error_secret if secret == trade_secret else trade_secret
            with pytest.raises(signing.WebhookVerificationError):
                signing.verify(other, headers, body)
    # The history says which endpoint each went to.
    page = client.get("/notifications/history").get_data(as_text=True)
    assert page.count(receiver + "/errors</small>") == 1
    assert page.count(receiver + "/trades</small>") == 2
    webhook_rows = [r for r in rows_for(user.id) if r.channel == NotificationChannel.WEBHOOK]
    assert all(r.status == NotificationStatus.SENT for r in webhook_rows)
    assert len({r.endpoint_id for r in webhook_rows}) == 2
    # Each "webhook added" is in the audit log.
    audited = db.session.scalars(
        sa.select(AuditEvent.description).where(
            AuditEvent.user_id == user.id, AuditEvent.action == "webhook_added"
        )
    ).all()
    assert audited == [f"Webhook to 127.0.0.1:{https_server.port} added."] * 2


def test_turn_off_test_and_send_again_work_per_endpoint(
    client, auth, receiver, https_server, fast_retries
):
    for _ in range(3):
        https_server.expect_oneshot_request("/hook/a", method="POST").respond_with_data(
            "no", status=500
        )
    https_server.expect_request(re.compile("/hook/.*"), method="POST").respond_with_data("ok")
    user = auth.register_and_login()
    a, _ = endpoints.create_endpoint(user.id, receiver + "/a", ["bot_error"])
    b, _ = endpoints.create_endpoint(user.id, receiver + "/b", ["bot_error"])
    db.session.commit()

    assert client.post(f"/notifications/webhooks/{b.id}/disable", headers=htmx()).status_code == 200
    emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    db.session.commit()
    drain()
    [row] = [r for r in rows_for(user.id) if r.channel == NotificationChannel.WEBHOOK]
    assert row.endpoint_id == a.id and row.status == NotificationStatus.FAILED  # 3 tries

    response = client.post(f"/notifications/{row.public_id}/resend")
    assert response.status_code == 302
    drain()
    db.session.refresh(row)
    assert row.status == NotificationStatus.SENT and row.endpoint_id == a.id

    # A test to the turned-off endpoint is refused; turned on again, it goes there alone.
    assert "Enable this endpoint first." in client.post(
        f"/notifications/webhooks/{b.id}/test", headers=htmx()
    ).get_data(as_text=True)
    client.post(f"/notifications/webhooks/{b.id}/enable", headers=htmx())
    assert "Test webhook queued" in client.post(
        f"/notifications/webhooks/{b.id}/test", headers=htmx()
    ).get_data(as_text=True)
    drain()
    paths = [request.path for request, _ in https_server.log]
    assert paths == ["/hook/a"] * 4 + ["/hook/b"]
    assert json.loads(https_server.log[-1][0].get_data())["type"] == "test"


LONG = "https://8.8.8.8/" + "é" * 1100  # under 2048 characters, over 2048 bytes


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"url": "https://10.0.0.7/h", "events": ["bot_error"]}, "10.0.0.7 is a private address"),
        ({"url": "http://8.8.8.8/h", "events": ["bot_error"]}, "must use https://"),
        ({"url": "https://8.8.8.8/h"}, "Choose at least one event for this endpoint."),
        ({"url": "https://8.8.8.8/h", "events": ["nope"]}, "not a valid choice"),
        ({"url": "https://8.8.8.8/h\x1bx", "events": ["bot_error"]}, "control characters"),
        ({"url": LONG, "events": ["bot_error"]}, "longer than 2048"),
        ({"url": "https://8.8.8.8/" + "a" * 5000, "events": ["bot_error"]}, "2048"),
        ({"url": "https://8.8.8.8/h", "events": ["bot_error "]}, "not a valid choice"),
    ],
)
def test_bad_input_is_422_on_the_field_and_saves_nothing(client, auth, data, message):
    user = auth.register_and_login()
    response = client.post("/notifications/webhooks", data=data, headers=htmx())
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert body.strip().startswith('<section id="webhook-section">')
    assert message in body
    assert endpoints.endpoints_of(user.id) == []


def test_a_nul_character_is_refused_with_a_message_and_saves_nothing(client, auth):
    user = auth.register_and_login()
    for data in (
        {"url": "https://8.8.8.8/h\x00x", "events": ["bot_error"]},
        {"url": "https://8.8.8.8/h", "events": ["bot_error\x00"]},
    ):
        response = client.post("/notifications/webhooks", data=data, headers=htmx())
        assert response.status_code == 400  # the app-wide guard, before any form sees it
        assert "NUL character" in response.get_data(as_text=True)
    assert endpoints.endpoints_of(user.id) == []


def test_a_duplicate_url_or_an_empty_event_set_on_edit_is_422_and_changes_nothing(
    client, auth, receiver
):
    user = auth.register_and_login()
    _a, _ = endpoints.create_endpoint(user.id, receiver + "/a", ["bot_error"])
    b, _ = endpoints.create_endpoint(user.id, receiver + "/b", ["trade_executed"])
    db.session.commit()
    assert add(client, receiver + "/a", ["bot_error"]).status_code == 422
    for data in ({"url": receiver + "/a", "events": ["bot_error"]}, {"url": receiver + "/c"}):
        response = client.post(f"/notifications/webhooks/{b.id}", data=data, headers=htmx())
        assert response.status_code == 422
        assert f'id="webhook-{b.id}-url' in response.get_data(as_text=True)
    db.session.expire_all()
    assert [(e.url, e.events) for e in endpoints.endpoints_of(user.id)] == [
        (receiver + "/a", ["bot_error"]),
        (receiver + "/b", ["trade_executed"]),
    ]
    ok = client.post(
        f"/notifications/webhooks/{b.id}",
        data={"url": receiver + "/c", "events": ["bot_error", "api_key_invalid"]},
        headers=htmx(),
    )
    assert ok.status_code == 200
    db.session.refresh(b)
    assert (b.url, b.events) == (receiver + "/c", ["api_key_invalid", "bot_error"])


def test_another_users_endpoint_is_404_for_every_action(client, auth, receiver):
    other = auth.create_user("other@example.com")
    theirs, _ = endpoints.create_endpoint(other.id, receiver, ["bot_error"])
    db.session.commit()
    auth.register_and_login()
    for action in ("", "/test", "/disable", "/enable", "/rotate", "/delete"):
        response = client.post(
            f"/notifications/webhooks/{theirs.id}{action}",
            data={"url": receiver + "/x", "events": ["bot_error"]},
        )
        assert response.status_code == 404, action
    db.session.refresh(theirs)
    assert theirs.enabled and theirs.url == receiver


def test_keys_rotate_re_encrypts_every_endpoint(app, auth, runner, receiver, encryption_key):
    user = auth.create_user("rot@example.com")
    secrets = [
        endpoints.create_endpoint(user.id, f"{receiver}/{n}", ["bot_error"])[1] for n in "ab"
    ]
    db.session.commit()
    new_key = Fernet.generate_key().decode()
    app.config["ENCRYPTION_KEY"] = f"{new_key},{encryption_key}"
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 2 webhook endpoint secrets." in result.output
    app.config["ENCRYPTION_KEY"] = new_key
    db.session.expire_all()
    stored = db.session.scalars(sa.select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all()
    assert [crypto.decrypt(e.secret_encrypted) for e in stored] == secrets


def test_the_migration_makes_the_single_endpoint_the_first_one_with_the_users_events(
    config_class, tmp_path
):
    import os

    from flask_migrate import downgrade, upgrade

    from tests.support.database import private_database
    from webapp import create_app
    from webapp.models import Notification, NotificationPreference, User

    with private_database(os.environ.get("TEST_DATABASE_URL"), tmp_path) as url:
        config = type("MigrationConfig", (config_class,), {"SQLALCHEMY_DATABASE_URI": url})
        app = create_app(config)
        with app.app_context():
            upgrade(revision="a1b050bf5046")  # one endpoint per user
            conn = db.session.connection()
            t = sa.table
            c = sa.column
            conn.execute(
                t(
                    "users", c("id"), c("email"), c("password_hash"), c("created_at"), c("is_admin")
                ).insert(),
                [
                    {
                        "id": n,
                        "email": f"u{n}@example.com",
                        "password_hash": "x",
                        "created_at": "2026-01-01 00:00:00",
                        "is_admin": False,
                    }
                    for n in (1, 2)
                ],
            )
            conn.execute(
                t(
                    "webhook_endpoints",
                    c("id"),
                    c("user_id"),
                    c("url"),
                    c("secret_encrypted"),
                    c("enabled"),
                    c("consecutive_failures"),
                    c("created_at"),
                    c("updated_at"),
                ).insert(),
                [
                    {
                        "id": 5,
                        "user_id": 1,
                        "url": "https://8.8.8.8/h",
                        "secret_encrypted": "s",
                        "enabled": True,
                        "consecutive_failures": 0,
                        "created_at": "2026-01-01 00:00:00",
                        "updated_at": "2026-01-01 00:00:00",
                    }
                ],
            )
            prefs = t("notification_preferences", c("user_id"), c("event_type"), c("channel"),
                      c("enabled"), c("updated_at"))  # fmt: skip
            conn.execute(prefs.insert(), [
                {"user_id": u, "event_type": e, "channel": ch, "enabled": on,
                 "updated_at": "2026-01-01 00:00:00"}
                for u, e, ch, on in [
                    (1, "trade_executed", "webhook", True), (1, "bot_error", "webhook", True),
                    (1, "api_key_invalid", "webhook", False), (1, "trade_executed", "email", True),
                    (2, "bot_error", "webhook", True),
                ]
            ])  # fmt: skip
            conn.execute(
                t(
                    "notifications",
                    c("public_id"),
                    c("user_id"),
                    c("event_type"),
                    c("channel"),
                    c("payload"),
                    c("status"),
                    c("attempts"),
                    c("created_at"),
                    c("updated_at"),
                ).insert(),
                [
                    {
                        "public_id": f"msg_{n}",
                        "user_id": 1,
                        "event_type": "bot_error",
                        "channel": ch,
                        "payload": "{}",
                        "status": "sent",
                        "attempts": 1,
                        "created_at": "2026-01-01 00:00:00",
                        "updated_at": "2026-01-01 00:00:00",
                    }
                    for n, ch in ((1, "webhook"), (2, "email"))
                ],
            )
            db.session.commit()

            upgrade()

            [endpoint] = db.session.scalars(sa.select(WebhookEndpoint)).all()
            assert (endpoint.id, endpoint.user_id) == (5, 1)
            assert endpoint.events == ["bot_error", "trade_executed"]
            by_channel = dict(
                db.session.execute(sa.select(Notification.channel, Notification.endpoint_id)).all()
            )
            assert by_channel == {NotificationChannel.WEBHOOK: 5, NotificationChannel.EMAIL: None}
            assert db.session.get(User, 1) is not None
            grid = preferences.grid_for(1)
            assert grid[(EventType.TRADE_EXECUTED, NotificationChannel.WEBHOOK)]
            assert not grid[(EventType.API_KEY_INVALID, NotificationChannel.WEBHOOK)]
            assert not preferences.grid_for(2)[(EventType.BOT_ERROR, NotificationChannel.WEBHOOK)]
            assert (
                db.session.scalar(
                    sa.select(sa.func.count()).where(NotificationPreference.channel == "webhook")
                )
                == 0
            )
            db.session.commit()
            downgrade(revision="a1b050bf5046")
            restored = db.session.execute(
                sa.text("SELECT event_type FROM notification_preferences "
                        "WHERE channel = 'webhook' ORDER BY event_type")
            ).scalars().all()  # fmt: skip
            assert restored == ["bot_error", "trade_executed"]
            db.session.commit()
            db.engine.dispose()
