"""The outbox: rows live and die with the caller's transaction, jobs follow the commit, the
sweeper recovers from a Redis outage, and a delivery runs once however often it is queued."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from rq import Queue

from tests.notify.support import SAMPLE_DATA, make_webhook_user, rows_for
from tests.support.processes import run
from tests.support.services import RedisServer
from webapp import create_app
from webapp.events import EventType, emit
from webapp.extensions import db, redis_ext
from webapp.models import Notification, NotificationStatus
from webapp.models.types import utcnow
from webapp.notify import claims, delivery, jobs

pytest_plugins = ["tests.notify.fixtures"]  # fixtures: fast_retries, receiver

BOT_ERROR = SAMPLE_DATA[EventType.BOT_ERROR]


def queued_job_ids() -> list[str]:
    return Queue("notifications", connection=redis_ext.conn).get_job_ids()


def burst_worker(app, **env):
    return run(
        app, "rq", "worker", "--url", app.config["REDIS_URL"], "--burst",
        "--worker-class", "workers.AppWorker", "notifications", **env,
    )  # fmt: skip


def test_rows_are_written_in_the_callers_transaction_and_vanish_with_a_rollback(app, auth):
    user = auth.create_user()
    emit(user.id, EventType.BOT_ERROR, BOT_ERROR)
    assert db.session.query(Notification).count() == 1  # visible to the caller, not committed
    assert queued_job_ids() == []  # no job before the commit: a worker could not find the row

    db.session.rollback()

    assert rows_for(user.id) == []
    db.session.commit()
    assert queued_job_ids() == []


def test_commit_enqueues_one_job_per_row_and_the_sweeper_adds_no_duplicate(app, auth):
    user = auth.create_user()
    emit(user.id, EventType.BOT_ERROR, BOT_ERROR)
    emit(user.id, EventType.API_KEY_INVALID, SAMPLE_DATA[EventType.API_KEY_INVALID])
    db.session.commit()

    rows = rows_for(user.id)
    job_ids = queued_job_ids()
    assert len(job_ids) == 2
    assert all(any(row.public_id in job for job in job_ids) for row in rows)
    assert jobs.sweep() == 0
    assert len(queued_job_ids()) == 2


def test_decimal_numbers_in_event_data_are_kept_exactly(app, auth):
    user = auth.create_user()
    emit(user.id, EventType.BOT_ERROR, {"bot_name": "x", "loss": Decimal("-0.123456789012")})
    db.session.commit()
    [row] = rows_for(user.id)
    assert row.payload["loss"] == "-0.123456789012"


def test_a_notification_is_delivered_once_however_often_its_job_runs(app, auth, smtp_server):
    user = auth.create_user()
    emit(user.id, EventType.BOT_ERROR, BOT_ERROR)
    db.session.commit()
    [row] = rows_for(user.id)

    assert delivery.deliver(row.public_id).status == "sent"
    assert delivery.deliver(row.public_id).status == "skipped"
    assert len(smtp_server.wait_for(1)) == 1


def test_a_row_claimed_by_another_worker_is_left_alone(app, auth, smtp_server):
    user = auth.create_user()
    emit(user.id, EventType.BOT_ERROR, BOT_ERROR)
    db.session.commit()
    [row] = rows_for(user.id)
    public_id = row.public_id
    assert claims.claim_one(public_id, utcnow())  # another worker holds it

    assert delivery.deliver(public_id).status == "skipped"
    assert smtp_server.messages == []
    # That worker died: its job is gone, and once the claim expires the sweeper hands the
    # row out again.
    Queue("notifications", connection=redis_ext.conn).empty()
    assert jobs.sweep() == 0
    later = utcnow() + timedelta(seconds=claims.CLAIM_SECONDS + 1)
    assert jobs.sweep(now=later) == 1


def test_events_raised_while_redis_is_down_are_delivered_after_it_returns(
    app, auth, config_class, smtp_server, tmp_path
):
    own_redis = RedisServer(tmp_path).start()
    try:
        settings = {"REDIS_URL": own_redis.url}
        outage_app = create_app(type("OwnRedis", (config_class,), settings))
        with outage_app.app_context():
            user = auth.create_user()
            own_redis.stop()

            emit(user.id, EventType.BOT_ERROR, BOT_ERROR)
            emit(user.id, EventType.API_KEY_INVALID, SAMPLE_DATA[EventType.API_KEY_INVALID])
            db.session.commit()  # succeeds although the jobs cannot be enqueued

            rows = rows_for(user.id)
            assert [row.status for row in rows] == [NotificationStatus.PENDING] * 2
            assert jobs.sweep() == 0  # still down: nothing lost, nothing raised

            own_redis.start()  # empty: it kept nothing
            assert jobs.sweep() == 2
            result = burst_worker(outage_app)
            assert result.returncode == 0, result.stdout + result.stderr

            rows = rows_for(user.id)
            assert [row.status for row in rows] == [NotificationStatus.SENT] * 2
            subjects = sorted(message["Subject"] for message in smtp_server.wait_for(2))
            assert len(subjects) == 2
            assert "API key rejected" in subjects[0] and "Bot error" in subjects[1]
            db.session.remove()
            db.engine.dispose()
    finally:
        own_redis.stop()


def test_a_real_worker_retries_a_failed_webhook_and_sends_it_once(
    app, auth, https_server, receiver, tls_ca_bundle
):
    https_server.expect_oneshot_request("/hook").respond_with_data("boom", status=500)
    https_server.expect_request("/hook").respond_with_data("ok")
    hooked = make_webhook_user(auth, receiver)
    emit(hooked.user_id, EventType.TRADE_EXECUTED, SAMPLE_DATA[EventType.TRADE_EXECUTED])
    db.session.commit()
    assert len(queued_job_ids()) == 1

    result = burst_worker(
        app,
        NOTIFY_RETRY_DELAYS="0,0,0",
        WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
        WEBHOOK_CA_BUNDLE=tls_ca_bundle,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    [row] = rows_for(hooked.user_id)
    assert row.status == NotificationStatus.SENT, result.stderr
    assert row.attempts == 2
    requests = [r for r, _ in https_server.log if r.path == "/hook"]
    assert [r.headers["webhook-id"] for r in requests] == [row.public_id] * 2


def test_the_sweeper_and_cleanup_are_periodic_jobs_on_the_notifications_queue():
    from webapp.scheduling import PERIODIC_JOBS

    jobs = {job.func: job for job in PERIODIC_JOBS}
    sweep = jobs["workers.notifications.sweep"]
    assert sweep.queue == "notifications" and sweep.interval <= 60
    cleanup = jobs["workers.notifications.cleanup"]
    assert cleanup.queue == "notifications" and cleanup.interval == 24 * 60 * 60


def test_a_worker_job_carries_on_with_the_rows_that_waited_for_it(app, auth, smtp_server):
    from workers.notifications import deliver

    user = auth.create_user()
    for _ in range(3):
        emit(user.id, EventType.BOT_ERROR, BOT_ERROR)
    db.session.commit()
    first = rows_for(user.id)[0].public_id

    assert deliver(first) == "sent"

    assert [row.status for row in rows_for(user.id)] == [NotificationStatus.SENT] * 3
    assert len(smtp_server.wait_for(3)) == 3
    # The jobs queued for the other two find nothing left to do.
    assert [delivery.deliver(row.public_id).status for row in rows_for(user.id)] == ["skipped"] * 3
