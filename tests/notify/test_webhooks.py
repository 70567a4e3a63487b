"""Webhooks to a real HTTPS server on loopback: signed, retried, rate-limited by the receiver,
refused for private addresses, disabled on 410, and verifiable across a secret rotation."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from werkzeug import Response

from tests.notify.support import SAMPLE_DATA, drain, make_webhook_user, rows_for
from tests.support.services import body_text
from webapp.events import EventType, emit
from webapp.extensions import db
from webapp.models import NotificationStatus, WebhookEndpoint
from webapp.models.types import utcnow
from webapp.notify import endpoints, signing
from webapp.notify.signing import WebhookVerificationError

pytest_plugins = ["tests.notify.fixtures"]  # fixtures: fast_retries, receiver

TRADE = SAMPLE_DATA[EventType.TRADE_EXECUTED]


def webhook_requests(server):
    # Only ours: a slow request left over from another test may still be logged.
    return [request for request, _response in server.log if request.path == "/hook"]


def test_the_receiver_gets_a_signed_envelope_that_verifies_with_the_secret(
    app, auth, https_server, receiver
):
    https_server.expect_request("/hook", method="POST").respond_with_data("ok")
    hooked = make_webhook_user(auth, receiver)
    emit(hooked.user_id, EventType.TRADE_EXECUTED, TRADE)
    db.session.commit()

    assert [o.status for o in drain()] == ["sent"]

    [request] = webhook_requests(https_server)
    body = request.get_data()
    signing.verify(hooked.secret, request.headers, body)  # raises if not signed by it
    with pytest.raises(WebhookVerificationError):
        signing.verify(signing.generate_secret(), request.headers, body)
    envelope = json.loads(body)
    assert envelope["type"] == "trade_executed"
    assert envelope["data"] == TRADE
    assert envelope["timestamp"].endswith("Z")
    [row] = rows_for(hooked.user_id)
    assert request.headers["webhook-id"] == row.public_id
    assert request.headers["content-type"] == "application/json"
    assert row.status == NotificationStatus.SENT and row.last_status_code == 200


def test_a_500_then_a_200_is_two_attempts_and_one_sent(
    app, auth, https_server, receiver, fast_retries
):
    https_server.expect_oneshot_request("/hook").respond_with_data("boom", status=500)
    https_server.expect_request("/hook").respond_with_data("ok")
    hooked = make_webhook_user(auth, receiver)
    emit(hooked.user_id, EventType.TRADE_EXECUTED, TRADE)
    db.session.commit()

    assert [o.status for o in drain()] == ["retry", "sent"]

    first, second = webhook_requests(https_server)
    # The same message id on both attempts: the receiver can de-duplicate on it.
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    [row] = rows_for(hooked.user_id)
    assert row.status == NotificationStatus.SENT
    assert row.attempts == 2
    assert row.last_error is None


def test_a_receiver_that_always_fails_ends_failed_with_its_error_on_the_page(
    app, auth, client, https_server, receiver, fast_retries
):
    https_server.expect_request("/hook").respond_with_data("database is on fire", status=500)
    hooked = make_webhook_user(auth, receiver)
    auth.login(hooked.email)
    emit(hooked.user_id, EventType.TRADE_EXECUTED, TRADE)
    db.session.commit()

    assert [o.status for o in drain()] == ["retry", "retry", "failed"]

    assert len(webhook_requests(https_server)) == 3
    [row] = rows_for(hooked.user_id)
    assert row.status == NotificationStatus.FAILED and row.attempts == 3
    assert row.last_error == "HTTP 500 Internal Server Error: database is on fire"
    page = client.get("/notifications/history").get_data(as_text=True)
    assert "HTTP 500 Internal Server Error: database is on fire" in page
    assert "Send again" in page


def test_retry_after_is_honoured_and_clamped(app, auth, https_server, receiver, fast_retries):
    app.config["NOTIFY_RETRY_AFTER_MAX"] = 600
    https_server.expect_oneshot_request("/hook").respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": "120"})
    )
    https_server.expect_oneshot_request("/hook").respond_with_response(
        Response("later", status=503, headers={"Retry-After": "86400"})
    )
    https_server.expect_request("/hook").respond_with_data("ok")
    hooked = make_webhook_user(auth, receiver)
    emit(hooked.user_id, EventType.TRADE_EXECUTED, TRADE)
    db.session.commit()
    now = utcnow()

    [first] = drain(now=now)
    assert first.status == "retry" and first.next_at == now + timedelta(seconds=120)
    assert drain(now=now + timedelta(seconds=119)) == []  # not due yet
    [second] = drain(now=now + timedelta(seconds=120))
    assert second.status == "retry"
    assert second.next_at == now + timedelta(seconds=120 + 600)  # clamped to the maximum
    [third] = drain(now=now + timedelta(seconds=720))
    assert third.status == "sent"


def test_410_gone_disables_the_endpoint_and_tells_the_user(
    app, auth, client, https_server, receiver, smtp_server
):
    https_server.expect_request("/hook").respond_with_data("unsubscribed", status=410)
    hooked = make_webhook_user(auth, receiver)
    auth.login(hooked.email)
    emit(hooked.user_id, EventType.TRADE_EXECUTED, TRADE)
    db.session.commit()

    outcomes = drain()

    # One webhook attempt (no retries after 410), then the email telling the user.
    assert [o.status for o in outcomes] == ["failed", "sent"]
    assert len(webhook_requests(https_server)) == 1
    endpoint = db.session.get(WebhookEndpoint, hooked.endpoint_id)
    assert not endpoint.enabled
    assert "410 Gone" in endpoint.disabled_reason
    [message] = smtp_server.wait_for(1)
    assert message["To"] == hooked.email
    assert "Webhook endpoint disabled" in message["Subject"]
    assert "410 Gone" in body_text(message, "plain")
    page = client.get("/notifications/").get_data(as_text=True)
    assert 'data-testid="webhook-disabled"' in page and "410 Gone" in page

    # Nothing more is queued for the disabled endpoint.
    emit(hooked.user_id, EventType.TRADE_EXECUTED, TRADE)
    db.session.commit()
    assert len(rows_for(hooked.user_id)) == 2


def test_an_endpoint_failing_every_attempt_many_times_in_a_row_is_disabled(
    app, auth, https_server, receiver, smtp_server
):
    app.config.update(NOTIFY_MAX_ATTEMPTS=1, NOTIFY_ENDPOINT_MAX_FAILURES=3)
    https_server.expect_request("/hook").respond_with_data("no", status=502)
    hooked = make_webhook_user(auth, receiver)
    for _ in range(3):
        emit(hooked.user_id, EventType.TRADE_EXECUTED, TRADE)
    db.session.commit()

    outcomes = drain()

    assert [o.status for o in outcomes] == ["failed", "failed", "failed", "sent"]
    endpoint = db.session.get(WebhookEndpoint, hooked.endpoint_id)
    assert not endpoint.enabled
    assert endpoint.disabled_reason.startswith("3 notifications in a row failed every attempt")
    assert "Webhook endpoint disabled" in smtp_server.wait_for(1)[0]["Subject"]


def test_a_success_resets_the_failure_count(app, auth, https_server, receiver):
    app.config.update(NOTIFY_MAX_ATTEMPTS=1, NOTIFY_ENDPOINT_MAX_FAILURES=2)
    https_server.expect_oneshot_request("/hook").respond_with_data("no", status=500)
    https_server.expect_oneshot_request("/hook").respond_with_data("ok")
    https_server.expect_request("/hook").respond_with_data("no", status=500)
    hooked = make_webhook_user(auth, receiver)
    for _ in range(3):
        emit(hooked.user_id, EventType.TRADE_EXECUTED, TRADE)
    db.session.commit()

    assert [o.status for o in drain()] == ["failed", "sent", "failed"]
    endpoint = db.session.get(WebhookEndpoint, hooked.endpoint_id)
    assert endpoint.enabled and endpoint.consecutive_failures == 1


def test_a_url_that_became_private_is_refused_at_send_time(app, auth, https_server, receiver):
    https_server.expect_request("/hook").respond_with_data("ok")
    hooked = make_webhook_user(auth, receiver)
    app.config["WEBHOOK_ALLOWED_HOSTS"] = []  # the operator withdrew the allowance
    emit(hooked.user_id, EventType.TRADE_EXECUTED, TRADE)
    db.session.commit()

    assert [o.status for o in drain()] == ["failed"]  # no pointless retries

    assert webhook_requests(https_server) == []
    [row] = rows_for(hooked.user_id)
    assert row.attempts == 1
    assert row.last_error == (
        "Webhook URL refused: 127.0.0.1 is a loopback address; "
        "webhooks may only reach public addresses"
    )


def test_after_rotation_both_secrets_verify_for_24_hours_then_only_the_new(
    app, auth, https_server, receiver
):
    https_server.expect_request("/hook").respond_with_data("ok")
    hooked = make_webhook_user(auth, receiver)
    endpoint = db.session.get(WebhookEndpoint, hooked.endpoint_id)
    rotated_at = utcnow()
    new_secret = endpoints.rotate_secret(endpoint, now=rotated_at)
    db.session.commit()
    assert new_secret != hooked.secret

    emit(hooked.user_id, EventType.TRADE_EXECUTED, TRADE)
    db.session.commit()
    drain(now=rotated_at + timedelta(hours=23, minutes=59))
    emit(hooked.user_id, EventType.TRADE_EXECUTED, TRADE)
    db.session.commit()
    drain(now=rotated_at + timedelta(hours=24, minutes=1))

    within, after = webhook_requests(https_server)
    signing.verify(hooked.secret, within.headers, within.get_data())
    signing.verify(new_secret, within.headers, within.get_data())
    signing.verify(new_secret, after.headers, after.get_data())
    with pytest.raises(WebhookVerificationError):
        signing.verify(hooked.secret, after.headers, after.get_data())


def test_secrets_are_stored_encrypted(app, auth, receiver):
    hooked = make_webhook_user(auth, receiver)
    endpoint = db.session.get(WebhookEndpoint, hooked.endpoint_id)
    assert hooked.secret.startswith("whsec_")
    assert hooked.secret not in endpoint.secret_encrypted
    assert endpoints.signing_secrets(endpoint) == [hooked.secret]


def test_a_secret_that_cannot_be_decrypted_fails_the_row_with_advice(
    app, auth, https_server, receiver
):
    from cryptography.fernet import Fernet

    https_server.expect_request("/hook").respond_with_data("ok")
    hooked = make_webhook_user(auth, receiver)
    app.config["ENCRYPTION_KEY"] = Fernet.generate_key().decode()  # the old key was dropped
    emit(hooked.user_id, EventType.TRADE_EXECUTED, TRADE)
    db.session.commit()

    assert [o.status for o in drain()] == ["failed"]
    [row] = rows_for(hooked.user_id)
    assert "cannot be decrypted" in row.last_error and "rotate the secret" in row.last_error
    assert webhook_requests(https_server) == []
