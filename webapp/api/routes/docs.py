"""The OpenAPI document (/api/v1/openapi.json) and the page that shows it (/api/docs), with
Swagger UI served from our own static files."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template

bp = Blueprint("api_docs", __name__)

SWAGGER_UI_VERSION = "5.35.0"


@bp.route("/api/v1/openapi.json", methods=["GET"])
def openapi_json():
    """The API's OpenAPI 3.1 document, generated from its routes and schemas."""
    from webapp.api import openapi_document

    return jsonify(openapi_document(current_app))


@bp.route("/api/docs", methods=["GET"])
def docs():
    return render_template("api/docs.html", swagger_ui_version=SWAGGER_UI_VERSION)
