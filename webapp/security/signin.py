"""Finishing a sign-in: the second step for accounts with two-factor on, and the stamp every
signed-in session starts with.

Between the password and the code only the user id and the password fingerprint sit in the
(signed) session, for a few minutes; nothing counts as signed in until the code is right.
"""

from __future__ import annotations

import time

from flask import request, session
from flask_login import login_user

from webapp.accounts import throttle
from webapp.extensions import db
from webapp.models import User
from webapp.security import audit, reauth, sessions, twofactor
from webapp.security.audit import AuditAction

PENDING_KEY = "2fa_pending"
PENDING_MAX_AGE_SECONDS = 5 * 60


def client_ip() -> str:
    return request.remote_addr or "unknown"


def complete(user: User, *, remember: bool = False, how: str = "password") -> None:
    """Sign `user` in to this browser (the password, and the code if needed, were checked);
    the caller commits the new session's row."""
    session.pop(PENDING_KEY, None)
    row = sessions.start(user)
    login_user(user, remember=remember)
    audit.record(AuditAction.LOGIN, user, f"Signed in with {how} ({row.user_agent[:60] or '?'}).")
    reauth.mark_fresh()


def needs_second_step(user: User) -> bool:
    return twofactor.is_enabled(user)


def begin_second_step(user: User, *, remember: bool, next_url: str | None) -> None:
    session[PENDING_KEY] = {
        "uid": user.id,
        "fp": user.password_fingerprint,
        "remember": bool(remember),
        "next": next_url,
        "at": int(time.time()),
    }


def pending() -> tuple[User, dict] | None:
    """The user half-way through signing in, or None (nothing pending, expired, or the
    password changed meanwhile)."""
    data = session.get(PENDING_KEY)
    if not isinstance(data, dict):
        return None
    if time.time() - int(data.get("at", 0)) > PENDING_MAX_AGE_SECONDS:
        session.pop(PENDING_KEY, None)
        return None
    user = db.session.get(User, data.get("uid"))
    if user is None or user.password_fingerprint != data.get("fp"):
        session.pop(PENDING_KEY, None)
        return None
    return user, data


def _code_throttle_id(user: User) -> str:
    # Kept apart from the password counter, which a right password clears: knowing the
    # password must not buy unlimited guesses at the code.
    return f"2fa:{user.email}"


def check_code(user: User, code: str) -> str:
    """Verify a sign-in (or confirmation) code under the login throttle; returns its kind."""
    ident, ip = _code_throttle_id(user), client_ip()
    throttle.check(ident, ip)
    try:
        kind = twofactor.verify(user, code)
    except twofactor.InvalidCodeError:
        throttle.record_failure(ident, ip)
        audit.record(AuditAction.LOGIN_FAILED, user, "Wrong two-factor code.")
        raise
    throttle.clear_account(ident)
    if kind == "recovery":
        left = twofactor.recovery_codes_left(user)
        audit.record(AuditAction.RECOVERY_CODE_USED, user, f"Recovery code used ({left} left).")
    return kind


def record_failed_login(email: str) -> None:
    """A wrong password: logged against the account when there is one (then committed)."""
    user = User.by_email(email)
    audit.record(
        AuditAction.LOGIN_FAILED,
        user,
        "Failed sign-in: wrong password." if user else "Failed sign-in: unknown email.",
        email=User.normalize_email(email)[:254],
    )
    db.session.commit()
