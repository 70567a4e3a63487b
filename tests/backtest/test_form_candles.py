"""The backtest form's choice of candles: fetched from the exchange (the simulator here) in the
job, or a dataset already in the store (fetched earlier, or imported from Binance kline files)
replayed as it is; a choice that cannot work is refused on its field before anything is saved
or queued."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from tests.backtest.test_runs import FROM, SWEEP_FORM, TO, backtests, history, run_jobs
from webapp.backtest import candles as store
from webapp.extensions import db, redis_ext
from webapp.models import BacktestStatus, CandleBar

__all__ = ["history"]  # the fixture, shared with the other run tests

MIN = 60_000
FROM_MS = store.to_ms(datetime.fromisoformat(FROM + "+00:00"))
TO_MS = store.to_ms(datetime.fromisoformat(TO + "+00:00"))
FORM = {**SWEEP_FORM, "fee_rate": "0.1", "slippage_bps": "0", "exit_model": "intrabar"}


def stored(source: str, timeframe: str = "1m") -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(CandleBar)
        .where(CandleBar.source == source, CandleBar.timeframe == timeframe)
    )


def import_file(tmp_path, count: int) -> None:
    """A Binance kline file of `count` minutes from FROM, imported as source "binance"."""
    rows = []
    for i in range(count):
        ts, o = FROM_MS + i * MIN, 90000 + i
        rows.append(f"{ts},{o}.1,{o + 5},{o - 5},{o + 1}.25,12.5,{ts + MIN - 1},0,0,0,0,0")
    path = tmp_path / "BTCUSDT-1m-2026-03-10.csv"
    path.write_text("\n".join(rows) + "\n")
    store.import_files([str(path)], source="binance")
    db.session.commit()


def post(client, **change):
    return client.post("/backtests/new", data={**FORM, **change})


def test_the_form_offers_fetching_and_every_stored_dataset(history, client, auth, tmp_path):
    import_file(tmp_path, 10)
    auth.login("trader@example.com")
    page = client.get("/backtests/new").get_data(as_text=True)
    assert '<option selected value="fetch">Fetch what is missing from binance-sim' in page
    assert '<option value="stored">Stored candles only' in page
    assert '<option value="binance">binance</option>' in page
    assert '<option value="binance-sim">binance-sim</option>' in page


def test_fetch_makes_the_job_fetch_the_missing_bars_first(bt_app, client, auth, trader):
    bt_app.config["BOT_OHLCV_LIMIT"] = 60
    auth.login("trader@example.com")
    assert stored("binance-sim") == 0
    response = post(client, candles="fetch", dataset="")
    assert response.status_code == 302, response.get_data(as_text=True)
    [backtest] = backtests()
    assert backtest.source == "binance-sim"
    run_jobs()
    db.session.expire_all()
    assert backtest.status is BacktestStatus.DONE, backtest.error
    assert backtest.summary["candles"] == 180  # the three hours, fetched by the job
    assert stored("binance-sim") == 180 + 59  # and the warm-up before them


def test_an_imported_dataset_is_replayed_as_it_is(history, client, auth, tmp_path):
    import_file(tmp_path, 120)  # two of the range's three hours
    auth.login("trader@example.com")
    response = post(client, candles="stored", dataset="binance")
    assert response.status_code == 302, response.get_data(as_text=True)
    [backtest] = backtests()
    assert backtest.source == "binance"
    run_jobs()
    db.session.expire_all()
    assert backtest.status is BacktestStatus.DONE, backtest.error
    summary = backtest.summary
    assert summary["candles"] == 120  # the file's bars, not the simulator's 180
    assert (summary["first_candle"], summary["last_candle"]) == (FROM_MS, FROM_MS + 119 * MIN)
    # The price chart shows the file's closes (90001.25 and up), not the simulator's ~74,000.
    assert [close for _, _, close in backtest.equity][:2] == [90001.25, 90002.25]
    assert stored("binance") == 120  # nothing fetched into it


def test_a_stored_fetched_dataset_is_not_completed_by_the_job(history, client, auth):
    gap = sa.delete(CandleBar).where(
        CandleBar.source == "binance-sim", CandleBar.ts >= FROM_MS + 60 * MIN
    )
    db.session.execute(gap.where(CandleBar.ts < FROM_MS + 120 * MIN))
    db.session.commit()
    before = stored("binance-sim")
    auth.login("trader@example.com")
    response = post(client, candles="stored", dataset="binance-sim")
    assert response.status_code == 302, response.get_data(as_text=True)
    run_jobs()
    [backtest] = backtests()
    assert backtest.status is BacktestStatus.DONE, backtest.error
    assert backtest.summary["candles"] == 120  # the hour missing from the store stays missing
    assert stored("binance-sim") == before


def test_a_sweep_over_a_stored_dataset_queues_jobs_that_do_not_fetch(
    history, client, auth, tmp_path
):
    import_file(tmp_path, 120)
    auth.login("trader@example.com")
    response = post(client, candles="stored", dataset="binance", grid="fast=3,4")
    assert response.status_code == 302, response.get_data(as_text=True)
    run_jobs()
    runs = backtests()
    assert [r.source for r in runs] == ["binance", "binance"]
    assert [r.summary["candles"] for r in runs] == [120, 120]
    assert stored("binance") == 120


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"candles": "s3"}, "candles", "Candles come from the exchange (fetch) or a stored"),
        ({"candles": "stored", "dataset": ""}, "dataset", "Choose a stored dataset."),
        (
            {"candles": "stored", "dataset": "kraken"},
            "dataset",
            "No candles are stored from &#39;kraken&#39;; stored: binance-sim.",
        ),
        (
            {
                "candles": "stored",
                "dataset": "binance-sim",
                "start": "2026-03-01",
                "end": "2026-03-02",
            },
            "dataset",
            "No BTC/USDT 1m candles from binance-sim between 2026-03-01 00:00 UTC and "
            "2026-03-02 00:00 UTC. Fetch them from the exchange, or import them",
        ),
        (
            {"candles": "stored", "dataset": "binance-sim", "timeframe": "5m"},
            "dataset",
            "No BTC/USDT 5m candles from binance-sim between 2026-03-10 08:00 UTC",
        ),
        (
            {
                "candles": "stored",
                "dataset": "binance-sim",
                "start": "2026-03-01",
                "end": "2026-03-02",
                "grid": "fast=3,4",
            },
            "dataset",
            "No BTC/USDT 1m candles from binance-sim between 2026-03-01 00:00 UTC",
        ),
    ],
)
def test_a_candle_choice_that_cannot_work_is_refused_on_its_field(
    history, client, auth, change, field, message
):
    auth.login("trader@example.com")
    response = post(client, **change)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    errors = page[page.index(f'id="{field}-errors"') :]
    assert message in errors[: errors.index("</small>")]
    assert backtests() == []
    assert redis_ext.queue("default").count == 0


def test_another_dataset_holding_the_range_is_named(history, client, auth, tmp_path):
    import_file(tmp_path, 30)
    db.session.execute(sa.delete(CandleBar).where(CandleBar.source == "binance-sim"))
    db.session.execute(
        sa.insert(CandleBar).values(source="binance-sim", symbol="ETH/USDT", timeframe="1m",
                                    ts=FROM_MS, open=1, high=1, low=1, close=1, volume=1)
    )  # fmt: skip
    db.session.commit()
    auth.login("trader@example.com")
    response = post(client, candles="stored", dataset="binance-sim")
    assert response.status_code == 422
    assert "Stored for this range: binance." in response.get_data(as_text=True)
    assert backtests() == []


def test_stored_only_with_an_empty_store_says_how_to_fill_it(bt_app, client, auth, trader):
    auth.login("trader@example.com")
    response = post(client, candles="stored", dataset="binance-sim")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "The store holds no candles yet: fetch them from the exchange" in page
    assert "none stored yet" in page
    assert backtests() == []
    assert redis_ext.queue("default").count == 0
