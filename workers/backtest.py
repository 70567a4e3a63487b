"""Backtest jobs (on the `default` queue): one replay per job, progress in the database."""

from __future__ import annotations

import logging

from workers import app_job

logger = logging.getLogger(__name__)


@app_job
def run_backtest(backtest_id: int, fetch_missing: bool = True) -> str:
    """Fetch the missing candles, replay, store the result. A finished backtest is left as it
    is, so a retried job does nothing twice."""
    from webapp.backtest.service import execute

    backtest = execute(backtest_id, fetch_missing)
    return "missing" if backtest is None else backtest.status.value


@app_job
def sweep_abandoned() -> int:
    """Fail backtests whose job died with its work horse (see the service)."""
    from webapp.backtest.service import sweep_abandoned as sweep

    return sweep()
