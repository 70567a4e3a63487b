"""Batch delivery: many users at once, each user's notifications in order, a lane that must
wait does not hold up the others, and two real unforked workers deliver every row once."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from rq import Queue

from tests.notify.support import SAMPLE_DATA, drain, make_webhook_user, rows_for
from tests.support.processes import start
from webapp.events import EventType, emit
from webapp.extensions import db, redis_ext
from webapp.models import NotificationStatus
from webapp.models.types import utcnow
from webapp.notify import claims, delivery, jobs, settings

pytest_plugins = ["tests.notify.fixtures"]  # fixtures: fast_retries, receiver

TRADE = SAMPLE_DATA[EventType.TRADE_EXECUTED]


def hooked_users(auth, receiver: str, count: int):
    return [
        make_webhook_user(auth, f"{receiver}?user={n}", email=f"user{n}@example.com")
        for n in range(count)
    ]


def raise_trades(users, per_user: int) -> None:
    """Round-robin over the users, one transaction per event (as bot cycles raise them)."""
    for n in range(per_user):
        for user in users:
            emit(user.user_id, EventType.TRADE_EXECUTED, dict(TRADE, bot_name=f"bot-{n}"))
            db.session.commit()


def received_by_user(server) -> dict[str, list[str]]:
    """webhook-ids each user's URL received, in arrival order."""
    received: dict[str, list[str]] = defaultdict(list)
    for request, response in server.log:
        if request.path == "/hook" and response.status_code == 200:
            received[request.args["user"]].append(request.headers["webhook-id"])
    return received


def queued_job_ids() -> list[str]:
    return Queue("notifications", connection=redis_ext.conn).get_job_ids()


def test_one_batch_sends_many_users_at_once_each_in_order(app, auth, https_server, receiver):
    https_server.expect_request("/hook").respond_with_data("ok")
    users = hooked_users(auth, receiver, 4)
    raise_trades(users, 5)

    outcomes = delivery.run_batch()

    assert [o.status for o in outcomes] == ["sent"] * 20  # one claim took all 20
    received = received_by_user(https_server)
    for n, user in enumerate(users):
        expected = [row.public_id for row in rows_for(user.user_id)]  # creation order
        assert received[str(n)] == expected
        assert {row.status for row in rows_for(user.user_id)} == {NotificationStatus.SENT}


def test_a_lane_waiting_for_a_retry_holds_only_its_own_rows(app, auth, https_server, receiver):
    app.config.update(NOTIFY_RETRY_DELAYS="60")
    https_server.expect_oneshot_request("/hook", query_string="user=0").respond_with_data(
        "busy", status=503
    )
    https_server.expect_request("/hook").respond_with_data("ok")
    users = hooked_users(auth, receiver, 2)
    raise_trades(users, 3)
    now = utcnow()

    outcomes = drain(now=now)

    assert sorted(o.status for o in outcomes) == ["retry", "sent", "sent", "sent"] + ["waiting"] * 2
    first, *rest = rows_for(users[0].user_id)
    assert first.next_attempt_at == now + timedelta(seconds=60)
    assert all(row.next_attempt_at == first.next_attempt_at for row in rest)
    assert all(row.attempts == 0 and row.locked_until is None for row in rest)
    assert {row.status for row in rows_for(users[1].user_id)} == {NotificationStatus.SENT}

    drain(now=now + timedelta(seconds=60))

    expected = [row.public_id for row in rows_for(users[0].user_id)]
    assert received_by_user(https_server)["0"] == expected  # still in order after the retry


def test_rows_behind_one_claimed_by_another_worker_wait_for_it(app, auth, https_server, receiver):
    https_server.expect_request("/hook").respond_with_data("ok")
    [user] = hooked_users(auth, receiver, 1)
    raise_trades([user], 3)
    head = rows_for(user.user_id)[0].public_id
    assert claims.claim_one(head, utcnow())  # another worker is sending it

    assert drain() == []

    assert received_by_user(https_server) == {}
    assert [row.attempts for row in rows_for(user.user_id)] == [0, 0, 0]
    # That worker dies; once its claim has expired the lane goes out, in order.
    later = utcnow() + timedelta(seconds=claims.CLAIM_SECONDS + 1)
    assert [o.status for o in drain(now=later)] == ["sent"] * 3
    assert received_by_user(https_server)["0"] == [r.public_id for r in rows_for(user.user_id)]


def test_a_job_run_a_little_early_also_frees_the_rows_behind_its_row(
    app, auth, https_server, receiver
):
    from workers.notifications import deliver

    https_server.expect_request("/hook").respond_with_data("ok")
    [user] = hooked_users(auth, receiver, 1)
    raise_trades([user], 3)
    soon = utcnow() + timedelta(seconds=0.5)  # a retry due in half a second, and its lane
    for row in rows_for(user.user_id):
        row.next_attempt_at = soon
    db.session.commit()
    head = rows_for(user.user_id)[0].public_id

    assert deliver(head) == "sent"  # its job may run before that (clocks differ)

    assert [row.status for row in rows_for(user.user_id)] == [NotificationStatus.SENT] * 3


def test_commits_queue_a_few_jobs_not_one_per_row_and_every_row_still_goes_out(
    app, auth, https_server, receiver, tls_ca_bundle
):
    https_server.expect_request("/hook").respond_with_data("ok")
    users = hooked_users(auth, receiver, 5)
    raise_trades(users, 6)
    assert len(queued_job_ids()) == settings.load().wake_slots  # 30 rows, 4 jobs waiting

    # Two unforked workers at once, as the Procfile's `notifier` runs them.
    env = {"WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "WEBHOOK_CA_BUNDLE": tls_ca_bundle}
    command = [
        "rq", "worker", "--url", app.config["REDIS_URL"], "--burst",
        "--worker-class", "workers.NotifyWorker", "notifications",
    ]  # fmt: skip
    workers = [start(app, *command, **env) for _ in range(2)]
    outputs = [worker.communicate(timeout=60)[0] for worker in workers]

    assert [worker.returncode for worker in workers] == [0, 0], outputs
    received = received_by_user(https_server)
    for n, user in enumerate(users):
        rows = rows_for(user.user_id)
        assert {row.status for row in rows} == {NotificationStatus.SENT}, outputs
        assert received[str(n)] == [row.public_id for row in rows]  # each once, in order


def test_a_job_frees_its_wake_slot_when_it_starts(app, auth, smtp_server):
    from workers.notifications import deliver

    user = auth.create_user()
    for _ in range(jobs.WAKE_SLOTS + 2):
        emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
        db.session.commit()
    queued = Queue("notifications", connection=redis_ext.conn).get_jobs()
    assert len(queued) == jobs.WAKE_SLOTS

    assert deliver(*queued[0].args, **queued[0].kwargs) == "sent"  # it delivered all six

    assert {row.status for row in rows_for(user.id)} == {NotificationStatus.SENT}
    emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    db.session.commit()
    [new] = [job for job in queued_job_ids() if job not in {j.id for j in queued}]
    assert rows_for(user.id)[-1].public_id in new


def test_a_retry_due_in_a_moment_gets_its_own_job_even_with_every_slot_taken(app, auth):
    user = auth.create_user()
    for n in range(jobs.WAKE_SLOTS):
        redis_ext.conn.set(jobs._WAKE_KEY.format(n), "1", ex=60)
    emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    db.session.commit()
    assert queued_job_ids() == []  # due now: the jobs holding the slots will take it
    [row] = rows_for(user.id)

    jobs.schedule([jobs.Wakeup(row.public_id, 1, utcnow() + timedelta(seconds=0.5))])

    [job] = queued_job_ids()  # due later: no waiting job would still be around for it
    assert row.public_id in job
    # And the sweeper wakes workers whatever the slots say.
    Queue("notifications", connection=redis_ext.conn).empty()
    assert jobs.sweep() == 1
    assert len(queued_job_ids()) == 1
