"""Idempotency-Key: a retried POST answers as the first one did and acts once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.api.test_bots import bot_body
from webapp.extensions import db
from webapp.models import Bot, BotActivity


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count(model.id)))


def test_a_retry_with_the_same_key_creates_one_bot(api, sim_key):
    headers = {"Idempotency-Key": "7c9e6679-7425-40de-944b-e07fc1f90ae7"}
    first = api.post("/api/v1/bots", json=bot_body(sim_key.id), headers=headers)
    again = api.post("/api/v1/bots", json=bot_body(sim_key.id), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(Bot) == 1
    # Without the key the same request is a new action (refused: the name is taken).
    assert api.post("/api/v1/bots", json=bot_body(sim_key.id)).status_code == 422


def test_a_start_retried_acts_once(api, alice_bot, sim_key):
    alice_bot.api_key_id = sim_key.id
    db.session.commit()
    headers = {"Idempotency-Key": "start-1"}
    for _ in range(3):
        assert api.post(f"/api/v1/bots/{alice_bot.id}/start", headers=headers).status_code == 200
    started = db.session.scalars(
        sa.select(BotActivity).where(BotActivity.message == "Started.")
    ).all()
    assert len(started) == 1


def test_the_same_key_for_another_request_is_refused(api, sim_key):
    headers = {"Idempotency-Key": "k-1"}
    assert api.post("/api/v1/bots", json=bot_body(sim_key.id), headers=headers).status_code == 201
    other = api.post("/api/v1/bots", json=bot_body(sim_key.id, name="Other"), headers=headers)
    assert other.status_code == 422
    assert other.get_json()["code"] == "idempotency_key_reused"
    assert count(Bot) == 1


def test_keys_are_per_user(api, bob_api, sim_key, bob):
    headers = {"Idempotency-Key": "shared"}
    assert api.post("/api/v1/bots", json=bot_body(sim_key.id), headers=headers).status_code == 201
    theirs = bob_api.post("/api/v1/bots", json=bot_body(sim_key.id), headers=headers)
    assert theirs.status_code == 422  # bob's own request, run: alice's key is not his
    assert "Idempotent-Replayed" not in theirs.headers


def test_a_failed_validation_is_kept_but_a_conflict_is_retried(api, sim_key):
    headers = {"Idempotency-Key": "bad"}
    first = api.post("/api/v1/bots", json=bot_body(sim_key.id, quote_amount="-1"), headers=headers)
    assert first.status_code == 422
    again = api.post("/api/v1/bots", json=bot_body(sim_key.id, quote_amount="-1"), headers=headers)
    assert again.headers.get("Idempotent-Replayed") == "true"


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "tab\there"])
def test_a_malformed_key_is_400(api, sim_key, key):
    response = api.post("/api/v1/bots", json=bot_body(sim_key.id), headers={"Idempotency-Key": key})
    assert response.status_code == 400
    assert count(Bot) == 0
