"""Backtests as records: validate settings, queue, run (fetching what is missing), sweep.

Pages, the CLI and the RQ job call these functions; only `execute` runs the engine.
"""

from __future__ import annotations

import enum
import itertools
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from webapp.backtest import candles as store
from webapp.backtest import engine
from webapp.backtest.errors import BacktestError, BadRange, Cancelled, NoCandles, UnknownMarket
from webapp.engine import marketdata
from webapp.engine.validation import Validator, _did_you_mean
from webapp.exchange.errors import ExchangeError
from webapp.extensions import db, redis_ext
from webapp.i18n.current import gettext as _
from webapp.i18n.marks import N_
from webapp.models import Backtest, BacktestStatus, Bot, User
from webapp.models.bot import TIMEFRAMES
from webapp.models.types import utcnow
from webapp.strategies import StrategyError, get_strategy
from webapp.strategies.base import StrategyParamError

logger = logging.getLogger(__name__)


#: The longest range one backtest replays (two years of 1m candles is ~1M bars).
MAX_DAYS = 800
#: Combinations one sweep may run.
MAX_COMBINATIONS = 200
JOB_TIMEOUT = 3600
QUEUE = "default"
SORTABLE = (
    "total_pnl",
    "return_pct",
    "max_drawdown",
    "win_rate_pct",
    "profit_factor",
    "sharpe_daily",
    "trades",
)


class SettingsError(BacktestError):
    """Settings failed validation; `errors` maps each field to a message for the form."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(self.errors.values()))


# -- input -----------------------------------------------------------------------------------


def parse_day(text: str | date | datetime | None, label: str) -> datetime | None:
    """A date (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM) in UTC; BadRange with a message."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if isinstance(text, datetime):
        return text if text.tzinfo else text.replace(tzinfo=UTC)
    if isinstance(text, date):
        return datetime.combine(text, time(), UTC)
    raw = text.strip()
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRange(
            _("%(label)s %(typed)s is not a date like 2026-01-31.", label=label, typed=repr(raw))
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def check_range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    if start is None:
        raise BadRange(_("Give the start of the range (from)."))
    end = end or utcnow()
    if start >= end:
        raise BadRange(
            _(
                "From (%(start)s) must be before to (%(end)s).",
                start=f"{start:%Y-%m-%d %H:%M}",
                end=f"{end:%Y-%m-%d %H:%M}",
            )
        )
    if end - start > timedelta(days=MAX_DAYS):
        raise BadRange(_("A backtest covers at most %(days)s days.", days=MAX_DAYS))
    if start.year < 2009:
        raise BadRange(_("From must be after 2009."))
    return start, end


def build_settings(
    exchange: str,
    raw: Mapping[str, Any],
    params: Mapping[str, Any],
) -> engine.Settings:
    """Validate a backtest's settings (form, CLI or a bot's); SettingsError lists every problem.

    `raw` holds symbol, timeframe, strategy, quote_amount, stop_loss_pct, take_profit_pct,
    daily_profit_target, daily_loss_limit, fee_rate (percent), slippage_bps, exit_model.
    """
    v = Validator(0, None)
    errors: dict[str, str] = {}
    symbol = str(raw.get("symbol") or "").strip().upper()
    timeframe = str(raw.get("timeframe") or "").strip()
    strategy = str(raw.get("strategy") or "").strip()
    if timeframe not in TIMEFRAMES:
        errors["timeframe"] = _(
            "Timeframe must be one of %(choices)s.", choices=", ".join(TIMEFRAMES)
        )
    values: dict[str, Any] = {}
    try:
        cls = get_strategy(strategy)
        values = cls.validate_params(params)
        params_out = cls.serialize_params(values)
        if not cls.replays(values):
            errors["strategy"] = _(
                "%(strategy)s trades on the signals sent to its bot, which candles do not hold: "
                "it cannot be backtested.",
                strategy=cls.label,
            )
    except StrategyParamError as exc:
        errors.update({f"param_{k}": m for k, m in exc.errors.items()})
        params_out = {}
    except StrategyError:
        errors["strategy"] = _("Unknown strategy %(name)s.", name=repr(strategy))
        params_out = {}
    quote = v.decimal("quote_amount", raw.get("quote_amount"), _("Order size"), required=True)
    pct = Decimal(100)
    sl = v.decimal(
        "stop_loss_pct", raw.get("stop_loss_pct"), _("Stop-loss"), required=False, maximum=pct
    )
    tp = v.decimal(
        "take_profit_pct",
        raw.get("take_profit_pct"),
        _("Take-profit"),
        required=False,
        maximum=Decimal(10000),
    )
    target = v.decimal(
        "daily_profit_target",
        raw.get("daily_profit_target"),
        _("Daily profit target"),
        required=False,
    )
    limit = v.decimal(
        "daily_loss_limit", raw.get("daily_loss_limit"), _("Daily loss limit"), required=False
    )
    fee = _nonneg(v, "fee_rate", raw.get("fee_rate"), _("Fee"), Decimal("0.1"), Decimal(10))
    slip = _nonneg(
        v, "slippage_bps", raw.get("slippage_bps"), _("Slippage"), Decimal(0), Decimal(1000)
    )
    exit_model = str(raw.get("exit_model") or "intrabar").strip()
    if exit_model not in engine.EXIT_MODELS:
        errors["exit_model"] = _("Exits are checked 'intrabar' or at the 'open'.")
    errors.update(v.errors)
    market = None
    if not symbol:
        errors["symbol"] = _("Symbol is required.")
    elif "/" not in symbol:
        errors["symbol"] = _("Write the symbol as BASE/QUOTE.") + _did_you_mean(exchange, symbol)
    else:
        try:
            market = marketdata.market_info(exchange, symbol)
        except ExchangeError as exc:
            errors["symbol"] = _("The market list cannot be read now: %(why)s", why=exc.message)
        else:
            if market is None:
                errors["symbol"] = _(
                    "The exchange does not list %(symbol)s.", symbol=symbol
                ) + _did_you_mean(exchange, symbol)
    if errors:
        raise SettingsError(errors)
    return engine.Settings(
        symbol=symbol,
        timeframe=timeframe,
        strategy=strategy,
        params=params_out,
        quote_amount=quote,
        stop_loss_pct=sl,
        take_profit_pct=tp,
        daily_profit_target=target,
        daily_loss_limit=limit,
        fee_rate=fee / 100,
        slippage_bps=slip,
        exit_model=exit_model,
        amount_step=market.amount_step,
        min_qty=market.min_qty,
        max_qty=market.max_qty,
        min_notional=market.min_notional,
        price_step=market.price_step,
    )


def _nonneg(v: Validator, field: str, raw: Any, label: str, default: Decimal, top: Decimal):
    text = "" if raw is None else str(raw).strip()
    if not text:
        return default
    if text in ("0", "0.0", "0.00"):
        return Decimal(0)
    value = v.decimal(field, text, label, required=False, maximum=top)
    return default if value is None else value


class CandleChoice(enum.StrEnum):
    """Where a backtest started from the form takes its candles."""

    FETCH = "fetch"  # from the exchange (or its simulator): the missing bars first, in the job
    STORED = "stored"  # a dataset already in the store (fetched or imported), as it is


def candle_source(
    exchange: str,
    choice: str | None,
    dataset: str | None,
    symbol: str,
    timeframe: str,
    start: datetime,
    end: datetime,
) -> tuple[str, bool]:
    """The source a backtest reads and whether its job fetches what is missing first.

    A stored dataset must hold bars of this market in the range: checked here, so a form
    that would only fail in its job is refused on the field instead. SettingsError names
    the field ("candles" or "dataset").
    """
    try:
        picked = CandleChoice(choice or CandleChoice.FETCH)
    except ValueError:
        raise SettingsError(
            {"candles": _("Candles come from the exchange (fetch) or a stored dataset.")}
        ) from None
    if picked is CandleChoice.FETCH:
        return store.source_for(exchange), True
    sources = store.stored_sources()
    dataset = (dataset or "").strip()
    if not sources:
        raise SettingsError(
            {
                "dataset": _(
                    "The store holds no candles yet: fetch them from the exchange, "
                    "or import files with `flask candles import`."
                )
            }
        )
    if not dataset:
        raise SettingsError({"dataset": _("Choose a stored dataset.")})
    if dataset not in sources:
        raise SettingsError(
            {
                "dataset": _(
                    "No candles are stored from %(dataset)s; stored: %(stored)s.",
                    dataset=repr(dataset[:40]),
                    stored=", ".join(sources),
                )
            }
        )
    step = store.timeframe_ms(timeframe)
    start_ms, end_ms = store.to_ms(start), store.to_ms(end)
    first = -(-start_ms // step) * step
    if not store.has_bars(dataset, symbol, timeframe, first, end_ms):
        others = [
            s
            for s in sources
            if s != dataset and store.has_bars(s, symbol, timeframe, first, end_ms)
        ]
        hint = (
            _("Stored for this range: %(stored)s.", stored=", ".join(others))
            if others
            else _("Fetch them from the exchange, or import them with `flask candles import`.")
        )
        missing = _(
            "No %(symbol)s %(timeframe)s candles from %(dataset)s between %(start)s and %(end)s.",
            symbol=symbol,
            timeframe=timeframe,
            dataset=dataset,
            start=store.ms_text(start_ms),
            end=store.ms_text(end_ms),
        )
        raise SettingsError({"dataset": f"{missing} {hint}"})
    return dataset, False


def bot_fields(bot: Bot) -> dict[str, Any]:
    """A bot's settings as `build_settings` takes them."""
    return {
        "symbol": bot.symbol,
        "timeframe": bot.timeframe,
        "strategy": bot.strategy,
        "quote_amount": bot.quote_amount,
        "stop_loss_pct": bot.stop_loss_pct,
        "take_profit_pct": bot.take_profit_pct,
        "daily_profit_target": bot.daily_profit_target,
        "daily_loss_limit": bot.daily_loss_limit,
    }


# -- records ---------------------------------------------------------------------------------


def create(
    user: User | int,
    settings: engine.Settings,
    source: str,
    start: datetime,
    end: datetime,
    *,
    bot: Bot | None = None,
    sweep: str | None = None,
    segment: str | None = None,
) -> Backtest:
    """A queued backtest (the caller commits)."""
    start, end = check_range(start, end)
    backtest = Backtest(
        user_id=user if isinstance(user, int) else user.id,
        bot_id=bot.id if bot else None,
        status=BacktestStatus.QUEUED,
        source=source,
        symbol=settings.symbol,
        timeframe=settings.timeframe,
        strategy=settings.strategy,
        start=start,
        end=end,
        settings=settings.to_json(),
        sweep=sweep,
        segment=segment,
        progress=0,
        cancel_requested=False,
    )
    db.session.add(backtest)
    db.session.flush()
    return backtest


def enqueue(backtest: Backtest, *, fetch_missing: bool = True) -> str:
    job = redis_ext.queue(QUEUE).enqueue(
        "workers.backtest.run_backtest",
        backtest.id,
        fetch_missing,
        job_timeout=JOB_TIMEOUT,
        result_ttl=600,
        failure_ttl=3600,
    )
    backtest.job_id = job.id
    return job.id


#: Why a backtest left behind by its job failed: the page shows it and stops polling.
ABANDONED_MESSAGE = N_("The worker running this backtest stopped before it finished; run it again.")
CANCELLED_EARLY = N_("Cancelled before it started.")
CANCELLED = N_("The backtest was cancelled.")
CANCELLED_FETCHING = N_("The backtest was cancelled while fetching candles.")
NO_CANDLES = N_(
    "No %(symbol)s %(timeframe)s candles from %(source)s between %(start)s and %(end)s: "
    "fetch or import them first."
)
#: Stored errors with values in them: a page finds the values again to translate the text.
STORED_TEMPLATES = (NO_CANDLES,)


def sweep_abandoned() -> int:
    """Fail the backtests still marked as going whose job is gone or ended without them.

    A work horse killed mid-replay (a deploy, the OOM killer) leaves its backtest "running"
    for ever and its page polling; RQ has by then moved the job to its failed registry, or
    Redis lost it. A job still queued or started is left alone. Returns how many failed.
    """
    going = (BacktestStatus.QUEUED, BacktestStatus.FETCHING, BacktestStatus.RUNNING)
    rows = db.session.execute(
        sa.select(Backtest.id, Backtest.job_id).where(Backtest.status.in_(going))
    ).all()
    dead = [backtest_id for backtest_id, job_id in rows if not _job_alive(job_id)]
    for backtest_id in dead:
        backtest = db.session.get(Backtest, backtest_id, with_for_update=True)
        if backtest is not None and not backtest.status.finished:
            _finish(backtest, BacktestStatus.FAILED, ABANDONED_MESSAGE)
            logger.warning(
                "backtest %s: its job %s is gone; marked failed", backtest.id, backtest.job_id
            )
    db.session.commit()
    return len(dead)


def _job_alive(job_id: str | None) -> bool:
    if job_id is None:
        return True  # not enqueued yet (the caller commits the row, then queues it)
    try:
        job = Job.fetch(job_id, connection=redis_ext.conn)
    except NoSuchJobError:
        return False
    return job.get_status(refresh=False) not in (
        JobStatus.FAILED,
        JobStatus.STOPPED,
        JobStatus.CANCELED,
    )


def user_backtests(
    user: User | int,
    bot_id: int | None = None,
    limit: int = 100,
    *,
    columns: Sequence[str] | None = None,
) -> list:
    """The user's latest backtests (of one bot), newest first; with `columns`, result rows of
    only those (what a list of kept rows reads first)."""
    user_id = user if isinstance(user, int) else user.id
    selected = [getattr(Backtest, name) for name in columns] if columns else [Backtest]
    query = sa.select(*selected).where(Backtest.user_id == user_id)
    if bot_id is not None:
        query = query.where(Backtest.bot_id == bot_id)
    query = query.order_by(Backtest.id.desc()).limit(limit)
    if columns:
        return list(db.session.execute(query).all())
    return list(db.session.scalars(query))


def backtests_by_id(user: User | int, ids: Sequence[int]) -> dict[int, Backtest]:
    """The user's backtests among `ids`, by id."""
    user_id = user if isinstance(user, int) else user.id
    query = sa.select(Backtest).where(Backtest.user_id == user_id, Backtest.id.in_(ids))
    return {backtest.id: backtest for backtest in db.session.scalars(query)}


def get_backtest(user: User | int, backtest_id: int) -> Backtest | None:
    user_id = user if isinstance(user, int) else user.id
    backtest = db.session.get(Backtest, backtest_id)
    if backtest is None or backtest.user_id != user_id:
        return None
    return backtest


def request_cancel(backtest: Backtest) -> bool:
    """Ask a queued or running backtest to stop; True when it was still going."""
    if backtest.status.finished:
        return False
    backtest.cancel_requested = True
    if backtest.status is BacktestStatus.QUEUED:
        _finish(backtest, BacktestStatus.CANCELLED, CANCELLED_EARLY)
    return True


def _finish(backtest: Backtest, status: BacktestStatus, error: str | None = None) -> None:
    backtest.status = status
    backtest.error = error[:500] if error else None
    backtest.finished_at = utcnow()


def _set_progress(backtest_id: int, status: BacktestStatus, percent: int) -> bool:
    """Write progress in its own transaction; False once the user asked to cancel."""
    table = Backtest.__table__
    with db.engine.begin() as conn:
        conn.execute(
            table.update()
            .where(table.c.id == backtest_id)
            .values(progress=percent, status=status.value)
        )
        cancel = conn.execute(
            sa.select(table.c.cancel_requested).where(table.c.id == backtest_id)
        ).scalar()
    return not cancel


# -- running ---------------------------------------------------------------------------------


def warmup_candles() -> int:
    """Closed candles a live cycle sees (BOT_OHLCV_LIMIT minus the one in progress)."""
    return max(0, int(current_app.config.get("BOT_OHLCV_LIMIT") or 600) - 1)


@dataclass
class Replay:
    result: engine.Result
    fingerprint: str


def replay(
    settings: engine.Settings,
    source: str,
    start: datetime,
    end: datetime,
    progress=None,
) -> Replay:
    """Load the range (and the warm-up before it) from the store and run the engine."""
    step = store.timeframe_ms(settings.timeframe)
    start_ms, end_ms = store.to_ms(start), store.to_ms(end)
    first = -(-start_ms // step) * step
    warm = store.load(
        source, settings.symbol, settings.timeframe, first - warmup_candles() * step, first
    )
    loaded = store.load(source, settings.symbol, settings.timeframe, first, end_ms)
    if not loaded.candles:
        raise NoCandles(
            NO_CANDLES
            % {
                "symbol": settings.symbol,
                "timeframe": settings.timeframe,
                "source": source,
                "start": store.ms_text(start_ms),
                "end": store.ms_text(end_ms),
            }
        )
    result = engine.run(settings, loaded.candles, warm.candles, progress=progress)
    checksum = store.checksum(warm.candles, loaded.candles)
    return Replay(result, engine.fingerprint(settings, start_ms, end_ms, checksum))


def save(
    user: User | int,
    settings: engine.Settings,
    source: str,
    start: datetime,
    end: datetime,
    outcome: Replay,
    *,
    bot: Bot | None = None,
) -> Backtest:
    """Keep a replay that already ran (the CLI's inline runs); the caller commits."""
    backtest = create(user, settings, source, start, end, bot=bot)
    now = utcnow()
    backtest.started_at = now
    backtest.summary = outcome.result.summary
    backtest.trades = outcome.result.trades
    backtest.equity = outcome.result.equity
    backtest.fingerprint = outcome.fingerprint
    backtest.progress = 100
    _finish(backtest, BacktestStatus.DONE)
    return backtest


def execute(backtest_id: int, fetch_missing: bool = True) -> Backtest | None:
    """Run a queued backtest to the end (the RQ job, or the CLI inline). Safe to run twice:
    a finished backtest is left as it is."""
    backtest = db.session.get(Backtest, backtest_id)
    if backtest is None or backtest.status.finished:
        return backtest
    if backtest.cancel_requested:
        _finish(backtest, BacktestStatus.CANCELLED, CANCELLED_EARLY)
        db.session.commit()
        return backtest
    backtest.started_at = utcnow()
    backtest.error = None
    settings = engine.Settings.from_json(backtest.settings)
    start, end = backtest.start, backtest.end
    try:
        if fetch_missing and store.source_for(store.exchange_of(backtest.source)) == (
            backtest.source
        ):
            backtest.status = BacktestStatus.FETCHING
            db.session.commit()
            _fetch_missing(backtest, settings)
        backtest.status = BacktestStatus.RUNNING
        db.session.commit()

        def progress(done: int, total: int) -> bool:
            return _set_progress(backtest_id, BacktestStatus.RUNNING, done * 100 // total)

        outcome = replay(settings, backtest.source, start, end, progress)
    except Cancelled as exc:
        db.session.rollback()
        backtest = db.session.get(Backtest, backtest_id)
        _finish(backtest, BacktestStatus.CANCELLED, exc.message)
        db.session.commit()
        return backtest
    except (BacktestError, ExchangeError) as exc:
        db.session.rollback()
        backtest = db.session.get(Backtest, backtest_id)
        _finish(backtest, BacktestStatus.FAILED, str(exc))
        db.session.commit()
        return backtest
    db.session.expire(backtest)
    if backtest.cancel_requested:
        _finish(backtest, BacktestStatus.CANCELLED, CANCELLED)
        db.session.commit()
        return backtest
    backtest.summary = outcome.result.summary
    backtest.trades = outcome.result.trades
    backtest.equity = outcome.result.equity
    backtest.fingerprint = outcome.fingerprint
    backtest.progress = 100
    _finish(backtest, BacktestStatus.DONE)
    db.session.commit()
    logger.info(
        "backtest %s done: %s trades, pnl %s",
        backtest.id,
        outcome.result.summary["trades"],
        outcome.result.summary["total_pnl"],
    )
    return backtest


def _fetch_missing(backtest: Backtest, settings: engine.Settings) -> None:
    """Fetch the range's missing candles (and the warm-up) from the exchange."""
    step = store.timeframe_ms(settings.timeframe)
    warm_start = store.from_ms(store.to_ms(backtest.start) - warmup_candles() * step)
    backtest_id = backtest.id

    def progress(done: int, total: int) -> None:
        if not _set_progress(backtest_id, BacktestStatus.FETCHING, done * 100 // max(total, 1)):
            raise Cancelled(CANCELLED_FETCHING)

    exchange = store.exchange_of(backtest.source)
    if store.source_for(exchange) != backtest.source:
        return  # candles from elsewhere (imported files): nothing to fetch here
    end = min(backtest.end, utcnow())
    if warm_start < end:
        store.fetch(
            exchange, settings.symbol, settings.timeframe, warm_start, end, progress=progress
        )


# -- sweeps ----------------------------------------------------------------------------------


def parse_grid(specs: Sequence[str]) -> dict[str, list[str]]:
    """ "fast=5:30:5" (start:stop:step, inclusive) or "fast=5,8,13" -> {"fast": [...]}."""
    grid: dict[str, list[str]] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip()
        if not sep or not name or not values.strip():
            raise BadRange(
                _(
                    "Write a grid as NAME=START:STOP:STEP or NAME=A,B,C, not %(spec)s.",
                    spec=repr(spec),
                )
            )
        if ":" in values:
            parts = values.split(":")
            try:
                a, b, s = (Decimal(p) for p in parts) if len(parts) == 3 else (None,) * 3
            except ArithmeticError:
                a = None
            if a is None or not (a.is_finite() and b.is_finite() and s.is_finite()) or s <= 0:
                raise BadRange(
                    _(
                        "Grid %(spec)s: START:STOP:STEP needs three numbers, STEP > 0.",
                        spec=repr(spec),
                    )
                )
            if (b - a) / s > MAX_COMBINATIONS:
                raise BadRange(
                    _(
                        "Grid %(spec)s has more than %(most)s values.",
                        spec=repr(spec),
                        most=MAX_COMBINATIONS,
                    )
                )
            items, x = [], a
            while x <= b:
                items.append(format(x.normalize(), "f"))
                x += s
        else:
            items = [p.strip() for p in values.split(",") if p.strip()]
        if not items:
            raise BadRange(_("Grid %(spec)s has no values.", spec=repr(spec)))
        grid[name] = items
    return grid


def split_oos(start: datetime, end: datetime, oos: str | None) -> datetime | None:
    """Where the out-of-sample part begins for "30%" (the last 30% of the range)."""
    if not oos:
        return None
    text = oos.strip().rstrip("%")
    try:
        share = Decimal(text)
    except ArithmeticError:
        share = Decimal(-1)
    if not share.is_finite() or not 0 < share < 100:
        raise BadRange(f"--oos takes a share of the range between 0% and 100%, not {oos!r}.")
    cut = start + (end - start) * float(100 - share) / 100
    return cut.replace(second=0, microsecond=0)


def create_sweep(
    user: User | int,
    exchange: str,
    source: str,
    fields: Mapping[str, Any],
    params: Mapping[str, Any],
    grid: Mapping[str, Sequence[str]],
    start: datetime,
    end: datetime,
    oos: str | None = None,
) -> tuple[str, list[Backtest], dict[str, str]]:
    """One backtest per combination (and per in/out-of-sample half); the caller commits.

    Returns the sweep id, its backtests, and the combinations skipped as invalid (e.g. a slow
    EMA not longer than the fast one) with why."""
    start, end = check_range(start, end)
    cut = split_oos(start, end, oos)
    names = list(grid)
    combos = list(itertools.product(*(grid[n] for n in names)))
    if len(combos) > MAX_COMBINATIONS:
        raise BadRange(
            _(
                "%(count)s combinations; a sweep runs at most %(most)s.",
                count=len(combos),
                most=MAX_COMBINATIONS,
            )
        )
    sweep = secrets.token_hex(6)
    runs: list[Backtest] = []
    problems: dict[str, str] = {}
    for combo in combos:
        merged = {**params, **dict(zip(names, combo, strict=True))}
        try:
            settings = build_settings(exchange, fields, merged)
        except SettingsError as exc:
            label = ", ".join(f"{n}={v}" for n, v in zip(names, combo, strict=True))
            problems.setdefault(label, exc.message)
            continue
        if cut is None:
            runs.append(create(user, settings, source, start, end, sweep=sweep))
        else:
            runs.append(create(user, settings, source, start, cut, sweep=sweep, segment="in"))
            runs.append(create(user, settings, source, cut, end, sweep=sweep, segment="out"))
    if not runs:
        first = next(iter(problems.items()))
        raise BadRange(
            _(
                "No valid combination in the grid (%(combination)s: %(why)s).",
                combination=first[0],
                why=first[1],
            )
        )
    return sweep, runs, problems


def sweep_runs(user: User | int, sweep: str) -> list[Backtest]:
    user_id = user if isinstance(user, int) else user.id
    return list(
        db.session.scalars(
            sa.select(Backtest)
            .where(Backtest.user_id == user_id, Backtest.sweep == sweep)
            .order_by(Backtest.id)
        )
    )


@dataclass
class SweepRow:
    params: dict[str, Any]
    runs: dict[str, Backtest]  # segment ("all", "in", "out") -> backtest

    def metric(self, name: str, segment: str) -> float | None:
        run = self.runs.get(segment)
        if run is None or not run.summary:
            return None
        value = run.summary.get(name)
        if value is None:
            return None
        return float("inf") if value == "inf" else float(value)


def sweep_table(runs: Sequence[Backtest], metric: str = "total_pnl") -> list[SweepRow]:
    """Rows per parameter combination, best first by `metric` (in-sample when split)."""
    if metric not in SORTABLE:
        raise BadRange(f"Sort by one of {', '.join(SORTABLE)}.")
    rows: dict[str, SweepRow] = {}
    for run in runs:
        params = run.settings.get("params", {})
        key = repr(sorted(params.items()))
        row = rows.setdefault(key, SweepRow(dict(params), {}))
        row.runs[run.segment or "all"] = run
    segment = "in" if any("in" in r.runs for r in rows.values()) else "all"
    lower_better = metric == "max_drawdown"

    def key(row: SweepRow):
        value = row.metric(metric, segment)
        if value is None:
            return (1, 0.0)
        return (0, value if lower_better else -value)

    return sorted(rows.values(), key=key)


OVERFIT_WARNING = N_(
    "The best parameters in sample are chosen after the fact; expect the out-of-sample "
    "figures, not the in-sample ones. Many combinations make a lucky winner more likely."
)


def fetch_for_cli(exchange: str, symbol: str, timeframe: str, start: datetime, end) -> Any:
    try:
        return store.fetch(exchange, symbol, timeframe, start, end)
    except UnknownMarket as exc:
        raise UnknownMarket(exc.message + _did_you_mean(exchange, symbol)) from None
