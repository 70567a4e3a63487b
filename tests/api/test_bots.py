"""Bots through the API: the bot form's rules and messages, and the pages' lifecycle."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.bots.helpers import make_bot
from webapp.extensions import db
from webapp.models import Bot, BotStatus, Trade, TradeReason


def bot_body(key_id: int, **overrides) -> dict:
    return {
        "name": "Dip buyer",
        "api_key_id": key_id,
        "symbol": "BTC/USDT",
        "timeframe": "1m",
        "strategy": "threshold",
        "params": {"buy_below": "50000", "sell_above": "51000"},
        "quote_amount": "100",
        **overrides,
    }


def count_bots() -> int:
    return db.session.scalar(sa.select(sa.func.count(Bot.id)))


def test_create_read_change_delete(api, sim_key):
    response = api.post("/api/v1/bots", json=bot_body(sim_key.id, stop_loss_pct=2.5))
    assert response.status_code == 201, response.get_data(as_text=True)
    bot = response.get_json()
    assert bot["quote_amount"] == "100" and bot["stop_loss_pct"] == "2.5"
    assert bot["state"]["status"] == "stopped" and bot["mode"] == "paper"
    assert bot["created_at"].endswith("Z")
    assert api.get(response.headers["Location"]).get_json() == bot

    changed = api.patch(
        f"/api/v1/bots/{bot['id']}", json={"quote_amount": 250, "stop_loss_pct": None}
    )
    assert changed.status_code == 200
    assert changed.get_json()["quote_amount"] == "250"
    assert changed.get_json()["stop_loss_pct"] is None
    assert db.session.get(Bot, bot["id"]).quote_amount == Decimal(250)

    assert [b["id"] for b in api.get("/api/v1/bots").get_json()["items"]] == [bot["id"]]
    deleted = api.delete(f"/api/v1/bots/{bot['id']}")
    assert deleted.status_code == 200
    assert api.get(f"/api/v1/bots/{bot['id']}").status_code == 404


def test_the_forms_rules_and_messages_apply(api, sim_key, client, auth):
    response = api.post(
        "/api/v1/bots",
        json=bot_body(sim_key.id, interval_seconds=5, timeframe="7m", params={"buy_below": "x"}),
    )
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert errors["interval_seconds"] == "Cycle interval must be at least 10 seconds."
    assert errors["timeframe"].startswith("Choose a timeframe")
    assert errors["params.buy_below"]
    assert count_bots() == 0


def test_the_api_speaks_english_to_a_turkish_account_and_browser(api, alice, sim_key):
    """Scripts match on the API's messages: neither the account's language nor the caller's
    Accept-Language changes them."""
    alice.locale = "tr"
    db.session.commit()
    response = api.post(
        "/api/v1/bots",
        json=bot_body(sim_key.id, symbol="BTCUSDT", interval_seconds=5),
        headers={"Accept-Language": "tr-TR,tr;q=0.9"},
    )
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert errors["symbol"] == "Write the symbol as BASE/QUOTE. Did you mean BTC/USDT?"
    assert errors["interval_seconds"] == "Cycle interval must be at least 10 seconds."
    assert api.get("/api/v1/bots/999999", headers={"Accept-Language": "fr"}).status_code == 404


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", "1e309", "1" + "0" * 40,
                                 "1E+2", "1e-400", '"NaN"', '"1e309"'])  # fmt: skip
@pytest.mark.parametrize(
    ("field", "label"),
    [
        ("quote_amount", "Order size"),
        ("daily_loss_limit", "Daily loss limit"),
        ("stop_loss_pct", "Stop-loss %"),
    ],
)
def test_absurd_json_numbers_get_a_field_message(api, sim_key, field, label, raw):
    body = bot_body(sim_key.id)
    body.pop(field, None)
    text = '{{"{}": {}, {}'.format(field, raw, __import__("json").dumps(body)[1:])
    response = api.post("/api/v1/bots", data=text, content_type="application/json")
    if raw == "1E+2" and field != "stop_loss_pct":  # a plain 100, written with an exponent
        assert response.status_code == 201, response.get_data(as_text=True)
        assert response.get_json()[field] == "100"
        return
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["errors"][field].startswith(label)
    assert count_bots() == 0


@pytest.mark.parametrize("raw", ["9" * 5000, "1e309", "NaN", "10.5", "true", "[]"])
def test_absurd_intervals_get_a_field_message(api, sim_key, raw):
    body = __import__("json").dumps(bot_body(sim_key.id))[:-1] + f', "interval_seconds": {raw}}}'
    response = api.post("/api/v1/bots", data=body, content_type="application/json")
    assert response.status_code == 422
    assert "interval_seconds" in response.get_json()["errors"]


def test_start_stop_and_the_start_rules(api, alice, sim_key):
    bot = api.post("/api/v1/bots", json=bot_body(sim_key.id)).get_json()
    started = api.post(f"/api/v1/bots/{bot['id']}/start")
    assert started.status_code == 200
    assert started.get_json()["bot"]["state"]["status"] == "running"
    stopped = api.post(f"/api/v1/bots/{bot['id']}/stop")
    assert stopped.get_json()["bot"]["state"]["status"] == "stopped"
    assert stopped.get_json()["bot"]["state"]["status_reason"] == "Stopped by you."

    sim_key.is_valid = False
    sim_key.last_error = "The exchange rejected this key."
    db.session.commit()
    refused = api.post(f"/api/v1/bots/{bot['id']}/start")
    assert refused.status_code == 422
    assert "cannot be used: The exchange rejected this key." in refused.get_json()["detail"]


def test_sell_closes_the_position_through_the_engine(api, alice, sim_key):
    bot = make_bot(alice, sim_key, symbol="BTC/USDT", state_position_qty=Decimal("0.01"),
                   state_position_avg_price=Decimal("50000"))  # fmt: skip
    response = api.post(f"/api/v1/bots/{bot.id}/sell")
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["outcome"] == "traded"
    [trade_id] = answer["trade_ids"]
    trade = db.session.get(Trade, trade_id)
    assert trade.reason == TradeReason.MANUAL and trade.qty == Decimal("0.01")
    assert answer["bot"]["state"]["position_qty"] == "0"
    nothing = api.post(f"/api/v1/bots/{bot.id}/sell")
    assert nothing.status_code == 422


def test_deleting_a_running_bot_stops_it_first(api, alice, sim_key):
    bot = make_bot(alice, sim_key, status=BotStatus.RUNNING)
    assert api.delete(f"/api/v1/bots/{bot.id}").status_code == 200
    assert count_bots() == 0
