"""/healthz reports database and Redis reachability."""

from __future__ import annotations

from tests.support.services import RedisServer
from webapp.extensions import redis_ext


def test_healthz_ok_when_both_are_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is True


def test_healthz_503_with_the_reason_when_redis_stops(app, client, tmp_path):
    private = RedisServer(tmp_path).start()
    app.extensions["redis"] = type(redis_ext.conn).from_url(private.url, socket_connect_timeout=1)
    assert client.get("/healthz").status_code == 200
    private.stop()
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["redis"]["error"] == "ConnectionError"  # no host or port details


def test_healthz_503_when_the_database_is_unreachable(config_class):
    from tests.support.services import free_port
    from webapp import create_app

    port = free_port()  # nothing listens there
    unreachable = f"postgresql+psycopg://nobody@127.0.0.1:{port}/gone?connect_timeout=2"
    app = create_app(type("Down", (config_class,), {"SQLALCHEMY_DATABASE_URI": unreachable}))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["database"]["error"] == "OperationalError"  # no user or host names
    assert body["checks"]["redis"]["ok"] is True
