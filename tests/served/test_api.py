"""The JSON API as gunicorn serves it: numbers in JSON bodies, the rate limit's headers,
concurrent idempotent requests, and schemathesis over every operation."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator

import pytest
import requests
import sqlalchemy as sa

from tests.bots.helpers import add_trade, make_bot
from tests.conftest import make_config
from tests.keys.conftest import DEMO_KEY, DEMO_SECRET
from tests.served.test_trades_export import alice as load_alice
from tests.support.processes import BIN, process_env
from tests.support.served import ServedApp
from webapp.extensions import db
from webapp.keys import service as keys
from webapp.models import Bot, NotificationChannel, NotificationStatus
from webapp.notify import outbox
from webapp.tokens import service as tokens


class Script(requests.Session):
    """A script on loopback with a bearer token; paths are relative to the server."""

    def __init__(self, base_url: str, token: str) -> None:
        super().__init__()
        self.base_url = base_url
        self.headers["Authorization"] = f"Bearer {token}"

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", 60)
        return super().request(method, self.base_url + url, *args, **kwargs)


@pytest.fixture
def token(web) -> str:
    _, text = tokens.create_token(load_alice(), "served", "read,trade")
    db.session.commit()
    return text


@pytest.fixture
def script(served, token) -> Script:
    return Script(served.url, token)


@pytest.fixture
def demo_key(app, served_exchange, web):
    app.config["EXCHANGE_SIM_URL"] = served_exchange.url
    api_key = keys.add_key(load_alice(), "binance", "Demo", DEMO_KEY, DEMO_SECRET)
    db.session.commit()
    return api_key


def bot_text(key_id: int, field: str, raw: str) -> str:
    body = {
        "name": "Dip buyer",
        "api_key_id": key_id,
        "symbol": "BTC/USDT",
        "timeframe": "1m",
        "strategy": "threshold",
        "params": {"buy_below": "50000", "sell_above": "51000"},
        "quote_amount": "100",
    }
    body.pop(field, None)
    return '{"%s": %s, %s' % (field, raw, json.dumps(body)[1:])  # noqa: UP031


ABSURD = ["NaN", "Infinity", "-Infinity", "1e309", "1" + "0" * 40, "9" * 5000, "1e-400",
          '"NaN"', '"1e309"']  # fmt: skip
LABELS = {"quote_amount": "Order size", "daily_profit_target": "Daily profit target",
          "take_profit_pct": "Take-profit %", "interval_seconds": "Cycle interval"}  # fmt: skip


@pytest.mark.parametrize("raw", ABSURD)
@pytest.mark.parametrize("field", LABELS)
def test_absurd_numbers_in_json_get_a_field_message(script, demo_key, field, raw):
    response = script.post(
        "/api/v1/bots",
        data=bot_text(demo_key.id, field, raw),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][field].startswith(LABELS[field])
    assert db.session.scalar(sa.select(sa.func.count(Bot.id))) == 0


def test_an_exponent_that_is_a_plain_number_is_accepted(script, demo_key):
    text = bot_text(demo_key.id, "quote_amount", "1.5E+2")
    response = script.post("/api/v1/bots", data=text, headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    assert response.json()["quote_amount"] == "150"


def test_errors_through_gunicorn_are_problems(script, served):
    checks = [
        (script.put("/api/v1/me"), 405),
        (script.post("/api/v1/bots", data="a=b",
                     headers={"Content-Type": "application/x-www-form-urlencoded"}), 415),
        (script.post("/api/v1/bots", data="{", headers={"Content-Type": "application/json"}),
         400),
        (script.post("/api/v1/bots", data="x" * 70_000,
                     headers={"Content-Type": "application/json"}), 413),
        (script.get("/api/v1/bots/99999999999999999999999"), 404),
        (script.post("/api/v1/bots", data='{"name": "a", "quote_amount": "12\\u0000"}',
                     headers={"Content-Type": "application/json"}), 400),
        (script.get("/api/v1/trades?symbol=BTC%00"), 400),
        (requests.get(served.url + "/api/v1/me", timeout=10), 401),
    ]  # fmt: skip
    for response, status in checks:
        assert response.status_code == status, response.text
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == status


def test_two_identical_requests_at_once_create_one_bot(script, demo_key, token, served):
    body = json.loads(bot_text(demo_key.id, "quote_amount", '"100"'))
    answers: list[tuple[int, dict]] = []
    barrier = threading.Barrier(4)

    def send() -> None:
        one = Script(served.url, token)
        barrier.wait()
        response = one.post("/api/v1/bots", json=body, headers={"Idempotency-Key": "race-1"})
        answers.append((response.status_code, response.json()))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [status for status, _ in answers] == [201] * 4, answers
    assert len({answer["id"] for _, answer in answers}) == 1
    assert db.session.scalar(sa.select(sa.func.count(Bot.id))) == 1


def test_the_csv_streams_through_gunicorn(script, demo_key):
    bot = make_bot(load_alice(), demo_key)
    for n in range(3):
        add_trade(bot, "buy", "0.1", str(60000 + n))
    response = script.get(f"/api/v1/trades.csv?bot={bot.id}", stream=True)
    assert response.status_code == 200
    lines = response.content.decode().strip().splitlines()
    assert len(lines) == 4 and lines[0].startswith("id,executed_at")


# -- the rate limit, on a server with the default API_RATE_LIMIT ------------------------------


@pytest.fixture(scope="module")
def limited_app(
    tmp_path_factory, database_url, redis_server, smtp_server, encryption_key, served_exchange
) -> Iterator[ServedApp]:
    config = make_config(database_url, redis_server.url, smtp_server.port, encryption_key)
    settings = {name: getattr(config, name) for name in dir(config) if name.isupper()}
    env = process_env(settings, EXCHANGE_SIM_URL=served_exchange.url, LOG_LEVEL="INFO")
    env.pop("API_RATE_LIMIT", None)  # the default: 60 per minute
    server = ServedApp(env, tmp_path_factory.mktemp("limited") / "web.log").start()
    yield server
    server.stop()


def test_the_rate_limit_answers_429_with_retry_after(served, limited_app, token):
    script = Script(limited_app.url, token)
    first = script.get("/api/v1/me")
    assert first.status_code == 200
    assert first.headers["RateLimit-Limit"] == "60"
    assert first.headers["RateLimit-Policy"] == "60;w=60"
    remaining = int(first.headers["RateLimit-Remaining"])
    statuses = [script.get("/api/v1/me").status_code for _ in range(remaining)]
    assert set(statuses) == {200}
    over = script.get("/api/v1/me")
    assert over.status_code == 429
    assert over.headers["Content-Type"] == "application/problem+json"
    assert over.json()["code"] == "rate_limited"
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    assert over.headers["RateLimit-Remaining"] == "0"
    assert int(over.headers["RateLimit-Reset"]) == int(over.headers["Retry-After"])
    # Per token: another token of the same user still gets through.
    _, other = tokens.create_token(load_alice(), "other", "read")
    db.session.commit()
    assert Script(limited_app.url, other).get("/api/v1/me").status_code == 200


# -- schemathesis over every operation -------------------------------------------------------


@pytest.fixture
def fuzz_data(app, demo_key):
    """Something behind every id: a bot with trades, a failed notification, a webhook."""
    user = load_alice()
    bot = make_bot(user, demo_key, state_position_qty=0)
    for n in range(3):
        add_trade(bot, "sell" if n % 2 else "buy", "0.01", "60000", pnl="1" if n % 2 else None)
    row = outbox.add_notification(user.id, "bot_error", NotificationChannel.EMAIL, {"bot": 1})
    row.status = NotificationStatus.FAILED
    db.session.commit()
    return bot


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_schemathesis_finds_no_5xx_no_schema_break_and_no_html(served, token, fuzz_data, tmp_path):
    report = tmp_path / "junit.xml"
    command = [
        str(BIN / "st"),
        "run",
        f"{served.url}/api/v1/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "all",
        # A valid-by-schema body can still break a business rule (a name taken, a symbol the
        # exchange does not list, an order below the market's minimum): a 422 then is right.
        "--exclude-checks",
        "positive_data_acceptance",
        "--max-examples",
        "12",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--seed",
        "20261203",
        # One worker: Hypothesis parses lambdas with ast.parse, which on CPython 3.11 is not
        # safe from two threads at once ("AST constructor recursion depth mismatch").
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--max-time",
        "60",
        "--suppress-health-check",
        "all",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=400, cwd=tmp_path)
    output = result.stdout + result.stderr
    (tmp_path / "schemathesis.txt").write_text(output)
    print(output[-3000:])
    assert result.returncode == 0, output[-20000:]
    assert "text/html" not in served.log()[-5000:]
