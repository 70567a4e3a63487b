"""The trades page: every fill of the user's bots, filtered, paginated and exported as CSV."""

from flask import Blueprint

bp = Blueprint("trades", __name__)

from webapp.trades import routes  # noqa: E402, F401
