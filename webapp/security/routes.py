"""The Security page: two-factor sign-in, confirming it is you, changing the password.

Thin: the rules live in webapp.security.{twofactor,signin,reauth}.
"""

from __future__ import annotations

import logging
import re

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required, logout_user

from webapp import accounts
from webapp.accounts import throttle
from webapp.extensions import db
from webapp.http import safe_next
from webapp.i18n.current import gettext as _
from webapp.i18n.current import lazy_gettext as _l
from webapp.i18n.current import ngettext
from webapp.keys.service import error_text
from webapp.models.types import utcnow
from webapp.security import audit, audit_text, bp, reauth, sessions, signin, twofactor
from webapp.security.audit import AuditAction
from webapp.security.errors import SecurityError
from webapp.security.forms import (
    ActionForm,
    ChangeEmailForm,
    ChangePasswordForm,
    CodeForm,
    ConfirmForm,
    DeleteAccountForm,
    HaltForm,
    KillSwitchForm,
    SetupForm,
)

logger = logging.getLogger(__name__)


def _page(template: str, status: int = 200, **context):
    if status == 200 and any(
        getattr(form, "errors", None) for form in context.values() if hasattr(form, "errors")
    ):
        status = 422
    return render_template(template, **context), status


def _index(status: int = 200, **context):
    context.setdefault("password_form", ChangePasswordForm(formdata=None))
    context.setdefault("email_form", ChangeEmailForm(formdata=None))
    return _page(
        "security/index.html",
        status,
        enabled=twofactor.is_enabled(current_user),
        codes_left=twofactor.recovery_codes_left(current_user),
        action_form=ActionForm(formdata=None),
        **context,
    )


@bp.route("/")
@login_required
def index():
    return _index()


# --- Two-factor set-up ------------------------------------------------------------------------


def _setup_page(form: SetupForm, status: int = 200, error: str | None = None):
    secret = twofactor.pending_secret(current_user)
    db.session.commit()
    uri = twofactor.provisioning_uri(current_user, secret)
    return _page(
        "security/setup.html",
        status,
        form=form,
        secret=secret,
        qr=twofactor.qr_svg(uri),
        error=error,
    )


@bp.route("/2fa/setup", methods=["GET", "POST"])
@login_required
def setup():
    if twofactor.is_enabled(current_user):
        flash(_("Two-factor sign-in is already on."), "info")
        return redirect(url_for("security.index"))
    form = SetupForm()
    if form.validate_on_submit():
        try:
            codes = twofactor.confirm_setup(current_user, form.code.data)
        except SecurityError as exc:
            db.session.rollback()
            form.code.errors = [str(exc)]
            return _setup_page(form, 422)
        audit.record(AuditAction.TWO_FACTOR_ENABLED, current_user, "Two-factor sign-in turned on.")
        db.session.commit()
        reauth.mark_fresh()
        return _page("security/recovery_codes.html", codes=codes, just_enabled=True)
    return _setup_page(form)


@bp.route("/2fa/disable", methods=["POST"])
@reauth.fresh_login_required
def disable():
    if not ActionForm().validate_on_submit():
        return redirect(url_for("security.index"))
    try:
        twofactor.disable(current_user)
    except SecurityError as exc:
        flash(str(exc), "info")
        return redirect(url_for("security.index"))
    audit.record(AuditAction.TWO_FACTOR_DISABLED, current_user, "Two-factor sign-in turned off.")
    db.session.commit()
    flash(_("Two-factor sign-in is off. Only your password protects this account now."), "warning")
    return redirect(url_for("security.index"))


@bp.route("/2fa/recovery-codes", methods=["POST"])
@reauth.fresh_login_required
def new_recovery_codes():
    if not ActionForm().validate_on_submit() or not twofactor.is_enabled(current_user):
        return redirect(url_for("security.index"))
    codes = twofactor.regenerate_recovery_codes(current_user)
    audit.record(AuditAction.RECOVERY_CODES_RENEWED, current_user, "New recovery codes made.")
    db.session.commit()
    return _page("security/recovery_codes.html", codes=codes, just_enabled=False)


# --- The second step of signing in ------------------------------------------------------------


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    found = signin.pending()
    if found is None:
        flash(_("Log in with your email and password first."), "info")
        return redirect(url_for("auth.login"))
    user, data = found
    form = CodeForm()
    if form.validate_on_submit():
        try:
            kind = signin.check_code(user, form.code.data)
        except accounts.LoginThrottledError as exc:
            body = render_template("security/login_code.html", form=form, error=str(exc))
            return body, 429, {"Retry-After": str(exc.retry_after)}
        except SecurityError as exc:
            db.session.commit()
            return _page("security/login_code.html", 422, form=form, error=str(exc))
        how = "a recovery code" if kind == "recovery" else "a two-factor code"
        signin.complete(user, remember=data.get("remember", False), how=how)
        db.session.commit()
        if kind == "recovery":
            left = twofactor.recovery_codes_left(user)
            flash(
                ngettext(
                    "Recovery code used; %(num)d left. Make new ones on the Security page.",
                    "Recovery code used; %(num)d left. Make new ones on the Security page.",
                    left,
                ),
                "warning",
            )
        return redirect(safe_next(data.get("next")) or url_for("main.index"))
    return _page("security/login_code.html", form=form, error=None)


# --- Confirming it is you ---------------------------------------------------------------------


@bp.route("/confirm", methods=["GET", "POST"])
@login_required
def confirm():
    form = ConfirmForm()
    needs_code = twofactor.is_enabled(current_user)
    target = safe_next(request.args.get("next")) or url_for("security.index")
    if form.validate_on_submit():
        ip = signin.client_ip()
        try:
            throttle.check(current_user.email, ip)
            if not current_user.check_password(form.password.data):
                throttle.record_failure(current_user.email, ip)
                form.password.errors = [_("That is not your password.")]
            elif needs_code:
                signin.check_code(current_user, form.code.data or "")
        except accounts.LoginThrottledError as exc:
            body = render_template(
                "security/confirm.html", form=form, needs_code=needs_code, error=str(exc)
            )
            return body, 429, {"Retry-After": str(exc.retry_after)}
        except SecurityError as exc:
            form.code.errors = [str(exc)]
        db.session.commit()
        if not form.errors:
            reauth.mark_fresh()
            minutes = current_app.config["REAUTH_MAX_AGE_SECONDS"] // 60
            flash(
                ngettext(
                    "Confirmed. You will not be asked again for %(num)d minute.",
                    "Confirmed. You will not be asked again for %(num)d minutes.",
                    minutes,
                ),
                "success",
            )
            return redirect(target)
    return _page("security/confirm.html", form=form, needs_code=needs_code, error=None)


# --- Password ---------------------------------------------------------------------------------


@bp.route("/password", methods=["POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        ip = signin.client_ip()
        try:
            throttle.check(current_user.email, ip)
        except accounts.LoginThrottledError as exc:
            form.current_password.errors = [str(exc)]
            return _index(429, password_form=form)
        if not current_user.check_password(form.current_password.data):
            throttle.record_failure(current_user.email, ip)
            form.current_password.errors = [_("That is not your current password.")]
        else:
            try:
                user = accounts.set_password(current_user.email, form.password.data)
            except accounts.WeakPasswordError as exc:
                form.password.errors = list(exc.problems)
            else:
                on_password_changed(user)
                # The new password retired every session id, this one too: sign in again here.
                signin.complete(user)
                db.session.commit()
                flash(_("Password changed. Every other session was signed out."), "success")
                return redirect(url_for("security.index"))
        db.session.rollback()
    return _index(422, password_form=form)


@bp.route("/email", methods=["POST"])
@reauth.fresh_login_required
def change_email():
    from sqlalchemy.exc import IntegrityError

    from webapp.models import User

    form = ChangeEmailForm()
    if form.validate_on_submit():
        email = User.normalize_email(form.email.data)
        if email == current_user.email:
            form.email.errors = [_("That is already your email.")]
        elif User.by_email(email) is not None:
            form.email.errors = [str(accounts.EmailTakenError())]
        else:
            old = current_user.email
            current_user.email = email
            audit.record(AuditAction.EMAIL_CHANGED, current_user, f"Email changed from {old}.")
            try:
                db.session.commit()
            except IntegrityError:  # taken a moment ago
                db.session.rollback()
                form.email.errors = [str(accounts.EmailTakenError())]
            else:
                flash(_("Your email is now %(email)s.", email=email), "success")
                return redirect(url_for("security.index"))
    return _index(422, email_form=form)


def on_password_changed(user) -> None:
    """Hook for what a new password ends besides the session ids it retires."""
    logger.info("password changed by user %s", user.id)


# --- Sessions -----------------------------------------------------------------------------------


@bp.route("/sessions")
@login_required
def sessions_page():
    return _page(
        "security/sessions.html",
        rows=sessions.active_sessions(current_user),
        current_id=sessions.current_session_id(),
        describe=sessions.describe_user_agent,
        action_form=ActionForm(formdata=None),
    )


@bp.route("/sessions/<int:session_id>/revoke", methods=["POST"])
@login_required
def revoke_session(session_id: int):
    if not ActionForm().validate_on_submit():
        return redirect(url_for("security.sessions_page"))
    try:
        row = sessions.revoke(current_user, session_id)
    except sessions.SessionNotFound:
        abort(404)
    where = sessions.describe_user_agent(row.user_agent)
    audit.record(AuditAction.SESSION_REVOKED, current_user, f"Signed out {where} ({row.ip}).")
    db.session.commit()
    if session_id == sessions.current_session_id():
        message = _("You signed out this session.")  # in their language, before signing out
        logout_user()
        flash(message, "info")
        return redirect(url_for("auth.login"))
    flash(_("That session is signed out."), "success")
    return redirect(url_for("security.sessions_page"))


@bp.route("/sessions/revoke-all", methods=["POST"])
@login_required
def revoke_all_sessions():
    if not ActionForm().validate_on_submit():
        return redirect(url_for("security.sessions_page"))
    count = sessions.revoke_all(current_user)
    audit.record(AuditAction.SIGNED_OUT_EVERYWHERE, current_user, f"Signed out {count} sessions.")
    db.session.commit()
    message = ngettext(  # in their language, before signing out
        "Signed out everywhere (%(num)d session).",
        "Signed out everywhere (%(num)d sessions).",
        count,
    )
    logout_user()
    flash(message, "info")
    return redirect(url_for("auth.login"))


# --- Audit log -----------------------------------------------------------------------------------


@bp.route("/activity")
@login_required
def activity():
    page = db.paginate(audit.recent(current_user), per_page=50, error_out=False)
    return _page("security/activity.html", events=page)


def admin_required(view):
    from webapp.admin.routes import admin_required as required  # admin imports nothing of ours

    return required(view)


@bp.route("/admin/audit")
@admin_required
def admin_audit():
    email = (request.args.get("user") or "").strip()[:254]
    action = (request.args.get("action") or "").strip()
    if action and action not in {a.value for a in AuditAction}:
        action = ""
    query = audit.recent(email=email or None, action=action or None)
    page = db.paginate(query, per_page=100, error_out=False)
    return _page(
        "security/admin_audit.html",
        events=page,
        actions=[a.value for a in AuditAction],
        filters={"user": email, "action": action},
    )


# --- Your data ---------------------------------------------------------------------------------


def _data_page(status: int = 200, form: DeleteAccountForm | None = None, error: str | None = None):
    return _page(
        "security/your_data.html",
        status,
        action_form=ActionForm(formdata=None),
        delete_form=form or DeleteAccountForm(formdata=None),
        error=error,
    )


@bp.route("/data")
@login_required
def your_data():
    return _data_page()


@bp.route("/data/export", methods=["POST"])
@reauth.fresh_login_required
def export_data():
    from webapp.security import account

    if not ActionForm().validate_on_submit():
        return redirect(url_for("security.your_data"))
    spool = account.export_file(current_user)
    audit.record(AuditAction.ACCOUNT_EXPORTED, current_user, "Data export downloaded.")
    db.session.commit()
    return send_file(
        spool,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"tradebots-export-{utcnow():%Y%m%d}.zip",
    )


@bp.route("/data/delete", methods=["POST"])
@reauth.fresh_login_required
def delete_account():
    from webapp.models import User
    from webapp.security import account

    form = DeleteAccountForm()
    if not form.validate_on_submit():
        return _data_page(422, form)
    if User.normalize_email(form.email.data) != current_user.email:
        form.email.errors = [_("That is not your email.")]
        return _data_page(422, form)
    user = current_user._get_current_object()
    # In their language, while the account (which holds it) still exists.
    message = _("Your account was deleted, with its bots, keys and tokens.")
    try:
        account.delete_account(user)
    except account.AccountBusyError as exc:
        db.session.rollback()
        return _data_page(409, form, error=str(exc))
    db.session.commit()
    logout_user()
    flash(message, "info")
    return redirect(url_for("auth.login"))


# --- Kill switch ---------------------------------------------------------------------------------


def _trading_page(status: int = 200, **context):
    from webapp.engine import killswitch

    context.setdefault("stop_form", KillSwitchForm(formdata=None))
    context.setdefault("halt_form", HaltForm(formdata=None, halt=not killswitch.halted_by_admin()))
    return _page(
        "security/admin_trading.html",
        status,
        by_config=killswitch.halted_by_config(),
        by_admin=killswitch.halted_by_admin(),
        **context,
    )


@bp.route("/admin/trading")
@admin_required
def admin_trading():
    return _trading_page()


@bp.route("/admin/trading/stop-all", methods=["POST"])
@admin_required
def admin_stop_all():
    from webapp.engine import killswitch
    from webapp.models import User

    form = KillSwitchForm()
    if not form.validate_on_submit():
        return _trading_page(422, stop_form=form)
    user = None
    if form.email.data and form.email.data.strip():
        user = User.by_email(form.email.data)
        if user is None:
            form.email.errors = [_("No account with this email.")]
            return _trading_page(422, stop_form=form)
    result = killswitch.stop_all(user, sell=form.sell.data, actor=current_user)
    flash(_stop_all_summary(result), "warning")
    return redirect(url_for("security.admin_trading"))


_SOLD = re.compile(r"Bot #(?P<id>\d+) (?P<verb>sold|not sold): (?P<why>.*)", re.S)


def _stop_all_summary(result) -> str:
    """The kill switch's summary (the engine writes it in English for the log) in the
    reader's language."""
    stopped = len(result.stopped)
    parts = [ngettext("Stopped %(num)d bot.", "Stopped %(num)d bots.", stopped)]
    for line in result.sold:
        found = _SOLD.fullmatch(line)
        if found is None:
            parts.append(line)
        elif found["verb"] == "sold":
            parts.append(
                _("Bot #%(id)s sold: %(why)s", id=found["id"], why=error_text(found["why"]))
            )
        else:
            parts.append(
                _("Bot #%(id)s not sold: %(why)s", id=found["id"], why=error_text(found["why"]))
            )
    return " ".join(parts)


@bp.route("/admin/trading/halt", methods=["POST"])
@admin_required
def admin_halt():
    from webapp.engine import killswitch

    form = HaltForm()
    if not form.validate_on_submit():
        return _trading_page(422, halt_form=form)
    killswitch.set_halted(form.halt.data, actor=current_user)
    db.session.commit()
    flash(_("Trading is halted.") if form.halt.data else _("The halt is lifted."), "warning")
    return redirect(url_for("security.admin_trading"))


# --- REQUIRE_2FA ------------------------------------------------------------------------------

OPEN_ENDPOINTS = frozenset({"auth.logout", "static", "main.favicon", "main.healthz"})


@bp.before_app_request
def require_two_factor():
    """With REQUIRE_2FA on, a signed-in user without two-factor can only set it up."""
    if not current_app.config.get("REQUIRE_2FA"):
        return None
    endpoint = request.endpoint or ""
    if endpoint in OPEN_ENDPOINTS or endpoint.startswith(("security.", "api")):
        return None
    if request.blueprint and request.blueprint.startswith("api"):
        return None
    if not current_user.is_authenticated or twofactor.is_enabled(current_user):
        return None
    flash(_("This installation requires two-factor sign-in: turn it on to continue."), "warning")
    return redirect(url_for("security.setup"))


#: The Security page's sections after the overview: (endpoint, label).
SECTIONS: list[tuple[str, str]] = [
    ("security.sessions_page", _l("Sessions")),
    ("security.activity", _l("Security activity")),
    ("security.your_data", _l("Your data")),
]


@bp.context_processor
def _sections() -> dict:
    return {"security_links": lambda: SECTIONS}


# Globals, not context: the events table is a macro, which sees no template context.
bp.add_app_template_global(audit_text.describe, "audit_text")
bp.add_app_template_global(audit_text.action_label, "audit_action_label")
