"""The trading-bot web app: `create_app` builds it from a config class."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from sqlalchemy.engine import make_url
from werkzeug.middleware.proxy_fix import ProxyFix

# metrics before anything imports prometheus_client: it sets the multiprocess directory.
from webapp import logs, metrics  # noqa: F401
from webapp.config import Config, validate
from webapp.extensions import babel, csrf, db, login, mail, migrate, redis_ext
from webapp.http import init_http

__all__ = ["create_app"]


def create_app(config_class: type[Config] = Config) -> Flask:
    app = Flask(__name__)
    app.config.from_object(config_class)
    validate(app.config)
    configure_logging(app)
    from webapp.http import WholeBodies

    app.wsgi_app = WholeBodies(app.wsgi_app)
    if app.config["PROXY_FIX_HOPS"]:
        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    ensure_sqlite_directory(app.config["SQLALCHEMY_DATABASE_URI"])
    db.init_app(app)
    migrate.init_app(app, db)
    login.init_app(app)
    csrf.init_app(app)
    mail.init_app(app)
    redis_ext.init_app(app)
    from webapp.i18n import select_locale
    from webapp.i18n.timezones import select_timezone

    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    from webapp.i18n.current import install_jinja_gettext

    install_jinja_gettext(app.jinja_env)
    from webapp.i18n import wtforms_catalogs

    wtforms_catalogs.install()

    init_http(app)
    init_observability(app)

    from webapp import models  # noqa: F401  (register models with SQLAlchemy)
    from webapp.strategies import plugins

    plugins.load_once()  # strategies from installed packages, before any form lists them
    from webapp.admin import bp as admin_bp
    from webapp.auth import bp as auth_bp
    from webapp.backtest import bp as backtest_bp
    from webapp.bots import bp as bots_bp
    from webapp.errors import bp as errors_bp
    from webapp.i18n import bp as i18n_bp
    from webapp.keys import bp as keys_bp
    from webapp.main import bp as main_bp
    from webapp.notifications import bp as notifications_bp
    from webapp.security import bp as security_bp
    from webapp.signals import bp as signals_bp
    from webapp.tokens import bp as tokens_bp
    from webapp.trades import bp as trades_bp

    app.register_blueprint(errors_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(main_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(notifications_bp, url_prefix="/notifications")
    app.register_blueprint(keys_bp, url_prefix="/keys")
    app.register_blueprint(bots_bp, url_prefix="/bots")
    app.register_blueprint(trades_bp, url_prefix="/trades")
    app.register_blueprint(tokens_bp, url_prefix="/tokens")
    app.register_blueprint(backtest_bp, url_prefix="/backtests")
    app.register_blueprint(security_bp, url_prefix="/security")
    app.register_blueprint(i18n_bp)
    app.register_blueprint(signals_bp)

    from webapp.api import init_api

    init_api(app)

    from webapp.cli import register_cli

    register_cli(app)

    from webapp import fragments
    from webapp.templating import register_template_helpers

    register_template_helpers(app)
    fragments.register(app)
    return app


def ensure_sqlite_directory(uri: str) -> None:
    """SQLite creates the file but not its folder; make `instance/` on first run."""
    url = make_url(uri)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def configure_logging(app: Flask) -> None:
    """Our loggers print through a handler of their own; gunicorn's and rq's keep theirs.

    Nothing is attached to the root logger (rq's lines would print twice), and records still
    propagate to it so test log capture sees them.
    """
    level = getattr(logging, str(app.config.get("LOG_LEVEL", "INFO")).upper(), logging.INFO)
    for name in ("webapp", "workers"):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logs.attach_handler(logger, app)


def init_observability(app: Flask) -> None:
    """Request ids for the logs, request metrics, and /metrics."""
    from webapp.metrics.routes import bp as metrics_bp
    from webapp.metrics.routes import init_request_metrics

    logs.init_request_ids(app)
    init_request_metrics(app)
    app.register_blueprint(metrics_bp)
