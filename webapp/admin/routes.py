from __future__ import annotations

from functools import wraps

import sqlalchemy as sa
from flask import abort
from flask_login import current_user, login_required

from webapp import health
from webapp.admin import bp
from webapp.extensions import db
from webapp.htmx import render_page
from webapp.models import User


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
    return render_page("admin/index.html", users=users, checks=health.check_all())
