"""Request bodies of the API: at most 64 KB, JSON only, numbers parsed exactly.

JSON numbers become Decimals (floats would turn 0.1 into 0.1000000000000000055... and 1e309
into infinity), integers too long for int() and the non-standard NaN / Infinity tokens are
kept as Decimals as well, so the service that validates the field can say what is wrong with
it (422 on that field) instead of the parser failing with a 400 or a 500.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from flask import g, request
from webargs import core
from webargs.flaskparser import FlaskParser

from webapp.api.problems import ApiError
from webapp.http import NulCharacter, drain

MAX_BODY_BYTES = 64 * 1024
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_INT_DIGITS = 4000  # below Python's int-from-string limit (4300)


def _int(text: str) -> int | Decimal:
    return int(text) if len(text) <= _INT_DIGITS else Decimal(text)


def loads(data: bytes) -> Any:
    return json.loads(data, parse_float=Decimal, parse_int=_int, parse_constant=Decimal)


def is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def check_size() -> None:
    """413 before anything reads a body that is too large (chunked bodies included)."""
    request.max_content_length = MAX_BODY_BYTES
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        drain(length)
        raise ApiError(413, f"The body is larger than {MAX_BODY_BYTES // 1024} KB.")


def load() -> None:
    """Parse the body of a POST/PUT/PATCH/DELETE into g.api_json (None when empty)."""
    g.api_json = None
    if request.method not in BODY_METHODS:
        return
    data = request.get_data(cache=True)  # 413 past max_content_length
    if not data.strip():
        return
    if not is_json(request.mimetype):
        raise ApiError(
            415,
            "Send the body as JSON with Content-Type: application/json.",
            code="unsupported_media_type",
        )
    try:
        g.api_json = loads(data)
    except (ValueError, RecursionError):  # JSONDecodeError, bad UTF-8, absurd nesting
        raise ApiError(400, "The body is not valid JSON.", code="malformed_json") from None
    if _holds_nul(g.api_json):
        raise ApiError(400, NulCharacter.description, code="nul_character")


def _holds_nul(value: Any) -> bool:
    """Whether a "\\u0000" sits in any string or key: no text column can store it (PostgreSQL
    refuses it outright), so it is refused here as the forms refuse it."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            todo.extend(item.keys())
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return False


class ApiParser(FlaskParser):
    """webargs reads the body already parsed (exactly) by `load`."""

    def _raw_load_json(self, req) -> Any:
        value = g.get("api_json")
        return core.missing if value is None else value
