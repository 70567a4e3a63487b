"""Adding and re-checking keys against a real ccxt client and the simulated exchange."""

from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa

from tests.keys.conftest import (
    API_KEY,
    API_SECRET,
    OTHER_KEY,
    OTHER_SECRET,
    ROTATED_SECRET,
    WRONG_SECRET,
    running_bot,
)
from webapp import crypto
from webapp.exchange import clients
from webapp.exchange.errors import KeyUnreadable
from webapp.exchange.sim import FailureMode
from webapp.extensions import db
from webapp.keys import service
from webapp.models import ApiKey, Notification


def key_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(ApiKey))


@pytest.fixture
def user(auth):
    return auth.create_user("alice@example.com")


def add(user, key=API_KEY, secret=API_SECRET, label="Main", **kwargs) -> ApiKey:
    api_key = service.add_key(user, "binance", label, key, secret, **kwargs)
    db.session.commit()
    return api_key


def test_a_valid_key_is_saved_encrypted(sim_app, user):
    api_key = add(user)
    assert api_key.is_valid
    assert api_key.last_validated_at is not None
    assert api_key.last_error is None
    assert api_key.masked_key == "****" + API_KEY[-4:]

    with db.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM api_keys")).one()
    stored = " ".join(str(value) for value in row)
    assert API_KEY not in stored and API_SECRET not in stored
    assert crypto.decrypt(row._mapping["key_encrypted"]) == API_KEY
    assert crypto.decrypt(row._mapping["secret_encrypted"]) == API_SECRET


def test_the_stored_key_builds_a_working_client(sim_app, user):
    api_key = add(user)
    client = clients.client_for_key(api_key)
    try:
        assert client.fetch_balance()["free"]["USDT"] == 10000
    finally:
        client.close()


@pytest.mark.parametrize(
    ("key", "secret"),
    [(API_KEY, WRONG_SECRET), ("KtestKeyNobodyHas000000000000", API_SECRET)],
    ids=["wrong-secret", "unknown-key"],
)
def test_a_rejected_key_is_not_saved(sim_app, user, leak_guard, key, secret):
    with pytest.raises(service.KeyNotSaved) as caught:
        service.add_key(user, "binance", "Main", key, secret)
    leak_guard.seen(caught.value)
    assert str(caught.value).startswith("The exchange rejected this API key or secret.")
    assert "Nothing was saved." in str(caught.value)
    assert not caught.value.error.transient
    db.session.rollback()
    assert key_count() == 0


def test_an_unreachable_exchange_saves_nothing(app, user, leak_guard):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app.config["EXCHANGE_SIM_URL"] = closed_url
    with pytest.raises(service.KeyNotSaved) as caught:
        service.add_key(user, "binance", "Main", API_KEY, API_SECRET)
    leak_guard.seen(caught.value)
    assert str(caught.value) == (
        "The exchange could not be reached. Nothing was saved; try again in a minute."
    )
    assert caught.value.error.transient
    assert key_count() == 0


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        (FailureMode.RATE_LIMIT, "The exchange rate limited our requests. Nothing was saved;"),
        (FailureMode.UNAVAILABLE, "The exchange could not be reached. Nothing was saved;"),
    ],
)
def test_exchange_trouble_saves_nothing(sim_app, sim_server, user, leak_guard, mode, message):
    sim_server.sim.set_failure(mode)
    with pytest.raises(service.KeyNotSaved) as caught:
        service.add_key(user, "binance", "Main", API_KEY, API_SECRET)
    leak_guard.seen(caught.value)
    assert str(caught.value).startswith(message)
    assert caught.value.error.transient
    assert key_count() == 0


def test_labels_are_unique_per_user_and_checked_before_asking_the_exchange(
    sim_app, sim_server, auth, user
):
    add(user, label="Main")
    sim_server.sim.reset_stats()
    with pytest.raises(service.LabelTaken):
        service.add_key(user, "binance", "Main", OTHER_KEY, OTHER_SECRET)
    assert sim_server.sim.stats()["requests"] == {}
    db.session.rollback()
    bob = auth.create_user("bob@example.com")
    add(bob, OTHER_KEY, OTHER_SECRET, label="Main")  # another user may use the same label
    assert key_count() == 2


def test_empty_fields_and_unknown_exchanges_are_refused(sim_app, user):
    with pytest.raises(service.InvalidKeyInput) as caught:
        service.add_key(user, "binance", "Main", API_KEY, "   ")
    assert caught.value.field == "api_secret"
    with pytest.raises(service.InvalidKeyInput) as caught:
        service.add_key(user, "kraken", "Main", API_KEY, API_SECRET)
    assert caught.value.field == "exchange"
    assert key_count() == 0


def api_key_invalid_events(user_id: int) -> list[Notification]:
    return list(
        db.session.scalars(
            sa.select(Notification).where(
                Notification.user_id == user_id, Notification.event_type == "api_key_invalid"
            )
        )
    )


def test_revalidation_marks_a_forgotten_key_invalid_and_tells_the_owner(sim_app, sim_server, user):
    api_key = add(user)
    checked_at = api_key.last_validated_at
    sim_server.sim.remove_account(API_KEY)

    service.revalidate(api_key.id)
    db.session.commit()

    assert not api_key.is_valid
    assert api_key.last_error.startswith("The exchange rejected this API key or secret.")
    assert api_key.last_validated_at > checked_at
    [event, *_] = api_key_invalid_events(user.id)
    assert event.payload["key"] == api_key.masked_key
    assert event.payload["label"] == "Main"
    assert event.payload["url"] == "/keys/"

    # Still rejected on the next check: no second notification.
    count = len(api_key_invalid_events(user.id))
    service.revalidate(api_key.id)
    db.session.commit()
    assert len(api_key_invalid_events(user.id)) == count


def test_a_secret_rotated_on_the_exchange_invalidates_the_key(sim_app, sim_server, user):
    api_key = add(user)
    sim_server.sim.add_account(API_KEY, ROTATED_SECRET)
    service.revalidate(api_key.id)
    db.session.commit()
    assert not api_key.is_valid
    assert api_key_invalid_events(user.id)


def test_an_invalid_key_recovers_when_the_exchange_accepts_it_again(sim_app, sim_server, user):
    api_key = add(user)
    sim_server.sim.remove_account(API_KEY)
    service.revalidate(api_key.id)
    sim_server.sim.add_account(API_KEY, API_SECRET)
    service.revalidate(api_key.id)
    db.session.commit()
    assert api_key.is_valid and api_key.last_error is None


def test_an_unreachable_exchange_does_not_flip_validity(sim_app, sim_server, user):
    api_key = add(user)
    checked_at = api_key.last_validated_at
    sim_server.sim.set_failure(FailureMode.UNAVAILABLE)
    service.revalidate(api_key.id)
    db.session.commit()
    assert api_key.is_valid
    assert api_key.last_validated_at == checked_at
    assert api_key.last_error == "The exchange could not be reached; try again in a minute."
    assert api_key_invalid_events(user.id) == []

    sim_server.sim.set_failure(None)
    service.revalidate(api_key.id)
    assert api_key.is_valid and api_key.last_error is None


def test_a_key_the_server_can_no_longer_decrypt_is_invalid(sim_app, user, encryption_key):
    from cryptography.fernet import Fernet

    api_key = add(user)
    sim_app.config["ENCRYPTION_KEY"] = Fernet.generate_key().decode()  # the old one was lost
    with pytest.raises(KeyUnreadable):
        clients.client_for_key(api_key)
    service.revalidate(api_key.id)
    db.session.commit()
    assert not api_key.is_valid
    assert "can no longer be decrypted" in api_key.last_error
    sim_app.config["ENCRYPTION_KEY"] = encryption_key


def test_revalidating_a_deleted_key_is_a_no_op(sim_app):
    assert service.revalidate(12345) is None


def test_a_newly_rejected_key_stops_its_running_bots(sim_app, sim_server, user):
    from webapp.models import BotStatus

    api_key = add(user)
    bot = running_bot(user, api_key)
    sim_server.sim.remove_account(API_KEY)
    service.revalidate(api_key.id)
    db.session.commit()
    assert bot.state.status == BotStatus.STOPPED
    assert bot.state.status_reason.startswith("The exchange rejected its API key:")
    assert api_key_invalid_events(user.id)[0].payload["bots_stopped"] == 1


def test_deleting_a_key_stops_its_running_bots_first(sim_app, user):
    from webapp.models import BotStatus

    api_key = add(user)
    bot = running_bot(user, api_key)
    assert service.delete_key(user, api_key.id) == 1
    db.session.commit()
    db.session.refresh(bot)
    assert bot.state.status == BotStatus.STOPPED
    assert bot.state.status_reason == "Its API key was deleted."
    assert bot.api_key_id is None  # the bot and its history stay
    assert key_count() == 0


def test_delete_refuses_another_users_key(sim_app, auth, user):
    api_key = add(user)
    bob = auth.create_user("bob@example.com")
    with pytest.raises(service.KeyNotFound):
        service.delete_key(bob, api_key.id)
    assert key_count() == 1


def test_testnet_flag_and_setting_choose_the_testnet(app):
    live = clients.client_for_credentials("binance", "k", "s")
    testnet = clients.client_for_credentials("binance", "k", "s", testnet=True)
    assert "testnet" not in live.urls["api"]["private"]
    assert "testnet" in testnet.urls["api"]["private"]
    app.config["VALIDATE_API_ON_TESTNET"] = True
    assert "testnet" in clients.client_for_credentials("binance", "k", "s").urls["api"]["private"]
    assert live.timeout == 10_000
    # Paced by the budget every process shares (tests/exchange/test_budget.py), not by ccxt's
    # throttle, which only knows its own process.
    assert not live.enableRateLimit and live.fetch.__name__ == "budgeted_fetch"


def test_public_client_honours_testnet_url_and_simulator(app, sim_server):
    assert "testnet" not in clients.public_client("binance").urls["api"]["public"]
    app.config["TESTNET_URL"] = "http://10.1.2.3:8080"
    assert (
        clients.public_client("binance")
        .urls["api"]["public"]
        .startswith("http://10.1.2.3:8080/api/")
    )
    app.config["EXCHANGE_SIM_URL"] = sim_server.url
    client = clients.public_client("binance")
    try:
        assert client.fetch_ticker("BTC/USDT")["last"] > 0
    finally:
        client.close()
