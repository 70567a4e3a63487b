"""LOG_FORMAT=json: one JSON object per line with the request id and user id, and secrets
passed to a log call (real ones: the app's, an exchange secret, an API token, a webhook
secret) never reach the output."""

from __future__ import annotations

import io
import json
import logging

import pytest

from tests.conftest import PASSWORD
from webapp import crypto, logs
from webapp.extensions import db


@pytest.fixture
def json_log(app):
    app.config["LOG_FORMAT"] = "json"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logs.configure_handler(handler, app)
    logger = logging.getLogger("webapp")
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


def lines(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_line_is_json_with_the_request_id_and_user(app, client, auth, json_log):
    user = auth.create_user()
    auth.login()
    response = client.get("/", headers={"X-Request-ID": "req-abc-123"})
    assert response.headers["X-Request-ID"] == "req-abc-123"
    with app.test_request_context("/"):
        pass
    entries = lines(json_log)
    assert entries and all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    login_lines = [e for e in entries if e["logger"] == "webapp.security.audit"]
    assert login_lines and login_lines[-1]["user_id"] == user.id
    assert all(e["request_id"] for e in login_lines)
    hostile = client.get("/healthz", headers={"X-Request-ID": "not <ok> " + "x" * 80})
    assert "<" not in hostile.headers["X-Request-ID"] and len(hostile.headers["X-Request-ID"]) == 32


def test_secrets_passed_to_a_log_call_never_appear(app, auth, json_log):
    from tests.api.conftest import new_token
    from tests.keys.conftest import SECRETS as EXCHANGE_SECRETS

    user = auth.create_user()
    exchange_secret = EXCHANGE_SECRETS[0]
    assert crypto.decrypt(crypto.encrypt(exchange_secret)) == exchange_secret
    token = new_token(user)
    webhook_secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    secrets = [
        app.config["SECRET_KEY"],
        app.config["ENCRYPTION_KEY"],
        exchange_secret,
        token,
        webhook_secret,
        PASSWORD,
    ]
    log = logging.getLogger("webapp.tests")
    log.warning("secret key %s, fernet %s", app.config["SECRET_KEY"], app.config["ENCRYPTION_KEY"])
    log.warning("exchange said no to %r", {"apiKey": "k-wxyz", "secret": exchange_secret})
    log.info("calling with Authorization: Bearer %s", token)
    log.info("webhook signed with %s; form had password=%s", webhook_secret, PASSWORD)
    try:
        raise RuntimeError(f"could not use {exchange_secret} or {token}")
    except RuntimeError:
        log.exception("it failed")
    db.session.rollback()
    text = json_log.getvalue()
    entries = [e for e in lines(json_log) if e["logger"] == "webapp.tests"]
    assert len(entries) == 5 and "[redacted]" in text
    assert "RuntimeError" in entries[-1]["exc_info"]
    for secret in secrets:
        assert secret not in text
