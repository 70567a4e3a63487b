"""Keys through the API: checked with the exchange as the page does, with the same messages,
and no answer ever holds a secret."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.keys.conftest import API_KEY, API_SECRET, WRONG_SECRET
from webapp.extensions import db
from webapp.keys import service
from webapp.models import ApiKey


@pytest.fixture(autouse=True)
def sim_accounts(sim_server):
    sim_server.sim.add_account(API_KEY, API_SECRET, {"USDT": 10000})


def new_key(**overrides):
    return {
        "exchange": "binance",
        "label": "Main",
        "api_key": API_KEY,
        "api_secret": API_SECRET,
        **overrides,
    }


def test_adding_a_key_checks_it_with_the_exchange(api, sim_server):
    response = api.post("/api/v1/keys", json=new_key())
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["key"] == "****" + API_KEY[-4:]
    assert body["is_valid"] is True and body["label"] == "Main"
    assert response.headers["Location"] == f"/api/v1/keys/{body['id']}"
    assert sim_server.sim.stats()["total"] >= 1
    assert db.session.get(ApiKey, body["id"]).key_last4 == API_KEY[-4:]


def test_a_rejected_key_gets_the_pages_message_and_is_not_saved(api, client, auth):
    response = api.post("/api/v1/keys", json=new_key(api_secret=WRONG_SECRET))
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["code"] == "key_rejected"
    assert problem["detail"].endswith("Nothing was saved.")
    assert db.session.scalar(sa.select(sa.func.count(ApiKey.id))) == 0
    # The page says exactly the same.
    auth.login()
    page = client.post("/keys/", data=new_key(api_secret=WRONG_SECRET)).get_data(as_text=True)
    import html

    assert html.escape(problem["detail"], quote=False) in page


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"label": ""}, "label", "This field is required."),
        ({"label": "x" * 65}, "label", "At most 64 characters."),
        ({"exchange": "kraken"}, "exchange", "Choose one of the supported exchanges."),
        ({"api_key": "key with spaces 012"}, "api_key", "no spaces, accents or emoji"),
        ({"api_secret": "clé-0123"}, "api_secret", "no spaces, accents or emoji"),
        ({"api_secret": 12345}, "api_secret", "Not a valid string."),
        ({"testnet": "maybe"}, "testnet", "Not a valid boolean."),
    ],
)
def test_bad_key_fields_get_a_message_on_the_field(api, sim_server, overrides, field, message):
    response = api.post("/api/v1/keys", json=new_key(**overrides))
    assert response.status_code == 422
    assert message in response.get_json()["errors"][field]
    assert db.session.scalar(sa.select(sa.func.count(ApiKey.id))) == 0


def test_a_taken_label_is_refused(api):
    assert api.post("/api/v1/keys", json=new_key()).status_code == 201
    response = api.post("/api/v1/keys", json=new_key())
    assert response.status_code == 422
    assert response.get_json()["errors"]["label"] == str(service.LabelTaken())


def test_no_answer_holds_a_secret(api, sim_key, alice):
    created = api.post("/api/v1/keys", json=new_key()).get_json()
    bot = api.post(
        "/api/v1/bots",
        json={
            "name": "B",
            "api_key_id": created["id"],
            "symbol": "BTC/USDT",
            "timeframe": "1m",
            "strategy": "threshold",
            "params": {"buy_below": 1, "sell_above": 2},
            "quote_amount": "100",
        },
    ).get_json()
    paths = [
        "/api/v1/keys",
        f"/api/v1/keys/{created['id']}",
        "/api/v1/bots",
        f"/api/v1/bots/{bot['id']}",
        "/api/v1/me",
        "/api/v1/openapi.json",
    ]
    bodies = [api.get(path).get_data(as_text=True) for path in paths]
    bodies.append(api.delete(f"/api/v1/keys/{created['id']}").get_data(as_text=True))
    for body in bodies:
        assert API_SECRET not in body
        assert API_KEY not in body  # the key itself only masked
        assert "api_secret" not in body or "openapi" in body
        assert "secret_encrypted" not in body and "key_encrypted" not in body


def test_deleting_a_key_stops_its_bots(api, sim_key):
    bot = api.post(
        "/api/v1/bots",
        json={
            "name": "B",
            "api_key_id": sim_key.id,
            "symbol": "BTC/USDT",
            "timeframe": "1m",
            "strategy": "threshold",
            "params": {"buy_below": 1, "sell_above": 2},
            "quote_amount": "100",
        },
    ).get_json()
    assert api.post(f"/api/v1/bots/{bot['id']}/start").status_code == 200
    key_id = sim_key.id
    response = api.delete(f"/api/v1/keys/{key_id}")
    assert response.status_code == 200
    assert response.get_json()["bots_stopped"] == 1
    assert api.get(f"/api/v1/bots/{bot['id']}").get_json()["state"]["status"] == "stopped"
    assert api.get(f"/api/v1/keys/{key_id}").status_code == 404
