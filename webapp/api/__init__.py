"""The JSON API, /api/v1: what a user can do in the browser, for scripts.

Each resource is a flask-smorest blueprint whose views call the same service functions as
the pages. Every request to one of them passes, in order: the body size limit (413), the
bearer token and its scope (401/403), the per-token rate limit (429), the JSON body (415/400)
and, for a POST with an Idempotency-Key, the idempotency store. Errors anywhere under /api
are RFC 9457 problem details, never HTML. The OpenAPI 3.1 document is generated from the
schemas and routes at /api/v1/openapi.json and shown at /api/docs.
"""

from __future__ import annotations

import http
import logging

from flask import Flask, g, request
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint
from flask_smorest.utils import prepare_response

from webapp.api import auth, body, idempotency, ratelimit
from webapp.api.fields import OPENAPI_TYPES
from webapp.api.problems import PROBLEM_JSON, ApiError
from webapp.api.schemas import ProblemSchema
from webapp.extensions import csrf
from webapp.http import IdConverter

logger = logging.getLogger(__name__)

PREFIX = "/api/v1"
#: Endpoints anyone may read: the document that describes the API.
PUBLIC_ENDPOINTS = frozenset({"api_docs.openapi_json", "api_docs.docs"})

DESCRIPTION = """
What a user can do in the browser, for scripts: exchange keys, bots, trades, reports and
notifications.

**Authentication.** Create a personal access token on the *API tokens* page (or with
`flask tokens create EMAIL --name N --scope read,trade`) and send it as
`Authorization: Bearer tb_...`. Scope `read` allows every GET; `trade` everything that
changes state. No cookies, so no CSRF token.

**Conventions.** JSON with snake_case names; amounts and quantities are decimal strings
(`"0.001"`), times RFC 3339 in UTC. Lists are paginated with a cursor: pass `next_cursor`
back as `cursor` (or follow the `Link: rel="next"` header). Errors are
`application/problem+json` (RFC 9457), with `errors` per field on 422 and a `code` for the
API's own kinds (`insufficient_scope`, `invalid_token`, `rate_limited`, `validation_error`,
`idempotency_key_reused`, ...). Another user's id answers 404.

**Limits.** `API_RATE_LIMIT` requests per minute per token (default 60), announced in
`RateLimit-*` headers; past it, 429 with `Retry-After`. Bodies up to 64 KB.

**Retries.** Send an `Idempotency-Key` header (e.g. a UUID) with a POST: a retry with the
same key within 24 hours returns the first answer and acts only once.
""".strip()


class ApiBlueprint(Blueprint):
    """A resource of the API: its arguments are read from the body as webapp.api.body parsed
    it (exact decimals)."""

    ARGUMENTS_PARSER = body.ApiParser()


class Api(SmorestApi):
    """flask-smorest's Api with problem+json errors, and without its app-wide error handler
    (the pages keep their HTML error pages; webapp.errors sends /api errors here)."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        pass

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "An error (problem details)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def _api_endpoint() -> bool:
    blueprint = request.blueprint or ""
    return blueprint.startswith("api_") and request.endpoint not in PUBLIC_ENDPOINTS


def before_api_request():
    if not _api_endpoint():
        return None
    try:
        body.check_size()
        token = auth.authenticate()
        g.rate_usage = ratelimit.check(token.id)
        body.load()
        return idempotency.begin(token.user_id)
    except ApiError as exc:
        return exc.response()


def after_api_request(response):
    if not is_api_request():
        return response
    usage = g.pop("rate_usage", None)
    if usage is not None:
        for name, value in usage.headers().items():
            response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")
    return idempotency.finish(response)


def init_api(app: Flask) -> None:
    app.config.setdefault("API_TITLE", "Tradebots API")
    app.config.setdefault("API_VERSION", "1.0.0")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "info": {"description": DESCRIPTION},
            "servers": [{"url": "/", "description": "this server"}],
            "security": [{"bearerAuth": []}],
            "components": {
                "securitySchemes": {
                    "bearerAuth": {
                        "type": "http",
                        "scheme": "bearer",
                        "bearerFormat": "tb_ personal access token",
                    }
                }
            },
        },
    )
    api = Api()
    for field_class, *openapi_type in OPENAPI_TYPES:
        api.register_field(field_class, *openapi_type)
    api.register_converter(IdConverter, lambda converter: {"type": "integer", "minimum": 1})
    api.init_app(app)
    app.extensions["api"] = api

    from webapp.api.routes import BLUEPRINTS, docs

    for blueprint in BLUEPRINTS:
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint)
    csrf.exempt(docs.bp)
    app.register_blueprint(docs.bp)
    app.register_error_handler(ApiError, lambda error: error.response())
    app.before_request(before_api_request)
    app.after_request(after_api_request)


def openapi_document(app: Flask) -> dict:
    from webapp.api.openapi import document

    return document(app)
