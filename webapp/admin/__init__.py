"""Operations pages, for admins only."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from webapp.admin import exchange, routes  # noqa: E402, F401
