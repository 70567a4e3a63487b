"""The keys page. Thin: every decision is in webapp.keys.service.

Each form works as a plain HTML POST (redirect back with a flash) and, with htmx, in place:
adding swaps the form (and appends the new row out of band), re-checking swaps its row,
deleting removes its row.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from webapp.exchange.clients import exchange_name
from webapp.extensions import db
from webapp.htmx import is_htmx, render_page
from webapp.i18n.current import gettext as _
from webapp.i18n.current import ngettext
from webapp.keys import bp, service
from webapp.keys.forms import AddKeyForm
from webapp.models import ApiKey
from webapp.security.reauth import fresh_login_required

logger = logging.getLogger(__name__)

BLOCKS = {"key-form": "key_form"}
DEMO_LABEL = "Demo account"  # a name, as the user's own labels are


def _sim_mode() -> bool:
    return bool(current_app.config.get("EXCHANGE_SIM_URL"))


def _page(form: AddKeyForm | None = None, *, status: int = 200, **context):
    """The keys page, or just its form block when htmx asks for it."""
    body = render_page(
        "keys/index.html",
        BLOCKS,
        keys=service.keys_for_user(current_user),
        form=form or AddKeyForm(formdata=None),
        sim_mode=_sim_mode(),
        **context,
    )
    return body, status


def _added(api_key: ApiKey):
    message = _("Key “%(label)s” checked with the exchange and saved.", label=api_key.label)
    if not is_htmx():
        flash(message, "success")
        return redirect(url_for("keys.index"))
    return _page(added=api_key, message=message)


def _owned_key(key_id: int) -> ApiKey:
    return db.first_or_404(service.key_for_user(current_user, key_id))


@bp.route("/", methods=["GET"])
@login_required
def index():
    return _page()


@bp.route("/", methods=["POST"])
@fresh_login_required  # re-authenticate: keys trade money
def add():
    form = AddKeyForm()
    error = None
    if form.validate_on_submit():
        try:
            api_key = service.add_key(
                current_user,
                form.exchange.data,
                form.label.data,
                form.api_key.data,
                form.api_secret.data,
                testnet=form.testnet.data,
            )
        except service.InvalidKeyInput as exc:
            getattr(form, exc.field).errors = [str(exc)]
        except service.LabelTaken as exc:
            form.label.errors = [str(exc)]
        except service.KeyNotSaved as exc:
            error = str(exc)
        else:
            db.session.commit()
            return _added(api_key)
        db.session.rollback()
    return _page(form, status=422, error=error)


@bp.route("/demo", methods=["POST"])
@fresh_login_required  # re-authenticate: keys trade money
def add_demo():
    """Add the simulator's demo account; its secret comes from config, never from the page."""
    if not _sim_mode():
        abort(404)
    taken = set(
        db.session.scalars(sa.select(ApiKey.label).where(ApiKey.user_id == current_user.id))
    )
    label = next(
        name
        for name in (DEMO_LABEL, *(f"{DEMO_LABEL} {n}" for n in range(2, len(taken) + 3)))
        if name not in taken
    )
    try:
        api_key = service.add_key(
            current_user,
            "binance",
            label,
            current_app.config["DEMO_API_KEY"],
            current_app.config["DEMO_API_SECRET"],
        )
    except service.KeysError as exc:
        db.session.rollback()
        return _page(status=422, error=str(exc))
    db.session.commit()
    return _added(api_key)


@bp.route("/<int:key_id>/validate", methods=["POST"])
@login_required
def validate(key_id: int):
    api_key = _owned_key(key_id)
    service.revalidate(api_key.id)
    db.session.commit()
    if is_htmx():
        return render_template("keys/_row.html", key=api_key)
    if api_key.is_valid and not api_key.last_error:
        flash(_("Key “%(label)s” is valid.", label=api_key.label), "success")
    else:
        error = service.error_text(api_key.last_error)
        flash(_("Key “%(label)s”: %(error)s", label=api_key.label, error=error), "error")
    return redirect(url_for("keys.index"))


@bp.route("/<int:key_id>", methods=["DELETE"])
@bp.route("/<int:key_id>/delete", methods=["POST"], endpoint="delete_form")  # without JS
@fresh_login_required  # re-authenticate: keys trade money
def delete(key_id: int):
    api_key = _owned_key(key_id)
    label = api_key.label
    try:
        stopped = service.delete_key(current_user, api_key.id)
    except service.KeyBusy as exc:
        db.session.rollback()
        if is_htmx():  # the row stays; the reason goes to the flashes
            flashes = Markup(
                '<div id="flashes" hx-swap-oob="true">'
                '<p class="flash flash-error" role="alert">{}</p></div>'
            ).format(str(exc))
            return render_template("keys/_row.html", key=api_key) + flashes
        flash(str(exc), "error")
        return redirect(url_for("keys.index"))
    db.session.commit()
    message = _("Deleted key “%(label)s”.", label=label)
    if stopped:
        message += " " + ngettext(
            "Stopped %(num)d bot that used it.", "Stopped %(num)d bots that used it.", stopped
        )
    if is_htmx():
        return render_template("keys/_deleted.html", message=message)
    flash(message, "success")
    return redirect(url_for("keys.index"))


@bp.context_processor
def _template_helpers() -> dict:
    return {"exchange_name": exchange_name, "key_error_text": service.error_text}
