"""Errors raised by the simulated exchange.

`ApiError` carries exactly what Binance would answer (HTTP status, numeric code, message) so the
WSGI layer can render it verbatim and ccxt maps it to the same exception class it would raise
against the real exchange.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


class SimError(Exception):
    """Base class for every error of the simulated exchange."""


class ConfigError(SimError, ValueError):
    """A malformed account specification, symbol or option given by an operator or a test."""


class ApiError(SimError):
    """A request the exchange refuses; rendered as ``{"code": code, "msg": msg}``."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status

    def to_json(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


# Factories for the errors the simulator raises in several places, with Binance's exact wording.


def bad_api_key_format() -> ApiError:
    return ApiError(-2014, "API-key format invalid.", 401)


def invalid_api_key() -> ApiError:
    return ApiError(-2015, "Invalid API-key, IP, or permissions for action.", 401)


def bad_signature() -> ApiError:
    return ApiError(-1022, "Signature for this request is not valid.")


def mandatory(name: str) -> ApiError:
    return ApiError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def one_of_mandatory(first: str, second: str) -> ApiError:
    return ApiError(-1102, f"Param '{first}' or '{second}' must be sent, but both were empty/null!")


def illegal_chars(name: str, legal: str) -> ApiError:
    return ApiError(
        -1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'."
    )


def not_required(name: str) -> ApiError:
    return ApiError(-1106, f"Parameter '{name}' sent when not required.")


def invalid_symbol() -> ApiError:
    return ApiError(-1121, "Invalid symbol.")


def filter_failure(name: str) -> ApiError:
    return ApiError(-1013, f"Filter failure: {name}")


def insufficient_balance() -> ApiError:
    return ApiError(-2010, "Account has insufficient balance for requested action.")


def duplicate_order() -> ApiError:
    return ApiError(-2010, "Duplicate order sent.")


def order_not_found() -> ApiError:
    return ApiError(-2013, "Order does not exist.")


def unknown_order() -> ApiError:
    return ApiError(-2011, "Unknown order sent.")
