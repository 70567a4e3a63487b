"""An endpoint waiting for a retry holds back only its own later webhooks: the same user's other
endpoint gets its events at once, in the next batch, while the failing one keeps its order
behind its retry; the history and "send now" say which notification waits and why."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.notify.support import SAMPLE_DATA, drain, rows_for
from webapp.events import EventType, emit
from webapp.extensions import db
from webapp.models import NotificationChannel, NotificationStatus
from webapp.models.types import utcnow
from webapp.notify import delivery, endpoints

pytest_plugins = ["tests.notify.fixtures"]  # fixtures: receiver

TRADE = SAMPLE_DATA[EventType.TRADE_EXECUTED]
RETRY = 60


def two_endpoints(app, auth, https_server, receiver):
    """A user with endpoint A (older; answers 500 once, then 200) and endpoint B (200)."""
    app.config.update(NOTIFY_RETRY_DELAYS=str(RETRY), NOTIFY_MAX_ATTEMPTS=3)
    user = auth.create_user()
    base = receiver.removesuffix("/hook")
    a, _ = endpoints.create_endpoint(user.id, base + "/a", ["trade_executed"])
    b, _ = endpoints.create_endpoint(user.id, base + "/b", ["trade_executed"])
    db.session.commit()
    https_server.expect_oneshot_request("/a", method="POST").respond_with_data("down", status=500)
    https_server.expect_request("/a", method="POST").respond_with_data("ok")
    https_server.expect_request("/b", method="POST").respond_with_data("ok")
    return user.id, a.id, b.id


def trade(user_id: int, n: int) -> None:
    emit(user_id, EventType.TRADE_EXECUTED, dict(TRADE, bot_name=f"bot-{n}"))
    db.session.commit()


def webhook_rows(user_id: int, endpoint_id: int):
    return [
        row
        for row in rows_for(user_id)
        if row.channel == NotificationChannel.WEBHOOK and row.endpoint_id == endpoint_id
    ]


def received(server, path: str) -> list[str]:
    """webhook-ids that reached `path`, in arrival order (with the answer's status)."""
    return [
        (request.headers["webhook-id"], response.status_code)
        for request, response in server.log
        if request.path == path
    ]


def history_row(client, public_id: str) -> str:
    page = client.get("/notifications/history").get_data(as_text=True)
    match = re.search(rf'<tr id="notification-{public_id}".*?</tr>', page, re.S)
    assert match is not None, f"{public_id} not in the history"
    return match.group(0)


def test_a_retrying_endpoint_does_not_hold_back_the_users_other_endpoint(
    app, client, auth, https_server, receiver
):
    user_id, a_id, b_id = two_endpoints(app, auth, https_server, receiver)
    trade(user_id, 1)
    t0 = utcnow()

    drain(now=t0)  # A's first row goes into retry backoff, B's is sent

    [a1] = webhook_rows(user_id, a_id)
    assert a1.status == NotificationStatus.PENDING
    assert a1.next_attempt_at == t0 + timedelta(seconds=RETRY)
    trade(user_id, 2)
    trade(user_id, 3)
    # The next batch, long before A's retry. Rows are due from when they were written, so
    # the clock is read after the trades (the first drain may take over a second).
    t1 = utcnow()
    assert t1 < t0 + timedelta(seconds=RETRY)

    outcomes = drain(now=t1)

    b_rows = webhook_rows(user_id, b_id)
    assert [o.status for o in outcomes] == ["sent", "sent"]
    assert [row.status for row in b_rows] == [NotificationStatus.SENT] * 3
    assert received(https_server, "/b") == [(row.public_id, 200) for row in b_rows]
    a_rows = webhook_rows(user_id, a_id)
    assert [row.status for row in a_rows] == [NotificationStatus.PENDING] * 3
    assert received(https_server, "/a") == [(a1.public_id, 500)]  # A's later rows wait
    assert [row.attempts for row in a_rows] == [1, 0, 0]
    # Asked to send A's second row now, delivery says it waits for A's first.
    outcome = delivery.deliver(a_rows[1].public_id, now=t1)
    assert (outcome.status, outcome.detail) == ("waiting", "an older notification goes first")
    assert received(https_server, "/a") == [(a1.public_id, 500)]
    auth.login()
    assert "sent" in history_row(client, b_rows[-1].public_id)
    assert "next try" in history_row(client, a1.public_id)

    drain(now=t0 + timedelta(seconds=RETRY))  # A's retry is due: A's rows go out in order

    a_rows = webhook_rows(user_id, a_id)
    assert [row.status for row in a_rows] == [NotificationStatus.SENT] * 3
    assert received(https_server, "/a") == [(a1.public_id, 500)] + [
        (row.public_id, 200) for row in a_rows
    ]
    assert len(received(https_server, "/b")) == 3  # nothing sent twice


def test_a_retry_postpones_only_its_own_endpoints_later_rows(
    app, client, auth, https_server, receiver
):
    # Two rows per batch: one lane per batch, so the lane stopped by A's retry has later rows
    # of both endpoints outside its batch, which the retry postpones (or not).
    app.config.update(NOTIFY_BATCH_SIZE=2)
    user_id, a_id, b_id = two_endpoints(app, auth, https_server, receiver)
    trade(user_id, 1)
    trade(user_id, 2)
    trade(user_id, 3)
    t0 = utcnow()
    due_again = t0 + timedelta(seconds=RETRY)

    drain(now=t0)

    a_rows, b_rows = webhook_rows(user_id, a_id), webhook_rows(user_id, b_id)
    assert [row.status for row in b_rows] == [NotificationStatus.SENT] * 3
    assert all(row.next_attempt_at is None for row in b_rows)
    assert received(https_server, "/b") == [(row.public_id, 200) for row in b_rows]
    assert [row.status for row in a_rows] == [NotificationStatus.PENDING] * 3
    assert [row.next_attempt_at for row in a_rows] == [due_again] * 3
    assert [row.attempts for row in a_rows] == [1, 0, 0]
    # The last of A's rows was postponed without being in a batch: asked to send it now,
    # delivery names the row it waits for, not merely "not due yet".
    outcome = delivery.deliver(a_rows[2].public_id, now=t0 + timedelta(seconds=1))
    assert (outcome.status, outcome.detail) == ("waiting", "an older notification goes first")
    assert outcome.next_at == due_again
    auth.login()
    assert "waits until" in history_row(client, a_rows[2].public_id)
    assert "waits until" not in history_row(client, b_rows[2].public_id)

    drain(now=due_again)

    a_rows = webhook_rows(user_id, a_id)
    assert [row.status for row in a_rows] == [NotificationStatus.SENT] * 3
    assert received(https_server, "/a") == [(a_rows[0].public_id, 500)] + [
        (row.public_id, 200) for row in a_rows
    ]


def test_send_a_test_reaches_the_other_endpoint_and_says_why_the_retrying_one_waits(
    app, runner, auth, smtp_server, https_server, receiver
):
    app.config.update(NOTIFY_RETRY_DELAYS=str(RETRY), NOTIFY_MAX_ATTEMPTS=3)
    user = auth.create_user("ops@example.com")
    base = receiver.removesuffix("/hook")
    a, _ = endpoints.create_endpoint(user.id, base + "/a", ["bot_error"])
    b, _ = endpoints.create_endpoint(user.id, base + "/b", ["bot_error"])
    db.session.commit()
    user_id, a_id, b_id = user.id, a.id, b.id
    https_server.expect_request("/a", method="POST").respond_with_data("down", status=500)
    https_server.expect_request("/b", method="POST").respond_with_data("ok")
    emit(user_id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    db.session.commit()
    drain()  # the alarm reached B; A's copy waits for its retry in a minute
    assert [r.status for r in webhook_rows(user_id, a_id)] == [NotificationStatus.PENDING]

    result = runner.invoke(args=["notifications", "test", "ops@example.com"])

    a_test = webhook_rows(user_id, a_id)[-1]
    b_test = webhook_rows(user_id, b_id)[-1]
    assert (a_test.event_type, b_test.event_type) == ("test", "test")
    assert f"webhook: sent ({b_test.public_id})" in result.output
    assert (
        f"webhook: waiting ({a_test.public_id}): an older notification goes first" in result.output
    )
    assert result.exit_code == 1  # not everything went out, and the command says so
    assert b_test.status == NotificationStatus.SENT
    assert a_test.status == NotificationStatus.PENDING and a_test.attempts == 0
    assert [path for path in ("/a", "/b") for _ in received(https_server, path)] == [
        "/a",
        "/b",
        "/b",
    ]
