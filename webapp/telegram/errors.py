"""What the Telegram package raises. Every message is fit to show to the user or operator."""

from __future__ import annotations


class TelegramProblem(Exception):
    """Base class for Telegram errors that are not a failed API call."""


class TokenRefused(TelegramProblem):
    """The Bot API did not accept the token (`getMe` failed); nothing was saved."""


class NotConfigured(TelegramProblem):
    """No bot token is set on this installation."""
