"""Account rules shared by the web pages and the `flask users` commands.

Routes and CLI commands call these functions; they raise `AccountError` subclasses whose
messages are written for the person at the keyboard.
"""

from __future__ import annotations

from webapp.accounts.errors import (
    AccountError,
    EmailTakenError,
    InvalidResetTokenError,
    LoginThrottledError,
    UnknownUserError,
    WeakPasswordError,
)
from webapp.accounts.passwords import password_problems
from webapp.accounts.service import (
    authenticate,
    create_user,
    make_reset_token,
    reset_password,
    set_password,
    user_for_reset_token,
)

__all__ = [
    "AccountError",
    "EmailTakenError",
    "InvalidResetTokenError",
    "LoginThrottledError",
    "UnknownUserError",
    "WeakPasswordError",
    "authenticate",
    "create_user",
    "make_reset_token",
    "password_problems",
    "reset_password",
    "set_password",
    "user_for_reset_token",
]
