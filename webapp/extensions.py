"""Flask extensions, created unbound here and attached to the app in `create_app`."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from flask_babel import Babel
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from redis import Redis
from rq import Queue
from sqlalchemy import orm as so

# Named constraints so migrations can drop and alter them on every database (SQLite included).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(so.DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


@sa.event.listens_for(sa.engine.Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLite as a multi-process server database: enforce foreign keys (ON DELETE CASCADE),
    let readers and one writer work at once (WAL), and wait for a lock instead of failing."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


migrate = Migrate(render_as_batch=True, compare_type=True)
login = LoginManager()
login.login_view = "auth.login"
login.login_message = "Please log in to see this page."
login.login_message_category = "info"
csrf = CSRFProtect()
mail = Mail()
babel = Babel()

#: Every RQ queue the app uses. Workers listen on all of them, bots first.
QUEUES = ("bots", "default", "notifications")


class RedisExtension:
    """One Redis connection pool per app, shared by RQ, throttling and health checks."""

    def init_app(self, app) -> None:
        app.extensions["redis"] = Redis.from_url(
            app.config["REDIS_URL"],
            socket_connect_timeout=2,
            socket_timeout=5,
            health_check_interval=30,
        )

    @property
    def conn(self) -> Redis:
        return current_app.extensions["redis"]

    def queue(self, name: str = "default") -> Queue:
        if name not in QUEUES:
            raise ValueError(f"unknown queue {name!r}")
        return Queue(name, connection=self.conn)


redis_ext = RedisExtension()
