"""Email notifications reach a real SMTP server: one multipart email per event, per template."""

from __future__ import annotations

import pytest

from tests.notify.support import EXPECTED_TEXT, SAMPLE_DATA, drain, rows_for
from tests.support.services import body_text, free_port
from webapp import create_app
from webapp.events import EventType, emit
from webapp.extensions import db
from webapp.models import NotificationChannel, NotificationStatus
from webapp.notify import preferences


@pytest.mark.parametrize("event", list(EventType), ids=lambda e: e.value)
def test_each_event_type_sends_a_multipart_email_with_the_numbers_and_a_link(
    app, auth, smtp_server, event
):
    user = auth.create_user("trader@example.com")
    preferences.set_preference(user.id, event, NotificationChannel.EMAIL, True)
    emit(user.id, event, SAMPLE_DATA[event])
    db.session.commit()

    outcomes = drain()

    assert [o.status for o in outcomes] == ["sent"]
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "trader@example.com"
    assert "multipart/alternative" in [part.get_content_type() for part in message.walk()]
    assert event.label in message["Subject"] or "BUY" in message["Subject"]
    text, html = body_text(message, "plain"), body_text(message, "html")
    link = "http://testserver.local" + SAMPLE_DATA[event]["url"]
    for body in (text, html):
        for expected in EXPECTED_TEXT[event]:
            assert expected in body, (expected, body)
        assert link in body
        assert "http://testserver.local/notifications/" in body
    assert f'href="{link}"' in html
    [row] = rows_for(user.id)
    assert row.status == NotificationStatus.SENT and row.attempts == 1
    assert message["X-Tradebots-Notification"] == row.public_id


def test_defaults_email_errors_and_limits_but_not_routine_trades(app, auth, smtp_server):
    user = auth.create_user()
    for event in EventType:
        emit(user.id, event, SAMPLE_DATA[event])
    db.session.commit()
    drain()

    sent = {row.event_type for row in rows_for(user.id)}
    assert sent == {
        "bot_error",
        "daily_loss_limit_reached",
        "api_key_invalid",
        "stop_loss_triggered",
    }
    assert len(smtp_server.wait_for(4)) == 4


def test_a_disabled_preference_sends_nothing(app, auth, smtp_server):
    user = auth.create_user()
    preferences.set_preference(user.id, EventType.BOT_ERROR, NotificationChannel.EMAIL, False)
    emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    db.session.commit()

    assert drain() == []
    assert rows_for(user.id) == []
    assert smtp_server.messages == []


def test_a_link_to_another_site_is_never_put_into_an_email(app, auth, smtp_server):
    user = auth.create_user()
    data = dict(SAMPLE_DATA[EventType.BOT_ERROR], url="https://evil.example/phish")
    emit(user.id, EventType.BOT_ERROR, data)
    db.session.commit()
    drain()

    [message] = smtp_server.wait_for(1)
    assert "evil.example" not in body_text(message, "html")
    assert 'href="http://testserver.local/"' in body_text(message, "html")


def test_smtp_down_retries_then_fails_with_the_error(app, auth, config_class):
    user = auth.create_user()
    emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    db.session.commit()
    settings = {"MAIL_PORT": free_port(), "NOTIFY_RETRY_DELAYS": "0", "NOTIFY_MAX_ATTEMPTS": 2}
    no_smtp = create_app(type("NoSMTP", (config_class,), settings))

    with no_smtp.app_context():
        statuses = [o.status for o in drain()]

    assert statuses == ["retry", "failed"]
    [row] = rows_for(user.id)
    assert row.status == NotificationStatus.FAILED and row.attempts == 2
    assert row.last_error.startswith("Email could not be sent: ConnectionRefusedError")
