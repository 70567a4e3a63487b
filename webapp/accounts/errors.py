"""Account errors. Each message is safe to show to the user as it is."""

from __future__ import annotations

from webapp.i18n.current import gettext as _


class AccountError(Exception):
    """Base class: something the user asked for about an account cannot be done."""


class EmailTakenError(AccountError):
    def __init__(self) -> None:
        super().__init__(
            _("An account with this email already exists. Log in or reset the password.")
        )


class UnknownUserError(AccountError):
    def __init__(self, email: str) -> None:
        super().__init__(_("No account with the email %(email)s.", email=email))


class WeakPasswordError(AccountError):
    """The password breaks one or more rules; `problems` lists them all."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(" ".join(problems))


class LoginThrottledError(AccountError):
    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class InvalidResetTokenError(AccountError):
    def __init__(self) -> None:
        super().__init__(
            _("This password reset link is invalid or has expired. Ask for a new one below.")
        )
