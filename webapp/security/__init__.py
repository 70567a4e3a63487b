"""Account security: two-factor sign-in, re-authentication, sessions and the audit log."""

from flask import Blueprint

bp = Blueprint("security", __name__)

from webapp.security import routes  # noqa: E402, F401
