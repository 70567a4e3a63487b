"""The notification settings page: preferences, webhook endpoint, quiet hours, history."""

from flask import Blueprint

bp = Blueprint("notifications", __name__)

from webapp.notifications import routes  # noqa: E402, F401
