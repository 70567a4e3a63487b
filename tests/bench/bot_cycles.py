"""Benchmark: many bots over many markets, the real scheduler and real workers, on loopback.

N running bots (threshold strategy, live mode on the simulated exchange, 60 s interval, due
times spread over the first interval) on M symbols; `flask schedule sync` + `flask schedule run`
run the tick every BOT_TICK_SECONDS and W `rq worker` processes run the cycles for a bounded
time. Then the same workers drain a batch of no-op jobs, for comparison. Prints bots,
symbols, workers, cycles/s, market-data requests per tick, orders placed, duplicate orders,
p50/p99 due-to-cycle lag, bots that missed a due cycle, and peak RSS per worker. It measures;
it asserts nothing about timings.

    .venv/bin/python -m tests.bench.bot_cycles --bots 10000 --symbols 50 --workers 2

Uses a private redis-server and a fresh PostgreSQL database next to TEST_DATABASE_URL
(default postgresql://postgres@127.0.0.1:5432/test); SQLite would serialize every write.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from rq.registry import StartedJobRegistry  # noqa: E402

from tests.support.database import private_database  # noqa: E402
from tests.support.processes import BIN, process_env  # noqa: E402
from tests.support.services import RedisServer  # noqa: E402
from webapp import create_app, crypto  # noqa: E402
from webapp.config import Config  # noqa: E402
from webapp.exchange.sim import SimServer, Simulator, default_specs  # noqa: E402
from webapp.extensions import db, redis_ext  # noqa: E402
from webapp.keys import service as keys  # noqa: E402
from webapp.models import (  # noqa: E402
    ActivityKind,
    ApiKey,
    Bot,
    BotActivity,
    BotMode,
    BotState,
    BotStatus,
    Trade,
    User,
)
from webapp.models.types import utcnow  # noqa: E402

API_KEY = "bench-key-0001"
API_SECRET = "bench-secret-0001"
INTERVAL = 60
CYCLE_KINDS = (ActivityKind.CYCLE, ActivityKind.SIGNAL, ActivityKind.ERROR)


def noop() -> None:
    """The no-op job the workers drain for comparison."""


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


class RssSampler(threading.Thread):
    """Peak resident memory of each worker process and of its work horses."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.parent_peak: dict[int, int] = dict.fromkeys(pids, 0)
        self.horse_peak: dict[int, int] = dict.fromkeys(pids, 0)
        self.stopped = threading.Event()

    @staticmethod
    def rss_kb(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    @staticmethod
    def children(pid: int) -> list[int]:
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as fh:
                return [int(child) for child in fh.read().split()]
        except OSError:
            return []

    def run(self) -> None:
        while not self.stopped.wait(0.2):
            for pid in self.pids:
                self.parent_peak[pid] = max(self.parent_peak[pid], self.rss_kb(pid))
                for child in self.children(pid):
                    self.horse_peak[pid] = max(self.horse_peak[pid], self.rss_kb(child))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bots", type=int, default=10000)
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=180, help="how long the bots run")
    parser.add_argument("--tick", type=int, default=5, help="BOT_TICK_SECONDS")
    parser.add_argument("--batch", type=int, default=50, help="BOT_BATCH_SIZE")
    parser.add_argument("--noop-jobs", type=int, default=2000)
    parser.add_argument(
        "--trading-pct", type=int, default=20, help="%% of bots whose levels make them trade"
    )
    parser.add_argument(
        "--bots-per-key",
        type=int,
        default=None,
        help="bots sharing one API key (exchange account); default: one key for every bot, "
        "or 50 bots per key with --binance-limits (Binance limits each key's orders)",
    )
    parser.add_argument(
        "--binance-limits",
        action="store_true",
        help="the simulator enforces 6,000 weight/min and 50 orders/10 s, and the app's shared "
        "budget paces every process under them (default: the engine alone, unlimited)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test",
    )
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="bench-bots-"))
    redis_server = RedisServer(workdir).start()
    # By default the run measures the engine alone: one account trades for every bot, far past
    # Binance's per-account order limits, and the simulator counts weight but never refuses.
    if args.binance_limits:
        sim = Simulator(seed=3)
    else:
        sim = Simulator(seed=3, weight_limit=None, order_limits=False)
    sim.add_account(API_KEY, API_SECRET, {"USDT": "1000000000000"})
    try:
        with SimServer(sim) as sim_server, private_database(args.database_url, workdir) as url:
            return run(args, workdir, redis_server, sim, sim_server, url)
    finally:
        redis_server.stop()


def run(args, workdir: Path, redis_server, sim: Simulator, sim_server, url: str) -> int:
    settings = {
        "BOT_TICK_SECONDS": str(args.tick),
        "BOT_BATCH_SIZE": str(args.batch),
        "LOG_LEVEL": "WARNING",
    }
    if not args.binance_limits:  # no shared budget either: the engine's own speed
        settings.update(EXCHANGE_WEIGHT_LIMIT=str(10**9), EXCHANGE_ORDERS_PER_10S=str(10**9))

    class BenchConfig(Config):
        SECRET_KEY = "bench-secret-key-" + "x" * 32
        ENCRYPTION_KEY = Fernet.generate_key().decode()
        SQLALCHEMY_DATABASE_URI = url
        REDIS_URL = redis_server.url
        EXCHANGE_SIM_URL = sim_server.url
        BOT_TICK_SECONDS = args.tick
        BOT_BATCH_SIZE = args.batch
        LOG_LEVEL = "WARNING"

    app = create_app(BenchConfig)
    if not args.binance_limits:
        app.config.update(EXCHANGE_WEIGHT_LIMIT=10**9, EXCHANGE_ORDERS_PER_10S=10**9)
    with app.app_context():
        db.create_all()
        symbols = [spec.symbol for spec in default_specs()][: args.symbols]
        print(f"creating {args.bots} bots on {len(symbols)} symbols ...", flush=True)
        bots_per_key = args.bots_per_key or (50 if args.binance_limits else args.bots)
        bot_ids = create_bots(args.bots, symbols, sim, args.trading_pct, bots_per_key)
        env = process_env(app, **settings)

        procs: list[subprocess.Popen] = []
        logs = []

        def spawn(name: str, *argv: str) -> subprocess.Popen:
            log = open(workdir / f"{name}.log", "w")  # noqa: SIM115 - closed below
            logs.append(log)
            proc = subprocess.Popen(
                [str(BIN / argv[0]), *argv[1:]],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            procs.append(proc)
            return proc

        workers = [
            spawn(
                f"worker{i}",
                "rq",
                "worker",
                "--url",
                redis_server.url,
                "--quiet",
                "--worker-class",
                "workers.AppWorker",
                "bots",
                "default",
                "notifications",
            )
            for i in range(args.workers)
        ]
        sampler = RssSampler([w.pid for w in workers])
        sampler.start()
        try:
            wait_for_workers(args.workers)
            # Due times spread evenly over the first interval, starting now.
            start = utcnow() + timedelta(seconds=2)
            spread_due_times(bot_ids, start)
            sim.reset_stats()
            sync = subprocess.run(
                [str(BIN / "flask"), "schedule", "sync"], cwd=ROOT, env=env, capture_output=True
            )
            assert sync.returncode == 0, sync.stderr
            scheduler = spawn("scheduler", "flask", "schedule", "run", "--interval", "1")
            print(f"running for {args.seconds}s ...", flush=True)
            time.sleep(args.seconds)
            end = utcnow()
            scheduler.send_signal(signal.SIGTERM)
            scheduler.wait(timeout=30)
            stats = sim.stats()
            drain_bots_queue(timeout=120)

            noop_rate = run_noops(args.noop_jobs)
        finally:
            sampler.stopped.set()
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            for log in logs:
                log.close()

        report(args, symbols, bot_ids, start, end, stats, sim, sampler, noop_rate, workdir)
        db.session.remove()
        db.engine.dispose()
    return 0


def create_bots(
    count: int, symbols: list[str], sim: Simulator, trading_pct: int, bots_per_key: int
) -> list[int]:
    user = User(email="bench@example.com")
    user.set_password("bench-password-123")
    db.session.add(user)
    db.session.flush()
    api_key = keys.add_key(user, "binance", "bench", API_KEY, API_SECRET)  # checked as a user's
    db.session.flush()
    key_ids = [api_key.id]
    for n in range(1, math.ceil(count / bots_per_key)):
        # Each further key is its own exchange account, stored as the first one was (checking
        # hundreds of keys with the exchange would spend the run's weight before it starts).
        key, secret = f"bench-key-{n + 1:05d}", f"bench-secret-{n + 1:05d}"
        sim.add_account(key, secret, {"USDT": "1000000000000"})
        extra = ApiKey(
            user_id=user.id, exchange="binance", label=f"bench {n + 1}",
            key_encrypted=crypto.encrypt(key), secret_encrypted=crypto.encrypt(secret),
            key_last4=key[-4:], is_valid=True, last_validated_at=api_key.last_validated_at,
            can_trade=api_key.can_trade, ip_restricted=api_key.ip_restricted,
        )  # fmt: skip
        db.session.add(extra)
        db.session.flush()
        key_ids.append(extra.id)
    print(f"api keys                  {len(key_ids)} ({bots_per_key} bots each)", flush=True)
    now = utcnow()
    rows = []
    for i in range(count):
        symbol = symbols[i % len(symbols)]
        price = sim.price(symbol)
        if i % 100 < trading_pct:
            # Buys at once, sells after a small rise, buys again on a dip: regular orders.
            buy_below = (price * Decimal("1.0005")).normalize()
            sell_above = (price * Decimal("1.0015")).normalize()
        else:  # waits for a 20% dip: holds, like most bots most of the time
            buy_below = (price * Decimal("0.8")).normalize()
            sell_above = (price * Decimal("1.2")).normalize()
        rows.append(
            {
                "user_id": user.id,
                "api_key_id": key_ids[i // bots_per_key],
                "name": f"bench {i}",
                "exchange": "binance",
                "symbol": symbol,
                "timeframe": "1m",
                "strategy": "threshold",
                "params": {"buy_below": f"{buy_below:f}", "sell_above": f"{sell_above:f}"},
                "quote_amount": Decimal(20),
                "interval_seconds": INTERVAL,
                "mode": BotMode.LIVE,
                "created_at": now,
                "updated_at": now,
            }
        )
    ids = list(db.session.scalars(sa.insert(Bot).returning(Bot.id), rows))
    db.session.execute(
        sa.insert(BotState),
        [
            {
                "bot_id": bot_id,
                "status": BotStatus.RUNNING,
                "position_qty": Decimal(0),
                "position_avg_price": Decimal(0),
                "realized_pnl_today": Decimal(0),
                "pnl_day": now.date(),
                "started_at": now,
                "next_run_at": None,
                "updated_at": now,
            }
            for bot_id in ids
        ],
    )
    db.session.commit()
    return ids


def spread_due_times(bot_ids: list[int], start) -> None:
    step = INTERVAL / len(bot_ids)
    db.session.execute(
        sa.update(BotState),
        [
            {"bot_id": bot_id, "next_run_at": start + timedelta(seconds=i * step)}
            for i, bot_id in enumerate(bot_ids)
        ],
    )
    db.session.commit()


def wait_for_workers(count: int, timeout: float = 60.0) -> None:
    from rq import Worker

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(Worker.all(connection=redis_ext.conn)) >= count:
            return
        time.sleep(0.2)
    raise RuntimeError("workers did not start")


def drain_bots_queue(timeout: float) -> None:
    queue = redis_ext.queue("bots")
    started = StartedJobRegistry(queue=queue)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (queue.count or started.count):
        time.sleep(0.2)


def run_noops(count: int) -> float:
    queue = redis_ext.queue("default")
    started_registry = StartedJobRegistry(queue=queue)
    jobs = [queue.prepare_data("tests.bench.bot_cycles.noop", result_ttl=0) for _ in range(count)]
    began = time.monotonic()
    queue.enqueue_many(jobs)
    while queue.count or started_registry.count:
        time.sleep(0.05)
        if time.monotonic() - began > 600:
            break
    return count / (time.monotonic() - began)


def report(args, symbols, bot_ids, start, end, stats, sim, sampler, noop_rate, workdir) -> None:
    db.session.expire_all()
    step = INTERVAL / len(bot_ids)
    first_due = {bot_id: start + timedelta(seconds=i * step) for i, bot_id in enumerate(bot_ids)}
    rows = db.session.execute(
        sa.select(BotActivity.bot_id, BotActivity.at).where(BotActivity.kind.in_(CYCLE_KINDS))
    ).all()
    in_window = [(bot_id, at) for bot_id, at in rows if at <= end]
    seconds = (end - start).total_seconds()
    lags: list[float] = []
    seen: dict[int, set[int]] = defaultdict(set)
    for bot_id, at in in_window:
        since = (at - first_due[bot_id]).total_seconds()
        period = int(since // INTERVAL)
        seen[bot_id].add(period)
        lags.append(since - period * INTERVAL)
    # A due time counts when a whole interval to serve it fitted in the window.
    missed = due = 0
    bots_missing = 0
    for bot_id in bot_ids:
        periods = int(((end - first_due[bot_id]).total_seconds() - INTERVAL) // INTERVAL) + 1
        expected = set(range(max(0, periods)))
        due += len(expected)
        lost = expected - seen[bot_id]
        missed += len(lost)
        bots_missing += bool(lost)

    errors = Counter(
        kind
        for (kind,) in db.session.execute(
            sa.select(BotActivity.kind).where(BotActivity.kind == ActivityKind.ERROR)
        )
    )
    orders = sim.orders()
    by_client_id = Counter(order.client_order_id for order in orders)
    duplicates = sum(n - 1 for n in by_client_id.values() if n > 1)
    trade_ids = set(db.session.scalars(sa.select(Trade.client_order_id)))
    unrecorded = sum(1 for cid in by_client_id if cid not in trade_ids)
    pending = db.session.scalar(
        sa.select(sa.func.count()).where(BotState.pending_client_order_id.is_not(None))
    )
    ticks = max(1, int(seconds // args.tick))
    requests = stats["requests"]
    klines = requests.get("GET /api/v3/klines", 0)
    pairs = len(symbols)

    def mb(kb: int) -> str:
        return f"{kb / 1024:.0f} MB"

    print()
    print(f"bots                      {len(bot_ids)}")
    print(f"symbols                   {len(symbols)} (timeframe 1m)")
    print(f"workers                   {args.workers} (batch {args.batch}, tick {args.tick}s)")
    print(f"window                    {seconds:.0f}s")
    print(f"cycles                    {len(in_window)} ({len(in_window) / seconds:.1f}/s)")
    print(f"due cycles served         {due - missed} of {due} ({bots_missing} bots missed one)")
    print(f"due->cycle lag            p50 {percentile(lags, 50):.2f}s  p99 "
          f"{percentile(lags, 99):.2f}s  max {max(lags, default=float('nan')):.2f}s")  # fmt: skip
    print(f"market-data requests/tick {stats['market_data'] / ticks:.1f} "
          f"(klines {klines / ticks:.1f}; {pairs} symbol+timeframe pairs)")  # fmt: skip
    window = sim.limits.weight_window
    first, last = start.timestamp(), end.timestamp()
    served = [
        weight for index, weight in sorted(sim.limits.served.items())
        if first <= index * window and (index + 1) * window <= last
    ]  # fmt: skip
    per_minute = ", ".join(f"{w:,}" for w in served) or "-"
    if args.binance_limits:
        cap = 6000 * 80 // 100
        limits = f"exchange limit 6,000; budget {cap:,}, market data at most {cap * 9 // 10:,}"
    else:
        limits = "no limit"
    print(f"weight per minute         {per_minute} ({limits})")
    refused = sim.limits.refused
    print(f"429 / 418 answers         {refused.get(429, 0)} / {refused.get(418, 0)}")
    placed = stats["orders_created"]
    print(f"orders placed             {placed} in the window, {len(orders)} in all "
          f"({args.trading_pct}% of bots trade)")  # fmt: skip
    print(f"duplicate orders          {duplicates}")
    print(f"orders without a trade    {unrecorded} ({pending} intents still pending)")
    print(f"failed cycles             {sum(errors.values())}")
    for pid in sampler.pids:
        print(f"peak RSS worker {pid:<9} parent {mb(sampler.parent_peak[pid])}, "
              f"work horse {mb(sampler.horse_peak[pid])}")  # fmt: skip
    print(f"no-op RQ jobs             {noop_rate:.0f}/s on the same {args.workers} workers")
    print(f"logs                      {workdir}")


if __name__ == "__main__":
    raise SystemExit(main())
