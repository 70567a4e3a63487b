from __future__ import annotations

from flask import jsonify
from flask_login import current_user, login_required

from webapp import health
from webapp.extensions import csrf
from webapp.htmx import render_page
from webapp.main import bp


@bp.route("/")
@login_required
def index():
    return render_page("main/index.html", user=current_user)


@bp.route("/healthz")
@csrf.exempt
def healthz():
    checks = health.check_all()
    ok = all(result.ok for result in checks.values())
    body = {
        "status": "ok" if ok else "unavailable",
        "checks": {name: result.as_dict() for name, result in checks.items()},
    }
    return jsonify(body), 200 if ok else 503
