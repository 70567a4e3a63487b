"""HTTP-level defaults every response and route shares."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, abort, request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

#: The largest id an id column holds (INTEGER on PostgreSQL): PostgreSQL refuses a larger
#: value compared with one with an error, which would be a 500.
MAX_ID = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` that answers 404 for numbers no database id can be, instead of an overflow."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class IdConverter(IntegerConverter):
    """`<id:...>` for the API: any run of digits matches, and one no database id can be
    becomes 0, which is no row's id, so the view answers 404 whatever the method (a failed
    `int` conversion would make werkzeug answer 405 when another rule has the same path)."""

    def __init__(self, map) -> None:
        super().__init__(map, fixed_digits=0, min=None, max=None, signed=False)

    def to_python(self, value: str) -> int:
        if len(value) > 10:
            return 0
        number = int(value)
        return number if number <= MAX_ID else 0


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


#: A body too large but at most this large is read before its 413 (see `drain`).
DRAIN_MAX_BYTES = 1024 * 1024


def drain(length: int) -> None:
    """Read (and drop) a refused body of `length` bytes, so the client gets the 413 on an
    open connection instead of a reset while it is still sending; past DRAIN_MAX_BYTES the
    connection is let go instead."""
    if length > DRAIN_MAX_BYTES:
        return
    stream = request.environ["wsgi.input"]
    while length > 0:
        chunk = stream.read(min(length, 64 * 1024))
        if not chunk:
            break
        length -= len(chunk)


class WholeBodies:
    """WSGI middleware: a body shorter than its Content-Length is a 400, never read in part.

    gunicorn marks its input as terminated (`wsgi.input_terminated`), which tells werkzeug
    not to check the length; a client that hangs up mid-body then hands the app what had
    arrived, and a form cut short in a number ("1000" arriving as "10") would be saved as
    that. With a Content-Length the mark is dropped, so werkzeug reads through a stream that
    raises ClientDisconnected (400) at a short body. Chunked bodies keep it: gunicorn itself
    ends them.
    """

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("CONTENT_LENGTH"):
            environ.pop("wsgi.input_terminated", None)
        return self.app(environ, start_response)


class NulCharacter(BadRequest):
    """The request holds U+0000, which no text column can store (PostgreSQL refuses it
    outright) and no person types: refused once here rather than in every form."""

    description = (
        "The request held a NUL character, which no text can contain. Remove it and try again."
    )


def refuse_nul_characters() -> None:
    if "\x00" in request.path:
        abort(404)  # no page or id has one: exactly like any other unknown address
    # The JSON API reads its own bodies (and answers 415 for a form): leave them unparsed.
    api = request.path == "/api" or request.path.startswith("/api/")
    for values in (request.args,) if api else (request.args, request.form):
        for _, value in values.items(multi=True):
            if "\x00" in value:
                raise NulCharacter()


def init_http(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request(refuse_nul_characters)
    app.url_map.converters["id"] = IdConverter
    app.after_request(set_security_headers)


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths: never an open redirect to another host."""
    if not target:
        return None
    try:
        parts = urlsplit(target)
    except ValueError:  # e.g. an unbalanced "[" read as an IPv6 host
        return None
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if not target.isprintable() or "\\" in target:  # no header injection, no "/\\host"
        return None
    return target
