"""The API tokens page: create, list and revoke personal access tokens for the JSON API."""

from flask import Blueprint

bp = Blueprint("tokens", __name__)

from webapp.tokens import routes  # noqa: E402, F401
