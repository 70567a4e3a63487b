from __future__ import annotations

import logging

from flask import render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from webapp.errors import bp
from webapp.extensions import db
from webapp.http import NulCharacter
from webapp.i18n.current import gettext as _
from webapp.i18n.current import lazy_gettext as _l

logger = logging.getLogger(__name__)

MESSAGES = {
    400: (
        _l("Bad request"),
        _l("The request could not be understood. Reload the page and try again."),
    ),
    403: (_l("Forbidden"), _l("You do not have access to this page.")),
    404: (
        _l("Not found"),
        _l("There is nothing here. It may have been deleted, or never existed."),
    ),
    405: (_l("Method not allowed"), _l("This page does not accept that kind of request.")),
    413: (_l("Too large"), _l("What was sent is larger than this page accepts.")),
    429: (_l("Too many requests"), _l("Slow down a little and try again shortly.")),
    500: (_l("Something went wrong"), _l("An unexpected error happened. It has been logged.")),
}


def _page(code: int, message: str | None = None):
    title, default = MESSAGES.get(code, (_l("Error"), _l("Something went wrong.")))
    return render_template(
        "errors/error.html", code=code, title=title, message=message or default
    ), code


@bp.app_errorhandler(CSRFError)
def csrf_error(error: CSRFError):
    db.session.rollback()
    return _page(
        400,
        _(
            "Your form expired or was sent without its security token. Reload the page and try "
            "again."
        ),
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
