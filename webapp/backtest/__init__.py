"""Backtesting: the candles store, the replay engine, results pages, CLI and jobs.

`candles` fills and reads the store, `engine` replays candles through the live engine's rules,
`service` keeps backtests as records (pages, CLI and the RQ job call it), `routes`/`forms`
are the pages.
"""

from flask import Blueprint

bp = Blueprint("backtest", __name__)

from webapp.backtest import routes  # noqa: E402, F401
