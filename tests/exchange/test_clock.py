"""A host whose clock is off from the exchange's: the first signed request meets -1021, the
client measures the offset and sends it again, and clients built afterwards start in step."""

from __future__ import annotations

import time

import pytest

from tests.exchange.helpers import KEY, SECRET
from webapp.exchange import clients, clock
from webapp.exchange.sim import SimServer, Simulator


@pytest.fixture
def drifted(app):
    """An exchange whose clock is 20 s ahead of ours (recvWindow is 10 s)."""
    sim = Simulator(seed=11, frozen=True, wall_clock=lambda: time.time() + 20)
    sim.add_account(KEY, SECRET, {"USDT": "10000"})
    clock.forget_offsets()
    with SimServer(sim) as server:
        app.config.update(EXCHANGE_SIM_URL=server.url)
        yield sim
    clock.forget_offsets()


def test_a_refused_timestamp_resynchronises_and_the_request_goes_through(drifted, caplog):
    client = clients.client_for_credentials("binance", KEY, SECRET)
    assert client.fetch_balance()["total"]["USDT"] == 10000.0
    assert drifted.stats()["errors"] == {"-1021": 1}
    assert "resynchronised after -1021" in caplog.text
    # A client built later in this process starts with the offset: no second refusal.
    later = clients.client_for_credentials("binance", KEY, SECRET)
    later.fetch_balance()
    assert drifted.stats()["errors"] == {"-1021": 1}


def test_an_order_refused_for_its_timestamp_is_placed_once(drifted):
    client = clients.client_for_credentials("binance", KEY, SECRET, trading=True)
    client.load_markets()
    client.create_order("BTC/USDT", "market", "buy", 0.01, None, {"newClientOrderId": "once-1"})
    orders = [o for o in drifted.orders(KEY) if o.client_order_id == "once-1"]
    assert len(orders) == 1
    assert drifted.stats()["errors"] == {"-1021": 1}
