"""`flask notifications cleanup | sweep | test EMAIL`."""

from __future__ import annotations

from datetime import timedelta

from tests.notify.support import make_webhook_user, rows_for
from webapp.extensions import db
from webapp.models import Notification, NotificationChannel, NotificationStatus
from webapp.models.types import utcnow
from webapp.notify import outbox, signing

pytest_plugins = ["tests.notify.fixtures"]  # fast_retries, receiver


def aged(user_id: int, status: NotificationStatus, days: float) -> str:
    when = utcnow() - timedelta(days=days)
    row = outbox.add_notification(user_id, "bot_error", NotificationChannel.EMAIL, {}, now=when)
    row.status = status
    if status == NotificationStatus.SENT:
        row.sent_at = when
    db.session.commit()
    return row.public_id


def test_cleanup_deletes_old_sent_and_failed_rows_and_prints_counts(app, runner, auth):
    user = auth.create_user()
    keep = {
        aged(user.id, NotificationStatus.SENT, 29),
        aged(user.id, NotificationStatus.FAILED, 6),
        aged(user.id, NotificationStatus.PENDING, 90),  # never deleted: not delivered yet
    }
    aged(user.id, NotificationStatus.SENT, 31)
    aged(user.id, NotificationStatus.SENT, 45)
    aged(user.id, NotificationStatus.FAILED, 8)

    result = runner.invoke(args=["notifications", "cleanup"])

    assert result.exit_code == 0, result.output
    assert "Deleted 2 sent and 1 failed notification(s)." in result.output
    assert {row.public_id for row in rows_for(user.id)} == keep


def test_cleanup_ages_are_configurable(app, runner, auth):
    app.config.update(NOTIFY_KEEP_SENT_DAYS=1, NOTIFY_KEEP_FAILED_DAYS=1)
    user = auth.create_user()
    aged(user.id, NotificationStatus.SENT, 2)
    aged(user.id, NotificationStatus.FAILED, 2)
    result = runner.invoke(args=["notifications", "cleanup"])
    assert "Deleted 1 sent and 1 failed notification(s)." in result.output
    assert rows_for(user.id) == []


def test_cleanup_job_runs_the_same(app, auth):
    from workers.notifications import cleanup

    user = auth.create_user()
    aged(user.id, NotificationStatus.SENT, 31)
    assert cleanup() == {"sent": 1, "failed": 0}


def test_sweep_command(app, runner, auth):
    user = auth.create_user()
    outbox.add_notification(user.id, "bot_error", NotificationChannel.EMAIL, {})
    db.session.commit()
    from rq import Queue

    from webapp.extensions import redis_ext

    Queue("notifications", connection=redis_ext.conn).empty()
    result = runner.invoke(args=["notifications", "sweep"])
    assert "Enqueued 1 due notification(s)." in result.output


def test_test_command_sends_through_every_enabled_channel(
    app, runner, auth, smtp_server, https_server, receiver
):
    https_server.expect_request("/hook").respond_with_data("ok")
    hooked = make_webhook_user(auth, receiver, email="ops@example.com")

    result = runner.invoke(args=["notifications", "test", "OPS@example.com"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("email: sent (msg_")
    assert lines[1].startswith("webhook: sent (msg_")
    assert smtp_server.wait_for(1)[0]["To"] == "ops@example.com"
    [(request, _)] = [(r, s) for r, s in https_server.log if r.path == "/hook"]
    signing.verify(hooked.secret, request.headers, request.get_data())
    kinds = {
        (row.event_type, row.channel.value, row.status.value) for row in rows_for(hooked.user_id)
    }
    assert kinds == {("test", "email", "sent"), ("test", "webhook", "sent")}


def test_test_command_reports_a_failure_and_exits_non_zero(
    app, runner, auth, https_server, receiver
):
    app.config.update(NOTIFY_MAX_ATTEMPTS=1)
    https_server.expect_request("/hook").respond_with_data("nope", status=403)
    make_webhook_user(auth, receiver, email="ops@example.com")

    result = runner.invoke(args=["notifications", "test", "ops@example.com"])

    assert result.exit_code == 1
    assert "webhook: failed" in result.output and "HTTP 403 Forbidden: nope" in result.output


def test_test_command_for_an_unknown_user(app, runner):
    result = runner.invoke(args=["notifications", "test", "ghost@example.com"])
    assert result.exit_code == 1
    assert "No user with the email ghost@example.com." in result.output
    assert db.session.query(Notification).count() == 0
