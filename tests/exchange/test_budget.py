"""One request budget per exchange host, shared by every process through Redis, against the
simulator enforcing Binance's limits, through the real ccxt client the app builds."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
import uuid

import pytest
import requests
import sqlalchemy as sa
from redis import Redis
from rq import Queue

from tests.exchange.helpers import KEY, SECRET
from tests.support.processes import ROOT, process_env
from tests.support.services import body_text
from webapp.exchange import budget as budget_module
from webapp.exchange import clients
from webapp.exchange.budget import BudgetSettings, SharedBudget
from webapp.exchange.errors import OrderLimitReached, RateLimited, translate_errors
from webapp.exchange.sim import SimServer, Simulator
from webapp.extensions import db
from webapp.models import Notification
from webapp.notify import delivery

KLINES = {"symbol": "BTCUSDT", "interval": "1m", "limit": 1}  # weight 2


def _fresh_window(seconds: int) -> None:
    """Start just after a window boundary, so a test's requests do not straddle two."""
    time.sleep(seconds - time.time() % seconds + 0.05)


def configure(app, server: SimServer, *, limit: int, window: int, max_wait: int = 10) -> None:
    app.config.update(
        EXCHANGE_SIM_URL=server.url,
        EXCHANGE_WEIGHT_LIMIT=limit,
        EXCHANGE_WEIGHT_BUDGET_PCT=80,
        EXCHANGE_WEIGHT_WINDOW_SECONDS=window,
        EXCHANGE_BUDGET_MAX_WAIT_SECONDS=max_wait,
    )
    app.extensions.pop("exchange_budgets", None)


def host_budget(app, server: SimServer) -> SharedBudget:
    host = server.url.split("//", 1)[1]
    return budget_module.budgets_of(app)(host)


def test_past_the_budget_requests_wait_for_the_next_window_and_never_meet_a_429(app, limited_sim):
    sim, server = limited_sim
    configure(app, server, limit=100, window=3)
    client = clients.public_client()
    _fresh_window(3)
    started = time.time()
    for _ in range(50):  # 100 weight: more than the 72 market data may use in a window
        client.publicGetKlines(KLINES)
    assert time.time() - started >= 2.5  # the requests past the budget waited for a window
    assert sim.limits.refused == {429: 0, 418: 0}
    assert max(sim.limits.served.values()) <= 80
    snapshot = host_budget(app, server).snapshot()
    assert snapshot["waits"] >= 1 and snapshot["429"] == 0
    assert snapshot["budget"] == 80


def test_the_exchanges_own_count_corrects_the_shared_one(app, limited_sim):
    """Weight the exchange saw from elsewhere (another tool on the same IP) is learnt from
    X-MBX-USED-WEIGHT-1M, and what would not fit waits instead of meeting a 429."""
    sim, server = limited_sim
    configure(app, server, limit=100, window=3)
    client = clients.public_client()
    _fresh_window(3)
    requests.get(server.url + "/api/v3/exchangeInfo", timeout=5)  # 20, not through the budget
    requests.get(server.url + "/api/v3/exchangeInfo", timeout=5)
    requests.get(server.url + "/api/v3/exchangeInfo", timeout=5)  # 60 used
    client.publicGetKlines(KLINES)  # 62: the answer says so
    assert host_budget(app, server).snapshot()["used"] == 62
    for _ in range(10):  # another 20 would pass 72 without the correction
        client.publicGetKlines(KLINES)
    assert sim.limits.refused[429] == 0


def test_orders_go_before_market_data(app, limited_sim):
    _, server = limited_sim
    configure(app, server, limit=100, window=3, max_wait=0)
    budget = host_budget(app, server)
    _fresh_window(3)
    budget.reserve(72)  # market data's whole share
    with pytest.raises(RateLimited):
        budget.reserve(2)  # more market data waits (here: may not wait, so it gives up)
    assert budget.reserve(1, order=True) < 0.01  # an order still goes at once


def test_a_429_stops_every_process_until_retry_after(app, limited_sim, caplog):
    """The exchange is busier than the budget knows (its limit is lower than configured):
    its first 429 holds every other process's requests back until Retry-After."""
    sim, server = limited_sim
    configure(app, server, limit=1000, window=3)
    first, second = clients.public_client(), clients.public_client()
    _fresh_window(3)
    with translate_errors():
        for _ in range(50):
            first.publicGetKlines(KLINES)  # 100: the exchange's whole limit
    with pytest.raises(RateLimited), translate_errors():
        first.publicGetKlines(KLINES)
    assert sim.limits.refused[429] == 1
    sent = sim.stats()["total"]
    app.extensions.pop("exchange_budgets")  # the other process has budget objects of its own
    started = time.time()
    second.publicGetKlines(KLINES)  # waits out Retry-After rather than being refused
    assert time.time() - started >= 1
    assert sim.stats()["total"] == sent + 1
    assert sim.limits.refused == {429: 1, 418: 0}
    assert "answered 429" in caplog.text


def test_a_418_stops_every_process_and_tells_the_operator(
    app, auth, limited_sim, caplog, smtp_server
):
    sim, server = limited_sim
    configure(app, server, limit=1000, window=3, max_wait=5)
    admins = [auth.create_user(f"admin{n}@example.com", admin=True) for n in range(2)]
    auth.create_user("alice@example.com")
    _fresh_window(3)
    for _ in range(62):  # a tool that ignores the 429s gets the IP banned (120 s)
        requests.get(server.url + "/api/v3/exchangeInfo", timeout=5)
    client = clients.public_client()
    with caplog.at_level(logging.ERROR), pytest.raises(RateLimited), translate_errors():
        client.publicGetKlines(KLINES)  # sent (nobody knew), answered 418
    assert "banned this installation's IP" in caplog.text
    sent = sim.stats()["total"]
    with pytest.raises(RateLimited), translate_errors():
        clients.public_client().publicGetKlines(KLINES)  # the ban outlasts any wait: give up
    assert sim.stats()["total"] == sent  # nothing more was sent while banned
    snapshot = host_budget(app, server).snapshot()
    assert snapshot["418"] == 1 and snapshot["blocked_until"] > time.time() + 100

    # Every admin is told once, by email, whatever their preferences; nobody else is.
    queue = Queue("default", connection=Redis.from_url(app.config["REDIS_URL"]))
    [job] = [job for job in queue.jobs if job.func_name == "workers.exchange.tell_admins_of_ban"]
    assert job.perform() == 2
    assert job.perform() == 0  # run twice: nobody is told twice
    db.session.commit()
    rows = db.session.scalars(sa.select(Notification).order_by(Notification.id)).all()
    assert [(row.user_id, row.event_type) for row in rows] == [
        (admin.id, "exchange_banned") for admin in admins
    ]
    for row in rows:
        assert delivery.deliver(row.public_id).status == delivery.Status.SENT
    messages = smtp_server.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["admin0@example.com", "admin1@example.com"]
    host = server.url.split("//", 1)[1]
    for message in messages:
        assert "banned this installation's IP" in message["Subject"]
        body = body_text(message)
        assert host in body and "HTTP 418" in body and "/admin/exchange" in body
        banned_until = time.strftime("%Y-%m-%d %H:%M", time.gmtime(snapshot["blocked_until"]))
        assert banned_until in body


def test_each_key_keeps_under_its_order_limit(redis_server):
    from redis import Redis

    now = [time.time() // 10 * 10 + 1]  # 1 s into a 10-second order window
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    budget = SharedBudget(
        Redis.from_url(redis_server.url),
        f"orders-{uuid.uuid4().hex}.example",
        BudgetSettings(orders_per_10s=3, max_wait=15),
        clock=lambda: now[0],
        sleep=sleep,
    )
    for _ in range(3):
        budget.reserve(1, order=True, api_key="key-a")
    budget.reserve(1, order=True, api_key="key-b")  # another key has its own count
    assert waits == []
    budget.reserve(1, order=True, api_key="key-a")  # the fourth waits for the next window
    assert waits == [pytest.approx(9, abs=0.01)]


WORKER = """
import sys
from webapp import create_app
app = create_app()
with app.app_context():
    from webapp.exchange.clients import public_client
    client = public_client()
    print("ready", flush=True)
    sys.stdin.readline()  # all four start together, at the start of a window
    for _ in range(int(sys.argv[1])):
        client.publicGetKlines({"symbol": "BTCUSDT", "interval": "1m", "limit": 1})
print("done")
"""


@pytest.mark.slow
def test_four_processes_share_one_budget_and_use_it(app):
    """Four processes together ask for more than three windows allow: the exchange refuses
    nothing, no window goes past the budget, and every window they keep busy uses at least
    80% of it."""
    sim = Simulator(seed=11, frozen=True, weight_limit=750, weight_window=5)
    with SimServer(sim) as server:
        env = process_env(
            app,
            EXCHANGE_SIM_URL=server.url,
            EXCHANGE_WEIGHT_LIMIT="750",
            EXCHANGE_WEIGHT_BUDGET_PCT="80",  # a budget of 600 per window
            EXCHANGE_WEIGHT_WINDOW_SECONDS="5",
            EXCHANGE_BUDGET_MAX_WAIT_SECONDS="30",
        )
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, "250"],  # 500 weight each, 2,000 in all
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        for worker in workers:
            assert worker.stdout.readline().strip() == "ready"
        _fresh_window(5)
        for worker in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        for worker in workers:
            out, err = worker.communicate(timeout=120)
            assert worker.returncode == 0, err
            assert out.strip() == "done"
    assert sim.limits.refused == {429: 0, 418: 0}
    served = [weight for _, weight in sorted(sim.limits.served.items())]
    assert sum(served) == 4 * 250 * 2
    assert all(weight <= 600 for weight in served), served
    busy = served[:-1]  # every window but the one the last requests fell in
    assert busy and all(weight >= 0.8 * 600 for weight in busy), served


def test_a_key_stops_at_its_daily_order_limit_counting_what_the_exchange_saw(app, sim, server):
    """Another program trading with the same key is counted too (X-MBX-ORDER-COUNT-1D), and an
    order past the day's limit is refused here, never sent."""
    configure(app, server, limit=6000, window=60)
    app.config["EXCHANGE_ORDERS_PER_DAY"] = 3
    app.extensions.pop("exchange_budgets", None)
    elsewhere = server.client(KEY, SECRET, timeout_ms=5000)  # not through the budget
    elsewhere.load_markets()
    elsewhere.create_order("BTC/USDT", "market", "buy", 0.001)
    ours = clients.client_for_credentials("binance", KEY, SECRET, trading=True)
    ours.load_markets()
    with translate_errors():
        ours.create_order("BTC/USDT", "market", "buy", 0.001)  # the answer says 2 today
        ours.create_order("BTC/USDT", "market", "buy", 0.001)
    with pytest.raises(OrderLimitReached) as refused, translate_errors():
        ours.create_order("BTC/USDT", "market", "buy", 0.001)
    assert "midnight UTC" in str(refused.value)
    assert sim.limits.order_counts(KEY) == (3, 3)  # the fourth never reached the exchange


def test_the_daily_order_limit_is_per_key_and_per_utc_day(redis_server):
    from redis import Redis

    now = [(time.time() // 86400 + 1) * 86400 - 5]  # five seconds before midnight UTC
    budget = SharedBudget(
        Redis.from_url(redis_server.url),
        f"orders-{uuid.uuid4().hex}.example",
        BudgetSettings(orders_per_day=2),
        clock=lambda: now[0],
        sleep=lambda seconds: None,
    )
    budget.reserve(1, order=True, api_key="key-a")
    now[0] += 1  # another 10-second window would not help
    budget.reserve(1, order=True, api_key="key-a")
    with pytest.raises(OrderLimitReached):
        budget.reserve(1, order=True, api_key="key-a")
    budget.reserve(1, order=True, api_key="key-b")  # another key has its own day
    now[0] += 5  # a new UTC day
    budget.reserve(1, order=True, api_key="key-a")


def test_a_keys_order_429_stops_only_that_keys_orders(app, sim, server):
    """-1015 (too many new orders for the key) is the key's limit, not the IP's: market data
    and other keys go on at once, and the key's next order waits for the next 10 s window."""
    configure(app, server, limit=6000, window=60, max_wait=0)
    sim.limits.orders_per_10s = 2  # stricter than the budget knows (it allows 50)
    ours = clients.client_for_credentials("binance", KEY, SECRET, trading=True)
    ours.load_markets()
    _fresh_window(10)
    with translate_errors():
        ours.create_order("BTC/USDT", "market", "buy", 0.001)
        ours.create_order("BTC/USDT", "market", "buy", 0.001)
    with pytest.raises(RateLimited), translate_errors():
        ours.create_order("BTC/USDT", "market", "buy", 0.001)  # the exchange answers 429 -1015
    sent = sim.stats()["total"]
    started = time.time()
    with translate_errors():
        ours.publicGetKlines(KLINES)  # not held back
    assert time.time() - started < 1 and sim.stats()["total"] == sent + 1
    with pytest.raises(RateLimited), translate_errors():
        ours.create_order("BTC/USDT", "market", "buy", 0.001)  # this key's window is full
    assert sim.stats()["total"] == sent + 1  # refused here, never sent
    snapshot = host_budget(app, server).snapshot()
    assert snapshot["429"] == 0 and snapshot["blocked_until"] is None
