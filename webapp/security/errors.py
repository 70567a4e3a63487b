"""Security errors. Each message is safe to show to the user as it is."""

from __future__ import annotations

from webapp.accounts.errors import AccountError


class SecurityError(AccountError):
    """Base class: a security step (code, confirmation, session) cannot be done."""


class InvalidCodeError(SecurityError):
    def __init__(
        self, message: str = "That code is not valid. Enter the current 6-digit code."
    ) -> None:
        super().__init__(message)


class TwoFactorStateError(SecurityError):
    """Two-factor sign-in is already on (or off) for this account."""
