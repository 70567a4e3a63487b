"""Errors under /api are problem details, never HTML and never a 500 page."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from openapi_spec_validator import validate

from webapp.extensions import db
from webapp.models import Bot


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    assert "<html" not in response.get_data(as_text=True).lower()
    return body


def test_unknown_path_is_a_404_problem(api, client):
    assert_problem(api.get("/api/v1/nothing/here"), 404)
    assert_problem(client.get("/api/v2/bots"), 404)


def test_wrong_method_is_405_with_allow(api):
    body = assert_problem(api.request("PUT", "/api/v1/me"), 405)
    assert body["type"] == "about:blank"
    response = api.request("PATCH", "/api/v1/keys")
    assert "POST" in response.headers["Allow"]


def test_wrong_content_type_is_415_and_bad_json_400(api, alice_key):
    body = assert_problem(
        api.post("/api/v1/bots", data="name=x", content_type="application/x-www-form-urlencoded"),
        415,
    )
    assert body["code"] == "unsupported_media_type"
    assert_problem(api.post("/api/v1/bots", data="{nope", content_type="application/json"), 400)
    assert_problem(api.post("/api/v1/bots", data=b"\xff\xfe", content_type="application/json"), 400)
    assert_problem(
        api.post(
            "/api/v1/bots", data="[" * 100_000 + "]" * 100_000, content_type="application/json"
        ),
        413,
    )
    deep = "[" * 30_000 + "]" * 30_000
    assert_problem(api.post("/api/v1/bots", data=deep, content_type="application/json"), 400)
    assert db.session.scalar(sa.select(sa.func.count(Bot.id))) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"name": "a\u0000b"},
        {"name": "ok", "params": {"buy_below": "1\u0000"}},
        {"name\u0000": "x"},
        {"name": ["x", ["\u0000"]]},
    ],
)
def test_a_nul_character_anywhere_in_the_body_is_a_400_and_nothing_is_saved(api, alice_key, body):
    problem = assert_problem(api.post("/api/v1/bots", json=body), 400)
    assert problem["code"] == "nul_character" and "NUL character" in problem["detail"]
    assert_problem(api.post("/api/v1/keys", json={"label": "\u0000"}), 400)
    assert db.session.scalar(sa.select(sa.func.count(Bot.id))) == 0


def test_a_body_that_is_not_an_object_is_422(api):
    body = assert_problem(api.post("/api/v1/bots", json=[1, 2]), 422)
    assert body["errors"]


def test_unknown_fields_are_refused(api, alice_bot):
    body = assert_problem(api.patch(f"/api/v1/bots/{alice_bot.id}", json={"user_id": 2}), 422)
    assert body["errors"] == {"user_id": "Unknown field."}
    assert_problem(api.post("/api/v1/bots", json={"user_id": 2}), 422)


def test_a_body_over_64_kb_is_413(api):
    assert_problem(api.post("/api/v1/bots", json={"name": "x" * 70_000}), 413)


def test_an_unexpected_error_is_a_problem_not_a_page(app, api, monkeypatch):
    from webapp.engine import service

    def broken(user):
        raise RuntimeError("boom")

    monkeypatch.setattr(service, "user_bots", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.testing = False
    body = assert_problem(api.get("/api/v1/bots"), 500)
    assert "boom" not in body["detail"]


def test_the_openapi_document_is_valid_31(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.1")
    validate(doc)
    paths = doc["paths"]
    for path in ("/api/v1/me", "/api/v1/bots/{bot_id}/start", "/api/v1/trades.csv",
                 "/api/v1/notifications/webhooks/{endpoint_id}/rotate"):  # fmt: skip
        assert path in paths
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    money = doc["components"]["schemas"]["Trade"]["properties"]["qty"]
    assert money == {"type": "string", "format": "decimal"}


def test_the_docs_page_uses_vendored_assets_only(client):
    page = client.get("/api/docs").get_data(as_text=True)
    assert "/static/vendor/swagger-ui-bundle-5.35.0.js" in page
    assert "/static/vendor/swagger-ui-5.35.0.css" in page
    assert "//cdn" not in page and "unpkg" not in page and 'src="http' not in page
    asset = client.get("/static/vendor/swagger-ui-bundle-5.35.0.js")
    assert asset.status_code == 200 and len(asset.get_data()) > 1_000_000


@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/bots", "/api/v1/openapi.json"])
def test_answers_are_not_cached(api, path):
    assert api.get(path).headers["Cache-Control"] == "no-store" or path.endswith(".json")
