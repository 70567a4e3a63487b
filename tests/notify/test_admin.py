"""/admin/notifications: figures, connection tests, scheduler status, process pending now."""

from __future__ import annotations

import pytest
from rq import Queue

from tests.notify.support import rows_for
from tests.support.services import free_port
from webapp import create_app, scheduling
from webapp.extensions import db, redis_ext
from webapp.models import NotificationChannel, NotificationStatus
from webapp.notify import outbox, status

PAGES = [
    ("GET", "/admin/notifications"),
    ("POST", "/admin/notifications/check/smtp"),
    ("POST", "/admin/notifications/process"),
]


@pytest.mark.parametrize(("method", "path"), PAGES)
def test_non_admins_get_403(client, auth, method, path):
    auth.register_and_login("user@example.com")
    assert client.open(path, method=method).status_code == 403


@pytest.mark.parametrize(("method", "path"), PAGES)
def test_anonymous_users_are_sent_to_log_in(client, method, path):
    response = client.open(path, method=method)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def add_rows(user_id: int, statuses: list[NotificationStatus], channel, kind="bot_error"):
    for wanted in statuses:
        row = outbox.add_notification(user_id, kind, channel, {})
        row.status = wanted
    db.session.commit()


def test_counts_by_status_channel_and_type_with_the_success_rate(client, auth):
    admin = auth.register_and_login("boss@example.com", admin=True)
    sent, failed, pending = NotificationStatus.SENT, NotificationStatus.FAILED, "pending"
    add_rows(admin.id, [sent, sent, sent, failed], NotificationChannel.EMAIL)
    add_rows(admin.id, [pending], NotificationChannel.WEBHOOK, kind="trade_executed")

    page = client.get("/admin/notifications").get_data(as_text=True)

    assert 'data-testid="count-total">5<' in page
    assert 'data-testid="count-sent">3<' in page
    assert 'data-testid="count-failed">1<' in page
    assert 'data-testid="count-pending">1<' in page
    assert 'data-testid="success-rate">75.0 %<' in page
    assert "Bot error (bot stopped)" in page and "Trade executed" in page
    assert 'href="/admin/notifications"' in client.get("/admin/").get_data(as_text=True)


@pytest.mark.parametrize("service", ["smtp", "redis", "database"])
def test_connection_checks_report_ok_against_the_real_services(client, auth, service):
    auth.register_and_login("boss@example.com", admin=True)
    response = client.post(f"/admin/notifications/check/{service}", headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert f'id="check-{service}"' in body and "OK" in body and "badge-ok" in body


def test_the_smtp_check_reports_a_refused_connection(app, config_class):
    no_smtp = create_app(type("NoSMTP", (config_class,), {"MAIL_PORT": free_port()}))
    with no_smtp.app_context():
        result = status.check_smtp()
        db.engine.dispose()
    assert not result.ok
    assert result.error.startswith("ConnectionRefusedError")


def test_scheduler_jobs_with_next_run_are_listed(client, auth):
    auth.register_and_login("boss@example.com", admin=True)
    page = client.get("/admin/notifications").get_data(as_text=True)
    assert "No periodic jobs scheduled" in page
    scheduling.sync_schedule(redis_ext.conn)
    page = client.get("/admin/notifications").get_data(as_text=True)
    assert "periodic-notifications-sweep" in page
    assert "workers.notifications.sweep" in page
    assert " UTC" in page


def test_process_pending_now_enqueues_due_rows_without_a_job(client, auth):
    admin = auth.register_and_login("boss@example.com", admin=True)
    add_rows(admin.id, ["pending", "pending"], NotificationChannel.EMAIL)
    queue = Queue("notifications", connection=redis_ext.conn)
    queue.empty()  # as if Redis lost them

    response = client.post(
        "/admin/notifications/process",
        headers={"HX-Request": "true", "HX-Target": "notify-process"},
    )

    body = response.get_data(as_text=True)
    assert "Enqueued 2 due notifications." in body
    assert body.strip().startswith('<section id="notify-process">')
    ids = {row.public_id for row in rows_for(admin.id)}
    assert {job.split("-")[1] for job in queue.get_job_ids()} == ids
