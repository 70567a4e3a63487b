"""The /sim control API, the command line, and that secrets never leave the simulator."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import ccxt
import pytest
import requests

from tests.exchange.helpers import KEY, SECRET
from webapp.exchange.sim import ConfigError, SimServer, parse_account_spec, parse_accounts_env

ROOT = Path(__file__).resolve().parents[2]


def post(server: SimServer, path: str, payload: object) -> requests.Response:
    return requests.post(server.url + path, data=json.dumps(payload), timeout=5)


def test_accounts_can_be_added_listed_and_revoked(server: SimServer) -> None:
    created = post(
        server,
        "/sim/accounts",
        {"api_key": "alice", "secret": "a-secret", "balances": {"USDT": 50, "ETH": "2"}},
    )
    assert created.status_code == 201 and created.json() == {"api_key": "alice"}
    client = server.client("alice", "a-secret")
    total = client.fetch_balance()["total"]
    assert {asset: amount for asset, amount in total.items() if amount} == {
        "USDT": 50.0,
        "ETH": 2.0,
    }
    assert total["BTC"] == 0.0  # as on Binance, every listed asset, held or not

    listed = requests.get(server.url + "/sim/accounts", timeout=5).json()
    assert {row["api_key"] for row in listed} == {KEY, "alice"}
    assert "a-secret" not in json.dumps(listed)

    assert requests.delete(server.url + "/sim/accounts/alice", timeout=5).status_code == 200
    with pytest.raises(ccxt.AuthenticationError):
        server.client("alice", "a-secret").fetch_balance()
    assert requests.delete(server.url + "/sim/accounts/alice", timeout=5).status_code == 404


def test_bad_control_requests_are_400(server: SimServer) -> None:
    bad_key = post(server, "/sim/accounts", {"api_key": "has space", "secret": "x"})
    assert bad_key.status_code == 400 and "API key" in bad_key.json()["error"]
    assert post(server, "/sim/price", {"symbol": "NOPE/USDT", "price": 1}).status_code == 400
    assert post(server, "/sim/price", {"symbol": "BTC/USDT", "price": -1}).status_code == 400
    assert post(server, "/sim/fail", {"mode": "explode"}).status_code == 400
    assert requests.get(server.url + "/sim/nothing", timeout=5).status_code == 404


def test_price_and_freeze_control(server: SimServer, exchange) -> None:
    answer = post(server, "/sim/price", {"symbol": "BTC/USDT", "price": 61000})
    assert answer.json() == {"symbol": "BTC/USDT", "price": "61000.00"}
    assert exchange.fetch_ticker("BTC/USDT")["last"] == 61000
    assert requests.get(server.url + "/sim/prices", timeout=5).json()["BTC/USDT"] == "61000.00"

    assert post(server, "/sim/freeze", {"frozen": False}).json() == {"frozen": False}
    assert server.sim.market.frozen is False
    assert requests.get(server.url + "/sim", timeout=5).json()["frozen"] is False
    assert post(server, "/sim/freeze", {"frozen": True}).json() == {"frozen": True}
    assert server.sim.market.frozen is True


def test_orders_are_visible_with_client_order_ids(server: SimServer, exchange) -> None:
    exchange.create_order("ETH/USDT", "market", "buy", 0.01, None, {"clientOrderId": "bot3-c1"})
    exchange.create_order("ETH/USDT", "limit", "buy", 0.01, 1000, {"clientOrderId": "bot3-c2"})
    orders = requests.get(server.url + "/sim/orders", params={"api_key": KEY}, timeout=5).json()
    assert [(o["clientOrderId"], o["status"], o["apiKey"]) for o in orders] == [
        ("bot3-c1", "FILLED", KEY),
        ("bot3-c2", "NEW", KEY),
    ]
    assert orders[0]["fills"][0]["commissionAsset"] == "ETH"  # a buy's fee, in what it bought
    assert (
        requests.get(server.url + "/sim/orders", params={"api_key": "nobody"}, timeout=5).json()
        == []
    )


def test_stats_count_requests_per_endpoint(server: SimServer, exchange) -> None:
    post(server, "/sim/stats/reset", {})
    exchange.fetch_ohlcv("BTC/USDT", "1m", limit=5)
    exchange.fetch_ohlcv("ETH/USDT", "1h", limit=5)
    exchange.fetch_ticker("BTC/USDT")
    exchange.fetch_balance()
    stats = requests.get(server.url + "/sim/stats", timeout=5).json()
    assert stats["requests"] == {
        "GET /api/v3/account": 1,
        "GET /api/v3/klines": 2,
        "GET /api/v3/ticker/24hr": 1,
    }
    assert stats["market_data"] == 3 and stats["total"] == 4
    post(server, "/sim/stats/reset", {})
    assert requests.get(server.url + "/sim/stats", timeout=5).json()["total"] == 0


def test_failure_mode_over_http(server: SimServer) -> None:
    assert post(server, "/sim/fail", {"mode": "unavailable"}).status_code == 200
    assert requests.get(server.url + "/api/v3/ping", timeout=5).status_code == 503
    assert requests.get(server.url + "/sim", timeout=5).json()["failure"] == "unavailable"
    post(server, "/sim/fail", {"mode": None})
    assert requests.get(server.url + "/api/v3/ping", timeout=5).json() == {}


def test_secret_never_appears_in_responses_or_logs(server: SimServer, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    # The app factory sets `webapp` to INFO when an earlier test built an app; look deeper.
    caplog.set_level(logging.DEBUG, logger="webapp.exchange.sim")
    bodies: list[str] = []
    client = server.client(KEY, SECRET)

    def call(fn, *args, **kwargs):
        try:
            fn(*args, **kwargs)
        except ccxt.BaseError as exc:
            bodies.append(str(exc))
        bodies.append(client.last_http_response or "")

    call(client.load_markets)
    call(client.fetch_balance)
    call(client.create_order, "BTC/USDT", "market", "buy", 0.001)
    call(client.create_order, "BTC/USDT", "market", "buy", 100)  # insufficient funds
    call(client.fetch_open_orders, "BTC/USDT")
    call(client.fetch_my_trades, "BTC/USDT")
    wrong = server.client(KEY, SECRET + "x")
    try:
        wrong.fetch_balance()
    except ccxt.AuthenticationError as exc:
        bodies.append(str(exc))
    for path in ("/sim", "/sim/accounts", "/sim/orders", "/sim/stats", "/sim/prices"):
        bodies.append(requests.get(server.url + path, timeout=5).text)
    bodies.append(post(server, "/sim/accounts", {"api_key": KEY, "secret": ""}).text)
    bodies.append(
        post(
            server, "/sim/accounts", {"api_key": "bob", "secret": SECRET, "balances": {"X": "y"}}
        ).text
    )
    assert len(bodies) > 12
    assert not [b for b in bodies if SECRET in b]
    assert SECRET not in caplog.text
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("webapp.exchange.sim")]
    assert ours and not [m for m in ours if "signature=" in m]  # no query strings logged


def test_account_spec_parsing_never_echoes_the_secret() -> None:
    spec = parse_account_spec("k1:topsecret:USDT=500,btc=0.5")
    assert spec.api_key == "k1" and spec.secret == "topsecret"
    assert {k: str(v) for k, v in spec.balances.items()} == {"USDT": "500", "BTC": "0.5"}
    assert "topsecret" not in repr(spec)
    assert parse_account_spec("k2:s2").balances == {"USDT": 10000}
    assert [s.api_key for s in parse_accounts_env("a:1; b:2:ETH=1 ;")] == ["a", "b"]
    for bad in ("nosecret", "k:topsecret:USDT", "k:topsecret:USDT=lots", "k:topsecret:x:y"):
        with pytest.raises(ConfigError) as caught:
            parse_account_spec(bad)
        assert "topsecret" not in str(caught.value)


def test_command_line_serves_and_shows_keys_but_not_secrets() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SIM_ACCOUNTS": "env-key:env-secret-123:USDT=250",
    }
    command = [
        sys.executable,
        "-m",
        "webapp.exchange.sim",
        "--port",
        "0",
        "--seed",
        "3",
        "--account",
        "cli-key:cli-secret-456:USDT=500,BTC=0.1",
    ]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        first = process.stdout.readline()
        second = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", first).group(0)
        assert "seed 3" in first
        assert second.strip() == "Accounts: env-key, cli-key"
        accounts = requests.get(url + "/sim/accounts", timeout=5).json()
        assert {a["api_key"]: a["balances"]["USDT"]["free"] for a in accounts} == {
            "env-key": "250.00000000",
            "cli-key": "500.00000000",
        }
        client = ccxt.binance({"apiKey": "cli-key", "secret": "cli-secret-456"})
        from webapp.exchange.sim import configure_ccxt_for_sim

        configure_ccxt_for_sim(client, url)
        assert client.fetch_balance()["BTC"]["free"] == 0.1
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    output = first + second + out + err
    assert "stopped" in out
    assert "env-secret-123" not in output and "cli-secret-456" not in output


def test_command_line_weight_limit() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SIM_WEIGHT_LIMIT": "25"}
    command = [sys.executable, "-m", "webapp.exchange.sim", "--port", "0"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        first = process.stdout.readline()
        assert "25 weight/min per IP" in first
        url = re.search(r"http://127\.0\.0\.1:\d+", first).group(0)
        statuses = [requests.get(url + "/api/v3/exchangeInfo", timeout=5).status_code for _ in "ab"]
        assert statuses == [200, 429]  # 20 fits in 25, 40 does not
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
