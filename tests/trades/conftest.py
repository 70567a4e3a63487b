from __future__ import annotations

from tests.bots.conftest import alice, alice_key, bob, sim_app, sim_server  # noqa: F401
