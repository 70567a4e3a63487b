"""Fixtures for the notification tests (loaded with `pytest_plugins`)."""

from __future__ import annotations

import pytest
from flask import Flask
from pytest_httpserver import HTTPServer


@pytest.fixture
def fast_retries(app: Flask) -> Flask:
    """No waiting between attempts, so a test sees every attempt in one drain."""
    app.config.update(NOTIFY_RETRY_DELAYS="0,0,0", NOTIFY_MAX_ATTEMPTS=3)
    return app


@pytest.fixture
def receiver(app: Flask, https_server: HTTPServer, tls_ca_bundle: str) -> str:
    """The URL of the loopback HTTPS test server, allowed for webhooks in this app."""
    app.config.update(WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"], WEBHOOK_CA_BUNDLE=tls_ca_bundle)
    return f"https://127.0.0.1:{https_server.port}/hook"


@pytest.fixture(scope="session")
def _fake_bot_api_session():
    from tests.support.fake_telegram import FakeBotApi

    fake = FakeBotApi().start()
    yield fake
    fake.stop()


@pytest.fixture
def bot_api(app: Flask, _fake_bot_api_session):
    """The fake Bot API on loopback, with this installation's bot token set through the same
    function `flask telegram set-token` uses (checked with getMe, stored encrypted)."""
    from tests.support.fake_telegram import TOKEN
    from webapp.extensions import db
    from webapp.telegram import bot

    fake = _fake_bot_api_session
    fake.reset()
    app.config.update(TELEGRAM_API_BASE=fake.url, TELEGRAM_MAX_PER_SECOND=1000)
    bot.set_token(TOKEN)
    db.session.commit()
    fake.reset()
    return fake


@pytest.fixture(scope="session")
def _fake_twilio_session():
    from tests.support.fake_twilio import FakeTwilio

    fake = FakeTwilio().start()
    yield fake
    fake.stop()


@pytest.fixture
def twilio(app: Flask, _fake_twilio_session):
    """The fake Twilio API on loopback, configured as this installation's SMS provider."""
    from tests.support.fake_twilio import AUTH_TOKEN, FROM, SID

    fake = _fake_twilio_session
    fake.reset()
    app.config.update(
        SMS_PROVIDER="twilio",
        TWILIO_API_BASE=fake.url,
        TWILIO_ACCOUNT_SID=SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_FROM_NUMBER=FROM,
    )
    return fake
