from __future__ import annotations

import sqlalchemy as sa
from flask import jsonify
from flask_login import current_user, login_required

from webapp import health
from webapp.bots import display
from webapp.engine import service
from webapp.extensions import csrf, db
from webapp.htmx import render_page
from webapp.main import bp
from webapp.models import Trade

BLOCKS = {"dashboard-summary": "summary"}


@bp.route("/")
@login_required
def index():
    bots = service.user_bots(current_user)
    summary = service.user_summary(current_user)
    return render_page(
        "main/index.html",
        BLOCKS,
        user=current_user,
        bots=bots,
        summary=summary,
        chart_json=display.pnl_chart_json(
            summary.report,
            start=db.session.scalar(
                sa.select(sa.func.min(Trade.executed_at)).where(Trade.user_id == current_user.id)
            ),
        ),
        polling=summary.running > 0,
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
