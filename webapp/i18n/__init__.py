"""The user's language: which one a request uses, and the footer switch that changes it."""

from flask import Blueprint

from webapp.i18n.locales import LOCALES, select_locale

bp = Blueprint("i18n", __name__)

__all__ = ["LOCALES", "bp", "select_locale"]

from webapp.i18n import routes  # noqa: E402, F401
