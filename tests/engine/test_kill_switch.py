"""The kill switch: a halt keeps bots from starting and trading until lifted; stop-all stops
every bot of one user or of everyone (and sells, if asked) from the CLI, the admin page and
the dashboard."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.engine.conftest import step, trades
from webapp.engine import killswitch, service
from webapp.engine.cycle import Outcome, run_cycle
from webapp.engine.errors import BotStartError
from webapp.extensions import db
from webapp.models import BotStatus


def other_users_bot(auth, make_bot, email: str = "other@example.com"):
    from tests.engine.conftest import API_KEY, API_SECRET
    from webapp.keys import service as keys

    owner = auth.create_user(email)
    key = keys.add_key(owner, "binance", "Sim", API_KEY, API_SECRET)
    db.session.commit()
    return make_bot(owner=owner, key=key)


def status(bot) -> BotStatus:
    db.session.expire_all()
    return bot.state.status


def test_a_halt_from_the_environment_stops_starts_and_orders_until_lifted(
    bot_app, sim, clock, make_bot
):
    running = make_bot()
    stopped = make_bot(start=False)
    bot_app.config["TRADING_HALTED"] = True
    with pytest.raises(BotStartError, match="Trading is halted"):
        service.start_bot(stopped)
    step(sim, clock, "BTC/USDT", "49000")  # below buy_below: the strategy wants to buy
    result = run_cycle(running.id)
    assert result.outcome is Outcome.PAUSED and "halted" in result.message
    assert sim.orders() == [] and trades(running) == []
    assert status(running) is BotStatus.RUNNING  # it resumes where it was once lifted

    bot_app.config["TRADING_HALTED"] = False
    assert run_cycle(running.id).outcome is Outcome.TRADED
    assert len(trades(running)) == 1


def test_admins_halt_and_lift_trading_from_the_page_after_confirming(
    bot_app, sim, clock, make_bot, auth, client
):
    bot = make_bot()
    auth.register_and_login("root@example.com", admin=True)
    page = client.get("/security/admin/trading").get_data(as_text=True)
    assert "Bots start and trade as usual." in page
    unconfirmed = client.post("/security/admin/trading/halt", data={"halt": "y"})
    assert unconfirmed.status_code == 422 and not killswitch.is_halted()
    response = client.post("/security/admin/trading/halt", data={"halt": "y", "confirm": "y"})
    assert response.status_code == 302 and killswitch.is_halted()
    step(sim, clock, "BTC/USDT", "49000")
    assert run_cycle(bot.id).outcome is Outcome.PAUSED and sim.orders() == []
    assert "Halted" in client.get("/security/admin/trading").get_data(as_text=True)
    client.post("/security/admin/trading/halt", data={"halt": "", "confirm": "y"})
    assert not killswitch.is_halted()
    assert run_cycle(bot.id).outcome is Outcome.TRADED


def test_the_kill_switch_pages_are_for_admins_only(bot_app, auth, client):
    auth.register_and_login("someone@example.com")
    for path in ("/security/admin/trading", "/security/admin/audit"):
        assert client.get(path).status_code == 403
    assert client.post("/security/admin/trading/halt", data={"confirm": "y"}).status_code == 403
    assert client.post("/security/admin/trading/stop-all", data={"confirm": "y"}).status_code == 403


def test_stop_all_from_the_cli_for_one_user_sells_their_positions(
    bot_app, sim, clock, make_bot, auth, runner
):
    mine = make_bot()
    theirs = other_users_bot(auth, make_bot)
    step(sim, clock, "BTC/USDT", "49000")
    assert run_cycle(mine.id).outcome is Outcome.TRADED

    declined = runner.invoke(args=["bots", "stop-all"], input="n\n")
    assert declined.exit_code == 1 and status(mine) is BotStatus.RUNNING

    result = runner.invoke(
        args=["bots", "stop-all", "--user", "TRADER@example.com", "--sell", "--yes"]
    )
    assert result.exit_code == 0, result.output
    assert "Stopped 1 bot." in result.output and f"Bot #{mine.id} sold" in result.output
    assert status(mine) is BotStatus.STOPPED and status(theirs) is BotStatus.RUNNING
    buy, sell = trades(mine)
    assert sell.side.value == "sell" and sell.qty == buy.qty
    assert "Stopped by the operator's kill switch." in mine.state.status_reason

    unknown = runner.invoke(args=["bots", "stop-all", "--user", "nobody@example.com", "--yes"])
    assert unknown.exit_code != 0 and "No account with the email" in unknown.output


def test_admins_stop_everyones_bots_from_the_page(bot_app, make_bot, auth, client):
    first = make_bot()
    second = other_users_bot(auth, make_bot)
    auth.register_and_login("root@example.com", admin=True)
    assert client.post("/security/admin/trading/stop-all", data={}).status_code == 422
    assert status(first) is BotStatus.RUNNING
    response = client.post("/security/admin/trading/stop-all", data={"confirm": "y"})
    assert response.status_code == 302
    assert status(first) is BotStatus.STOPPED and status(second) is BotStatus.STOPPED
    page = client.get("/security/admin/audit?action=admin").get_data(as_text=True)
    assert "Kill switch: stopped 2 bots of every user." in page


def test_users_stop_all_their_own_bots_from_the_dashboard(bot_app, make_bot, auth, client):
    first, second = make_bot(), make_bot()
    other = other_users_bot(auth, make_bot)
    client.post("/auth/login", data={"email": "trader@example.com", "password": PASSWORD})
    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="stop-all-bots"' in page
    response = client.post("/bots/stop-all", follow_redirects=True)
    assert "Stopped 2 bots." in response.get_data(as_text=True)
    assert status(first) is BotStatus.STOPPED and status(second) is BotStatus.STOPPED
    assert status(other) is BotStatus.RUNNING
