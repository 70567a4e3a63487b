"""A simulated exchange speaking the subset of Binance's spot REST API that ccxt uses.

It is the app's default market and what every test trades against instead of the internet:

    with SimServer(Simulator(seed=1, frozen=True)) as server:
        server.sim.add_account("key", "secret", {"USDT": 10000})
        exchange = build_sim_client(server.url, "key", "secret")   # a real ccxt.binance
        exchange.create_order("BTC/USDT", "market", "buy", 0.01)

See `market` for the price model, `simulator` for the exchange's rules (with `orders`,
`accounts`, `faults` and `limits` beside it), `app` for the HTTP API.
"""

from __future__ import annotations

from .accounts import AccountSpec, Balance, parse_account_spec, parse_accounts_env
from .app import SimApp, create_sim_app
from .cli import sim_cli
from .client import build_sim_client, configure_ccxt_for_sim
from .errors import ApiError, ConfigError, SimError
from .faults import FailureMode
from .market import INTERVALS, Market, MarketSpec, default_specs
from .orders import Fill, Order, OrderStatus
from .server import SimServer, make_sim_server
from .simulator import Simulator

__all__ = [
    "INTERVALS",
    "AccountSpec",
    "ApiError",
    "Balance",
    "ConfigError",
    "FailureMode",
    "Fill",
    "Market",
    "MarketSpec",
    "Order",
    "OrderStatus",
    "SimApp",
    "SimError",
    "SimServer",
    "Simulator",
    "build_sim_client",
    "configure_ccxt_for_sim",
    "create_sim_app",
    "default_specs",
    "make_sim_server",
    "parse_account_spec",
    "parse_accounts_env",
    "sim_cli",
]
