"""Re-authentication before sensitive actions.

A successful sign-in or confirmation stamps the session; an action wrapped in
`fresh_login_required` older than REAUTH_MAX_AGE_SECONDS sends the user to confirm their
password (and code when two-factor is on), then back to the page they came from.
"""

from __future__ import annotations

import time
from functools import wraps
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_required

from webapp.htmx import is_boosted, is_htmx
from webapp.i18n.current import gettext as _

SESSION_KEY = "auth_checked_at"


def mark_fresh() -> None:
    session[SESSION_KEY] = int(time.time())


def is_fresh() -> bool:
    checked = session.get(SESSION_KEY)
    if not isinstance(checked, int):
        return False
    return time.time() - checked < current_app.config["REAUTH_MAX_AGE_SECONDS"]


def _return_to() -> str:
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = request.referrer or ""
    parts = urlsplit(referrer)
    if parts.netloc == request.host and parts.path.startswith("/"):
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return url_for("main.index")


def fresh_login_required(view):
    """Signed in, and the password was checked within the last few minutes."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if is_fresh():
            return view(*args, **kwargs)
        target = url_for("security.confirm", next=_return_to())
        if is_htmx() and not is_boosted():
            return "", 401, {"HX-Redirect": target}
        flash(_("Confirm it is you to continue."), "info")
        return redirect(target)

    return wrapped


def current_user_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None
