"""Benchmark: every page and polling fragment at 0, 10,000 and 100,000 trades, on loopback.

gunicorn runs the Procfile's `web` command (2 workers x 4 threads) against a private Redis,
the simulated exchange (for the bot form's symbols and the price chart) and a temporary
SQLite database (or a fresh PostgreSQL database next to --database-url). There is one user
per size in --sizes, each with one running bot holding that many trades (inserted in bulk,
rollups rebuilt as the migration does) and BACKTESTS finished backtests of some 1,000 trades
each, a second bot, and a read token for the API.

For each user, each page, fragment and API report is requested for --seconds by --clients
concurrent keep-alive clients, and requests/s, p50 and p95 are printed next to `/healthz`
measured the same way in the same run (before and after the pages). Fragments are requested
as htmx polls them (HX-Request and HX-Target); "poll, unchanged" is a poll carrying the
version it already shows, answered 204. It prints figures and asserts nothing about them.
Every loop is bounded and it stops by itself; it only listens on and connects to 127.0.0.1.

    .venv/bin/python -m tests.bench.pages
    .venv/bin/python -m tests.bench.pages --database-url postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.backtest.helpers import finished_backtest  # noqa: E402
from tests.bots.helpers import add_activity, bulk_trades, make_bot, make_key  # noqa: E402
from tests.support.database import private_database  # noqa: E402
from tests.support.processes import process_env  # noqa: E402
from tests.support.served import ServedApp  # noqa: E402
from tests.support.services import RedisServer  # noqa: E402
from webapp import accounts, create_app  # noqa: E402
from webapp.config import Config  # noqa: E402
from webapp.engine import service  # noqa: E402
from webapp.exchange.sim import SimServer, Simulator  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import BotStatus  # noqa: E402
from webapp.tokens import service as tokens  # noqa: E402
from webapp.trades import keyset  # noqa: E402
from webapp.trades.routes import PER_PAGE  # noqa: E402

PASSWORD = "correct-horse-42-benchmark-run"
#: Finished backtests of the busy bot, each about 1,000 trades (some 230 kB stored), for
#: every size: the bot page lists the latest five, /backtests/ all of them.
BACKTESTS = 6
SIM_KEY, SIM_SECRET = "bench-pages-key-0001", "SbenchPagesSecret-0123456789abcdef"
POLL_URL = re.compile(r'id="{target}"[^>]*hx-get="([^"]+)"')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="0,10000,100000", help="trades per user, commas")
    parser.add_argument("--seconds", type=float, default=3, help="per page and size")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="a PostgreSQL URL to run on (default: a temporary SQLite file)",
    )
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    redis_server = RedisServer(workdir).start()
    simulator = Simulator(seed=3, frozen=True, weight_limit=None)  # pages, not a request budget
    simulator.add_account(SIM_KEY, SIM_SECRET, {"USDT": "100000"})
    try:
        with SimServer(simulator) as sim, private_database(args.database_url, workdir) as url:
            return run(args, sizes, workdir, redis_server, sim, url)
    finally:
        redis_server.stop()


def seed(sizes: list[int]) -> dict[int, dict]:
    """One user per size: a running bot with that many trades and BACKTESTS finished
    backtests, a stopped one, a token."""
    users = {}
    for size in sizes:
        email = f"load{size}@example.com"
        user = accounts.create_user(email, PASSWORD)
        db.session.commit()
        key = make_key(user)
        bot = make_bot(user, key, "Busy", status=BotStatus.RUNNING)
        make_bot(user, key, "Idle")
        for n in range(60):
            add_activity(bot, f"Cycle {n}: hold.")
        backtests = [finished_backtest(bot, candles=20_000).id for _ in range(BACKTESTS)]
        started = time.perf_counter()
        bulk_trades(bot, size)
        if size:
            print(f"{size:,} trades inserted in {time.perf_counter() - started:.1f} s")
        _, token = tokens.create_token(user, "bench", "read")
        db.session.commit()
        users[size] = {
            "email": email,
            "bot": bot.id,
            "backtest": backtests[-1],
            "token": token,
            **cursors(user, size),
        }
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:  # what autovacuum does to a table that grew this much
            conn.exec_driver_sql("ANALYZE")
    return users


def cursors(user, size: int) -> dict[str, str]:
    """Cursors as the Older link carries them: 2,000 trades deep, and the last page's."""

    def after(depth: int) -> str:
        if depth < 0:
            return ""
        trade = db.session.scalar(service.trades_query(user).offset(depth).limit(1))
        return keyset.encode(keyset.Key.of(trade)) if trade is not None else ""

    return {"deep": after(min(2000, size - 1)), "last": after(size - PER_PAGE - 1)}


def run(args, sizes, workdir: Path, redis_server: RedisServer, sim: SimServer, url: str) -> int:
    class BenchConfig(Config):
        SECRET_KEY = "bench-secret-key-" + "x" * 32
        ENCRYPTION_KEY = Fernet.generate_key().decode()
        SQLALCHEMY_DATABASE_URI = url
        REDIS_URL = redis_server.url
        LOG_LEVEL = "WARNING"

    app = create_app(BenchConfig)
    with app.app_context():
        db.create_all()
        users = seed(sizes)
        env = process_env(
            app,
            API_RATE_LIMIT="100000000/min",
            LOG_LEVEL="WARNING",
            EXCHANGE_SIM_URL=sim.url,
        )
        db.engine.dispose()
    server = ServedApp(env, workdir / "web.log").start()
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"database: {backend}; gunicorn as in Procfile.local; {args.clients} clients, "
          f"{args.seconds:g} s per row")  # fmt: skip
    results: dict[str, dict[int, tuple]] = {}
    try:
        health = [measure(server.url, {}, "/healthz", {}, args)]
        for size in sizes:
            for label, (path, headers) in endpoints(server.url, users[size]).items():
                cookies = users[size]["cookies"] if not path.startswith("/api/") else {}
                if path.startswith("/api/"):
                    headers = {**headers, "Authorization": f"Bearer {users[size]['token']}"}
                results.setdefault(label, {})[size] = measure(
                    server.url, cookies, path, headers, args
                )
        health.append(measure(server.url, {}, "/healthz", {}, args))
    finally:
        server.stop()
    report(results, health, sizes)
    return 0


def endpoints(base: str, user: dict) -> dict[str, tuple[str, dict]]:
    """What a browser asks for on each page, and what its polls ask for."""
    session = requests.Session()
    page = session.get(f"{base}/auth/login", timeout=60).text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    session.post(
        f"{base}/auth/login",
        data={"csrf_token": csrf, "email": user["email"], "password": PASSWORD},
        allow_redirects=False,
        timeout=60,
    ).raise_for_status()
    user["cookies"] = session.cookies.get_dict()
    bot = user["bot"]

    def htmx(target: str) -> dict:
        return {"HX-Request": "true", "HX-Target": target}

    def poll_url(path: str, target: str) -> str:
        body = session.get(base + path, headers=htmx(target), timeout=60).text
        found = re.search(POLL_URL.pattern.format(target=target), body)
        return found.group(1).replace("&amp;", "&") if found else path

    return {
        "dashboard /": ("/", {}),
        "dashboard summary (poll, changed)": ("/", htmx("dashboard-summary")),
        "dashboard summary (poll, unchanged)": (
            poll_url("/", "dashboard-summary"),
            htmx("dashboard-summary"),
        ),
        "bots /bots/": ("/bots/", {}),
        "bot page /bots/ID": (f"/bots/{bot}", {}),
        "bot status (poll)": (f"/bots/{bot}", htmx("bot-status")),
        "bot activity (poll)": (f"/bots/{bot}", htmx("bot-activity")),
        "bot performance (poll, changed)": (f"/bots/{bot}", htmx("bot-performance")),
        "bot performance (poll, unchanged)": (
            poll_url(f"/bots/{bot}", "bot-performance"),
            htmx("bot-performance"),
        ),
        "bot price chart": (f"/bots/{bot}/price-chart", htmx("bot-price")),
        "bot form /bots/ID/edit": (f"/bots/{bot}/edit", {}),
        "bot form /bots/new": ("/bots/new", {}),
        "backtests /backtests/": ("/backtests/", {}),
        "backtest /backtests/ID": (f"/backtests/{user['backtest']}", {}),
        "trades /trades/": ("/trades/", {}),
        "trades, bot+side filter": (f"/trades/?bot={bot}&side=sell", {}),
        "trades, date range": ("/trades/?from=2026-03-02&to=2026-03-20", {}),
        "trades, 2,000 deep (cursor)": (f"/trades/?after={user['deep']}", {}),
        "trades, last page (cursor)": (f"/trades/?after={user['last']}", {}),
        "trades, Newer from 2,000 deep": (f"/trades/?before={user['deep']}", {}),
        "keys /keys/": ("/keys/", {}),
        "notifications /notifications/": ("/notifications/", {}),
        "notifications /notifications/preferences": ("/notifications/preferences", {}),
        "notifications /notifications/history": ("/notifications/history", {}),
        "tokens /tokens/": ("/tokens/", {}),
        "security /security/": ("/security/", {}),
        "security /security/sessions": ("/security/sessions", {}),
        "security /security/activity": ("/security/activity", {}),
        "API bots": ("/api/v1/bots", {}),
        "API reports/summary": ("/api/v1/reports/summary", {}),
        "API bots/ID/performance": (f"/api/v1/bots/{bot}/performance", {}),
        "API trades?limit=100": ("/api/v1/trades?limit=100", {}),
        "API trades, 2,000 deep": (f"/api/v1/trades?limit=100&cursor={user['deep']}", {}),
    }


def measure(base: str, cookies: dict, path: str, headers: dict, args) -> tuple:
    """(requests/s, p50 s, p95 s, errors) of `path` with args.clients keep-alive clients."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    for _ in range(3):  # warm up both workers
        requests.get(base + path, headers=headers, cookies=cookies, timeout=60)
    deadline = time.perf_counter() + args.seconds

    def client() -> None:
        session = requests.Session()
        session.headers.update(headers)
        session.cookies.update(cookies)
        mine = []
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            response = session.get(base + path, timeout=60, allow_redirects=False)
            mine.append(time.perf_counter() - start)
            if response.status_code not in (200, 204):
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(args.seconds + 120)
    elapsed = time.perf_counter() - started
    latencies.sort()
    if not latencies:
        return 0.0, 0.0, 0.0, errors[0]
    p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
    return len(latencies) / elapsed, statistics.median(latencies), p95, errors[0]


def report(results: dict[str, dict[int, tuple]], health: list[tuple], sizes: list[int]) -> None:
    rate = statistics.mean(h[0] for h in health)
    print(
        f"/healthz: {health[0][0]:.0f} and {health[1][0]:.0f} req/s (before / after), "
        f"p50 {health[0][1] * 1000:.1f} ms, p95 {health[0][2] * 1000:.1f} ms"
    )
    head = " | ".join(f"{size:,} trades: req/s (% of /healthz) p50 / p95 ms" for size in sizes)
    print(f"| page | {head} | {sizes[-1]:,} vs {sizes[0]:,} (p50) |")
    print("| --- |" + " --- |" * (len(sizes) + 1))
    for label, by_size in results.items():
        cells = []
        for size in sizes:
            r, p50, p95, errors = by_size[size]
            flag = f" ({errors} errors)" if errors else ""
            cells.append(
                f"{r:.0f} ({r / rate * 100:.0f}%) {p50 * 1000:.1f} / {p95 * 1000:.1f}{flag}"
            )
        first, last = by_size[sizes[0]][1], by_size[sizes[-1]][1]
        print(f"| {label} | " + " | ".join(cells) + f" | {last / first:.2f}x |")


if __name__ == "__main__":
    raise SystemExit(main())
