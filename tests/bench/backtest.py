"""Benchmark: one year of 1m candles (525,600) replayed through `ema_cross`, `threshold`, a
50-level `grid` and a `dca`.

The candles are the simulator's own history (seed --seed, BTC/USDT, the year before
2026-01-01), generated in --workers processes the first time and kept in a cache file. It
measures, in one process:

1. a bare Python loop over the same candles (the floor any pure-Python replay pays);
2. the engine's replay (webapp.backtest.engine.run) for each strategy: candles/s and the
   ratio to the bare loop;
3. the whole path a backtest job takes: the candles bulk-loaded into the candles store of a
   temporary SQLite database (or a fresh PostgreSQL one next to --database-url), then
   service.replay (load from the store, checksum, replay, fingerprint);
4. peak memory of a backtest over two years of 1m candles (the year twice, shifted) the way
   a job runs it: loaded from the store, replayed, its result serialised and fingerprinted,
   in a fresh process (the peak is the process's own VmHWM: `ru_maxrss` is inherited across
   exec, so a child started by this process would report this one's peak). With --no-store
   the two years are replayed from memory instead.

It prints figures and asserts nothing. It stops by itself and uses no network.

    .venv/bin/python -m tests.bench.backtest
    .venv/bin/python -m tests.bench.backtest --database-url postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import array
import gc
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.database import private_database  # noqa: E402
from webapp.backtest import engine  # noqa: E402
from webapp.strategies import Candle  # noqa: E402

YEAR_START = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
MINUTES = 525_600
STRATEGIES = ("ema_cross", "threshold", "grid", "dca")
CHUNK = 1000


def _chunk(args: tuple[int, int, int]) -> list[tuple]:
    from webapp.exchange.sim.market import Market

    seed, first, count = args
    market = Market(seed=seed, clock=lambda: YEAR_START + 400 * 86400)
    out = []
    for k in market.klines("BTCUSDT", "1m", first * 1000, None, count):
        out.append(
            (k.open_time, float(k.open), float(k.high), float(k.low), float(k.close),
             float(k.volume))
        )  # fmt: skip
    return out


def year_of_candles(seed: int, workers: int) -> list[Candle]:
    cache = Path(tempfile.gettempdir()) / f"tradebots-bench-btc-1m-{seed}-{YEAR_START}.bin"
    if cache.exists():
        raw = array.array("d")
        raw.frombytes(cache.read_bytes())
        values = raw.tolist()
        return [Candle(int(values[i]), *values[i + 1 : i + 6]) for i in range(0, len(values), 6)]
    print(f"generating {MINUTES} simulator candles in {workers} processes (cached after)...")
    jobs = [(seed, YEAR_START + i * 60, min(CHUNK, MINUTES - i)) for i in range(0, MINUTES, CHUNK)]
    started = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        rows = [row for part in pool.map(_chunk, jobs, chunksize=8) for row in part]
    print(f"  generated in {time.perf_counter() - started:.0f} s")
    cache.write_bytes(array.array("d", (float(x) for row in rows for x in row)).tobytes())
    return [Candle(int(r[0]), *r[1:]) for r in rows]


def bare_loop(candles: list[Candle]) -> float:
    total = 0.0
    for candle in candles:
        if candle.close > candle.open:
            total += candle.close
    return total


def settings_for(strategy: str, candles: list[Candle]) -> engine.Settings:
    if strategy == "ema_cross":
        params = {"fast": 12, "slow": 26}
    elif strategy == "grid":  # 50 levels over the middle 80% of the year's closes
        closes = sorted(c.close for c in candles[::60])
        low, high = closes[len(closes) // 10], closes[9 * len(closes) // 10]
        params = {"lower": f"{low:.2f}", "upper": f"{high:.2f}", "grids": 50, "investment": "5000"}
    elif strategy == "dca":  # 5 safety orders from 1% below, 1% take-profit, deals back to back
        params = {"base_order": "100", "safety_order": "100", "max_safety_orders": 5,
                  "deviation_pct": "1", "step_scale": "1.2", "volume_scale": "1.5",
                  "max_active_safety_orders": 2, "take_profit_pct": "1"}  # fmt: skip
    else:
        closes = sorted(c.close for c in candles[::60])
        low, high = closes[len(closes) // 4], closes[3 * len(closes) // 4]
        params = {"buy_below": f"{low:.2f}", "sell_above": f"{high:.2f}"}
    return engine.Settings(
        symbol="BTC/USDT",
        timeframe="1m",
        strategy=strategy,
        params=params,
        quote_amount=Decimal(100),
        stop_loss_pct=Decimal(2),
        take_profit_pct=Decimal(3),
        amount_step=Decimal("0.00001"),
        min_qty=Decimal("0.00001"),
        min_notional=Decimal(5),
        price_step=Decimal("0.01"),
    )


def timed(label: str, func, *args, repeat: int = 3):
    best = None
    result = None
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        result = func(*args)
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    return best, result


def store_path(candles: list[Candle], database_url: str | None, seed: int) -> None:
    from tests.conftest import make_config
    from webapp import create_app
    from webapp.backtest import candles as store
    from webapp.backtest import service
    from webapp.extensions import db

    with tempfile.TemporaryDirectory() as tmp, private_database(database_url, Path(tmp)) as url:
        config = make_config(url, "redis://127.0.0.1:1/0", 1, Fernet.generate_key().decode())
        config.BOT_OHLCV_LIMIT = 600
        app = create_app(config)
        with app.app_context():
            db.create_all()
            rows = [
                {"source": "bench", "symbol": "BTC/USDT", "timeframe": "1m", "ts": c.ts,
                 "open": c.open, "high": c.high, "low": c.low, "close": c.close,
                 "volume": c.volume}
                for c in candles
            ]  # fmt: skip
            started = time.perf_counter()
            for i in range(0, len(rows), 20000):
                store._insert(rows[i : i + 20000])
                db.session.commit()
            print(f"  store: {len(rows)} bars inserted in {time.perf_counter() - started:.1f} s")
            # A job's process holds none of these; kept, their half a million dicts would make
            # every full collection during the timed runs below walk them.
            del rows
            start = datetime.fromtimestamp(candles[600].ts / 1000, UTC)
            end = datetime.fromtimestamp(candles[-1].ts / 1000 + 60, UTC)
            for strategy in STRATEGIES:
                settings = settings_for(strategy, candles)
                elapsed, outcome = timed(
                    strategy, service.replay, settings, "bench", start, end, repeat=2
                )
                n = outcome.result.summary["candles"]
                kind = db.engine.dialect.name
                print(
                    f"  {strategy:<10} load + replay from {kind}: {elapsed:.2f} s "
                    f"({n / elapsed:,.0f} candles/s, {n} candles)"
                )
            fill_second_year(candles)
            db.session.remove()
            two_years_child(seed, url)
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


def peak_mb() -> float:
    """Peak resident memory of this process (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fill_second_year(candles: list[Candle]) -> None:
    """Add the year again, one year later, to the store (two years of 1m bars)."""
    from webapp.backtest import candles as store
    from webapp.extensions import db

    shift = MINUTES * 60_000
    for i in range(0, len(candles), 20000):
        store._insert(
            [
                {"source": "bench", "symbol": "BTC/USDT", "timeframe": "1m", "ts": c.ts + shift,
                 "open": c.open, "high": c.high, "low": c.low, "close": c.close,
                 "volume": c.volume}
                for c in candles[i : i + 20000]
            ]
        )  # fmt: skip
        db.session.commit()


def two_years(seed: int, store_url: str | None) -> int:
    """Two years of 1m candles through ema_cross: from the store at `store_url` as a job
    does (load, replay, serialise, fingerprint), or else from memory; peak memory."""
    settings = settings_for("ema_cross", [])
    first_ts = YEAR_START * 1000
    last_ts = first_ts + (2 * MINUTES - 1) * 60_000
    phases = [("start", peak_mb())]
    started = time.perf_counter()
    if store_url is None:
        from webapp.backtest.candles import Bars

        cache = Path(tempfile.gettempdir()) / f"tradebots-bench-btc-1m-{seed}-{YEAR_START}.bin"
        if not cache.exists():
            year_of_candles(seed, 1)
        raw = array.array("d")
        raw.frombytes(cache.read_bytes())  # the year as rows of six float64s
        candles = Bars(array.array("q", map(int, raw[0::6])))
        del raw[0::6]
        candles.values = raw
        candles.times.extend([ts + MINUTES * 60_000 for ts in candles.times])
        candles.values.extend(raw)
        phases.append(("candles", peak_mb()))
        result = engine.run(settings, candles)
        phases.append(("replay", peak_mb()))
        text = result.to_json()
        where = "from memory"
    else:
        from tests.conftest import make_config
        from webapp import create_app
        from webapp.backtest import service

        config = make_config(store_url, "redis://127.0.0.1:1/0", 1, Fernet.generate_key().decode())
        config.BOT_OHLCV_LIMIT = 600
        app = create_app(config)
        with app.app_context():
            start = datetime.fromtimestamp(first_ts / 1000 + 600 * 60, UTC)
            end = datetime.fromtimestamp(last_ts / 1000 + 60, UTC)
            phases.append(("app", peak_mb()))
            outcome = service.replay(settings, "bench", start, end)
            phases.append(("load + replay + fingerprint", peak_mb()))
            result = outcome.result
            text = result.to_json()
        where = "from the store"
    phases.append(("result JSON", peak_mb()))
    elapsed = time.perf_counter() - started
    steps = ", ".join(f"{name} {mb:.0f}" for name, mb in phases)
    print(
        f"two years ({result.summary['candles']:,} candles) ema_cross {where}: {elapsed:.2f} s, "
        f"{result.summary['trades']} trades, {len(text) / 2**20:.0f} MB of result JSON; "
        f"peak memory of the process {peak_mb():.0f} MB (peak after each step, MB: {steps})"
    )
    return 0


def two_years_child(seed: int, store_url: str | None = None) -> None:
    """`two_years` in a fresh process, so nothing this one holds counts toward its peak."""
    extra = [] if store_url is None else ["--store-url", store_url]
    subprocess.run([sys.executable, "-m", "tests.bench.backtest", "--two-years-only",
                    "--seed", str(seed), *extra], check=True, cwd=ROOT)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--no-store", action="store_true", help="skip the database part")
    parser.add_argument("--two-years-only", action="store_true", help="only the memory figure")
    parser.add_argument("--store-url", default=None, help="a filled store (--two-years-only)")
    args = parser.parse_args(argv)
    if args.two_years_only:
        return two_years(args.seed, args.store_url)
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 40)

    candles = year_of_candles(args.seed, args.workers)
    print(f"{len(candles):,} candles, {candles[0].close:.2f} .. {candles[-1].close:.2f}")
    bare, _ = timed("bare", bare_loop, candles)
    print(f"bare Python loop:   {bare:.3f} s ({len(candles) / bare:,.0f} candles/s)")
    for strategy in STRATEGIES:
        settings = settings_for(strategy, candles)
        elapsed, result = timed(strategy, engine.run, settings, candles)
        s = result.summary
        print(
            f"{strategy:<10} replay: {elapsed:.3f} s ({len(candles) / elapsed:,.0f} candles/s, "
            f"{elapsed / bare:.1f}x the bare loop), {s['trades']} trades, pnl {s['total_pnl']}"
        )
    if not args.no_store:
        store_path(candles, args.database_url, args.seed)
    else:
        two_years_child(args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
