"""The cumulative PnL charts of the dashboard and the bot page, kept in Redis per version of
the trades they draw.

Drawing a curve reads up to 500 sells and writes them as JSON: most of what those pages
cost, though it changes only with a new trade. A chart is stored under its owner and what the
rollups say of its trades (how many, the newest id, buys, sells, realized PnL and fees: a
deleted bot's trades change them, and so does a reused id), the currency and the reader's
language; the rest of the page always comes from the rollups.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from flask_babel import get_locale
from redis.exceptions import RedisError

from webapp.engine.reports import BotReport
from webapp.extensions import redis_ext

logger = logging.getLogger(__name__)

#: A chart outlives its version only this long (a new trade makes a new version anyway).
CHART_TTL_SECONDS = 600


def pnl_chart(
    owner: str, report: BotReport, last_trade_id: int, quote: str, build: Callable[[], str]
) -> str:
    """The chart JSON for `owner` ("bot:7", "user:3") as `build` writes it, from the cache
    when the trades have not changed since it was built. `report` needs no curve."""
    version = ":".join(
        str(part)
        for part in (
            report.trade_count,
            last_trade_id,
            report.buys,
            report.sells,
            report.total_realized_pnl,
            report.total_fees,
            quote,
            get_locale() or "en",
        )
    )
    digest = hashlib.blake2b(version.encode(), digest_size=8).hexdigest()
    key = f"charts:pnl:{owner}:{digest}"
    try:
        cached = redis_ext.conn.get(key)
    except RedisError as exc:
        logger.warning("PnL chart cache unavailable: %s", exc)
        return build()
    if cached is not None:
        return cached.decode()
    chart = build()
    try:
        redis_ext.conn.set(key, chart, ex=CHART_TTL_SECONDS)
    except RedisError as exc:
        logger.warning("PnL chart cache unavailable: %s", exc)
    return chart


__all__ = ["CHART_TTL_SECONDS", "pnl_chart"]
