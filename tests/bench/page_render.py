"""Benchmark: what the app itself spends on a page, without gunicorn or the network.

The user tests.bench.pages seeds (a running bot holding --trades trades, inserted in bulk,
its finished backtests, a stopped one, 60 activity lines), a private Redis and the simulated
exchange on loopback, a temporary SQLite database. Each path (an /api/ one with the user's
read token) is requested --requests times through Flask's test client after 20 to warm up,
and the mean time per request is printed with how many SQL statements one request ran (with
--rounds N, the best of N such means: on a shared machine, other work only ever adds time;
with --sql, each statement too). With --profile PATH, that path's requests run under cProfile
and the 40 most expensive functions are printed (cumulative time, or with --sort tottime
their own; --rows N prints N, --dump FILE keeps the raw profile). It measures what a change
to a page costs on one core, which tests.bench.pages (through gunicorn, with concurrent
clients) blurs with the machine's load. It asserts nothing and stops by itself.

    .venv/bin/python -m tests.bench.page_render
    .venv/bin/python -m tests.bench.page_render --trades 10000 --profile /bots/ID
    .venv/bin/python -m tests.bench.page_render --rounds 5 /notifications/preferences
    .venv/bin/python -m tests.bench.page_render --trades 100000 "/trades/?after=DEEP"
    .venv/bin/python -m tests.bench.page_render --sql /backtests/BT
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

from tests.bench.pages import PASSWORD, SIM_KEY, SIM_SECRET, seed  # noqa: E402
from tests.support.services import RedisServer  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.config import Config  # noqa: E402
from webapp.exchange.sim import SimServer, Simulator  # noqa: E402
from webapp.extensions import db  # noqa: E402

PATHS = [
    "/",
    "/bots/",
    "/bots/ID",
    "/bots/ID/edit",
    "/backtests/",
    "/backtests/BT",
    "/trades/",
    "/notifications/",
    "/security/",
    "/healthz",
]
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trades", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--profile", help="a path to profile (ID: the busy bot's id)")
    parser.add_argument(
        "--sort", default="cumulative", help="the profile's order: cumulative or tottime"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="time each path this many times; print the best"
    )
    parser.add_argument("--rows", type=int, default=40, help="how many functions to print")
    parser.add_argument("--dump", help="also write the raw profile here (for pstats or snakeviz)")
    parser.add_argument(
        "--sql", action="store_true", help="also print the statements one request of each path ran"
    )
    parser.add_argument("paths", nargs="*", default=PATHS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        redis_server = RedisServer(Path(tmp)).start()
        sim = Simulator(seed=1)
        sim.add_account(SIM_KEY, SIM_SECRET, {"USDT": "100000"})
        try:
            with SimServer(sim) as server:
                run(args, tmp, redis_server.url, server.url)
        finally:
            redis_server.stop()
    return 0


def run(args, tmp: str, redis_url: str, sim_url: str) -> None:
    class BenchConfig(Config):
        SECRET_KEY = "bench-secret-key-" + "x" * 32
        ENCRYPTION_KEY = Fernet.generate_key().decode()
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp}/pages.db"
        REDIS_URL = redis_url
        EXCHANGE_SIM_URL = sim_url
        LOG_LEVEL = "WARNING"
        API_RATE_LIMIT = "100000000/min"  # as tests.bench.pages: measured, not refused

    app = create_app(BenchConfig)
    with app.app_context():
        db.create_all()
        [user] = seed([args.trades]).values()  # the user tests.bench.pages measures
    client = app.test_client()
    token = CSRF.search(client.get("/auth/login").get_data(as_text=True)).group(1)
    client.post(
        "/auth/login", data={"email": user["email"], "password": PASSWORD, "csrf_token": token}
    )
    print(f"{args.trades:,} trades, SQLite, {args.requests} requests per path, one thread")
    api = {"Authorization": f"Bearer {user['token']}"}  # for /api/ paths

    def get(path: str):
        return client.get(path, headers=api if path.startswith("/api/") else None)

    with app.app_context():
        engine = db.engine
    statements = [0]
    shown: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements[0] += 1
        shown.append(" ".join(statement.split()))

    sa.event.listen(engine, "before_cursor_execute", count)
    for raw in args.paths:
        path = _path(raw, user)
        for _ in range(20):
            get(path)
        statements[0] = 0
        shown.clear()
        get(path)
        queries = statements[0]
        if args.sql:
            for number, statement in enumerate(shown, 1):
                print(f"  {number}. {statement[:400]}")
        rounds = []
        for _ in range(max(1, args.rounds)):
            started = time.perf_counter()
            for _ in range(args.requests):
                status = get(path).status_code
            rounds.append((time.perf_counter() - started) / args.requests * 1000)
        took = min(rounds)  # the machine's other work only ever adds time
        print(f"{raw:<26} {status}  {took:6.2f} ms  {queries:2d} queries")
    if args.profile:
        path = _path(args.profile, user)
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.requests):
            get(path)
        profile.disable()
        if args.dump:
            profile.dump_stats(args.dump)
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.rows)


def _path(raw: str, user: dict) -> str:
    """ID: the busy bot's id; BT: its latest backtest's; DEEP and LAST: the cursors 2,000
    trades deep and of the last page, as tests.bench.pages requests them."""
    return (
        raw.replace("BT", str(user["backtest"]))
        .replace("DEEP", user["deep"])
        .replace("LAST", user["last"])
        .replace("ID", str(user["bot"]))
    )


if __name__ == "__main__":
    raise SystemExit(main())
