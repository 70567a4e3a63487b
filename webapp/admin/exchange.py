"""The exchange page for admins: the shared request budget of each exchange host (weight used,
waits, 429s and bans) and the bot cycles dropped for being late."""

from __future__ import annotations

import logging

from flask import current_app
from redis.exceptions import RedisError

from webapp.admin import bp
from webapp.admin.routes import admin_required
from webapp.engine.tick import late_cycles
from webapp.exchange.budget import budgets_of, known_hosts
from webapp.extensions import redis_ext
from webapp.htmx import render_page
from webapp.models.types import utcnow

logger = logging.getLogger(__name__)


@bp.route("/exchange")
@admin_required
def exchange():
    budget_for = budgets_of(current_app._get_current_object())
    try:
        budgets = [budget_for(host).snapshot() for host in known_hosts(redis_ext.conn)]
        error = None
    except RedisError as exc:
        logger.warning("exchange budgets unavailable: %s", exc)
        budgets, error = [], type(exc).__name__
    return render_page(
        "admin/exchange.html",
        budgets=budgets,
        error=error,
        late_today=late_cycles(utcnow()),
        window=current_app.config["EXCHANGE_WEIGHT_WINDOW_SECONDS"],
    )
