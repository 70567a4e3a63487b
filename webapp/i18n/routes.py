from __future__ import annotations

import logging

from flask import flash, redirect, session, url_for
from flask_login import current_user

from webapp.extensions import db
from webapp.http import safe_next
from webapp.i18n import bp
from webapp.i18n.current import gettext as _
from webapp.i18n.forms import LocaleForm
from webapp.i18n.locales import SESSION_KEY

logger = logging.getLogger(__name__)


@bp.route("/language", methods=["POST"])
def set_locale():
    """Keep the chosen language (on the account when signed in, else in the session) and go
    back to the page the switch was on, when that page is on this site."""
    form = LocaleForm()
    back = safe_next(form.next.data) or url_for("main.index")
    if not form.validate_on_submit():
        flash(_("That language is not available."), "error")
        return redirect(back)
    if current_user.is_authenticated:
        current_user.locale = form.locale.data
        db.session.commit()
    session[SESSION_KEY] = form.locale.data
    return redirect(back)
