"""Fixtures for the JSON API: users with tokens, and a client that sends a bearer token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.bots.helpers import make_bot, make_key
from webapp.exchange.sim import SimServer, Simulator
from webapp.extensions import db
from webapp.tokens import service as tokens

SIM_KEY = "api-test-key-0001"
SIM_SECRET = "StestSecretApi-abcdef0123456789"


class ApiClient:
    """A script using the API: every request carries `Authorization: Bearer <token>`."""

    def __init__(self, client, token: str) -> None:
        self.client = client
        self.token = token

    def request(self, method: str, path: str, *, headers=None, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        return self.client.open(path, method=method, headers=headers, csrf=False, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.request("PATCH", path, **kwargs)

    def put(self, path, **kwargs):
        return self.request("PUT", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


def new_token(user, scopes="read,trade", days=None) -> str:
    _, token = tokens.create_token(user, "tests", scopes, days)
    db.session.commit()
    return token


@pytest.fixture
def sim_server() -> Iterator[SimServer]:
    with SimServer(Simulator(seed=7, frozen=True)) as server:
        server.sim.add_account(SIM_KEY, SIM_SECRET, {"USDT": 10000})
        yield server


@pytest.fixture(autouse=True)
def sim_app(app, sim_server):
    """The app trading on the simulator, as `make run` configures it."""
    app.config["EXCHANGE_SIM_URL"] = sim_server.url
    return app


@pytest.fixture
def alice(auth):
    return auth.create_user("alice@example.com")


@pytest.fixture
def bob(auth):
    return auth.create_user("bob@example.com")


@pytest.fixture
def api(app, alice) -> ApiClient:
    """Alice's script, with a read+trade token."""
    return ApiClient(app.test_client(), new_token(alice))


@pytest.fixture
def reader(app, alice) -> ApiClient:
    """Alice's script with a read-only token."""
    return ApiClient(app.test_client(), new_token(alice, "read"))


@pytest.fixture
def bob_api(app, bob) -> ApiClient:
    return ApiClient(app.test_client(), new_token(bob))


@pytest.fixture
def alice_key(alice):
    return make_key(alice)


@pytest.fixture
def alice_bot(alice, alice_key):
    return make_bot(alice, alice_key)


@pytest.fixture
def sim_key(alice):
    """Alice's key on the simulator, added and checked as the keys page adds it."""
    from webapp.keys import service

    api_key = service.add_key(alice, "binance", "Sim", SIM_KEY, SIM_SECRET)
    db.session.commit()
    return api_key
