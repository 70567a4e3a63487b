from __future__ import annotations

import hashlib

import sqlalchemy as sa
from flask import current_app, jsonify, request, send_from_directory
from flask_login import current_user, login_required

from webapp import health
from webapp.bots import curves, display
from webapp.engine import service
from webapp.extensions import csrf, db
from webapp.htmx import htmx_target, render_page
from webapp.main import bp
from webapp.models import Trade
from webapp.models.types import utcnow

BLOCKS = {"dashboard-summary": "summary"}


def _summary_version(bots, history: service.History) -> str:
    """Changes whenever anything the summary shows may have changed: a new trade, a bot's
    settings, status, position or today's PnL, or the UTC day."""
    parts = [utcnow().date(), history.trades, history.last_trade_id]
    for bot in bots:
        s = bot.state
        parts.append(
            (
                bot.id,
                bot.order_token,
                bot.updated_at,
                s.status,
                s.position_qty,
                s.position_avg_price,
                s.realized_pnl_today,
                s.pnl_day,
                s.paused_until,
                s.status_reason,
            )
        )
    return hashlib.blake2b(repr(parts).encode(), digest_size=8).hexdigest()


@bp.route("/")
@login_required
def index():
    bots = service.user_bots(current_user)
    history = service.trade_history(current_user)
    last_trade = history.last_trade_id
    version = _summary_version(bots, history)
    if htmx_target() == "dashboard-summary" and request.args.get("since") == version:
        return "", 204  # a poll, and nothing changed: nothing to compute or swap
    summary = service.user_summary(current_user, curve=False, bots=bots, history=history)

    def chart() -> str:
        start = db.session.scalar(
            sa.select(sa.func.min(Trade.executed_at)).where(Trade.user_id == current_user.id)
        )
        return display.pnl_chart_json(service.user_report(current_user), start=start)

    return render_page(
        "main/index.html",
        BLOCKS,
        user=current_user,
        bots=bots,
        summary=summary,
        chart_json=curves.pnl_chart(
            f"user:{current_user.id}",
            summary.report,
            last_trade,
            "",
            chart,
        ),
        polling=summary.running > 0,
        version=version,
        poll=display.poll_seconds(),
    )


@bp.route("/healthz")
@csrf.exempt
def healthz():
    checks = health.check_all()
    ok = all(result.ok for result in checks.values())
    body = {
        "status": "ok" if ok else "unavailable",
        "checks": {name: result.as_dict(public=True) for name, result in checks.items()},
    }
    return jsonify(body), 200 if ok else 503


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico on every site; pages also link the SVG version."""
    return send_from_directory(
        current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=86400
    )
