"""`flask candles fetch|import` and `flask backtest run|sweep|list`."""

from __future__ import annotations

import json
import logging
import re
import time
from decimal import Decimal

import click
from flask.cli import AppGroup

from webapp.backtest import candles as store
from webapp.backtest import service
from webapp.backtest.errors import BacktestError
from webapp.backtest.service import N_
from webapp.exchange.errors import ExchangeError
from webapp.extensions import db
from webapp.i18n.current import gettext as _
from webapp.models import Backtest, BacktestStatus, Bot, User

logger = logging.getLogger(__name__)

candles_cli = AppGroup("candles", help="Historical candles for backtests: fetch or import.")
backtest_cli = AppGroup("backtest", help="Replay a strategy over stored candles.")


def _fail(exc: Exception) -> click.ClickException:
    db.session.rollback()
    message = exc.message if isinstance(exc, BacktestError | ExchangeError) else str(exc)
    if isinstance(exc, service.SettingsError):
        message = "\n".join(exc.errors.values())
    return click.ClickException(message)


@candles_cli.command("fetch")
@click.option("--exchange", default="binance", show_default=True)
@click.option("--symbol", required=True, help="Unified symbol, e.g. BTC/USDT.")
@click.option("--timeframe", default="1m", show_default=True)
@click.option("--since", required=True, help="First day (UTC), e.g. 2026-01-01.")
@click.option("--until", default=None, help="End (exclusive; default: now).")
def fetch_command(exchange, symbol, timeframe, since, until) -> None:
    """Fetch the missing bars of a range through ccxt (resumes where a killed run stopped)."""
    try:
        start = service.parse_day(since, "--since")
        end = service.parse_day(until, "--until")
        if end is not None and start is not None and start >= end:
            raise service.BadRange(f"--since ({since}) must be before --until ({until}).")
        report = service.fetch_for_cli(exchange, symbol.strip().upper(), timeframe, start, end)
    except (BacktestError, ExchangeError) as exc:
        raise _fail(exc) from None
    for line in report.lines():
        click.echo(line)


@candles_cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--source", default="binance", show_default=True, help="Where the files are from.")
@click.option("--symbol", default=None, help="Override the symbol read from the file name.")
@click.option("--timeframe", default=None, help="Override the timeframe read from the name.")
def import_command(files, source, symbol, timeframe) -> None:
    """Import Binance kline files (data.binance.vision: .zip or .csv)."""
    try:
        report = store.import_files(
            files,
            source=source,
            symbol=symbol.strip().upper() if symbol else None,
            timeframe=timeframe,
        )
    except BacktestError as exc:
        raise _fail(exc) from None
    for line in report.lines():
        click.echo(line)


def _params(pairs) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"write NAME=VALUE, not {pair!r}", param_hint="--param")
        params[name.strip()] = value.strip()
    return params


ROWS = (
    (N_("Candles"), "candles"),
    (N_("Trades"), "trades"),
    (N_("Buys / sells"), None),
    (N_("Realized PnL"), "realized_pnl"),
    (N_("Unrealized PnL (open position)"), "unrealized_pnl"),
    (N_("Total PnL"), "total_pnl"),
    (N_("Fees"), "fees"),
    (N_("Return on order size %"), "return_pct"),
    (N_("Buy and hold PnL"), "buy_and_hold_pnl"),
    (N_("Buy and hold %"), "buy_and_hold_return_pct"),
    (N_("Max drawdown"), "max_drawdown"),
    (N_("Max drawdown %"), "max_drawdown_pct"),
    (N_("Win rate %"), "win_rate_pct"),
    (N_("Profit factor"), "profit_factor"),
    (N_("Daily Sharpe"), "sharpe_daily"),
    (N_("Exposure %"), "exposure_pct"),
)


def summary_lines(summary: dict) -> list[str]:
    out = []
    for label, key in ROWS:
        if key is None:
            value = f"{summary['buys']} / {summary['sells']}"
        else:
            value = summary.get(key)
            value = "—" if value is None else str(value)
        out.append(f"{_(label):<32} {value:>20}")
    if summary.get("stopped"):
        reason = summary["stopped"]  # the engine's English, a msgid when it is one of ours
        out.append(_("Stopped: %(why)s", why=_(reason)))
    for deal in summary.get("deals") or ():  # a DCA's deals, as a hand calculation reads them
        buys = [o for o in deal["orders"] if o["side"] == "buy"]
        orders = ", ".join(f"{o['side']} {o['qty']} @ {o['price']}" for o in deal["orders"])
        if deal["closed_by"]:
            out.append(
                _(
                    "Deal %(deal)s: %(count)s buys, average entry %(entry)s, sold at %(price)s "
                    "(%(closed_by)s), profit %(profit)s: %(orders)s",
                    deal=deal["deal"],
                    count=len(buys),
                    entry=deal["average_entry"],
                    price=deal["orders"][-1]["price"],
                    closed_by=_("take-profit")
                    if deal["closed_by"] == "take-profit"
                    else _("stop-loss"),
                    profit=deal["profit"],
                    orders=orders,
                )
            )
        else:
            out.append(
                _(
                    "Deal %(deal)s (open at the end): %(count)s buys, average entry %(entry)s: "
                    "%(orders)s",
                    deal=deal["deal"],
                    count=len(buys),
                    entry=deal["average_entry"],
                    orders=orders,
                )
            )
    return out


_FRACTION = re.compile(r"0(\.\d{1,12})?|1(\.0{1,12})?|\.\d{1,12}")


def _fee_percent(fee: str | None, fee_rate: str | None) -> str | None:
    """`--fee-rate 0.001` is `--fee 0.1`: the form and the stored settings keep a percent."""
    if fee_rate is None:
        return fee
    if fee is not None:
        raise click.ClickException(
            _("Give --fee (a percent) or --fee-rate (a fraction), not both.")
        )
    text = fee_rate.strip()
    if not _FRACTION.fullmatch(text):
        raise click.ClickException(
            _(
                "--fee-rate %(value)r is not a fraction from 0 to 1 such as 0.001 (0.1%%).",
                value=fee_rate,
            )
        )
    return format(Decimal(text) * 100, "f")


@backtest_cli.command("run")
@click.option("--bot", "bot_id", type=int, default=None, help="Take every setting from this bot.")
@click.option("--strategy", default=None)
@click.option("--param", "params", multiple=True, help="Strategy parameter NAME=VALUE.")
@click.option("--symbol", default=None)
@click.option("--timeframe", default=None)
@click.option("--quote-amount", default=None, help="Order size in the quote currency.")
@click.option("--stop-loss", default=None, help="Stop-loss %.")
@click.option("--take-profit", default=None, help="Take-profit %.")
@click.option("--daily-profit-target", default=None)
@click.option("--daily-loss-limit", default=None)
@click.option("--fee", default=None, help="Fee rate in % (default 0.1).")
@click.option("--fee-rate", default=None, help="Fee rate as a fraction (default 0.001).")
@click.option("--slippage-bps", default=None, help="Slippage in basis points (default 0).")
@click.option("--exits", "exit_model", default=None, help="intrabar (default) or open.")
@click.option("--exchange", default="binance", show_default=True)
@click.option("--source", default=None, help="Candle source (default: where fetches go now).")
@click.option("--from", "start", required=True, help="Start day (UTC), e.g. 2026-01-01.")
@click.option("--to", "end", required=True, help="End (exclusive).")
@click.option("--user", "email", default=None, help="Owner of the stored result (email).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary and trades as JSON.")
@click.option("--grid", "grid", multiple=True, help="Sweep NAME=START:STOP:STEP or NAME=A,B.")
@click.option("--oos", default=None, help="Keep the last share of the range out of sample.")
@click.option("--sort", "sort", default="total_pnl", show_default=True)
@click.option("--no-wait", is_flag=True, help="Sweeps: queue the jobs and print the sweep id.")
def run_command(
    bot_id, strategy, params, symbol, timeframe, quote_amount, stop_loss, take_profit,
    daily_profit_target, daily_loss_limit, fee, fee_rate, slippage_bps, exit_model, exchange,
    source, start, end, email, as_json, grid, oos, sort, no_wait,
) -> None:  # fmt: skip
    """Backtest a bot's settings, or settings given here, over stored candles."""
    fee = _fee_percent(fee, fee_rate)
    bot = None
    if bot_id is not None:
        bot = db.session.get(Bot, bot_id)
        if bot is None:
            raise click.ClickException(_("No bot with id %(id)s.", id=bot_id))
        fields = service.bot_fields(bot)
        base_params = dict(bot.params or {})
        exchange = bot.exchange
    else:
        fields = {"symbol": symbol, "timeframe": timeframe or "1m", "strategy": strategy}
        if not strategy:
            raise click.ClickException(_("Give --bot ID, or --strategy with its settings."))
        base_params = {}
    for key, value in {
        "symbol": symbol if bot is None else None,
        "timeframe": timeframe if bot is None else None,
        "quote_amount": quote_amount,
        "stop_loss_pct": stop_loss,
        "take_profit_pct": take_profit,
        "daily_profit_target": daily_profit_target,
        "daily_loss_limit": daily_loss_limit,
        "fee_rate": fee,
        "slippage_bps": slippage_bps,
        "exit_model": exit_model,
    }.items():
        if value is not None:
            fields[key] = value
    base_params.update(_params(params))
    owner = _owner(email, bot)
    try:
        begin = service.parse_day(start, "--from")
        finish = service.parse_day(end, "--to")
        begin, finish = service.check_range(begin, finish)
        source = source or store.source_for(exchange)
        if grid:
            _sweep(owner, exchange, source, fields, base_params, grid, begin, finish, oos, sort,
                   no_wait, as_json)  # fmt: skip
            return
        settings = service.build_settings(exchange, fields, base_params)
        if oos:
            cut = service.split_oos(begin, finish, oos)
            halves = [(N_("in sample"), begin, cut), (N_("out of sample"), cut, finish)]
        else:
            halves = [(None, begin, finish)]
        outputs = []
        replays = [(label, a, b, service.replay(settings, source, a, b)) for label, a, b in halves]
        for label, a, b, outcome in replays:
            outputs.append((label, service.save(owner, settings, source, a, b, outcome, bot=bot)))
        db.session.commit()
    except (BacktestError, ExchangeError) as exc:
        raise _fail(exc) from None
    if as_json:
        docs = [_json_doc(b, label) for label, b in outputs]
        click.echo(json.dumps(docs[0] if len(docs) == 1 else docs, indent=2))
        return
    for label, backtest in outputs:
        title = _(
            "Backtest %(id)s: %(strategy)s %(symbol)s %(timeframe)s, %(start)s to %(end)s UTC",
            id=backtest.id,
            strategy=backtest.strategy,
            symbol=backtest.symbol,
            timeframe=backtest.timeframe,
            start=f"{backtest.start:%Y-%m-%d %H:%M}",
            end=f"{backtest.end:%Y-%m-%d %H:%M}",
        )
        click.echo(title + (f" ({_(label)})" if label else ""))  # --json keeps the English
        for line in summary_lines(backtest.summary):
            click.echo(line)
        click.echo(_("Fingerprint %(fingerprint)s", fingerprint=backtest.fingerprint))
        click.echo("")
    if oos:
        click.echo(_("Warning: %(text)s", text=_(service.OVERFIT_WARNING)))


def _owner(email: str | None, bot: Bot | None) -> User:
    if bot is not None:
        return bot.user
    if email:
        user = User.by_email(email)
        if user is None:
            raise click.ClickException(_("No user %(email)s.", email=email))
        return user
    admin = db.session.scalar(
        db.select(User).where(User.is_admin.is_(True)).order_by(User.id).limit(1)
    )
    user = admin or db.session.scalar(db.select(User).order_by(User.id).limit(1))
    if user is None:
        raise click.ClickException(_("Create a user first (flask users create): results are kept."))
    return user


def _json_doc(backtest: Backtest, label: str | None = None) -> dict:
    doc = {
        "id": backtest.id,
        "strategy": backtest.strategy,
        "symbol": backtest.symbol,
        "timeframe": backtest.timeframe,
        "from": backtest.start.isoformat(),
        "to": backtest.end.isoformat(),
        "fingerprint": backtest.fingerprint,
        "settings": backtest.settings,
        "summary": backtest.summary,
        "trades": [
            {
                "time": store.from_ms(t["time"]).isoformat(),
                "side": t["side"],
                "price": t["price"],
                "qty": t["qty"],
                "fee": t["fee"],
                "realized_pnl": t["realized_pnl"],
                "reason": t["reason"],
            }
            for t in backtest.trades or []
        ],
    }
    if label:
        doc["segment"] = label
    return doc


def _sweep(owner, exchange, source, fields, params, grid, begin, finish, oos, sort, no_wait,
           as_json) -> None:  # fmt: skip
    sweep, runs, skipped = service.create_sweep(
        owner, exchange, source, fields, params, service.parse_grid(grid), begin, finish, oos
    )
    for combination, why in skipped.items():
        click.echo(_("Skipped %(combination)s: %(why)s", combination=combination, why=why))
    service.sweep_table(runs, sort)  # check the metric before queueing anything
    for run in runs:
        service.enqueue(run, fetch_missing=False)
    db.session.commit()
    click.echo(_("Sweep %(sweep)s: %(count)d backtests queued.", sweep=sweep, count=len(runs)))
    if no_wait:
        return
    deadline = time.monotonic() + service.JOB_TIMEOUT
    while time.monotonic() < deadline:
        db.session.expire_all()
        runs = service.sweep_runs(owner, sweep)
        if all(r.status.finished for r in runs):
            break
        time.sleep(0.5)
    else:
        raise click.ClickException(
            _("Sweep %(sweep)s is still running; see `flask backtest sweep`.", sweep=sweep)
        )
    print_sweep(runs, sort, as_json)


def print_sweep(runs, sort: str, as_json: bool = False) -> None:
    rows = service.sweep_table(runs, sort)
    split = any(r.segment for r in runs)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "params": row.params,
                        **{
                            seg: (run.summary or {"error": run.error})
                            for seg, run in row.runs.items()
                        },
                    }
                    for row in rows
                ],
                indent=2,
            )
        )
        return
    columns = ["in", "out"] if split else ["all"]
    head = f"{'parameters':<30}"
    for seg in columns:
        tag = "" if seg == "all" else f" ({seg})"
        head += (
            f" {'pnl' + tag:>14} {'return %' + tag:>14} {'max dd' + tag:>12} {'trades' + tag:>11}"
        )
    click.echo(head)
    for row in rows:
        text = ", ".join(f"{k}={v}" for k, v in row.params.items())
        line = f"{text[:30]:<30}"
        for seg in columns:
            run = row.runs.get(seg)
            s = (run.summary if run else None) or {}
            if run is not None and run.status is not BacktestStatus.DONE:
                line += f" {run.status.value + ': ' + (run.error or '')[:40]:>53}"
                continue
            line += (
                f" {s.get('total_pnl', '—'):>14} {s.get('return_pct', '—'):>14}"
                f" {s.get('max_drawdown', '—'):>12} {s.get('trades', '—'):>11}"
            )
        click.echo(line)
    if split:
        click.echo(_("Warning: %(text)s", text=_(service.OVERFIT_WARNING)))


@backtest_cli.command("sweep")
@click.argument("sweep")
@click.option("--sort", "sort", default="total_pnl", show_default=True)
@click.option("--json", "as_json", is_flag=True)
def sweep_command(sweep: str, sort: str, as_json: bool) -> None:
    """Show a sweep's table, best first by --sort."""
    runs = list(db.session.scalars(db.select(Backtest).where(Backtest.sweep == sweep)))
    if not runs:
        raise click.ClickException(_("No sweep %(sweep)s.", sweep=sweep))
    try:
        print_sweep(runs, sort, as_json)
    except BacktestError as exc:
        raise _fail(exc) from None
