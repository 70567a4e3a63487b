"""Exchange trouble: retried, then the bot stops with a reason; a rejected key stops its bots."""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa

from tests.engine.conftest import API_KEY, API_SECRET, events, step, trades
from webapp.engine.cycle import Outcome, run_cycle
from webapp.engine.tick import slot_for
from webapp.exchange.sim import FailureMode
from webapp.extensions import db
from webapp.keys import service as keys
from webapp.models import ActivityKind, BotStatus
from webapp.models.types import utcnow

UNREACHABLE = "The exchange could not be reached; try again in a minute."


def test_transient_errors_are_retried_then_stop_the_bot_with_a_reason(
    bot_app, sim, clock, make_bot, user
):
    bot = make_bot()
    step(sim, clock, "BTC/USDT", "55000")
    sim.set_failure(FailureMode.UNAVAILABLE)

    for count in (1, 2):
        result = run_cycle(bot.id)
        assert result.outcome is Outcome.ERROR
        assert result.message == UNREACHABLE
        db.session.expire_all()
        assert bot.state.consecutive_errors == count
        assert bot.state.status is BotStatus.RUNNING
        assert bot.state.last_error == UNREACHABLE

    # The exchange is back: the next cycle works and the count starts again.
    sim.set_failure(None)
    assert run_cycle(bot.id).outcome is Outcome.HOLD
    db.session.expire_all()
    assert bot.state.consecutive_errors == 0

    # A short outage is waited out, however many cycles fail meanwhile...
    sim.set_failure(FailureMode.RATE_LIMIT)
    outcomes = [run_cycle(bot.id).outcome for _ in range(6)]
    assert outcomes == [Outcome.ERROR] * 6
    db.session.expire_all()
    assert bot.state.status is BotStatus.RUNNING
    # ...a long one (BOT_TRANSIENT_ERROR_GRACE_SECONDS, 10 minutes) stops the bot.
    bot.state.failing_since -= timedelta(minutes=11)
    db.session.commit()
    assert run_cycle(bot.id).outcome is Outcome.STOPPED
    db.session.expire_all()
    state = bot.state
    assert state.status is BotStatus.ERROR
    assert state.next_run_at is None
    assert state.status_reason.startswith("Stopped after 11 min of failed cycles. Last error:")
    assert "rate limited" in state.status_reason
    [event] = events(user, "bot_error")
    assert event.payload["bot_id"] == bot.id
    assert event.payload["error"] == state.status_reason
    assert run_cycle(bot.id).outcome is Outcome.NOT_RUNNING


def test_a_failed_fetch_is_shared_by_the_bots_of_its_slot(bot_app, sim, clock, make_bot):
    bots = [make_bot(mode="paper") for _ in range(4)]
    sim.set_failure(FailureMode.UNAVAILABLE)
    sim.reset_stats()
    slot = slot_for(utcnow())  # one slot for all four: computed per bot, a tick could pass
    assert [run_cycle(bot.id, slot).outcome for bot in bots] == [Outcome.ERROR] * 4
    assert sim.stats()["total"] == 1


def test_a_refused_order_clears_its_intent_and_counts_as_a_failed_cycle(
    bot_app, sim, clock, make_bot
):
    bot = make_bot(quote_amount="500000")  # more than the account's 100000 USDT
    step(sim, clock, "BTC/USDT", "49000")
    result = run_cycle(bot.id)
    assert result.outcome is Outcome.ERROR
    assert "enough balance" in result.message
    db.session.expire_all()
    assert bot.state.pending_client_order_id is None
    assert bot.state.consecutive_errors == 1
    assert trades(bot) == []


def test_errors_that_are_not_the_exchange_being_down_stop_the_bot_after_n_cycles(
    bot_app, sim, clock, make_bot, user
):
    bot = make_bot(quote_amount="500000")  # every order is refused: not enough balance
    outcomes = []
    for _ in range(3):
        step(sim, clock, "BTC/USDT", "49000")
        outcomes.append(run_cycle(bot.id).outcome)
    assert outcomes == [Outcome.ERROR, Outcome.ERROR, Outcome.STOPPED]
    db.session.expire_all()
    assert bot.state.status_reason.startswith("Stopped after 3 failed cycles in a row.")


def test_a_rejected_key_is_marked_invalid_and_stops_every_bot_using_it(
    bot_app, sim, clock, make_bot, user, api_key, caplog
):
    caplog.set_level(logging.DEBUG)
    trading = make_bot()
    sibling = make_bot(symbol="ETH/USDT", params={"buy_below": "1", "sell_above": "2"})
    step(sim, clock, "BTC/USDT", "49000")
    sim.remove_account(sim.api_keys()[0])  # the key was deleted on the exchange

    result = run_cycle(trading.id)
    assert result.outcome is Outcome.STOPPED
    db.session.expire_all()
    assert not api_key.is_valid
    assert api_key.last_error.startswith("The exchange rejected this API key or secret.")
    for bot in (trading, sibling):
        assert bot.state.status is BotStatus.STOPPED
        assert "rejected its API key" in bot.state.status_reason
    [event] = events(user, "api_key_invalid")
    assert event.payload["bots_stopped"] == 2
    assert events(user, "bot_error") == []
    assert trades(trading) == []
    db.session.expire_all()
    assert trading.state.pending_client_order_id is None

    # Neither the secret nor the full key reaches a log line, the activity log or a state.
    ours = "\n".join(
        f"{r.name} {r.getMessage()}"
        for r in caplog.records
        if not r.name.startswith("webapp.exchange.sim")
    )
    stored = " ".join(
        str(value)
        for table in ("bot_activities", "bot_states", "notifications")
        for row in db.session.execute(sa.text(f"SELECT * FROM {table}"))
        for value in row
    )
    for text in (ours, stored):
        assert API_SECRET not in text
        assert API_KEY not in text

    # It cannot start again until the key is fixed.
    from webapp.engine import service
    from webapp.engine.errors import BotStartError

    try:
        service.start_bot(trading)
    except BotStartError as exc:
        assert "rejected this API key" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("started with a rejected key")


def test_deleting_a_key_stops_its_bots_and_keeps_their_history(
    bot_app, sim, clock, make_bot, user, api_key
):
    bot = make_bot(mode="paper")
    step(sim, clock, "BTC/USDT", "49000")
    assert run_cycle(bot.id).outcome is Outcome.TRADED
    assert keys.delete_key(user, api_key.id) == 1
    db.session.commit()
    db.session.expire_all()
    assert bot.api_key_id is None
    assert bot.state.status is BotStatus.STOPPED
    assert bot.state.status_reason == "Its API key was deleted."
    assert len(trades(bot)) == 1
    kinds = [a.kind for a in bot_activity(bot)]
    assert ActivityKind.STATE in kinds


def bot_activity(bot):
    from webapp.engine.service import bot_activity as activity

    return activity(bot)
