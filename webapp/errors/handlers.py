from __future__ import annotations

import logging

from flask import render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from webapp.errors import bp
from webapp.extensions import db
from webapp.http import NulCharacter

logger = logging.getLogger(__name__)

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Reload the page and try again."),
    403: ("Forbidden", "You do not have access to this page."),
    404: ("Not found", "There is nothing here. It may have been deleted, or never existed."),
    405: ("Method not allowed", "This page does not accept that kind of request."),
    429: ("Too many requests", "Slow down a little and try again shortly."),
    500: ("Something went wrong", "An unexpected error happened. It has been logged."),
}


def _page(code: int, message: str | None = None):
    title, default = MESSAGES.get(code, ("Error", "Something went wrong."))
    return render_template(
        "errors/error.html", code=code, title=title, message=message or default
    ), code


@bp.app_errorhandler(CSRFError)
def csrf_error(error: CSRFError):
    db.session.rollback()
    return _page(
        400,
        "Your form expired or was sent without its security token. Reload the page and try again.",
    )


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException):
    code = error.code or 500
    if code >= 500:
        # Unhandled exceptions arrive here as InternalServerError (Flask logged them already).
        db.session.rollback()
    if request.path == "/api" or request.path.startswith("/api/"):
        from webapp.api.problems import from_http_exception

        return from_http_exception(error)  # problem+json, never an HTML page
    return _page(code, error.description if isinstance(error, NulCharacter) else None)
