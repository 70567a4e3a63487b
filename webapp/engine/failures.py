"""What a failed cycle does to its bot: when it is retried, when it stops, and who is told.

A rejected key marks the key invalid and stops its bots; disabled live trading stops the bot.
An exchange that cannot answer now (unreachable, rate limited, no market data) is waited out
for BOT_TRANSIENT_ERROR_GRACE_SECONDS, however short the bot's interval; any other error stops
the bot after BOT_MAX_CONSECUTIVE_ERRORS failed cycles in a row. A bot stopped on an error
gets status "error" and a `bot_error` event saying why.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app

from webapp.engine.errors import BotError, LiveTradingDisabled
from webapp.engine.outcome import Outcome
from webapp.engine.service import log_activity, stop_bot
from webapp.events import EventType, emit
from webapp.exchange.errors import ExchangeError
from webapp.extensions import db
from webapp.models import ActivityKind, Bot, BotStatus

logger = logging.getLogger(__name__)

#: Default for BOT_TRANSIENT_ERROR_GRACE_SECONDS: how long an unreachable or rate-limiting
#: exchange is waited out before a bot stops with status "error".
TRANSIENT_GRACE_SECONDS = 600


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    return f"{seconds // 60} min"


def record_failure(
    bot_id: int, slot: int | None, now: datetime, exc: Exception
) -> tuple[Outcome, str]:
    """Roll back what the cycle did, then count the failure on the bot; commits.

    Returns the cycle's outcome (ERROR, or STOPPED when this failure stopped the bot, or
    NOT_FOUND when the bot was deleted meanwhile) and the message the user reads.
    """
    from webapp.metrics import cycle_error

    cycle_error(exc)
    db.session.rollback()
    bot = db.session.get(Bot, bot_id)
    if bot is None:
        return Outcome.NOT_FOUND, "the bot was deleted during its cycle"
    cfg = current_app.config
    state = bot.state
    state.last_cycle_at = now
    if slot is not None:
        state.last_slot = slot
    if isinstance(exc, ExchangeError | BotError):
        message = str(exc)
        summary = exc.summary() if isinstance(exc, ExchangeError) else message
        expected = True
    else:
        message = "An unexpected error stopped this cycle; the operator can see it in the log."
        summary = type(exc).__name__
        expected = False
    state.last_error = message[:500]
    state.last_error_at = now

    if isinstance(exc, ExchangeError) and exc.invalidates_key:
        _key_rejected(bot, exc, now)
        db.session.commit()
        return Outcome.STOPPED, message
    if isinstance(exc, LiveTradingDisabled):
        stop_with_error(bot, message)
        db.session.commit()
        return Outcome.STOPPED, message

    state.consecutive_errors += 1
    if state.failing_since is None or state.consecutive_errors == 1:
        state.failing_since = now
    count = state.consecutive_errors
    limit = int(cfg["BOT_MAX_CONSECUTIVE_ERRORS"])
    transient = isinstance(exc, ExchangeError) and exc.transient
    grace = int(cfg.get("BOT_TRANSIENT_ERROR_GRACE_SECONDS") or TRANSIENT_GRACE_SECONDS)
    failing = int((now - state.failing_since).total_seconds())
    if transient:
        progress = f"failing for {_duration(failing)}; stops after {_duration(grace)}"
        give_up = failing >= grace
        stop_reason = f"Stopped after {_duration(failing)} of failed cycles"
    else:
        progress = f"failed cycle {count} of {limit} in a row"
        give_up = count >= limit
        stop_reason = f"Stopped after {count} failed cycles in a row"
    if expected:  # an unexpected one was logged with its traceback by the cycle
        logger.info("bot %s: cycle failed (%s): %s", bot.id, progress, summary)
    log_activity(
        bot.id, ActivityKind.ERROR, f"{message} ({progress})", {"error": type(exc).__name__}
    )
    if give_up and state.status == BotStatus.RUNNING:
        stop_with_error(bot, f"{stop_reason}. Last error: {message}")
        db.session.commit()
        return Outcome.STOPPED, message
    db.session.commit()
    return Outcome.ERROR, message


def stop_with_error(bot: Bot, reason: str) -> None:
    stop_bot(bot, reason, error=True)
    emit(
        bot.user_id,
        EventType.BOT_ERROR,
        {
            "bot_id": bot.id,
            "bot_name": bot.name,
            "symbol": bot.symbol,
            "error": reason,
            "url": f"/bots/{bot.id}",
        },
    )


def _key_rejected(bot: Bot, exc: ExchangeError, now: datetime) -> None:
    """Mark the key invalid the way key validation does: its bots stop, the owner is told."""
    from webapp.keys import service as keys

    if bot.api_key is not None:
        # Stops every bot using the key and tells the owner (api_key_invalid), once.
        keys.mark_key_rejected(bot.api_key, exc.message, now)
    if bot.state.status == BotStatus.RUNNING:
        stop_bot(bot, f"The exchange rejected its API key: {exc.message}")
