"""Live orders: the intent written before the order leaves, and every way its outcome is learnt.

An order's intent (its client order id, derived from bot and cycle, and where it goes) is
committed BEFORE the order is sent. The order is sent once; on an unknown outcome (a timeout,
a lost answer) it is looked up by that id, never resent: Binance takes a client order id again
once its order is closed, so a resent market order would trade twice. A later cycle settles an
intent a crashed one left behind the same way. Only "Order does not exist." after
PENDING_GRACE lets a later decision place an order, under a new id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from webapp.engine import ledger, marketdata, orders
from webapp.engine.service import log_activity
from webapp.exchange.errors import ExchangeError, UnknownSymbol
from webapp.extensions import db
from webapp.models import ActivityKind, Bot, BotMode, BotState, Trade, TradeReason
from webapp.models.types import utcnow

logger = logging.getLogger(__name__)

#: An order request older than this can no longer reach Binance (recvWindow is 10 s), so an
#: intent whose order the exchange still does not know after this long is safe to forget.
PENDING_GRACE = timedelta(seconds=30)


@dataclass(frozen=True)
class Settled:
    """How an earlier intent ended: `trade` if it filled now, `waiting` if still unknown."""

    trade: Trade | None = None
    waiting: str | None = None


def send_live(
    bot: Bot,
    state: BotState,
    market: marketdata.MarketInfo,
    side: str,
    qty: Decimal,
    reason: TradeReason,
    client_order_id: str,
    now: datetime,
) -> orders.Fill | orders.Lookup:
    """The fill, or Lookup.NOT_FILLED (intent cleared) or Lookup.OPEN (intent kept: the
    order was accepted but its fill is not known yet; a later cycle looks it up)."""
    client = orders.live_client(bot)
    # The intent first: if this process dies once the order is out, the next cycle finds it
    # by this id instead of placing another. Where it goes is stored with it, so its fill is
    # recorded there even if the bot's settings could change meanwhile.
    state.pending_client_order_id = client_order_id
    state.pending_side = side
    state.pending_reason = reason.value
    state.pending_symbol = bot.symbol
    state.pending_mode = bot.mode
    # Stamped now, not at cycle start: the grace period and the "older than the intent"
    # check of a lookup both measure from when the order could first have left.
    state.pending_since = utcnow()
    db.session.commit()
    try:
        outcome = orders.place_market_order(client, bot, market, side, qty, client_order_id, now)
    except ExchangeError as exc:
        outcome = _after_failed_send(client, bot, state, market, exc, now)
    if outcome is orders.Lookup.NOT_FILLED:
        ledger.clear_intent(state)
        log_activity(bot.id, ActivityKind.ORDER, f"Order {client_order_id} ended unfilled.")
        db.session.commit()
    elif outcome is orders.Lookup.OPEN:
        log_activity(
            bot.id,
            ActivityKind.ORDER,
            f"Order {client_order_id} was accepted but is not filled yet; "
            "the next cycle checks it.",
        )
        db.session.commit()
    return outcome


def _after_failed_send(
    client,
    bot: Bot,
    state: BotState,
    market: marketdata.MarketInfo,
    exc: ExchangeError,
    now: datetime,
) -> orders.Fill | orders.Lookup:
    client_order_id = state.pending_client_order_id
    if not orders.is_unknown_outcome(exc):
        # A definite refusal: the order does not exist, so the intent goes.
        ledger.clear_intent(state)
        db.session.commit()
        raise exc
    logger.info(
        "bot %s: order %s outcome unknown (%s); looking it up",
        bot.id,
        client_order_id,
        exc.summary(),
    )
    try:
        found = orders.find_order(client, bot, market, client_order_id, state.pending_since or now)
    except ExchangeError:
        raise exc from None  # the intent stays; the next cycle asks again
    if isinstance(found, orders.Fill) or found is orders.Lookup.NOT_FILLED:
        return found
    raise exc  # not there (yet) or still open: the intent stays


def settle_intent(bot: Bot, state: BotState, now: datetime) -> Settled:
    """Settle an intent an earlier cycle left: record its fill, or forget it once provably
    unfilled or never received; commits. `waiting` set means "not yet, decide nothing"."""
    client_order_id = state.pending_client_order_id
    recorded = db.session.scalar(
        sa.select(Trade.id).where(Trade.client_order_id == client_order_id)
    )
    # The order went where the intent says, whatever the bot's settings are now.
    symbol = state.pending_symbol or bot.symbol
    mode = state.pending_mode or bot.mode
    if recorded is not None or mode == BotMode.PAPER:
        ledger.clear_intent(state)
        db.session.commit()
        return Settled()
    market = marketdata.market_info(bot.exchange, symbol)
    if market is None:
        raise UnknownSymbol(f"The exchange no longer lists {symbol}.")
    since = state.pending_since or now
    client = orders.live_client(bot, symbol)
    found = orders.find_order(client, bot, market, client_order_id, since, symbol=symbol)
    if isinstance(found, orders.Fill):
        side = state.pending_side or "buy"
        reason = TradeReason(state.pending_reason or TradeReason.SIGNAL.value)
        trade = ledger.record_fill(
            bot, state, side, found, reason, client_order_id, now,
            recovered=True, symbol=symbol, mode=mode,
        )  # fmt: skip
        db.session.commit()
        return Settled(trade=trade)
    if found is orders.Lookup.NOT_FILLED:
        ledger.clear_intent(state)
        log_activity(bot.id, ActivityKind.ORDER, f"Order {client_order_id} ended unfilled.")
        db.session.commit()
        return Settled()
    if found is orders.Lookup.NOT_FOUND and now - since >= PENDING_GRACE:
        ledger.clear_intent(state)
        log_activity(
            bot.id,
            ActivityKind.ORDER,
            f"Order {client_order_id} never reached the exchange; nothing was traded.",
        )
        db.session.commit()
        return Settled()
    message = f"waiting for the exchange to confirm order {client_order_id}"
    log_activity(bot.id, ActivityKind.CYCLE, message.capitalize() + ".")
    db.session.commit()
    return Settled(waiting=message)
