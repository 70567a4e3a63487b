"""`flask keys rotate | list | validate`."""

from __future__ import annotations

import sqlalchemy as sa
from cryptography.fernet import Fernet

from tests.keys.conftest import API_KEY, API_SECRET, OTHER_KEY, OTHER_SECRET, WEBHOOK_SECRET
from webapp import crypto
from webapp.extensions import db
from webapp.keys import service
from webapp.models import ApiKey, WebhookEndpoint
from webapp.models.types import utcnow


def add_two_keys(auth):
    alice = auth.create_user("alice@example.com")
    bob = auth.create_user("bob@example.com")
    service.add_key(alice, "binance", "Main", API_KEY, API_SECRET)
    service.add_key(bob, "binance", "Spare", OTHER_KEY, OTHER_SECRET, testnet=False)
    db.session.commit()
    return alice


def add_webhook(user) -> WebhookEndpoint:
    now = utcnow()
    endpoint = WebhookEndpoint(
        user_id=user.id,
        url="https://hooks.example.com/tradebots",
        secret_encrypted=crypto.encrypt(WEBHOOK_SECRET),
        created_at=now,
        updated_at=now,
    )
    db.session.add(endpoint)
    db.session.commit()
    return endpoint


def stored_tokens() -> list[tuple[str, str]]:
    with db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(
            sa.text("SELECT key_encrypted, secret_encrypted FROM api_keys ORDER BY id")
        )]  # fmt: skip


def test_rotate_leaves_every_key_readable_with_only_the_new_key(
    sim_app, auth, runner, leak_guard, encryption_key
):
    endpoint = add_webhook(add_two_keys(auth))
    before = stored_tokens()
    new_key = Fernet.generate_key().decode()
    sim_app.config["ENCRYPTION_KEY"] = f"{new_key},{encryption_key}"

    result = runner.invoke(args=["keys", "rotate"])
    leak_guard.seen(result.output, "flask keys rotate")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Re-encrypted 2 keys with the newest ENCRYPTION_KEY.",
        "Re-encrypted 1 webhook endpoint secrets.",
        "Re-encrypted 0 two-factor secrets.",
        "Re-encrypted 0 signal URLs.",
    ]

    sim_app.config["ENCRYPTION_KEY"] = new_key  # the old key is gone
    after = stored_tokens()
    assert all(
        a != b for pair in zip(before, after, strict=True) for a, b in zip(*pair, strict=True)
    )
    plain = [(crypto.decrypt(k), crypto.decrypt(s)) for k, s in after]
    assert plain == [(API_KEY, API_SECRET), (OTHER_KEY, OTHER_SECRET)]
    db.session.refresh(endpoint)
    assert crypto.decrypt(endpoint.secret_encrypted) == WEBHOOK_SECRET
    # And the keys still work with the exchange.
    result = runner.invoke(args=["keys", "validate"])
    assert result.exit_code == 0, result.output


def test_rotate_changes_nothing_when_a_key_cannot_be_decrypted(
    sim_app, auth, runner, leak_guard, encryption_key
):
    add_two_keys(auth)
    before = stored_tokens()
    sim_app.config["ENCRYPTION_KEY"] = Fernet.generate_key().decode()  # old key dropped too soon
    result = runner.invoke(args=["keys", "rotate"])
    leak_guard.seen(result.output, "flask keys rotate")
    assert result.exit_code == 1
    assert "cannot be decrypted with any ENCRYPTION_KEY; nothing was re-encrypted" in result.output
    assert stored_tokens() == before


def test_list_shows_owner_label_and_masked_key(sim_app, auth, runner, leak_guard):
    add_two_keys(auth)
    result = runner.invoke(args=["keys", "list"])
    leak_guard.seen(result.output, "flask keys list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == 2
    assert "alice@example.com" in lines[0] and "'Main'" in lines[0]
    assert "binance" in lines[0] and "****" + API_KEY[-4:] in lines[0] and "valid" in lines[0]
    assert "bob@example.com" in lines[1] and "****" + OTHER_KEY[-4:] in lines[1]


def test_validate_one_key_or_all(sim_app, sim_server, auth, runner, leak_guard):
    add_two_keys(auth)
    alice_key = db.session.scalar(sa.select(ApiKey).where(ApiKey.label == "Main"))
    sim_server.sim.remove_account(API_KEY)

    result = runner.invoke(args=["keys", "validate", str(alice_key.id)])
    leak_guard.seen(result.output, "flask keys validate")
    assert result.exit_code == 1
    assert "invalid: The exchange rejected this API key or secret." in result.output
    assert "Spare" not in result.output

    result = runner.invoke(args=["keys", "validate"])
    assert "'Main'" in result.output and "'Spare'" in result.output
    db.session.expire_all()
    assert [k.is_valid for k in db.session.scalars(sa.select(ApiKey).order_by(ApiKey.id))] == [
        False,
        True,
    ]

    result = runner.invoke(args=["keys", "validate", "999"])
    assert result.exit_code == 1 and "No API key with id 999." in result.output
