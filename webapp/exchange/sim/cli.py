"""`flask sim serve` / `python -m webapp.exchange.sim`: run the simulated exchange.

A plain click group (not Flask's AppGroup) so it runs without an app context and standalone;
the app factory registers it with ``app.cli.add_command(sim_cli)``.
"""

from __future__ import annotations

import logging
import os

import click

from .accounts import AccountSpec, parse_account_spec, parse_accounts_env
from .errors import ConfigError
from .server import make_sim_server, server_url
from .simulator import Simulator

logger = logging.getLogger(__name__)

DEFAULT_PORT = 8900

sim_cli = click.Group("sim", help="Run the built-in simulated exchange (Binance spot API).")


def _accounts(values: tuple[str, ...]) -> list[AccountSpec]:
    try:
        specs = parse_accounts_env(os.environ.get("SIM_ACCOUNTS"))
        specs += [parse_account_spec(v) for v in values]
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="--account / SIM_ACCOUNTS") from None
    return specs


@sim_cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="SIM_HOST")
@click.option(
    "--port",
    default=DEFAULT_PORT,
    show_default=True,
    type=int,
    envvar="SIM_PORT",
    help="0 = any free port.",
)
@click.option(
    "--seed", default=1, show_default=True, type=int, envvar="SIM_SEED", help="Price walk seed."
)
@click.option(
    "--account",
    "accounts",
    multiple=True,
    metavar="KEY:SECRET[:USDT=10000,BTC=0.5]",
    help="Account to create (repeatable); also read from SIM_ACCOUNTS, separated by ';'.",
)
@click.option("--frozen", is_flag=True, help="Start with every price frozen.")
@click.option(
    "--weight-limit",
    default=6000,
    show_default=True,
    type=click.IntRange(min=0),
    envvar="SIM_WEIGHT_LIMIT",
    help="Request weight per IP and minute, as Binance enforces it; 0 = never refuse.",
)
@click.option("--log-requests", is_flag=True, help="Log each request (method, path, status).")
def serve(
    host: str,
    port: int,
    seed: int,
    accounts: tuple[str, ...],
    frozen: bool,
    weight_limit: int,
    log_requests: bool,
) -> None:
    """Serve the simulated exchange until Ctrl-C."""
    specs = _accounts(accounts)
    if log_requests:
        logging.basicConfig(level=logging.INFO)
        logging.getLogger("webapp.exchange.sim").setLevel(logging.DEBUG)
    sim = Simulator(seed=seed, accounts=specs, frozen=frozen, weight_limit=weight_limit or None)
    server = make_sim_server(sim, host, port)
    url = server_url(host, server.server_port)
    limit = f"{weight_limit} weight/min per IP" if weight_limit else "no weight limit"
    frozen_note = ", prices frozen" if frozen else ""
    click.echo(f"Simulated exchange on {url} (seed {seed}{frozen_note}, {limit})")
    if specs:
        click.echo("Accounts: " + ", ".join(spec.api_key for spec in specs))
    else:
        click.echo(f"No accounts yet; add one with POST {url}/sim/accounts")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sim.release_hung_requests()
        server.server_close()
        click.echo("Simulated exchange stopped.")
