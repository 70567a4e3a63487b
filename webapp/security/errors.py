"""Security errors. Each message is safe to show to the user as it is."""

from __future__ import annotations

from webapp.accounts.errors import AccountError
from webapp.i18n.current import gettext as _


class SecurityError(AccountError):
    """Base class: a security step (code, confirmation, session) cannot be done."""


class InvalidCodeError(SecurityError):
    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or _("That code is not valid. Enter the current 6-digit code."))


class TwoFactorStateError(SecurityError):
    """Two-factor sign-in is already on (or off) for this account."""
