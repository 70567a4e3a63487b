"""What a key may do at the exchange (Binance's apiRestrictions), read at save and at each
re-check: withdrawals refuse the key, no spot trading makes it paper only, no IP restriction
gets a warning."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.keys.conftest import API_KEY, API_SECRET, running_bot
from webapp.engine import service as bots
from webapp.engine.errors import BotStartError, BotValidationError
from webapp.exchange.errors import WithdrawalsEnabled
from webapp.extensions import db
from webapp.keys import service
from webapp.models import ApiKey, BotStatus


@pytest.fixture
def owner(sim_app, auth):
    return auth.create_user("keys@example.com")


def add(user):
    api_key = service.add_key(user, "binance", "Main", API_KEY, API_SECRET)
    db.session.commit()
    return api_key


def test_a_key_that_may_withdraw_is_refused_and_nothing_saved(sim_server, owner):
    sim_server.sim.set_restrictions(API_KEY, enableWithdrawals=True)
    with pytest.raises(service.KeyNotSaved) as refused:
        add(owner)
    assert "withdraw" in str(refused.value) and "Enable Withdrawals" in str(refused.value)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiKey)) == 0


def test_the_keys_page_says_why_and_keeps_nothing(sim_app, sim_server, client, auth):
    auth.register_and_login()
    sim_server.sim.set_restrictions(API_KEY, enableWithdrawals=True)
    response = client.post(
        "/keys/",
        data={"exchange": "binance", "label": "Main", "api_key": API_KEY, "api_secret": API_SECRET},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "allowed to withdraw funds" in page and API_SECRET not in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiKey)) == 0


def test_a_key_without_spot_trading_serves_paper_bots_only(sim_server, owner):
    sim_server.sim.set_restrictions(API_KEY, enableSpotAndMarginTrading=False, ipRestrict=True)
    api_key = add(owner)
    assert (api_key.can_trade, api_key.ip_restricted) == (False, True)
    paper = running_bot(owner, api_key)
    assert paper.state.status == BotStatus.RUNNING
    with pytest.raises(BotValidationError) as refused:
        bots.create_bot(
            owner,
            name="Live one",
            api_key_id=api_key.id,
            symbol="BTC/USDT",
            timeframe="1m",
            strategy="threshold",
            params={"buy_below": "50000", "sell_above": "51000"},
            quote_amount="100",
            mode="live",
        )
    assert "paper bots only" in refused.value.field_errors["mode"]


def test_a_recheck_finds_what_changed_at_the_exchange(sim_server, owner):
    api_key = add(owner)
    assert (api_key.can_trade, api_key.ip_restricted) == (True, False)
    live = bots.create_bot(
        owner,
        name="Live",
        api_key_id=api_key.id,
        symbol="BTC/USDT",
        timeframe="1m",
        strategy="threshold",
        params={"buy_below": "50000", "sell_above": "51000"},
        quote_amount="100",
        mode="live",
    )
    bots.start_bot(live)
    paper = running_bot(owner, api_key, "Paper")
    db.session.commit()

    # Trading switched off at the exchange: the live bot stops, the paper bot goes on.
    sim_server.sim.set_restrictions(API_KEY, enableSpotAndMarginTrading=False)
    service.revalidate(api_key.id)
    db.session.commit()
    db.session.expire_all()
    assert api_key.is_valid and api_key.can_trade is False
    assert live.state.status == BotStatus.STOPPED
    assert paper.state.status == BotStatus.RUNNING
    with pytest.raises(BotStartError, match="paper bots only"):
        bots.start_bot(live)

    # Withdrawals switched on: the key is invalid from now on, its bots stop.
    sim_server.sim.set_restrictions(API_KEY, enableWithdrawals=True)
    service.revalidate(api_key.id)
    db.session.commit()
    db.session.expire_all()
    assert not api_key.is_valid
    assert "withdraw" in api_key.last_error
    assert paper.state.status == BotStatus.STOPPED


def test_the_keys_page_shows_paper_only_and_the_ip_warning(sim_app, sim_server, client, auth):
    user = auth.register_and_login()
    sim_server.sim.set_restrictions(API_KEY, enableSpotAndMarginTrading=False)
    add(user)
    page = client.get("/keys/").get_data(as_text=True)
    assert 'data-testid="key-paper-only"' in page
    assert "Any IP address may use this key" in page


def test_withdrawals_enabled_invalidates_a_key():
    assert WithdrawalsEnabled.invalidates_key
