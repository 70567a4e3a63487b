"""The keys page: add, re-check and delete exchange API keys."""

from flask import Blueprint

bp = Blueprint("keys", __name__)

from webapp.keys import routes  # noqa: E402, F401
