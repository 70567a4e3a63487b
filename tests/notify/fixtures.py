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
