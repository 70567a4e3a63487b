"""Benchmark: many bots over many markets, the real scheduler and real workers, on loopback.

N running bots (live mode on the simulated exchange, 60 s interval, due times spread over the
first interval) on M symbols; `flask schedule sync` + `flask schedule run` run the tick every
BOT_TICK_SECONDS and W `rq worker` processes run the cycles for a bounded time. Then the same
workers drain a batch of no-op jobs, for comparison (first strategy only). It measures; it
asserts nothing about timings.

`--strategy` picks the bots' strategy: `threshold` (default; `--trading-pct` of them set to
trade), `ema_cross` (EMA 9/21 on 1m candles) or `grid` (`--grid-levels` intervals, arithmetic,
from `--grid-range` % below to % above the symbol's price when the bots are made, 25 USDT per
interval). Several, comma-separated (`--strategy ema_cross,grid`), run one after the other in
the same invocation, each with a fresh simulator, redis-server and database, and the figures
are printed one column per strategy. Grid bots are checked as `start_bot` checks them
(`_check_planned_orders`: the exchange's filters and the key's free quote balance), one bot
per symbol, before they run.

Per strategy it prints cycles/s (a cycle is a new `last_cycle_at` of a bot, sampled every
second, so quiet resting cycles and failed ones count too), due cycles served, p50/p99
due-to-cycle lag, market-data requests per tick, with `--binance-limits` the weight per minute
at the exchange and its 429/418 answers, orders placed and canceled, orders resting on the
exchange when the scheduler stopped and the queue drained (and active in `bot_orders`), fills
(trades recorded, and fills on the exchange), duplicates (a client order id on the exchange
twice, or one bot's level open twice), unknown orders (an order on the exchange that neither
`bot_orders` nor a trade or pending intent knows), failed cycles and peak RSS per worker.

    .venv/bin/python -m tests.bench.bot_cycles --bots 10000 --symbols 50 --workers 2
    .venv/bin/python -m tests.bench.bot_cycles --bots 1000 --symbols 50 --workers 2 \
        --strategy ema_cross,grid --binance-limits

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
    BotOrder,
    BotState,
    BotStatus,
    Trade,
    User,
)
from webapp.models.types import utcnow  # noqa: E402

API_KEY = "bench-key-0001"
API_SECRET = "bench-secret-0001"
INTERVAL = 60
STRATEGIES = ("threshold", "ema_cross", "grid")
#: What a grid bot trades per interval (quote): far over every market's minimum notional.
GRID_SHARE = Decimal(25)


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


class CycleSampler(threading.Thread):
    """Every bot's `last_cycle_at`, read each second: each new value is one cycle (a cycle
    sets it when it starts, a failed one too), whatever the cycle logged."""

    def __init__(self, app) -> None:
        super().__init__(daemon=True)
        self.app = app
        self.seen: dict[int, set] = defaultdict(set)
        self.stopped = threading.Event()

    def run(self) -> None:
        with self.app.app_context():
            while not self.stopped.wait(1.0):
                self.sample()
            self.sample()
            db.session.remove()

    def sample(self) -> None:
        rows = db.session.execute(sa.select(BotState.bot_id, BotState.last_cycle_at)).all()
        db.session.rollback()
        for bot_id, at in rows:
            if at is not None:
                self.seen[bot_id].add(at)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bots", type=int, default=10000)
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--strategy",
        default="threshold",
        help="threshold, ema_cross or grid; several, comma-separated, run one after the other",
    )
    parser.add_argument("--grid-levels", type=int, default=20, help="a grid bot's `grids`")
    parser.add_argument(
        "--grid-range",
        type=Decimal,
        default=Decimal(1),
        help="a grid spans this %% below to this %% above the price (the simulator's prices "
        "move about 0.25%% in 3 minutes, so 1%% at 20 levels is crossed in the window)",
    )
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
    strategies = [name.strip() for name in args.strategy.split(",") if name.strip()]
    unknown = [name for name in strategies if name not in STRATEGIES]
    if unknown or not strategies:
        parser.error(f"--strategy: one or more of {', '.join(STRATEGIES)}, not {unknown}")

    columns: list[tuple[str, dict[str, str]]] = []
    for n, strategy in enumerate(strategies):
        workdir = Path(tempfile.mkdtemp(prefix=f"bench-bots-{strategy}-"))
        redis_server = RedisServer(workdir).start()
        # By default the run measures the engine alone: one account trades for every bot, far
        # past Binance's per-account order limits, and the simulator counts weight but never
        # refuses.
        if args.binance_limits:
            sim = Simulator(seed=3)
        else:
            sim = Simulator(seed=3, weight_limit=None, order_limits=False)
        sim.add_account(API_KEY, API_SECRET, {"USDT": "1000000000000"})
        print(f"== {strategy} ==", flush=True)
        try:
            with SimServer(sim) as sim_server, private_database(args.database_url, workdir) as url:
                figures = run(args, strategy, n == 0, workdir, redis_server, sim, sim_server, url)
        finally:
            redis_server.stop()
        columns.append((column_title(args, strategy), figures))
    print_columns(columns)
    return 0


def column_title(args, strategy: str) -> str:
    if strategy == "grid":
        return f"{args.bots:,} grid x {args.grid_levels}"
    return f"{args.bots:,} {strategy}"


def print_columns(columns: list[tuple[str, dict[str, str]]]) -> None:
    """The figures, one column per strategy."""
    labels = list(dict.fromkeys(label for _title, figures in columns for label in figures))
    widths = [max(len(title), *(len(f.get(lb, "-")) for lb in labels)) for title, f in columns]
    first = max(len(label) for label in labels)
    print()
    print(
        " " * first
        + "  "
        + "  ".join(t.ljust(w) for (t, _f), w in zip(columns, widths, strict=True))
    )
    for label in labels:
        cells = [
            figures.get(label, "-").ljust(w)
            for (_t, figures), w in zip(columns, widths, strict=True)
        ]
        print(label.ljust(first) + "  " + "  ".join(cells).rstrip())


def run(
    args, strategy: str, noops: bool, workdir: Path, redis_server, sim: Simulator, sim_server,
    url: str,
) -> dict[str, str]:  # fmt: skip
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
        bot_ids = create_bots(args, strategy, symbols, sim, bots_per_key)
        if strategy == "grid":
            check_grid_bots(bot_ids, len(symbols), bots_per_key)
            # The checks' requests are not the run's: its weight starts from nothing.
            for key in redis_ext.conn.scan_iter(match="xbudget:*"):
                redis_ext.conn.delete(key)
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
        cycles = CycleSampler(app)
        noop_rate = None
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
            cycles.start()
            print(f"running for {args.seconds}s ...", flush=True)
            time.sleep(args.seconds)
            end = utcnow()
            scheduler.send_signal(signal.SIGTERM)
            scheduler.wait(timeout=30)
            stats = sim.stats()
            drain_bots_queue(timeout=120)
            cycles.stopped.set()
            cycles.join(timeout=30)
            # What rests on the exchange now, before the price walk fills more of it.
            exchange = [
                (o.client_order_id, o.api_key, o.symbol, o.status.value, len(o.fills), o.is_open)
                for o in sim.orders()
            ]
            if noops and args.noop_jobs:
                noop_rate = run_noops(args.noop_jobs)
        finally:
            sampler.stopped.set()
            cycles.stopped.set()
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

        figures = report(
            args, strategy, symbols, bot_ids, start, end, stats, sim, sampler, cycles,
            exchange, noop_rate, workdir,
        )  # fmt: skip
        db.session.remove()
        db.engine.dispose()
    return figures


def bot_params(args, strategy: str, i: int, price: Decimal) -> tuple[dict, Decimal]:
    """(params, quote_amount) of bench bot `i` on a market at `price`."""
    if strategy == "ema_cross":
        return {"fast": 9, "slow": 21}, Decimal(20)
    if strategy == "grid":
        half = args.grid_range / 100
        return {
            "lower": f"{(price * (1 - half)).normalize():f}",
            "upper": f"{(price * (1 + half)).normalize():f}",
            "grids": args.grid_levels,
            "spacing": "arithmetic",
            "investment": f"{GRID_SHARE * args.grid_levels:f}",
        }, Decimal(20)
    if i % 100 < args.trading_pct:
        # Buys at once, sells after a small rise, buys again on a dip: regular orders.
        buy_below = (price * Decimal("1.0005")).normalize()
        sell_above = (price * Decimal("1.0015")).normalize()
    else:  # waits for a 20% dip: holds, like most bots most of the time
        buy_below = (price * Decimal("0.8")).normalize()
        sell_above = (price * Decimal("1.2")).normalize()
    return {"buy_below": f"{buy_below:f}", "sell_above": f"{sell_above:f}"}, Decimal(20)


def create_bots(
    args, strategy: str, symbols: list[str], sim: Simulator, bots_per_key: int
) -> list[int]:
    count = args.bots
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
        params, quote_amount = bot_params(args, strategy, i, sim.price(symbol))
        rows.append(
            {
                "user_id": user.id,
                "api_key_id": key_ids[i // bots_per_key],
                "name": f"bench {i}",
                "exchange": "binance",
                "symbol": symbol,
                "timeframe": "1m",
                "strategy": strategy,
                "params": params,
                "quote_amount": quote_amount,
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


def check_grid_bots(bot_ids: list[int], symbols: int, bots_per_key: int) -> None:
    """What `start_bot` checks of a resting strategy, for one bot per symbol: the exchange
    would take every planned order, and the key's free quote pays for its capital (for all
    the bots sharing the key, too)."""
    from webapp.engine.errors import BotStartError
    from webapp.engine.service import _check_planned_orders, _free_quote
    from webapp.strategies import build_strategy

    sample = db.session.scalars(sa.select(Bot).where(Bot.id.in_(bot_ids[:symbols]))).all()
    for bot in sample:
        try:
            _check_planned_orders(bot)
        except BotStartError as exc:
            raise SystemExit(f"grid bot {bot.id} ({bot.symbol}) would not start: {exc}") from None
    bot = sample[0]
    capital = build_strategy(bot.strategy, bot.params).capital()
    free = _free_quote(bot)
    if free is not None and capital * bots_per_key > free:
        raise SystemExit(f"a key holds {free} USDT, its {bots_per_key} grid bots need more")
    print(f"start checks              passed for {len(sample)} bots (one per symbol); "
          f"{capital} USDT per bot, key holds {free:,.0f} free", flush=True)  # fmt: skip


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


def report(
    args, strategy, symbols, bot_ids, start, end, stats, sim, sampler, cycles, exchange,
    noop_rate, workdir,
) -> dict[str, str]:  # fmt: skip
    db.session.expire_all()
    step = INTERVAL / len(bot_ids)
    first_due = {bot_id: start + timedelta(seconds=i * step) for i, bot_id in enumerate(bot_ids)}
    in_window = [(bot_id, at) for bot_id, times in cycles.seen.items() for at in times if at <= end]
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

    error_rows = db.session.execute(
        sa.select(BotActivity.message).where(BotActivity.kind == ActivityKind.ERROR)
    ).all()
    errors = Counter(message.split(" (failed cycle")[0].split(" (failing for")[0][:160]
                     for (message,) in error_rows)  # fmt: skip
    by_client_id = Counter(cid for cid, *_rest in exchange)
    duplicates = sum(n - 1 for n in by_client_id.values() if n > 1)
    known = set(db.session.scalars(sa.select(BotOrder.client_order_id)))
    known |= set(db.session.scalars(sa.select(Trade.client_order_id)))
    pending = set(
        db.session.scalars(
            sa.select(BotState.pending_client_order_id).where(
                BotState.pending_client_order_id.is_not(None)
            )
        )
    )
    unknown = sum(1 for cid in by_client_id if cid not in known and cid not in pending)
    # A resting level open twice: one bot's tag on two open exchange orders.
    rows = db.session.execute(
        sa.select(BotOrder.client_order_id, BotOrder.bot_id, BotOrder.tag, BotOrder.status)
    ).all()
    level_of = {cid: (bot_id, tag) for cid, bot_id, tag, _status in rows}
    status_of = {cid: status for cid, _bot, _tag, status in rows}
    open_levels = Counter(level_of[cid] for cid, *_r, is_open in exchange
                          if is_open and cid in level_of)  # fmt: skip
    duplicates += sum(n - 1 for n in open_levels.values() if n > 1)
    resting_exchange = sum(1 for *_r, is_open in exchange if is_open)
    resting_rows = sum(1 for status in status_of.values() if status.is_active)
    lost = sum(1 for cid, *_r, is_open in exchange
               if is_open and cid in status_of and not status_of[cid].is_active)  # fmt: skip
    canceled_all = sum(1 for _c, _k, _s, status, *_r in exchange if status == "CANCELED")
    fills_exchange = sum(fills for *_r, fills, _open in exchange)
    trades = db.session.scalar(sa.select(sa.func.count()).select_from(Trade))
    tracebacks = sum(
        (workdir / f"worker{i}.log").read_text(errors="replace").count("Traceback")
        for i in range(args.workers)
    )
    ticks = max(1, int(seconds // args.tick))
    requests = stats["requests"]
    klines = requests.get("GET /api/v3/klines", 0)
    pairs = len(symbols)

    def mb(kb: int) -> str:
        return f"{kb / 1024:.0f} MB"

    window = sim.limits.weight_window
    first, last = start.timestamp(), end.timestamp()
    served = [
        weight for index, weight in sorted(sim.limits.served.items())
        if first <= index * window and (index + 1) * window <= last
    ]  # fmt: skip
    refused = sim.limits.refused
    placed = stats["orders_created"]
    canceled = requests.get("DELETE /api/v3/order", 0)
    bots_per_key = args.bots_per_key or (50 if args.binance_limits else args.bots)
    figures = {
        "bots": f"{len(bot_ids)} ({bots_per_key} per API key)",
        "symbols": f"{len(symbols)} (timeframe 1m)",
        "workers": f"{args.workers} (batch {args.batch}, tick {args.tick}s)",
        "window": f"{seconds:.0f}s",
        "cycles": f"{len(in_window)} ({len(in_window) / seconds:.1f}/s)",
        "due cycles served": f"{due - missed} of {due} ({bots_missing} bots missed one)",
        "due->cycle lag p50/p99/max": f"{percentile(lags, 50):.1f}s / {percentile(lags, 99):.1f}s"
        f" / {max(lags, default=float('nan')):.1f}s",
        "market-data requests/tick": f"{stats['market_data'] / ticks:.1f} "
        f"(klines {klines / ticks:.1f}; {pairs} pairs)",
        "weight per minute": ", ".join(f"{w:,}" for w in served) or "-",
        "429 / 418 answers": f"{refused.get(429, 0)} / {refused.get(418, 0)}",
        "orders placed": f"{placed} in the window, {len(exchange)} in all",
        "orders canceled": f"{canceled} in the window, {canceled_all} in all",
        "resting orders at end": f"{resting_exchange} on the exchange, {resting_rows} active "
        "in bot_orders",
        "fills": f"{trades} trades recorded, {fills_exchange} on the exchange",
        "duplicate orders": str(duplicates),
        "unknown orders": f"{unknown} ({len(pending)} intents pending, {lost} open but ended "
        "in bot_orders)",
        "failed cycles": f"{len(error_rows)} ({tracebacks} tracebacks in worker logs)",
    }
    for n, pid in enumerate(sampler.pids):
        figures[f"peak RSS worker {n + 1}"] = (
            f"{mb(sampler.parent_peak[pid])} (work horse {mb(sampler.horse_peak[pid])})"
        )
    if noop_rate is not None:
        figures["no-op RQ jobs"] = f"{noop_rate:.0f}/s on the same {args.workers} workers"
    figures["logs"] = str(workdir)
    if args.binance_limits:
        cap = 6000 * 80 // 100
        print(f"limits: exchange 6,000 a minute; budget {cap:,}, market data {cap * 9 // 10:,}")
    print()
    for label, value in figures.items():
        print(f"{label:<27} {value}")
    for message, n in errors.most_common(5):
        print(f"  error x{n}: {message}")
    print(flush=True)
    return figures


if __name__ == "__main__":
    raise SystemExit(main())
