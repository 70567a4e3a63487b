"""Cursor pagination: an opaque cursor holds the sort key of the last item of a page, and the
next page starts after it (keyset), so page 1,000 costs what page 1 does."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from flask import request, url_for

from webapp.api.problems import validation_error
from webapp.http import MAX_ID

CURSOR_MAX = 200


def encode(*values: Any) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None, shape: tuple[type, ...]) -> list | None:
    """The values of `cursor` if it has `shape` (their types, in order); 422 otherwise."""
    if cursor is None or cursor == "":
        return None
    try:
        if len(cursor) > CURSOR_MAX or not cursor.isascii():
            raise ValueError
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list) or len(values) != len(shape):
            raise ValueError
        if not all(
            isinstance(v, t) and not isinstance(v, bool) for v, t in zip(values, shape, strict=True)
        ):
            raise ValueError
        if any(isinstance(v, int) and not 0 < v <= MAX_ID for v in values):
            raise ValueError
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise validation_error(
            {"cursor": "This cursor is not valid: use next_cursor of a page as it is."}
        ) from None
    return values


def next_link(endpoint: str, cursor: str | None, args: Mapping[str, Any]) -> dict[str, str]:
    """The `Link: <...>; rel="next"` header of a page, if there is a next page."""
    if cursor is None:
        return {}
    url = url_for(endpoint, _external=True, **{**args, "cursor": cursor})
    return {"Link": f'<{url}>; rel="next"'}


def query_args(*names: str) -> dict[str, str]:
    """The request's own query arguments among `names` (to repeat them in the next link)."""
    return {name: request.args[name] for name in names if request.args.get(name)}
