from __future__ import annotations

from functools import wraps

import sqlalchemy as sa
from flask import abort
from flask_login import current_user, login_required

from webapp import health
from webapp.admin import bp
from webapp.extensions import db
from webapp.htmx import render_page
from webapp.i18n.current import gettext as _
from webapp.models import User
from webapp.strategies import plugins


def admin_required(view):
    """Logged-in non-admins get 403: the page exists, it just is not theirs."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@bp.route("/")
@admin_required
def index():
    users = db.paginate(sa.select(User).order_by(User.created_at.desc()), per_page=50)
    return render_page(
        "admin/index.html",
        users=users,
        checks=health.check_all(),
        strategies=plugins.listing(),
    )


# --- Notifications ----------------------------------------------------------------------------


def _notifications_context(**extra) -> dict:
    from redis.exceptions import RedisError

    from webapp import scheduling
    from webapp.extensions import redis_ext
    from webapp.notify import status

    try:
        jobs = scheduling.scheduled_jobs(redis_ext.conn)
        jobs_error = None
    except (RedisError, OSError) as exc:
        jobs, jobs_error = [], _("Redis unavailable (%(error)s)", error=type(exc).__name__)
    periodic = [job for job in jobs if job[0].startswith(scheduling.JOB_PREFIX)]
    context = {
        "counts": status.counts(),
        "periodic_jobs": periodic,
        "scheduled_deliveries": len(jobs) - len(periodic),
        "jobs_error": jobs_error,
        "checks": {name: label for name, (label, _check) in status.CHECKS.items()},
        "settings_summary": status.app_config_summary(),
        "process_result": None,
    }
    context.update(extra)
    return context


@bp.route("/notifications")
@admin_required
def notifications():
    return render_page(
        "admin/notifications.html",
        blocks={"notify-process": "process"},
        **_notifications_context(),
    )


@bp.route("/notifications/check/<service>", methods=["POST"])
@admin_required
def notifications_check(service: str):
    from flask import render_template

    from webapp.notify import status

    if service not in status.CHECKS:
        abort(404)
    label, check = status.CHECKS[service]
    return render_template("admin/_check_result.html", name=service, label=label, result=check())


@bp.route("/notifications/process", methods=["POST"])
@admin_required
def notifications_process():
    from webapp.notify import jobs

    enqueued = jobs.sweep()
    return render_page(
        "admin/notifications.html",
        blocks={"notify-process": "process"},
        **_notifications_context(process_result=enqueued),
    )
