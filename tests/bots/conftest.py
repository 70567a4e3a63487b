"""Fixtures for the bot pages: two users, keys, and a simulated exchange for the forms."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.bots.helpers import make_bot, make_key
from tests.conftest import PASSWORD
from webapp.exchange.sim import SimServer, Simulator

SIM_KEY = "bots-test-key-0001"
SIM_SECRET = "bots-test-secret-never-shown"
HTMX = {"HX-Request": "true"}


def htmx(target: str) -> dict[str, str]:
    """Headers of an htmx request that swaps the element with id `target`."""
    return {"HX-Request": "true", "HX-Target": target}


@pytest.fixture
def sim_server() -> Iterator[SimServer]:
    with SimServer(Simulator(seed=7, frozen=True)) as server:
        server.sim.add_account(SIM_KEY, SIM_SECRET, {"USDT": 10000})
        yield server


@pytest.fixture(autouse=True)
def sim_app(app, sim_server):
    """The app trading on the simulator, as `make run` configures it (so no page of these
    tests can ever ask a real exchange for its markets)."""
    app.config["EXCHANGE_SIM_URL"] = sim_server.url
    return app


@pytest.fixture
def alice(auth):
    return auth.register_and_login("alice@example.com")


@pytest.fixture
def bob(auth, other_client):
    user = auth.create_user("bob@example.com")
    other_client.post("/auth/login", data={"email": "bob@example.com", "password": PASSWORD})
    return user


@pytest.fixture
def alice_key(alice):
    return make_key(alice)


@pytest.fixture
def alice_bot(alice, alice_key):
    return make_bot(alice, alice_key)


@pytest.fixture
def sim_key(sim_app, alice):
    """Alice's key on the simulator, added (and checked) the way the keys page adds it."""
    from webapp.extensions import db
    from webapp.keys import service

    api_key = service.add_key(alice, "binance", "Sim", SIM_KEY, SIM_SECRET)
    db.session.commit()
    return api_key
