"""Backtests end to end: `flask backtest run` (table, --json, --grid, --oos), the pages, the
RQ job with its progress and cancel, the CSV, and bad input answered clearly."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from rq import SimpleWorker

from tests.backtest.conftest import NOW
from webapp.backtest import candles as store
from webapp.engine import service as bots
from webapp.extensions import db, redis_ext
from webapp.models import Backtest, BacktestStatus

FROM, TO = "2026-03-10T08:00", "2026-03-10T11:00"
RUN = ["backtest", "run", "--strategy", "ema_cross", "--param", "fast=3", "--param", "slow=8",
       "--symbol", "BTC/USDT", "--timeframe", "1m", "--quote-amount", "100"]  # fmt: skip


@pytest.fixture
def history(bt_app, trader):
    """Three hours of BTC/USDT 1m (and the warm-up before them) in the store."""
    bt_app.config["BOT_OHLCV_LIMIT"] = 60
    store.fetch("binance", "BTC/USDT", "1m", datetime.fromisoformat(FROM + "+00:00")
                - timedelta(minutes=59), NOW)  # fmt: skip
    return trader


def backtests() -> list[Backtest]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Backtest).order_by(Backtest.id)))


def run_jobs() -> None:
    """A real RQ worker, in this process, until the queue is empty."""
    queue = redis_ext.queue("default")
    SimpleWorker([queue], connection=redis_ext.conn).work(burst=True)


def test_cli_run_prints_the_summary_and_json_is_deterministic(history, runner):
    result = runner.invoke(args=[*RUN, "--from", FROM, "--to", TO])
    assert result.exit_code == 0, result.output
    [saved] = backtests()  # its id: PostgreSQL's sequences go on from earlier tests
    title = f"Backtest {saved.id}: ema_cross BTC/USDT 1m, 2026-03-10 08:00 to 2026-03-10 11:00 UTC"
    assert title in result.output
    for label in ("Total PnL", "Max drawdown", "Win rate %", "Buy and hold PnL", "Daily Sharpe"):
        assert label in result.output
    first = json.loads(runner.invoke(args=[*RUN, "--from", FROM, "--to", TO, "--json"]).output)
    second = json.loads(runner.invoke(args=[*RUN, "--from", FROM, "--to", TO, "--json"]).output)
    assert first["summary"]["candles"] == 180
    assert first["trades"] and set(first["trades"][0]) == {
        "time", "side", "price", "qty", "fee", "realized_pnl", "reason"
    }  # fmt: skip
    assert first["fingerprint"] == second["fingerprint"]
    assert (first["summary"], first["trades"]) == (second["summary"], second["trades"])
    stored = backtests()
    assert len(stored) == 3 and {b.status for b in stored} == {BacktestStatus.DONE}
    # other settings, other fingerprint
    other = json.loads(
        runner.invoke(args=[*RUN, "--from", FROM, "--to", TO, "--json", "--fee", "0.2"]).output
    )
    assert other["fingerprint"] != first["fingerprint"]
    # --fee-rate is the same setting as a fraction: 0.002 is --fee 0.2, and 0 is fee-free
    by_rate = [*RUN, "--from", FROM, "--to", TO, "--json", "--fee-rate"]
    rate = json.loads(runner.invoke(args=[*by_rate, "0.002"]).output)
    assert rate["fingerprint"] == other["fingerprint"]
    free = json.loads(runner.invoke(args=[*by_rate, "0"]).output)
    assert free["trades"] and all(float(t["fee"]) == 0 for t in free["trades"])


def test_cli_refuses_bad_input_and_stores_nothing(history, runner):
    cases = [
        (["--symbol", "BTC/NOPE"], "The exchange does not list BTC/NOPE."),
        (["--from", "2026-03-10T11:00", "--to", "2026-03-10T08:00"],
         "From (2026-03-10 11:00) must be before to (2026-03-10 08:00)."),
        (["--from", "2026-02-01", "--to", "2026-02-02"],
         "No BTC/USDT 1m candles from binance-sim between 2026-02-01 00:00 UTC and "
         "2026-02-02 00:00 UTC: fetch or import them first."),
        (["--param", "slow=2"], "Slow EMA period must be at least 3."),
        (["--quote-amount", "1e400"], "Order size must be less than"),
        (["--fee", "nan"], "Fee must be a number."),
        (["--fee-rate", "nan"], "--fee-rate 'nan' is not a fraction from 0 to 1"),
        (["--fee-rate", "1e-3"], "--fee-rate '1e-3' is not a fraction from 0 to 1"),
        (["--fee-rate", "1.5"], "--fee-rate '1.5' is not a fraction from 0 to 1"),
        (["--fee-rate", "-0.001"], "--fee-rate '-0.001' is not a fraction from 0 to 1"),
        (["--fee-rate", "0.001", "--fee", "0.1"], "Give --fee (a percent) or --fee-rate"),
        (["--to", "someday"], "--to 'someday' is not a date like 2026-01-31."),
    ]  # fmt: skip
    for extra, message in cases:
        args = [*RUN, "--from", FROM, "--to", TO]
        for i in range(0, len(extra), 2):
            flag = extra[i]
            if flag in args and flag != "--param":
                args[args.index(flag) + 1] = extra[i + 1]
            else:
                args += extra[i : i + 2]
        result = runner.invoke(args=args)
        assert result.exit_code == 1, (extra, result.output)
        assert message in result.output, (extra, result.output)
        assert "Traceback" not in result.output
    assert backtests() == []


def test_a_sweep_runs_every_combination_in_jobs_with_an_out_of_sample_half(
    history, runner, client, auth
):
    result = runner.invoke(
        args=[
            *RUN,
            "--from",
            FROM,
            "--to",
            TO,
            "--grid",
            "fast=3:5:1",
            "--grid",
            "slow=4,8,13",
            "--oos",
            "30%",
            "--no-wait",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Skipped fast=4, slow=4: Slow EMA period must be greater than Fast EMA period" in (
        result.output
    )
    queued = result.output.splitlines()[-1]
    assert queued.endswith("14 backtests queued.")  # 7 valid combinations, in and out of sample
    sweep = queued.split()[1].rstrip(":")
    run_jobs()
    runs = backtests()
    assert {r.status for r in runs} == {BacktestStatus.DONE}
    cut = datetime.fromisoformat("2026-03-10T10:06:00+00:00")  # 70% of three hours
    start, end = (datetime.fromisoformat(t + "+00:00") for t in (FROM, TO))
    assert {(r.segment, r.start, r.end) for r in runs} == {("in", start, cut), ("out", cut, end)}
    table = runner.invoke(args=["backtest", "sweep", sweep, "--sort", "total_pnl"])
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert "pnl (in)" in lines[0] and "pnl (out)" in lines[0]
    rows = lines[1:8]
    assert len(rows) == 7 and all(r.startswith("fast=") for r in rows)
    pnl_in = [float(r.split()[2]) for r in rows]
    assert pnl_in == sorted(pnl_in, reverse=True)
    assert "Warning: The best parameters in sample are chosen after the fact" in table.output
    auth.login("trader@example.com")
    page = client.get(f"/backtests/sweeps/{sweep}?sort=total_pnl").get_data(as_text=True)
    assert page.count('data-testid="sweep-row"') == 7
    assert 'data-testid="overfit-warning"' in page
    first_row = page[page.index('data-testid="sweep-row"') :]
    first_cell = first_row[first_row.index("<td>") + 4 : first_row.index("</td>")]
    assert first_cell == rows[0][:30].strip()  # the same best combination as the CLI's


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/backtests/"),
        ("GET", "/backtests/new"),
        ("POST", "/backtests/new"),
        ("GET", "/backtests/{id}"),
        ("POST", "/backtests/{id}/cancel"),
        ("GET", "/backtests/{id}/trades.csv"),
        ("GET", "/backtests/sweeps/{sweep}"),
    ],
)
def test_backtest_pages_need_login_and_are_the_owners_only(
    bt_app, client, auth, trader, method, path
):
    backtest = Backtest(
        user_id=trader.id, status=BacktestStatus.QUEUED, source="binance-sim",
        symbol="BTC/USDT", timeframe="1m", strategy="threshold", start=NOW - timedelta(days=1),
        end=NOW, settings={"params": {}}, sweep="abc123", progress=0, cancel_requested=False,
    )  # fmt: skip
    db.session.add(backtest)
    db.session.commit()
    url = path.format(id=backtest.id, sweep="abc123")
    response = client.open(url, method=method)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    auth.register_and_login("mallory@example.com")
    response = client.open(url, method=method)
    if "{" in path:
        assert response.status_code == 404
    else:
        assert response.status_code in (200, 400, 422)  # a page, or a form's answer
    db.session.refresh(backtest)
    assert backtest.status is BacktestStatus.QUEUED and not backtest.cancel_requested


def test_from_the_bot_page_a_job_fetches_replays_and_shows_the_results(
    bt_app, client, auth, sim_key, trader
):
    bt_app.config["BOT_OHLCV_LIMIT"] = 30
    auth.login("trader@example.com")
    bot = bots.create_bot(
        trader, name="Dips", api_key_id=sim_key.id, symbol="BTC/USDT", timeframe="5m",
        strategy="threshold", params={"buy_below": "74000", "sell_above": "74400"},
        quote_amount="50", mode="paper",
    )  # fmt: skip
    db.session.commit()
    page = client.get(f"/bots/{bot.id}").get_data(as_text=True)
    assert f'href="/backtests/new?bot={bot.id}"' in page
    form = client.get(f"/backtests/new?bot={bot.id}").get_data(as_text=True)
    assert 'value="BTC/USDT"' in form and 'value="74000"' in form and 'value="50"' in form
    data = {
        "bot_id": str(bot.id), "symbol": "BTC/USDT", "timeframe": "5m", "strategy": "threshold",
        "param_buy_below": "74000", "param_sell_above": "74400", "quote_amount": "50",
        "fee_rate": "0.1", "slippage_bps": "0", "exit_model": "intrabar",
        "start": "2026-03-09", "end": "2026-03-10T12:00",
    }  # fmt: skip
    response = client.post("/backtests/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    [backtest] = backtests()
    assert response.headers["Location"].endswith(f"/backtests/{backtest.id}")
    waiting = client.get(f"/backtests/{backtest.id}").get_data(as_text=True)
    assert 'data-testid="backtest-progress"' in waiting and 'hx-trigger="every 1s"' in waiting
    run_jobs()  # the job fetches the missing 5m candles from the simulator, then replays
    db.session.expire_all()
    assert backtest.status is BacktestStatus.DONE, backtest.error
    assert backtest.summary["candles"] == 12 * 36
    fragment = client.get(
        f"/backtests/{backtest.id}", headers={"HX-Request": "true", "HX-Target": "backtest-run"}
    ).get_data(as_text=True)
    assert fragment.strip().startswith('<section id="backtest-run"')
    assert "hx-trigger" not in fragment  # finished: the polling stops
    assert f'data-testid="bt-total-pnl">{backtest.summary["total_pnl"]}<' in fragment
    assert (
        'data-testid="bt-equity-chart"' in fragment and 'data-testid="bt-price-chart"' in fragment
    )
    listed = client.get(f"/bots/{bot.id}").get_data(as_text=True)
    assert f'href="/backtests/{backtest.id}"' in listed
    assert f'href="/backtests/{backtest.id}"' in client.get("/backtests/").get_data(as_text=True)
    download = client.get(f"/backtests/{backtest.id}/trades.csv")
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
    assert rows[0] == ["time", "side", "price", "qty", "fee", "realized_pnl", "reason"]
    assert [r[1:] for r in rows[1:]] == [
        [t["side"], t["price"], t["qty"], t["fee"], t["realized_pnl"] or "", t["reason"]]
        for t in backtest.trades
    ]
    assert len(rows) > 2


def test_the_form_shows_bad_input_on_its_fields_and_saves_nothing(bt_app, client, auth, trader):
    auth.login("trader@example.com")
    base = {
        "symbol": "BTC/USDT", "timeframe": "1m", "strategy": "ema_cross", "param_fast": "3",
        "param_slow": "8", "quote_amount": "100", "start": "2026-03-01", "end": "2026-03-02",
    }  # fmt: skip
    cases = [
        ({"symbol": "BTCUSDT"}, "Did you mean BTC/USDT?"),
        ({"symbol": "DOGE/EUR"}, "The exchange does not list DOGE/EUR."),
        ({"start": "2026-03-05"}, "From (2026-03-05 00:00) must be before to (2026-03-02 00:00)."),
        ({"param_slow": "2"}, "Slow EMA period must be at least 3."),
        ({"quote_amount": "Infinity"}, "Order size must be a number."),
        ({"stop_loss_pct": "1e5"}, "Stop-loss must be at most 100."),
        ({"start": "3/1/2026"}, "is not a date like 2026-01-31."),
    ]
    for change, message in cases:
        response = client.post("/backtests/new", data={**base, **change})
        assert response.status_code == 422, change
        assert message in response.get_data(as_text=True), change
    assert backtests() == []


def test_cancel_stops_a_queued_backtest_and_its_job_does_nothing(history, client, auth):
    auth.login("trader@example.com")
    data = {
        "symbol": "BTC/USDT", "timeframe": "1m", "strategy": "ema_cross", "param_fast": "3",
        "param_slow": "8", "quote_amount": "100", "start": FROM, "end": TO,
    }  # fmt: skip
    assert client.post("/backtests/new", data=data).status_code == 302
    [backtest] = backtests()
    answer = client.post(
        f"/backtests/{backtest.id}/cancel",
        headers={"HX-Request": "true", "HX-Target": "backtest-run"},
    ).get_data(as_text=True)
    assert "Cancelled before it started." in answer and "hx-trigger" not in answer
    run_jobs()
    db.session.expire_all()
    assert backtest.status is BacktestStatus.CANCELLED and backtest.summary is None


def test_a_backtest_whose_job_died_is_failed_by_the_sweep_and_its_page_stops(history, client, auth):
    from workers.backtest import sweep_abandoned

    auth.login("trader@example.com")
    data = {
        "symbol": "BTC/USDT", "timeframe": "1m", "strategy": "ema_cross", "param_fast": "3",
        "param_slow": "8", "quote_amount": "100", "start": FROM, "end": TO,
    }  # fmt: skip
    for _ in range(3):
        assert client.post("/backtests/new", data=data).status_code == 302
    lost, killed, waiting = backtests()
    redis_ext.conn.delete(f"rq:job:{lost.job_id}")  # Redis lost it
    job = redis_ext.queue("default").fetch_job(killed.job_id)
    job.set_status("failed")  # what RQ records when the work horse is killed
    db.session.execute(sa.update(Backtest).where(Backtest.id == killed.id).values(status="running"))
    db.session.commit()

    assert sweep_abandoned() == 2
    assert sweep_abandoned() == 0  # safe to run again
    lost, killed, waiting = backtests()
    for backtest in (lost, killed):
        assert backtest.status is BacktestStatus.FAILED
        page = client.get(f"/backtests/{backtest.id}").get_data(as_text=True)
        assert "stopped before it finished; run it again" in page
        assert "hx-trigger" not in page  # no more polling
    assert waiting.status is BacktestStatus.QUEUED  # its job is still queued: left alone


SWEEP_FORM = {
    "symbol": "BTC/USDT", "timeframe": "1m", "strategy": "ema_cross", "param_fast": "3",
    "param_slow": "8", "quote_amount": "100", "start": FROM, "end": TO,
}  # fmt: skip


def test_a_sweep_started_from_the_form_queues_every_combination_and_its_table_updates(
    history, client, auth
):
    auth.login("trader@example.com")
    data = {**SWEEP_FORM, "grid": "fast=3:4:1\r\nslow=8,13", "oos": "30%"}
    response = client.post("/backtests/new", data=data)
    assert response.status_code == 302
    sweep_url = response.headers["Location"]
    assert "/backtests/sweeps/" in sweep_url
    runs = backtests()
    assert len(runs) == 8  # 2 x 2 combinations, in and out of sample
    assert {(r.settings["params"]["fast"], r.settings["params"]["slow"]) for r in runs} == {
        (3, 8), (3, 13), (4, 8), (4, 13),
    }  # fmt: skip
    polling = client.get(sweep_url, headers={"HX-Request": "true", "HX-Target": "sweep-results"})
    fragment = polling.get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="sweep-results"')  # the block, not a page
    assert "hx-trigger" in fragment and "8 still going" in fragment

    run_jobs()
    done = client.get(sweep_url, headers={"HX-Request": "true", "HX-Target": "sweep-results"})
    fragment = done.get_data(as_text=True)
    assert "hx-trigger" not in fragment  # finished: the polling stops
    assert fragment.count('data-testid="sweep-row"') == 4
    assert 'data-testid="overfit-warning"' in client.get(sweep_url).get_data(as_text=True)


@pytest.mark.parametrize(
    ("grid", "oos", "field", "message"),
    [
        ("fast", "", "grid", "Write a grid as NAME=START:STOP:STEP"),
        ("fast=1:1e9:1", "", "grid", "more than"),
        ("fast=NaN:3:1", "", "grid", "three numbers"),
        ("speed=3,4", "", "grid", "speed is not a parameter of this strategy"),
        ("slow=2,3", "", "grid", "No valid combination"),
        ("fast=3,4", "150%", "oos", "Out of sample takes a share"),
        ("", "30%", "oos", "applies to a sweep only"),
    ],
)
def test_a_bad_sweep_gets_a_message_on_its_field_and_queues_nothing(
    history, client, auth, grid, oos, field, message
):
    auth.login("trader@example.com")
    response = client.post("/backtests/new", data={**SWEEP_FORM, "grid": grid, "oos": oos})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    errors = page[page.index(f'id="{field}-errors"') :]
    assert message in errors[: errors.index("</small>")]
    assert backtests() == []
    assert redis_ext.queue("default").count == 0


def test_a_dca_backtest_lists_its_deals_in_the_cli_and_on_its_page(history, runner, client, auth):
    dca = ["backtest", "run", "--strategy", "dca", "--param", "base_order=100",
           "--param", "safety_order=50", "--param", "deviation_pct=0.1",
           "--param", "take_profit_pct=0.1", "--symbol", "BTC/USDT", "--timeframe", "1m",
           "--quote-amount", "100", "--from", FROM, "--to", TO]  # fmt: skip
    result = runner.invoke(args=dca)
    assert result.exit_code == 0, result.output
    assert "Deal 1: " in result.output and "(take-profit), profit " in result.output
    [saved] = backtests()
    closed = [d for d in saved.summary["deals"] if d["closed_by"]]
    assert closed
    auth.login("trader@example.com")
    page = client.get(f"/backtests/{saved.id}").get_data(as_text=True)
    assert page.count('data-testid="bt-deal"') == min(50, len(saved.summary["deals"]))
    # A DCA that opens its deals on signals has nothing to replay.
    refused = runner.invoke(args=[*dca, "--param", "entry=signal"])
    assert refused.exit_code != 0 and "cannot be backtested" in refused.output
    assert len(backtests()) == 1
