"""The API's resources, one flask-smorest blueprint each (all under /api/v1)."""

from __future__ import annotations

from http import HTTPStatus

from webapp.api.problems import ApiError, validation_error
from webapp.engine.errors import (
    BotBusy,
    BotError,
    BotNotFound,
    BotUnavailable,
    BotValidationError,
)
from webapp.keys.service import KeyNotFound

#: Problems every operation can answer.
COMMON = (401, 403, 429)


def problems(blp, *statuses: int):
    """Document the problem answers an operation gives (besides COMMON)."""

    def decorator(func):
        for status in sorted({*COMMON, *statuses}, reverse=True):
            func = blp.alt_response(status, response=HTTPStatus(status).name)(func)
        return func

    return decorator


def not_found(error: Exception):
    return ApiError(404).response()


def bot_error(error: BotError):
    """A bot domain error as a problem: its message is fit for the user as it is."""
    if isinstance(error, BotNotFound):
        return ApiError(404).response()
    if isinstance(error, BotValidationError):
        return validation_error(error.errors).response()
    if isinstance(error, BotUnavailable):
        return ApiError(503, str(error), headers={"Retry-After": "30"}).response()
    if isinstance(error, BotBusy):
        return ApiError(409, str(error), code="busy", headers={"Retry-After": "5"}).response()
    return ApiError(422, str(error), code="refused").response()


def register_domain_errors(blp) -> None:
    blp.register_error_handler(BotError, bot_error)
    blp.register_error_handler(KeyNotFound, not_found)


from webapp.api.routes import (  # noqa: E402
    bots,
    docs,
    keys,
    me,
    notifications,
    reports,
    trades,
)

BLUEPRINTS = (me.blp, keys.blp, bots.blp, trades.blp, reports.blp, notifications.blp)
__all__ = ["BLUEPRINTS", "docs"]
