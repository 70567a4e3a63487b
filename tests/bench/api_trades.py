"""Benchmark: the JSON API's trades list for a user with 100,000 trades, on loopback only.

gunicorn runs the Procfile's `web` command (2 workers x 4 threads) against a private Redis
and a temporary SQLite database (or a fresh PostgreSQL database next to --database-url).
One user has one bot with --trades trades and a read token. It measures:

1. requests/s and latency of `GET /api/v1/trades?limit=100` next to `GET /api/v1/me` in the
   same run, each for --seconds with --clients concurrent clients (keep-alive);
2. cursor depth: the cursor is followed from page 1 to the last page (1,000 pages of 100),
   then page 1 and page 1,000 are each fetched --repeat times; the medians are compared (the
   target is page 1,000 within 1.5x of page 1: keyset pagination, not OFFSET).

It prints figures and asserts nothing about them. Every loop is bounded and it stops by
itself; it only listens on and connects to 127.0.0.1. The rate limit is raised for the run
(API_RATE_LIMIT) so it measures the app, not the limiter.

    .venv/bin/python -m tests.bench.api_trades
    .venv/bin/python -m tests.bench.api_trades --database-url postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import os
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

from tests.bots.helpers import bulk_trades, make_bot, make_key  # noqa: E402
from tests.support.database import private_database  # noqa: E402
from tests.support.processes import process_env  # noqa: E402
from tests.support.served import ServedApp  # noqa: E402
from tests.support.services import RedisServer  # noqa: E402
from webapp import accounts, create_app  # noqa: E402
from webapp.config import Config  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.tokens import service as tokens  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trades", type=int, default=100_000)
    parser.add_argument("--limit", type=int, default=100, help="trades per page")
    parser.add_argument("--seconds", type=float, default=15, help="per throughput phase")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--repeat", type=int, default=30, help="fetches of page 1 / last page")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="a PostgreSQL URL to run on (default: a temporary SQLite file)",
    )
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-api-"))
    redis_server = RedisServer(workdir).start()
    try:
        with private_database(args.database_url, workdir) as url:
            return run(args, workdir, redis_server, url)
    finally:
        redis_server.stop()


def run(args, workdir: Path, redis_server: RedisServer, url: str) -> int:
    class BenchConfig(Config):
        SECRET_KEY = "bench-secret-key-" + "x" * 32
        ENCRYPTION_KEY = Fernet.generate_key().decode()
        SQLALCHEMY_DATABASE_URI = url
        REDIS_URL = redis_server.url
        LOG_LEVEL = "WARNING"

    app = create_app(BenchConfig)
    with app.app_context():
        db.create_all()
        user = accounts.create_user("load@example.com", "correct-horse-42-benchmark-run")
        db.session.commit()
        bot = make_bot(user, make_key(user))
        started = time.perf_counter()
        bulk_trades(bot, args.trades)
        print(f"{args.trades:,} trades inserted in {time.perf_counter() - started:.1f} s")
        if db.engine.dialect.name == "postgresql":
            # What autovacuum does to a table that grew this much; planning on a table never
            # analyzed measures the planner's guesses, not the query.
            with db.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE trades")
            print(explain(user.id, args.limit))
        _, token = tokens.create_token(user, "bench", "read")
        db.session.commit()
        env = process_env(app, API_RATE_LIMIT="100000000/min", LOG_LEVEL="WARNING")
        db.engine.dispose()
    server = ServedApp(env, workdir / "web.log").start()
    try:
        base = server.url
        trades_path = f"/api/v1/trades?limit={args.limit}"
        for path in ("/api/v1/me", trades_path):  # warm both workers up
            for _ in range(10):
                requests.get(base + path, headers=_auth(token), timeout=60).raise_for_status()
        backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        print(f"database: {backend}; gunicorn as in Procfile.local; {args.clients} clients")
        for label, path in (("GET /api/v1/me", "/api/v1/me"), (f"GET {trades_path}", trades_path)):
            rate, p50, p95, errors = throughput(base, path, token, args.clients, args.seconds)
            print(
                f"{label:<32} {rate:8.1f} req/s   p50 {p50 * 1000:6.1f} ms   "
                f"p95 {p95 * 1000:6.1f} ms   errors {errors}"
            )
        depth(base, token, args.limit, args.repeat)
    finally:
        server.stop()
    return 0


def explain(user_id: int, limit: int) -> str:
    """PostgreSQL's plan for page 1 (as the API runs it)."""
    from webapp.engine import service

    query = service.trades_query(user_id).limit(limit + 1)
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(f"EXPLAIN {compiled}").all()
    return "plan of page 1:\n  " + "\n  ".join(row[0] for row in rows)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def throughput(base: str, path: str, token: str, clients: int, seconds: float):
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client() -> None:
        session = requests.Session()
        session.headers.update(_auth(token))
        mine = []
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            response = session.get(base + path, timeout=60)
            mine.append(time.perf_counter() - start)
            if response.status_code != 200:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 120)
    elapsed = time.perf_counter() - started
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95)] if latencies else 0.0
    return len(latencies) / elapsed, statistics.median(latencies), p95, errors[0]


def depth(base: str, token: str, limit: int, repeat: int) -> None:
    session = requests.Session()
    session.headers.update(_auth(token))
    path = f"/api/v1/trades?limit={limit}"
    cursors: list[str | None] = [None]
    walk = []
    started = time.perf_counter()
    for _ in range(100_000):  # bounded: far more than any page count here
        cursor = cursors[-1]
        url = base + path + (f"&cursor={cursor}" if cursor else "")
        start = time.perf_counter()
        response = session.get(url, timeout=60)
        walk.append(time.perf_counter() - start)
        response.raise_for_status()
        following = response.json()["next_cursor"]
        if following is None:
            break
        cursors.append(following)
    pages = len(walk)
    print(f"followed the cursor through {pages:,} pages in {time.perf_counter() - started:.1f} s")

    def median_of(cursor: str | None) -> float:
        url = base + path + (f"&cursor={cursor}" if cursor else "")
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            session.get(url, timeout=60).raise_for_status()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    first, last = median_of(None), median_of(cursors[-1])
    print(
        f"page 1: {first * 1000:.1f} ms   page {pages:,}: {last * 1000:.1f} ms   "
        f"ratio {last / first:.2f} (median of {repeat}; target <= 1.5)"
    )
    early = statistics.median(walk[:10])
    late = statistics.median(walk[-10:])
    print(f"during the walk: first 10 pages {early * 1000:.1f} ms, last 10 {late * 1000:.1f} ms")


if __name__ == "__main__":
    raise SystemExit(main())
