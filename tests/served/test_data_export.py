"""The data export as gunicorn serves it: a long trade history arrives whole while the web
worker's memory stays flat (the zip is spooled to a temporary file, not built in memory)."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
import zipfile

import pytest
import sqlalchemy as sa

from tests.bots.helpers import bulk_trades, make_bot, make_key
from webapp.extensions import db
from webapp.models import User

MB = 1024 * 1024
TRADES = 100_000


@pytest.mark.slow
def test_100k_trades_export_whole_with_flat_memory(web, served):
    user = db.session.scalar(sa.select(User).filter_by(email="alice@example.com"))
    bot = make_bot(user, make_key(user))
    for _ in range(2):  # warm both workers up (imports, templates, connection pools)
        assert web.get("/security/data").status_code == 200
    bulk_trades(bot, TRADES)
    baseline = served.workers_rss()
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:  # while the zip is made as well as while it is sent
        while not done.is_set():
            samples.append(served.workers_rss())
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        response = web.submit("/security/data/export", stream=True)
        assert response.status_code == 200, response.text[:500]
        assert response.headers["Content-Type"] == "application/zip"
        assert response.headers["Content-Disposition"].startswith("attachment; filename=")
        received = list(response.iter_content(chunk_size=64 * 1024))
    finally:
        done.set()
        sampler.join()
    peak = max(samples)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(received)))
    trades = json.loads(archive.read("trades.json"))
    assert len(trades) == TRADES and len({t["id"] for t in trades}) == TRADES
    rows = list(csv.DictReader(io.StringIO(archive.read("trades.csv").decode())))
    assert len(rows) == TRADES and rows[0]["side"] == trades[0]["side"]
    assert json.loads(archive.read("account.json"))[0]["email"] == "alice@example.com"
    # The whole history as JSON is well over 40 MB in a Python list; a batch is not.
    assert peak - baseline < 40 * MB, f"workers grew by {(peak - baseline) / MB:.0f} MB"
