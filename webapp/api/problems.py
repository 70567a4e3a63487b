"""Errors of the JSON API as RFC 9457 problem details (`application/problem+json`).

Every error under /api answers with one: `type`, `title`, `status`, `detail`, and on a 422 an
`errors` object mapping each bad field to its message (strategy parameters as
`params.<name>`). Well-known HTTP errors use `about:blank`; the API's own kinds have a
`urn:tradebots:problem:<code>` type and the same `code` member, so a client can switch on it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from flask import Response, json
from werkzeug.exceptions import HTTPException

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

#: What each status means to a client when nothing more specific is said.
DETAILS = {
    400: "The request could not be understood.",
    401: "Send a valid API token: Authorization: Bearer tb_...",
    403: "This token may not do that.",
    404: "There is nothing here. It may have been deleted, or never existed.",
    405: "This resource does not accept that method.",
    406: "This resource answers in JSON only.",
    409: "This conflicts with the current state of the resource; try again shortly.",
    413: "The request body is too large.",
    415: "Send the body as JSON (Content-Type: application/json).",
    422: "Some fields are invalid.",
    429: "Too many requests; slow down.",
    500: "An unexpected error happened. It has been logged.",
    503: "A service the app needs is briefly unavailable; try again shortly.",
}


class ApiError(Exception):
    """Raise to answer with a problem; `code` names the API's own kind of problem."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        code: str | None = None,
        title: str | None = None,
        errors: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or DETAILS.get(status, ""))
        self.status = status
        self.detail = detail or DETAILS.get(status) or HTTPStatus(status).phrase
        self.code = code
        self.title = title
        self.errors = dict(errors) if errors else None
        self.headers = dict(headers or {})

    def response(self) -> Response:
        return problem(
            self.status,
            self.detail,
            code=self.code,
            title=self.title,
            errors=self.errors,
            headers=self.headers,
        )


def validation_error(errors: Mapping[str, str], detail: str | None = None) -> ApiError:
    return ApiError(422, detail or DETAILS[422], code="validation_error", errors=errors)


def problem(
    status: int,
    detail: str | None = None,
    *,
    code: str | None = None,
    title: str | None = None,
    errors: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": f"urn:tradebots:problem:{code}" if code else "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail or DETAILS.get(status) or HTTPStatus(status).phrase,
    }
    if code:
        body["code"] = code
    if errors:
        body["errors"] = dict(errors)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, str]:
    """webargs/marshmallow messages ({"json": {"params": {"fast": ["..."]}}}) as
    {"params.fast": "..."}; the location level is dropped, `_schema` names the whole body."""
    out: dict[str, str] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten_messages(value, name))
    elif isinstance(messages, list | tuple) and all(isinstance(m, str) for m in messages):
        out[prefix or "_schema"] = " ".join(messages)
    elif isinstance(messages, list | tuple):
        for index, value in enumerate(messages):
            out.update(flatten_messages(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        out[prefix or "_schema"] = str(messages)
    return out


LOCATIONS = ("json", "query", "querystring", "headers", "view_args", "path", "files", "form")


def from_http_exception(error: HTTPException) -> Response:
    """An HTTP error raised anywhere under /api (routing, webargs, abort, a 500)."""
    status = error.code or 500
    headers: dict[str, str] = {}
    if status == 405:
        headers.update({k: v for k, v in error.get_headers() if k.lower() == "allow"})
    data = getattr(error, "data", None) or {}
    headers.update(data.get("headers") or {})
    if status == 422 and "messages" in data:
        messages = data["messages"]
        if isinstance(messages, Mapping) and set(messages) <= set(LOCATIONS):
            merged: dict[str, str] = {}
            for value in messages.values():
                merged.update(flatten_messages(value))
            errors = merged
        else:
            errors = flatten_messages(messages)
        return problem(422, DETAILS[422], code="validation_error", errors=errors, headers=headers)
    if status == 400 and "messages" in data:
        return problem(400, "The body is not valid JSON.", code="malformed_json", headers=headers)
    return problem(status, headers=headers)
