"""The candles store: fetched through ccxt from the simulator (resumably), imported from
Binance kline files, and bad input refused with nothing half-written."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tests.backtest.conftest import NOW
from webapp.backtest import candles as store
from webapp.extensions import db
from webapp.models import CandleBar

MIN = 60_000


def bars(source="binance-sim", symbol="BTC/USDT", timeframe="1m") -> list[CandleBar]:
    return list(
        db.session.scalars(
            sa.select(CandleBar)
            .where(
                CandleBar.source == source,
                CandleBar.symbol == symbol,
                CandleBar.timeframe == timeframe,
            )
            .order_by(CandleBar.ts)
        )
    )


def test_fetch_stores_the_simulators_closed_candles(bt_app, runner, sim):
    result = runner.invoke(
        args=[
            "candles",
            "fetch",
            "--symbol",
            "BTC/USDT",
            "--since",
            "2026-03-10T09:00",
            "--until",
            "2026-03-10T11:30",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "150 new bars in 1 requests, 0 already stored." in result.output
    assert "No gaps." in result.output
    stored = bars()
    start = int(datetime(2026, 3, 10, 9, tzinfo=UTC).timestamp() * 1000)
    assert [b.ts for b in stored] == [start + i * MIN for i in range(150)]
    # the same prices the simulator serves (and the live engine reads)
    expected = sim.market.klines("BTCUSDT", "1m", start, start + 149 * MIN, 1000)
    assert [(b.open, b.high, b.low, b.close) for b in stored] == [
        (float(k.open), float(k.high), float(k.low), float(k.close)) for k in expected
    ]
    again = runner.invoke(
        args=[
            "candles",
            "fetch",
            "--symbol",
            "BTC/USDT",
            "--since",
            "2026-03-10T09:00",
            "--until",
            "2026-03-10T11:30",
        ]
    )
    assert "0 new bars in 0 requests, 150 already stored." in again.output


def test_a_fetch_killed_midway_resumes_without_gaps_or_duplicates(bt_app, sim):
    bt_app.config["CANDLES_PAGE_SIZE"] = 100
    start, end = datetime(2026, 3, 10, 6, tzinfo=UTC), datetime(2026, 3, 10, 11, 50, tzinfo=UTC)
    pages = []

    def kill_after_two_pages(done, total):
        pages.append(done)
        if len(pages) == 2:
            raise KeyboardInterrupt  # what Ctrl-C or a dying process does between pages

    with pytest.raises(KeyboardInterrupt):
        store.fetch("binance", "BTC/USDT", "1m", start, end, progress=kill_after_two_pages)
    db.session.rollback()
    assert len(bars()) == 200  # both committed pages survived
    report = store.fetch("binance", "BTC/USDT", "1m", start, end)
    assert (report.already, report.stored, report.requests) == (200, 150, 2)
    assert report.gaps == []
    times = [b.ts for b in bars()]
    first = store.to_ms(start)
    assert times == [first + i * MIN for i in range(350)]  # every bar, once


def test_bars_the_exchange_does_not_have_are_reported_as_gaps(bt_app, runner):
    # the simulated market's clock stands at NOW: later bars do not exist yet
    result = runner.invoke(
        args=[
            "candles",
            "fetch",
            "--symbol",
            "ETH/USDT",
            "--since",
            "2026-03-10T11:00",
            "--until",
            "2026-03-10T12:10",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Gap: 10 bars missing from 2026-03-10 12:00 UTC to 2026-03-10 12:09 UTC." in (
        result.output
    )
    assert len(bars(symbol="ETH/USDT")) == 60


def test_fetch_refuses_bad_input_clearly(bt_app, runner):
    cases = [
        (["--symbol", "BTC/NOPE", "--since", "2026-03-01"], "The exchange does not list BTC/NOPE."),
        (["--symbol", "BTCUSDT", "--since", "2026-03-01"], "Did you mean BTC/USDT?"),
        (["--symbol", "BTC/USDT", "--since", "2026-03-05", "--until", "2026-03-01"],
         "--since (2026-03-05) must be before --until (2026-03-01)."),
        (["--symbol", "BTC/USDT", "--since", "yesterday"], "is not a date like 2026-01-31."),
        (["--symbol", "BTC/USDT", "--since", "2026-03-01", "--timeframe", "7m"],
         "Unknown timeframe '7m'"),
    ]  # fmt: skip
    for args, message in cases:
        result = runner.invoke(args=["candles", "fetch", *args])
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CandleBar)) == 0


# -- Binance kline files -------------------------------------------------------------------

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC


def kline_rows(start_ms: int, count: int, *, micro: bool = False) -> list[str]:
    rows = []
    for i in range(count):
        ts = start_ms + i * MIN
        o = 90000 + i
        opened = ts * 1000 if micro else ts
        closed = (ts + MIN - 1) * 1000 + 999 if micro else ts + MIN - 1
        rows.append(
            f"{opened},{o}.10000000,{o + 5}.00000000,{o - 5}.00000000,{o + 1}.25000000,"
            f"12.5,{closed},1130000.0,250,6.1,550000.0,0"
        )
    return rows


HEADER = (
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
    "taker_buy_volume,taker_buy_quote_volume,ignore"
)


def test_import_reads_binance_zip_and_csv_files(bt_app, runner, tmp_path):
    archive = tmp_path / "BTCUSDT-1m-2026-01-01.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("BTCUSDT-1m-2026-01-01.csv", "\n".join(kline_rows(T0, 30)) + "\n")
    # the newer layout: a header row and open times in microseconds
    csv_file = tmp_path / "BTCUSDT-1m-2026-01-02.csv"
    csv_file.write_text(HEADER + "\n" + "\n".join(kline_rows(T0 + 30 * MIN, 20, micro=True)))
    result = runner.invoke(args=["candles", "import", str(archive), str(csv_file)])
    assert result.exit_code == 0, result.output
    assert "Read 50 rows from 2 files; 50 new bars stored." in result.output
    assert "BTC/USDT 1m: 2026-01-01 00:00 UTC to 2026-01-01 00:49 UTC." in result.output
    stored = bars(source="binance")
    assert [b.ts for b in stored] == [T0 + i * MIN for i in range(50)]
    assert (stored[0].open, stored[0].high, stored[0].low, stored[0].close) == (
        90000.1, 90005.0, 89995.0, 90001.25
    )  # fmt: skip
    assert stored[49].open == 90019.1 and stored[0].volume == 12.5
    again = runner.invoke(args=["candles", "import", str(csv_file)])
    assert "Read 20 rows from 1 files; 0 new bars stored." in again.output


TS = "1767225720000"
TAIL = "12.5,0,0,0,0,0,0"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (f"{TS},90002.1,90007,89997,nan,{TAIL}", "the close 'nan' is not a usable"),
        (f"{TS},90002.1,1e999,89997,9.1,{TAIL}", "the high '1e999' is not a usable"),
        (f"{TS},90002.1,90001,89997,90003,{TAIL}", "high and low do not bracket"),
        (f"{TS},abc,90007,89997,90003,{TAIL}", "the open 'abc' is not a number"),
        (f"1767225720001,90002.1,90007,89997,90003,{TAIL}", "1767225720001 is not the open"),
        (f"{TS},90002.1,90007", "expected at least 6 columns, found 3"),
    ],
)
def test_a_malformed_row_is_named_and_nothing_is_stored(bt_app, runner, tmp_path, row, message):
    good = tmp_path / "BTCUSDT-1m-2026-01-01.csv"
    good.write_text("\n".join(kline_rows(T0, 10)))
    bad = tmp_path / "BTCUSDT-1m-2026-01-02.csv"
    bad.write_text("\n".join([*kline_rows(T0 - 2 * MIN, 2), row]))
    result = runner.invoke(args=["candles", "import", str(good), str(bad)])
    assert result.exit_code == 1, result.output
    assert f"BTCUSDT-1m-2026-01-02.csv line 3: {message}" in result.output
    assert "Traceback" not in result.output
    assert bars(source="binance") == []  # not even the good file's rows


def test_import_refuses_files_it_cannot_read(bt_app, runner, tmp_path):
    (tmp_path / "notes.csv").write_text("1767225600000,1,1,1,1,1\n")
    (tmp_path / "BTCUSDT-1m-x.zip").write_bytes(b"not a zip")
    cases = [
        ([str(tmp_path / "missing.csv")], "no such file"),
        ([str(tmp_path / "notes.csv")], "the name does not say the market"),
        ([str(tmp_path / "BTCUSDT-1m-x.zip")], "not a readable zip archive"),
    ]
    for args, message in cases:
        result = runner.invoke(args=["candles", "import", *args])
        assert result.exit_code == 1 and message in result.output, result.output
    ok = runner.invoke(
        args=[
            "candles",
            "import",
            str(tmp_path / "notes.csv"),
            "--symbol",
            "btc/usdt",
            "--timeframe",
            "1m",
        ]
    )
    assert ok.exit_code == 0, ok.output
    assert len(bars(source="binance")) == 1
    assert NOW.year == 2026
