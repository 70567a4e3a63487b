"""Fixtures in the style of flaskr: `app`, `client`, `runner` and an `auth` helper.

Everything real: a private redis-server on a free port, a private database (SQLite, or a
fresh PostgreSQL database when TEST_DATABASE_URL points at one), and an SMTP sink.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator

import flask
import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from redis import Redis

from tests.support.database import private_database
from tests.support.processes import process_env
from tests.support.served import ServedApp, WebClient
from tests.support.services import RedisServer, SMTPSink
from webapp import create_app
from webapp.config import Config
from webapp.exchange.sim import SimServer, Simulator
from webapp.extensions import db

PASSWORD = "correct-horse-42"
SERVED_METRICS_TOKEN = "served-metrics-token-5a1f0c"


def pytest_report_header(config) -> str:
    url = os.environ.get("TEST_DATABASE_URL") or "sqlite (temporary file)"
    return f"database under test: {re.sub(r'//[^@/]*@', '//', url)}"


def pytest_configure(config) -> None:
    """Pages render from the compiled catalogs: build them once, before any worker starts."""
    if not hasattr(config, "workerinput"):
        from scripts.translations import compile_catalogs

        compile_catalogs()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first, so that on two workers the longest ones overlap with the rest
    instead of running alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    with private_database(
        os.environ.get("TEST_DATABASE_URL"), tmp_path_factory.mktemp("db")
    ) as url:
        yield url


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SMTPSink]:
    sink = SMTPSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def encryption_key() -> str:
    return Fernet.generate_key().decode()


def make_config(database_url: str, redis_url: str, smtp_port: int, encryption_key: str):
    class TestConfig(Config):
        TESTING = True
        SECRET_KEY = "test-secret-key-" + "x" * 32
        PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # scrypt costs 0.1 s a sign-up
        ENCRYPTION_KEY = encryption_key
        SQLALCHEMY_DATABASE_URI = database_url
        SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        REDIS_URL = redis_url
        MAIL_SERVER = "127.0.0.1"
        MAIL_PORT = smtp_port
        MAIL_USE_TLS = False
        MAIL_USE_SSL = False
        MAIL_USERNAME = None
        MAIL_PASSWORD = None
        MAIL_DEFAULT_SENDER = "Tradebots <noreply@test.local>"
        MAIL_SUPPRESS_SEND = False
        BASE_URL = "http://testserver.local"
        LIVE_TRADING_ENABLED = False
        EXCHANGE_SIM_URL = None
        SERVER_NAME = None
        PROXY_FIX_HOPS = 0
        TELEGRAM_BOT_TOKEN = None
        TELEGRAM_API_BASE = "http://127.0.0.1:9"  # nothing listens: tests set their fake's

    return TestConfig


@pytest.fixture
def config_class(database_url, redis_server, smtp_server, encryption_key) -> type[Config]:
    return make_config(database_url, redis_server.url, smtp_server.port, encryption_key)


_schema_ready: set[str] = set()


@pytest.fixture
def app(config_class, redis_server, smtp_server) -> Iterator[Flask]:
    app = create_app(config_class)
    app.test_client_class = CSRFClient
    with app.app_context():
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        if url not in _schema_ready:
            db.drop_all()
            db.create_all()
            _schema_ready.add(url)
        yield app
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        db.engine.dispose()
    Redis.from_url(redis_server.url).flushall()
    smtp_server.clear()


@pytest.fixture(autouse=True)
def secrets_never_leak(request, caplog):
    """Suite-wide guard: the app's own secrets, the test password and every API secret the
    tests use must never reach a response, a log record (tracebacks included) or an email.

    tests/keys/conftest.py adds a stricter guard (database rows, full API keys) for key tests.
    """
    if "app" not in request.fixturenames:
        yield
        return
    from tests.keys.conftest import SECRETS as API_SECRETS
    from tests.support.fake_telegram import TOKENS as TELEGRAM_TOKENS
    from tests.support.fake_twilio import AUTH_TOKEN as TWILIO_TOKEN

    app = request.getfixturevalue("app")
    smtp = request.getfixturevalue("smtp_server")
    caplog.set_level(logging.DEBUG, logger="webapp")
    caplog.set_level(logging.DEBUG, logger="workers")
    seen: list[tuple[str, str]] = []

    def on_response(sender, response, **extra) -> None:
        # Binary bodies (a zip download) are checked as far as they read as text.
        body = "" if response.is_streamed else response.get_data().decode("utf-8", "replace")
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        seen.append(
            (f"the response to {flask.request.method} {flask.request.path}", headers + body)
        )

    flask.request_finished.connect(on_response, app)
    try:
        yield
    finally:
        flask.request_finished.disconnect(on_response, app)
    secrets = [app.config["SECRET_KEY"], PASSWORD, *API_SECRETS, *TELEGRAM_TOKENS, TWILIO_TOKEN]
    secrets += [part for part in app.config["ENCRYPTION_KEY"].split(",") if part]
    formatter = logging.Formatter("%(name)s %(message)s")
    records = caplog.get_records("setup") + caplog.get_records("call")
    seen += [(f"a log record of {r.name}", formatter.format(r)) for r in records]
    seen += [("an email", m.as_string()) for m in smtp.messages]
    for where, text in seen:
        for secret in secrets:
            assert secret not in text, f"a secret leaked into {where}"


class CSRFClient(FlaskClient):
    """A test client that sends a valid CSRF token with every state-changing request,
    as the browser does (form field or the X-CSRFToken header htmx sends).

    Pass `csrf=False` to send a request without one.
    """

    def open(self, *args, csrf: bool = True, **kwargs):
        method = (kwargs.get("method") or "GET").upper()
        if csrf and method in {"POST", "PUT", "PATCH", "DELETE"}:
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("X-CSRFToken", self.csrf_token())
            kwargs["headers"] = headers
        # A fresh app context per request, as in production: `g` (and Flask-Login's cached
        # user) must not leak from one request into the next through the test's context.
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.expire_all()  # the test's own session sees what the request committed
        return response

    def csrf_token(self) -> str:
        app = self.application
        with self.session_transaction() as session:
            if "csrf_token" not in session:
                session["csrf_token"] = os.urandom(20).hex()
            raw = session["csrf_token"]
        return URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wtf-csrf-token").dumps(raw)


@pytest.fixture
def client(app) -> CSRFClient:
    return app.test_client()


#: Commands answer in the terminal's language (LANG and friends): tests read them in English
#: whatever the machine running the suite is set to, unless a test says otherwise.
ENGLISH_TERMINAL = {"LANG": "C.UTF-8", "LC_ALL": None, "LC_MESSAGES": None, "LANGUAGE": None}


@pytest.fixture
def runner(app):
    return app.test_cli_runner(env=ENGLISH_TERMINAL)


class AuthActions:
    def __init__(self, app: Flask, client: CSRFClient) -> None:
        self.app = app
        self.client = client

    def create_user(
        self, email: str = "alice@example.com", password: str = PASSWORD, *, admin=False
    ):
        from webapp import accounts

        user = accounts.create_user(email, password, is_admin=admin)
        db.session.commit()
        return user

    def login(self, email: str = "alice@example.com", password: str = PASSWORD):
        return self.client.post(
            "/auth/login", data={"email": email, "password": password}, follow_redirects=False
        )

    def logout(self):
        return self.client.post("/auth/logout")

    def register_and_login(self, email: str = "alice@example.com", *, admin=False):
        user = self.create_user(email, admin=admin)
        response = self.login(email)
        assert response.status_code == 302, response.get_data(as_text=True)
        return user


@pytest.fixture
def auth(app, client) -> AuthActions:
    return AuthActions(app, client)


@pytest.fixture
def other_client(app) -> CSRFClient:
    """A second browser: for checking one user cannot reach another's data."""
    return app.test_client()


# -- the app as the Procfile serves it -------------------------------------------------------


@pytest.fixture(scope="session")
def served_exchange() -> Iterator[SimServer]:
    """A simulated exchange for the served app, holding its demo account."""
    from tests.keys.conftest import DEMO_KEY, DEMO_SECRET

    with SimServer(Simulator(seed=5, frozen=True)) as server:
        server.sim.add_account(DEMO_KEY, DEMO_SECRET, {"USDT": 10000})
        yield server


@pytest.fixture(scope="session")
def served_app(
    tmp_path_factory, database_url, redis_server, smtp_server, encryption_key, served_exchange
) -> Iterator[ServedApp]:
    """gunicorn running the Procfile's `web` command against the test services, once per
    session (its state lives in the database and Redis, which every test resets)."""
    from tests.keys.conftest import DEMO_KEY, DEMO_SECRET

    config = make_config(database_url, redis_server.url, smtp_server.port, encryption_key)
    settings = {name: getattr(config, name) for name in dir(config) if name.isupper()}
    env = process_env(
        settings,
        EXCHANGE_SIM_URL=served_exchange.url,
        DEMO_API_KEY=DEMO_KEY,
        DEMO_API_SECRET=DEMO_SECRET,
        LOG_LEVEL="INFO",
        # The API tests and the schemathesis run make many requests with one token; the rate
        # limit itself is tested on a server of its own with the default limit.
        API_RATE_LIMIT="100000/min",
        METRICS_TOKEN=SERVED_METRICS_TOKEN,
        # Its own samples: every other process of the run (the other test process, its own
        # gunicorn, in-process clients) would otherwise count into the same /metrics.
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path_factory.mktemp("prometheus")),
    )
    server = ServedApp(env, tmp_path_factory.mktemp("gunicorn") / "web.log").start()
    yield server
    server.stop()


@pytest.fixture
def served(app, served_app, served_exchange) -> Iterator[ServedApp]:
    """The served app for one test (after `app` made the schema); fails the test if the
    server logged a traceback or a secret meanwhile."""
    from tests.keys.conftest import SECRETS as API_SECRETS
    from tests.support.fake_telegram import TOKENS as TELEGRAM_TOKENS

    served_exchange.sim.reset_stats()
    mark = served_app.mark()
    yield served_app
    log = served_app.log_since(mark)
    first = log.find("Traceback")
    assert first < 0, f"the web process logged an error:\n{log[first : first + 6000]}"
    secrets = [app.config["SECRET_KEY"], app.config["ENCRYPTION_KEY"], PASSWORD, *API_SECRETS]
    secrets += list(TELEGRAM_TOKENS)
    for secret in secrets:
        assert secret not in log, "a secret leaked into the web process's log"


@pytest.fixture
def web(served, auth) -> WebClient:
    """A browser without JavaScript, signed in as alice on the served app."""
    auth.create_user()
    client = served.client()
    client.login("alice@example.com", PASSWORD)
    return client
