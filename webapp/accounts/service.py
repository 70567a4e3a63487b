"""Creating accounts, checking credentials and resetting passwords."""

from __future__ import annotations

import hashlib
import logging

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from webapp.accounts import throttle
from webapp.accounts.errors import (
    EmailTakenError,
    InvalidResetTokenError,
    UnknownUserError,
    WeakPasswordError,
)
from webapp.accounts.passwords import password_problems
from webapp.extensions import db
from webapp.models import User
from webapp.models.types import utcnow

logger = logging.getLogger(__name__)

RESET_SALT = "password-reset"


def create_user(email: str, password: str, *, is_admin: bool = False) -> User:
    """Add a user to the session (the caller commits). Raises on a taken email or weak password."""
    email = User.normalize_email(email)
    if User.by_email(email) is not None:
        raise EmailTakenError()
    problems = password_problems(password, email)
    if problems:
        raise WeakPasswordError(problems)
    user = User(email=email, is_admin=is_admin)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    logger.info("user %s created (admin=%s)", user.id, is_admin)
    return user


def set_password(email: str, password: str) -> User:
    user = User.by_email(email)
    if user is None:
        raise UnknownUserError(User.normalize_email(email))
    problems = password_problems(password, user.email)
    if problems:
        raise WeakPasswordError(problems)
    user.set_password(password)
    throttle.clear_account(user.email)
    return user


def authenticate(email: str, password: str, ip: str) -> User | None:
    """The user for these credentials, or None. Raises LoginThrottledError when throttled.

    The throttle is checked before the password so a locked account cannot be probed.
    """
    email = User.normalize_email(email)
    throttle.check(email, ip)
    user = User.by_email(email)
    if user is None or not user.check_password(password):
        throttle.record_failure(email, ip)
        logger.info(
            "failed login for account hash %s", hashlib.sha256(email.encode()).hexdigest()[:12]
        )
        return None
    throttle.clear_account(email)
    user.last_login_at = utcnow()
    return user


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


def make_reset_token(user: User) -> str:
    return _serializer().dumps({"uid": user.id, "fp": user.password_fingerprint})


def user_for_reset_token(token: str) -> User:
    max_age = current_app.config["PASSWORD_RESET_MAX_AGE_SECONDS"]
    try:
        data = _serializer().loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature):
        raise InvalidResetTokenError() from None
    user = db.session.get(User, data.get("uid")) if isinstance(data, dict) else None
    if user is None or data.get("fp") != user.password_fingerprint:
        raise InvalidResetTokenError()
    return user


def reset_password(token: str, password: str) -> User:
    user = user_for_reset_token(token)
    problems = password_problems(password, user.email)
    if problems:
        raise WeakPasswordError(problems)
    user.set_password(password)
    throttle.clear_account(user.email)
    return user
