"""The API tokens page. Thin: every rule is in webapp.tokens.service.

A new token is rendered into the one response that created it, and nowhere else: not into a
flash, the session or a log.
"""

from __future__ import annotations

import logging

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from webapp.extensions import db
from webapp.i18n.current import gettext as _
from webapp.models.types import utcnow
from webapp.security.reauth import fresh_login_required
from webapp.tokens import bp, service
from webapp.tokens.forms import CreateTokenForm, scope_names

logger = logging.getLogger(__name__)


def _page(form: CreateTokenForm | None = None, *, status: int = 200, **context):
    body = render_template(
        "tokens/index.html",
        tokens=service.tokens_for_user(current_user),
        form=form or CreateTokenForm(formdata=None),
        now=utcnow(),
        scope_names=scope_names,
        **context,
    )
    return body, status


@bp.route("/", methods=["GET"])
@login_required
def index():
    return _page()


@bp.route("/", methods=["POST"])
@fresh_login_required  # re-authenticate: a token acts as you
def create():
    form = CreateTokenForm()
    if not form.validate_on_submit():
        return _page(form, status=422)
    days = form.days()
    try:
        if isinstance(days, str):
            raise service.InvalidTokenInput("expires", _("Choose 30, 90 or 365 days, or never."))
        row, token = service.create_token(current_user, form.name.data, form.scopes.data, days)
    except service.InvalidTokenInput as exc:
        db.session.rollback()
        field = {"days": "expires"}.get(exc.field, exc.field)
        getattr(form, field).errors = [str(exc)]
        return _page(form, status=422)
    db.session.commit()
    return _page(created=row, token=token)


@bp.route("/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke(token_id: int):
    try:
        row = service.revoke_token(current_user, token_id)
    except service.TokenNotFound:
        abort(404)
    db.session.commit()
    flash(
        _(
            "Token “%(name)s” (%(prefix)s…) revoked: it no longer works.",
            name=row.name,
            prefix=row.prefix,
        ),
        "success",
    )
    return redirect(url_for("tokens.index"))
