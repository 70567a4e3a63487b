"""HTTP-level defaults every response and route shares."""

from __future__ import annotations

from flask import Flask, Response
from werkzeug.routing import IntegerConverter

#: The largest id any supported database can hold (BIGINT).
MAX_ID = 2**63 - 1


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` that answers 404 for numbers no database id can be, instead of an overflow."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


SECURITY_HEADERS = {
    # No framing: one-click Start/Stop/Delete buttons must not be clickjackable.
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    # Links out of the app never carry our URLs (or anything in them) to another site.
    "Referrer-Policy": "same-origin",
}


def set_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def init_http(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedIntConverter
    app.after_request(set_security_headers)
