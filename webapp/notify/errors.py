"""What the notifications package raises. Every message is fit to show to the user."""

from __future__ import annotations


class NotifyError(Exception):
    """Base class for notification errors."""


class EndpointError(NotifyError):
    """A webhook endpoint cannot be saved or used as asked (bad URL, missing endpoint)."""


class NotResendableError(NotifyError):
    """Only a failed notification can be sent again."""


class PreferenceRefusedError(NotifyError):
    """A preference-matrix choice that cannot be kept (no destination to keep it on)."""
