"""Lists of backtests (the bot page's, /backtests/, a sweep's) show each run's figures without
reading every trade and the curve it stored: those grow with the run's range, and only the
run's own page shows them."""

from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa

from tests.backtest.helpers import finished_backtest
from tests.bots.helpers import make_bot, make_key, texts
from webapp.extensions import db
from webapp.models import Backtest, BacktestStatus, Bot


@contextmanager
def statements():
    """Every SQL statement the app runs inside the block."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def reads_results(seen: list[str]) -> bool:
    return any("backtests.trades" in s or "backtests.equity" in s for s in seen)


def test_lists_show_each_runs_figures_without_reading_its_trades(app, client, auth):
    user = auth.create_user("lists@example.com")
    db.session.commit()
    bot = make_bot(user, make_key(user))
    runs = [finished_backtest(bot, candles=n) for n in (1200, 5000)]
    figures = [(r.id, r.summary["trades"], r.summary["total_pnl"]) for r in runs]
    for run, fast in zip(runs, (3, 4), strict=True):  # two combinations of one sweep
        run.sweep, run.settings = "s1", {**run.settings, "params": {"fast": fast, "slow": 5}}
    db.session.commit()
    assert figures[0][1] > 20 and figures[1][1] > figures[0][1]  # runs that traded
    bot_id = bot.id
    auth.login("lists@example.com")
    db.session.expunge_all()  # what a request finds: nothing loaded yet

    for path in (f"/bots/{bot_id}", "/backtests/"):
        with statements() as seen:
            html = client.get(path).get_data(as_text=True)
        rows = texts(html, "backtest-row")
        assert len(rows) == 2, path
        for (backtest_id, trades, _pnl), row in zip(reversed(figures), rows, strict=True):
            assert row.startswith(f"#{backtest_id}") and row.endswith(str(trades)), row
        assert not reads_results(seen), path
        # Seen again, the rows are kept: only their keys are read, not the runs' settings.
        with statements() as seen:
            assert texts(client.get(path).get_data(as_text=True), "backtest-row") == rows
        assert not any("backtests.settings" in s for s in seen), path

    with statements() as seen:
        html = client.get("/backtests/sweeps/s1").get_data(as_text=True)
    for backtest_id, _trades, _pnl in figures:
        assert f'href="/backtests/{backtest_id}"' in html
    assert not reads_results(seen)

    # The run's own page reads (and shows) its trades once; a finished run never changes, so
    # the next view shows the same results without reading them again, and another language
    # is written afresh.
    backtest_id, trades, _pnl = figures[1]
    with statements() as seen:
        html = client.get(f"/backtests/{backtest_id}").get_data(as_text=True)
    assert reads_results(seen)
    assert "bt-equity-chart" in html and "bt-price-chart" in html
    assert f"({trades}, the latest 200 shown)" in html
    shown = texts(html, "backtest-run")
    with statements() as seen:
        again = client.get(f"/backtests/{backtest_id}").get_data(as_text=True)
    assert not reads_results(seen)
    assert texts(again, "backtest-run") == shown
    with statements() as seen:
        french = client.get(f"/backtests/{backtest_id}", headers={"Accept-Language": "fr"})
    assert reads_results(seen)
    assert f"({trades}, les 200 dernières affichées)" in french.get_data(as_text=True)
    csv_text = client.get(f"/backtests/{backtest_id}/trades.csv").get_data(as_text=True)
    assert len(csv_text.strip().splitlines()) == 1 + trades


def test_a_listed_run_shows_its_new_status_and_a_reused_id_its_own_run(app, client, auth):
    user = auth.create_user("rows@example.com")
    db.session.commit()
    bot = make_bot(user, make_key(user))
    bot_id = bot.id
    run = finished_backtest(bot, candles=1200)
    trades = run.summary["trades"]
    run.status, run.summary, run.finished_at, run.fingerprint = (
        BacktestStatus.RUNNING,
        None,
        None,
        None,
    )
    db.session.commit()
    auth.login("rows@example.com")

    def row() -> str:
        [shown] = texts(client.get(f"/bots/{bot_id}").get_data(as_text=True), "backtest-row")
        return shown

    assert row().endswith("Running — —")
    finished = finished_backtest(db.session.get(Bot, bot_id), candles=1200)
    run = db.session.get(Backtest, run.id)
    run.status, run.summary = BacktestStatus.DONE, finished.summary
    run.finished_at, run.fingerprint = finished.finished_at, "f" * 64
    db.session.delete(finished)
    db.session.commit()
    assert row().endswith(f"Done {finished.summary['total_pnl']} {trades}")

    # The run deleted, a new one takes its id (SQLite reuses the highest): its own figures.
    old_id = run.id
    db.session.delete(run)
    db.session.commit()
    other = finished_backtest(db.session.get(Bot, bot_id), candles=2400)
    if db.engine.dialect.name == "sqlite":  # PostgreSQL's sequences never reuse an id
        assert other.id == old_id
    assert row().startswith(f"#{other.id}") and row().endswith(str(other.summary["trades"]))
