"""Your data: the export holds everything of one's own and no secret; deleting the account
stops and deletes bots, keys and tokens, then the account, keeping the audit trail."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import sqlalchemy as sa

from tests.api.conftest import new_token
from tests.bots.helpers import add_trade, make_bot, make_key
from tests.conftest import PASSWORD
from webapp.extensions import db
from webapp.models import ApiKey, ApiToken, AuditEvent, Bot, BotStatus, Trade, User


def test_the_export_has_everything_of_mine_and_no_secret(client, auth):
    other = auth.create_user("bob@example.com")
    make_bot(other, make_key(other, "Bobs"), "Bob bot")
    user = auth.register_and_login()
    bot = make_bot(user, make_key(user, "Main"), "Trend BTC")
    add_trade(bot, "buy", "0.01", "50000")
    token = new_token(user)

    response = client.post("/security/data/export")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    names = set(archive.namelist())
    assert {"account.json", "api_keys.json", "bots.json", "bot_states.json", "trades.csv"} <= names
    account = json.loads(archive.read("account.json"))
    assert account[0]["email"] == "alice@example.com" and "password_hash" not in account[0]
    [key] = json.loads(archive.read("api_keys.json"))
    assert key["label"] == "Main" and key["key_last4"] == "wxyz"
    assert not any("encrypted" in column for column in key)
    [bot_row] = json.loads(archive.read("bots.json"))
    assert bot_row["name"] == "Trend BTC"
    [trade] = list(csv.DictReader(io.StringIO(archive.read("trades.csv").decode())))
    assert trade["side"] == "buy" and trade["price"].startswith("50000")
    everything = b"".join(archive.read(name) for name in names).decode()
    for secret in ("never-shown-secret", "key-Main-wxyz", token, PASSWORD, "Bob bot", "Bobs"):
        assert secret not in everything
    assert db.session.scalar(
        sa.select(AuditEvent.action).where(AuditEvent.action == "account_exported")
    )


def test_deleting_the_account_removes_bots_keys_tokens_and_keeps_the_audit_trail(
    client, auth, other_client
):
    other = auth.create_user("bob@example.com")
    bobs_bot = make_bot(other, make_key(other, "Bobs"), "Bob bot", status=BotStatus.RUNNING)
    user = auth.register_and_login()
    bot = make_bot(user, make_key(user, "Main"), status=BotStatus.RUNNING)
    add_trade(bot, "buy", "0.01", "50000")
    new_token(user)
    user_id = user.id

    wrong = client.post("/security/data/delete", data={"email": "bob@example.com"})
    assert wrong.status_code == 422 and "not your email" in wrong.get_data(as_text=True)
    assert db.session.get(User, user_id) is not None

    response = client.post("/security/data/delete", data={"email": "Alice@Example.com"})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    db.session.expire_all()
    assert db.session.get(User, user_id) is None
    for model in (Bot, ApiKey, ApiToken, Trade):
        owner = model.user_id == user_id
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model).where(owner)) == 0
    assert client.get("/").status_code == 302
    assert auth.login().status_code == 422
    trail = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.email == "alice@example.com")
    ).all()
    assert {e.action for e in trail} >= {"login", "account_deleted", "bot_stopped", "key_removed"}
    assert all(e.user_id is None for e in trail)
    assert db.session.get(Bot, bobs_bot.id).state.status is BotStatus.RUNNING
