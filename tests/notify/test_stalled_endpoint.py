"""A stalled webhook endpoint holds up only its own deliveries: the same user's other
endpoint gets its notification, recorded as sent, while the stalled one still waits."""

from __future__ import annotations

import time

import sqlalchemy as sa
from werkzeug import Response

from tests.notify.support import SAMPLE_DATA, drain, rows_for
from webapp.events import EventType, emit
from webapp.extensions import db
from webapp.models import Notification, NotificationChannel, NotificationStatus
from webapp.notify import endpoints, preferences

pytest_plugins = ["tests.notify.fixtures"]  # fixtures: receiver

TIMEOUT = 4.0


def test_a_stalled_endpoint_does_not_delay_the_users_other_endpoint(
    app, auth, https_server, receiver
):
    app.config["WEBHOOK_TIMEOUT"] = TIMEOUT
    user = auth.create_user()
    preferences.set_preference(user.id, EventType.BOT_ERROR, NotificationChannel.EMAIL, False)
    base = receiver.removesuffix("/hook")
    # The stalled endpoint is the older one, so its row comes first in the user's webhooks.
    stalled, _ = endpoints.create_endpoint(user.id, base + "/stall", ["bot_error"])
    prompt, _ = endpoints.create_endpoint(user.id, base + "/prompt", ["bot_error"])
    db.session.commit()
    stalled_id, prompt_id = stalled.id, prompt.id
    engine = db.engine
    seen: dict[str, object] = {}

    def prompt_status() -> NotificationStatus | None:
        with engine.connect() as conn:
            return conn.scalar(
                sa.select(Notification.status).where(Notification.endpoint_id == prompt_id)
            )

    def stall(_request):
        # Hold the request until the other endpoint's delivery is recorded (or past the
        # client's timeout, when it is not): that is what the user would wait for.
        started = time.monotonic()
        while time.monotonic() - started < TIMEOUT + 1:
            if prompt_status() == NotificationStatus.SENT:
                seen["prompt sent after"] = time.monotonic() - started
                break
            time.sleep(0.05)
        seen["stall released"] = True
        time.sleep(TIMEOUT + 1)  # the client gives up first
        return Response("late", status=200)

    https_server.expect_request("/stall", method="POST").respond_with_handler(stall)
    https_server.expect_request("/prompt", method="POST").respond_with_data("ok")
    emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    db.session.commit()

    started = time.monotonic()
    drain()
    took = time.monotonic() - started

    assert "prompt sent after" in seen, f"the prompt endpoint waited for the stalled one: {seen}"
    assert seen["prompt sent after"] < TIMEOUT / 2
    db.session.expire_all()
    by_endpoint = {
        row.endpoint_id: row
        for row in rows_for(user.id)
        if row.channel == NotificationChannel.WEBHOOK
    }
    assert by_endpoint[prompt_id].status == NotificationStatus.SENT
    stalled_row = by_endpoint[stalled_id]
    assert stalled_row.status == NotificationStatus.PENDING and stalled_row.attempts == 1
    assert "timed out" in (stalled_row.last_error or "")
    assert took < TIMEOUT * 2
