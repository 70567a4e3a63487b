"""Fixtures: a simulated exchange on a free loopback port and real ccxt clients for it."""

from __future__ import annotations

from collections.abc import Iterator

import ccxt
import pytest

from tests.exchange.helpers import KEY, SECRET
from webapp.exchange.sim import SimServer, Simulator


@pytest.fixture
def sim() -> Simulator:
    """Frozen prices so fills are exact; one account with 10000 USDT."""
    simulator = Simulator(seed=11, frozen=True)
    simulator.add_account(KEY, SECRET, {"USDT": "10000"})
    return simulator


@pytest.fixture
def server(sim: Simulator) -> Iterator[SimServer]:
    with SimServer(sim) as running:
        yield running


@pytest.fixture
def exchange(server: SimServer) -> ccxt.binance:
    client = server.client(KEY, SECRET, timeout_ms=5000)
    client.load_markets()
    return client


@pytest.fixture
def limited_sim() -> Iterator[tuple[Simulator, SimServer]]:
    """An exchange allowing 100 weight per 3-second window."""
    sim = Simulator(seed=11, frozen=True, weight_limit=100, weight_window=3)
    sim.add_account(KEY, SECRET, {"USDT": "100000"})
    with SimServer(sim) as server:
        yield sim, server
