from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user
from sqlalchemy.exc import IntegrityError

from webapp import accounts
from webapp.accounts import throttle
from webapp.auth import bp
from webapp.auth.email import MailDeliveryError, send_password_reset_email
from webapp.auth.forms import LoginForm, RegistrationForm, ResetPasswordForm, ResetRequestForm
from webapp.extensions import db
from webapp.extensions import login as login_manager
from webapp.htmx import is_boosted, is_htmx
from webapp.http import safe_next
from webapp.i18n.current import gettext as _
from webapp.models import User
from webapp.security import signin

RESET_SESSION_KEY = "reset_token"


def _form_page(template: str, form, status: int = 200, **context):
    if form.errors and status == 200:
        status = 422
    return render_template(template, form=form, **context), status


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegistrationForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(form.email.data, form.password.data)
        except accounts.WeakPasswordError as exc:
            form.password.errors = list(exc.problems)
        except accounts.EmailTakenError as exc:
            form.email.errors = [str(exc)]
        else:
            try:
                db.session.commit()
            except IntegrityError:  # the same email registered a moment ago
                form.email.errors = [str(accounts.EmailTakenError())]
            else:
                signin.complete(user)
                db.session.commit()
                flash(_("Welcome! Your account is ready."), "success")
                return redirect(url_for("main.index"))
        db.session.rollback()
    return _form_page("auth/register.html", form)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(
                form.email.data, form.password.data, request.remote_addr or "unknown"
            )
        except accounts.LoginThrottledError as exc:
            response = render_template("auth/login.html", form=form, error=str(exc))
            return response, 429, {"Retry-After": str(exc.retry_after)}
        if user is None:
            signin.record_failed_login(form.email.data)
            return _form_page("auth/login.html", form, 422, error=_("Invalid email or password."))
        db.session.commit()
        next_url = safe_next(request.args.get("next"))
        if signin.needs_second_step(user):
            signin.begin_second_step(user, remember=form.remember_me.data, next_url=next_url)
            return redirect(url_for("security.login_code"))
        signin.complete(user, remember=form.remember_me.data)
        db.session.commit()
        return redirect(next_url or url_for("main.index"))
    return _form_page("auth/login.html", form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash(_("You have been logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/reset", methods=["GET", "POST"])
def reset_request():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = ResetRequestForm()
    if form.validate_on_submit():
        user = User.by_email(form.email.data)
        if user is not None and reset_email_allowed(user.email, request.remote_addr or "unknown"):
            try:
                send_password_reset_email(user)
            except MailDeliveryError:
                return _form_page(
                    "auth/reset_request.html",
                    form,
                    503,
                    error=_(
                        "We could not send the email right now. Please try again in a few minutes."
                    ),
                )
        # The same answer whether or not the account exists (or was throttled).
        flash(
            _(
                "If an account exists for that address, we sent it a link to reset the "
                "password. Check your email."
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    return _form_page("auth/reset_request.html", form)


def reset_email_allowed(email: str, ip: str) -> bool:
    """A few reset emails per account and per address an hour: no mail-bombing through us."""
    cfg = current_app.config
    return throttle.allow(
        "reset-acct", email, cfg["PASSWORD_RESET_MAX_PER_ACCOUNT"], 3600
    ) and throttle.allow("reset-ip", ip, cfg["PASSWORD_RESET_MAX_PER_IP"], 3600)


@bp.route("/reset/confirm", methods=["GET", "POST"])
def reset_password():
    """The emailed link lands here with ?token=; the token moves into the session at once and
    the browser is sent to the same page without it, so it stays out of logs and Referers."""
    token = request.args.get("token")
    if token is not None:
        session[RESET_SESSION_KEY] = token
        return redirect(url_for("auth.reset_password"))
    token = session.get(RESET_SESSION_KEY) or ""
    try:
        accounts.user_for_reset_token(token)
    except accounts.InvalidResetTokenError as exc:
        session.pop(RESET_SESSION_KEY, None)
        flash(str(exc), "error")
        return redirect(url_for("auth.reset_request"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(token, form.password.data)
        except accounts.WeakPasswordError as exc:
            form.password.errors = list(exc.problems)
        except accounts.InvalidResetTokenError as exc:
            session.pop(RESET_SESSION_KEY, None)
            flash(str(exc), "error")
            return redirect(url_for("auth.reset_request"))
        else:
            db.session.commit()
            session.pop(RESET_SESSION_KEY, None)
            logout_user()
            flash(_("Your password has been changed. Log in with the new one."), "success")
            return redirect(url_for("auth.login"))
    return _form_page("auth/reset_password.html", form)


@login_manager.unauthorized_handler
def unauthorized():
    """Send an expired session to the login page: htmx gets HX-Redirect, so a polling
    fragment never swaps the login form into the middle of a page."""
    target = url_for("auth.login", next=request.full_path.rstrip("?"))
    if is_htmx() and not is_boosted():
        return "", 401, {"HX-Redirect": target}
    flash(_("Please log in to see this page."), login_manager.login_message_category)
    return redirect(target)
