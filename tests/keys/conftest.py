"""A simulated Binance on loopback for the key tests, and a guard against leaked credentials.

Every credential the key tests use is one of the constants below. The autouse `leak_guard`
collects what each test produced — every HTTP response (body and headers), every log record
(at DEBUG, tracebacks included), every email, every text a test registers with
`leak_guard.seen(...)` (CLI output, exception messages) and every column of every table at the
end of the test — and fails the test if a secret appears anywhere, or a full API key appears
anywhere but in the simulator's own logs (the exchange knows its keys).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import request, request_finished

from webapp.exchange.sim import SimServer, Simulator
from webapp.extensions import db

API_KEY = "KtestKeyAlpha0123456789abcdefWXYZ"
API_SECRET = "StestSecretAlpha-9f8e7d6c5b4a3210"
OTHER_KEY = "KtestKeyBravo9876543210zyxwvuQRST"
OTHER_SECRET = "StestSecretBravo-0a1b2c3d4e5f6789"
WRONG_SECRET = "StestSecretWrong-5555aaaa6666bbbb"
ROTATED_SECRET = "StestSecretRotated-77cc88dd99ee00"
DEMO_KEY = "demo-key-test-4321"
DEMO_SECRET = "StestSecretDemo-1234567890abcdef"
WEBHOOK_SECRET = "whsec_dGVzdFdlYmhvb2tTZWNyZXRGb3JLZXlz"

SECRETS = (API_SECRET, OTHER_SECRET, WRONG_SECRET, ROTATED_SECRET, DEMO_SECRET, WEBHOOK_SECRET)
KEYS = (API_KEY, OTHER_KEY, DEMO_KEY)
SIM_LOGGER = "webapp.exchange.sim"


class LeakGuard:
    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def seen(self, text: object, where: str = "test output") -> None:
        """Register something a user or operator would see (CLI output, an error message)."""
        self.texts.append((where, str(text)))

    def check(self, text: str, where: str, *, keys_allowed: bool = False) -> None:
        for secret in SECRETS:
            assert secret not in text, f"an API secret leaked into {where}"
        if not keys_allowed:
            for key in KEYS:
                assert key not in text, f"a full API key leaked into {where}"


@pytest.fixture(autouse=True)
def leak_guard(app, caplog, smtp_server) -> Iterator[LeakGuard]:
    guard = LeakGuard()
    for name in (None, "webapp", "workers"):  # the app sets its own loggers to LOG_LEVEL
        caplog.set_level(logging.DEBUG, logger=name)

    def on_response(sender, response, **extra) -> None:
        headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
        body = "" if response.is_streamed else response.get_data(as_text=True)
        guard.seen(f"{headers}\n\n{body}", f"the response to {request.method} {request.path}")

    request_finished.connect(on_response, app)
    try:
        yield guard
    finally:
        request_finished.disconnect(on_response, app)

    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in caplog.get_records("setup") + caplog.get_records("call"):
        text = formatter.format(record)  # message, arguments and any traceback
        guard.check(
            text, f"a log record of {record.name}", keys_allowed=record.name.startswith(SIM_LOGGER)
        )
    for message in smtp_server.messages:
        guard.check(message.as_string(), "an email")
    for where, text in guard.texts:
        guard.check(text, where)
    db.session.rollback()
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                guard.check(" ".join(map(str, row)), f"a row of {table.name}")


@pytest.fixture
def sim_server() -> Iterator[SimServer]:
    """The simulated exchange with two known accounts (and the demo account)."""
    with SimServer(Simulator(seed=7, frozen=True)) as server:
        server.sim.add_account(API_KEY, API_SECRET, {"USDT": 10000})
        server.sim.add_account(OTHER_KEY, OTHER_SECRET, {"USDT": 500})
        server.sim.add_account(DEMO_KEY, DEMO_SECRET, {"USDT": 10000})
        yield server


@pytest.fixture
def sim_app(app, sim_server):
    """The app pointed at the simulator, as `make run` configures it."""
    app.config.update(
        EXCHANGE_SIM_URL=sim_server.url, DEMO_API_KEY=DEMO_KEY, DEMO_API_SECRET=DEMO_SECRET
    )
    return app


def running_bot(user, api_key, name: str = "Dip buyer"):
    """A started paper bot trading with `api_key`, through the bot engine's own functions."""
    from webapp.engine import service as bots

    bot = bots.create_bot(
        user,
        name=name,
        api_key_id=api_key.id,
        symbol="BTC/USDT",
        timeframe="1m",
        strategy="threshold",
        params={"buy_below": "50000", "sell_above": "51000"},
        quote_amount="100",
        mode="paper",
    )
    bots.start_bot(bot)
    db.session.commit()
    return bot
