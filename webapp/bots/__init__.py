"""The bot pages: list, create and edit, one bot's state, activity, trades and performance."""

from flask import Blueprint

bp = Blueprint("bots", __name__)

from webapp.bots import routes  # noqa: E402, F401
