"""Bots: list, create, read, change, delete, start, stop and sell, through the same
webapp.engine.service functions as the bot pages."""

from __future__ import annotations

from webapp.api import ApiBlueprint, auth
from webapp.api.routes import problems, register_domain_errors
from webapp.api.schemas import (
    BotActionSchema,
    BotCreateSchema,
    BotDealsSchema,
    BotDeletedSchema,
    BotGridSchema,
    BotListSchema,
    BotOrdersSchema,
    BotSchema,
    BotUpdateSchema,
    SignalsSchema,
)
from webapp.backtest.candles import from_ms
from webapp.bots.display import today_pnl
from webapp.engine import deals, grids, resting, service
from webapp.extensions import db
from webapp.models import Bot, BotOrder
from webapp.signals import service as signals

blp = ApiBlueprint("api_bots", __name__, url_prefix="/api/v1/bots", description="Trading bots")
register_domain_errors(blp)


def bot_dict(bot: Bot) -> dict:
    state = bot.state
    return {
        "id": bot.id,
        "name": bot.name,
        "api_key_id": bot.api_key_id,
        "exchange": bot.exchange,
        "symbol": bot.symbol,
        "timeframe": bot.timeframe,
        "strategy": bot.strategy,
        "params": dict(bot.params or {}),
        "quote_amount": bot.quote_amount,
        "stop_loss_pct": bot.stop_loss_pct,
        "take_profit_pct": bot.take_profit_pct,
        "daily_profit_target": bot.daily_profit_target,
        "daily_loss_limit": bot.daily_loss_limit,
        "interval_seconds": bot.interval_seconds,
        "mode": bot.mode.value,
        "created_at": bot.created_at,
        "updated_at": bot.updated_at,
        "state": {
            "status": state.status.value,
            "paused": state.is_paused(),
            "status_reason": state.status_reason,
            "position_qty": state.position_qty,
            "position_avg_price": state.position_avg_price,
            "realized_pnl_today": today_pnl(state),
            "order_pending": bool(state.pending_client_order_id),
            "started_at": state.started_at,
            "next_run_at": state.next_run_at,
            "last_cycle_at": state.last_cycle_at,
            "paused_until": state.paused_until,
            "cycle_count": state.cycle_count,
            "last_signal": state.last_signal,
            "last_reason": state.last_reason,
            "last_price": state.last_price,
            "last_error": state.last_error,
            "last_error_at": state.last_error_at,
            "consecutive_errors": state.consecutive_errors,
        },
    }


def _owned(bot_id: int) -> Bot:
    return service.get_bot(auth.current_user(), bot_id)  # BotNotFound: 404


def _fields(raw: dict) -> dict:
    """Body fields for create_bot/update_bot; a null optional amount turns it off."""
    return {name: ("" if value is None else value) for name, value in raw.items()}


@blp.route("", methods=["GET"])
@blp.response(200, BotListSchema)
@problems(blp)
def list_bots():
    """Your bots, by name, with their state."""
    return {"items": [bot_dict(b) for b in service.user_bots(auth.current_user())]}


@blp.route("", methods=["POST"])
@blp.arguments(BotCreateSchema)
@blp.response(201, BotSchema)
@problems(blp, 400, 413, 415, 503)
def create_bot(fields):
    """Create a stopped bot (validated exactly as the bot form is)."""
    try:
        bot = service.create_bot(auth.current_user(), **_fields(fields))
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return bot_dict(bot), 201, {"Location": f"/api/v1/bots/{bot.id}"}


@blp.route("/<id:bot_id>", methods=["GET"])
@blp.response(200, BotSchema)
@problems(blp, 404)
def get_bot(bot_id: int):
    """One of your bots with its state."""
    return bot_dict(_owned(bot_id))


@blp.route("/<id:bot_id>", methods=["PATCH"])
@blp.arguments(BotUpdateSchema)
@blp.response(200, BotSchema)
@problems(blp, 400, 404, 413, 415, 503)
def update_bot(fields, bot_id: int):
    """Change some settings; they take effect at the bot's next cycle."""
    bot = _owned(bot_id)
    try:
        service.update_bot(bot, **_fields(fields))
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return bot_dict(bot)


@blp.route("/<id:bot_id>", methods=["DELETE"])
@blp.response(200, BotDeletedSchema)
@problems(blp, 404, 409)
def delete_bot(bot_id: int):
    """Delete a bot with its trades and activity log (stopping it first if it runs)."""
    bot = _owned(bot_id)
    name = bot.name
    try:
        service.remove_bot(bot)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return {"deleted": True, "message": f"Deleted bot “{name}” with its trades and activity log."}


@blp.route("/<id:bot_id>/start", methods=["POST"])
@blp.response(200, BotActionSchema)
@problems(blp, 404, 409)
def start_bot(bot_id: int):
    """Start a bot (its key must be valid); its first cycle runs at the next tick."""
    bot = _owned(bot_id)
    try:
        service.start_bot(bot)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    message = f"Bot “{bot.name}” started: its first cycle runs shortly."
    return {"outcome": "started", "message": message, "trade_ids": [], "bot": bot_dict(bot)}


@blp.route("/<id:bot_id>/stop", methods=["POST"])
@blp.response(200, BotActionSchema)
@problems(blp, 404)
def stop_bot(bot_id: int):
    """Stop a bot; a cycle already running finishes, no further cycle starts."""
    bot = _owned(bot_id)
    if service.stop_by_owner(bot):
        db.session.commit()
    message = f"Bot “{bot.name}” stopped."
    return {"outcome": "stopped", "message": message, "trade_ids": [], "bot": bot_dict(bot)}


@blp.route("/<id:bot_id>/sell", methods=["POST"])
@blp.response(200, BotActionSchema, description="The position was sold")
@blp.alt_response(202, schema=BotActionSchema, description="An earlier order is being settled")
@problems(blp, 404, 409)
def sell(bot_id: int):
    """Sell the bot's whole position now, through the engine (as "Sell position now")."""
    from webapp.api.problems import ApiError
    from webapp.engine.cycle import Outcome, close_position

    bot = _owned(bot_id)
    result = close_position(bot.id)
    db.session.expire_all()
    bot = _owned(bot_id)
    answer = {
        "outcome": result.outcome.value,
        "message": result.message,
        "trade_ids": list(result.trade_ids),
        "bot": bot_dict(bot),
    }
    if result.outcome is Outcome.TRADED:
        return answer
    if result.outcome is Outcome.WAITING:
        return answer, 202
    if result.outcome is Outcome.LOCKED:
        raise ApiError(409, result.message, code="busy", headers={"Retry-After": "5"})
    raise ApiError(422, result.message, code="refused")


def _signals(bot: Bot) -> dict:
    from flask import current_app

    return {
        "url": signals.signal_url(bot),
        "actions": list(signals.actions_of(bot.strategy)),
        "items": [
            {
                "id": s.id,
                "received_at": s.received_at,
                "action": s.action.value,
                "status": s.status.value,
                "outcome": s.outcome,
                "handled_at": s.handled_at,
                "body": s.body,
            }
            # Every signal the bot keeps.
            for s in signals.recent(bot, int(current_app.config["SIGNALS_KEEP"]))
        ],
    }


@blp.route("/<id:bot_id>/signals", methods=["GET"])
@blp.response(200, SignalsSchema)
@problems(blp, 404)
def list_signals(bot_id: int):
    """The bot's secret signal URL and the signals it received, newest first."""
    return _signals(_owned(bot_id))


@blp.route("/<id:bot_id>/signals/rotate", methods=["POST"])
@blp.response(200, SignalsSchema)
@problems(blp, 404, 409)
def rotate_signal_url(bot_id: int):
    """A new secret signal URL; the previous one answers 404 from now on."""
    from webapp.api.problems import ApiError

    bot = _owned(bot_id)
    if not signals.takes_signals(bot):
        raise ApiError(409, "This bot's strategy takes no signals.", code="no_signals")
    signals.rotate_token(bot)
    db.session.commit()
    return _signals(bot)


#: As many ended orders as the API lists (the page shows 20).
ENDED_ORDERS_LISTED = 200


def _order(row: BotOrder) -> dict:
    return {
        "id": row.id,
        "tag": row.tag,
        "side": row.side.value,
        "price": row.price,
        "qty": row.qty,
        "executed_qty": row.executed_qty,
        "average_price": row.average_price,
        "fee": row.fee,
        "status": row.status.value,
        "mode": row.mode.value,
        "client_order_id": row.client_order_id,
        "exchange_order_id": row.exchange_order_id,
        "note": row.note,
        "created_at": row.created_at,
        "closed_at": row.closed_at,
    }


@blp.route("/<id:bot_id>/deals", methods=["GET"])
@blp.response(200, BotDealsSchema)
@problems(blp, 404)
def list_deals(bot_id: int):
    """A DCA bot's current deal, level by level, and its newest closed deals, newest first."""
    bot = _owned(bot_id)
    page = deals.deal_page(bot)
    if page is None:
        return {"current": None, "past": [], "waiting": None}
    current = page.current
    return {
        "current": None
        if current is None
        else {
            "deal": current.number,
            "levels": [
                {
                    "n": lv.n,
                    "deviation_pct": lv.deviation_pct,
                    "price": lv.price,
                    "qty": lv.qty,
                    "cost": lv.cost,
                    "state": "filled" if lv.filled else "resting" if lv.resting else "waiting",
                }
                for lv in current.levels
            ],
            "average_entry": current.average_entry,
            "take_profit": current.take_profit,
            "stop": current.stop,
            "absorbs_pct": current.absorbs_pct,
        },
        "past": [
            {
                "deal": r.number,
                "closed_by": r.closed_by,
                "closed_at": from_ms(r.closed) if r.closed is not None else None,
                "orders": [
                    {
                        "tag": o.tag,
                        "side": o.side,
                        "price": o.average_price,
                        "qty": o.executed_qty,
                        "fee": o.fee,
                    }
                    for o in r.orders
                ],
                "average_entry": r.average_entry,
                "profit": r.profit,
            }
            for r in page.past
        ],
        "waiting": page.waiting,
    }


@blp.route("/<id:bot_id>/grid", methods=["GET"])
@blp.response(200, BotGridSchema)
@problems(blp, 404)
def show_grid(bot_id: int):
    """A grid bot's ladder, level by level with what rests there, its completed pairs and
    their profit, what it holds and its unrealized PnL at the last cycle's price."""
    bot = _owned(bot_id)
    page = grids.grid_page(bot)
    if page is None:
        return {
            "levels": [],
            "completed_pairs": 0,
            "grid_profit": 0,
            "held": 0,
            "average_entry": None,
            "price": None,
            "unrealized_pnl": None,
            "trigger_price": None,
            "stop_below": None,
            "take_above": None,
            "waiting": False,
        }
    return {
        "levels": [
            {
                "n": lv.n,
                "price": lv.price,
                "side": lv.side,
                "tag": lv.order.tag if lv.order is not None else None,
            }
            for lv in page.levels
        ],
        "completed_pairs": page.pairs,
        "grid_profit": page.profit,
        "held": page.held,
        "average_entry": page.average_entry,
        "price": page.price,
        "unrealized_pnl": page.unrealized,
        "trigger_price": page.trigger,
        "stop_below": page.stop_below,
        "take_above": page.take_above,
        "waiting": page.waiting,
    }


@blp.route("/<id:bot_id>/orders", methods=["GET"])
@blp.response(200, BotOrdersSchema)
@problems(blp, 404)
def list_orders(bot_id: int):
    """The bot's limit orders: those that may still fill, oldest first, and the newest 200
    that ended (filled, canceled or rejected), newest first. Empty for a bot whose strategy
    keeps no orders resting."""
    bot = _owned(bot_id)
    return {
        "active": [_order(row) for row in resting.active_orders(bot.id)],
        "ended": [_order(row) for row in resting.ended_orders(bot.id, ENDED_ORDERS_LISTED)],
    }
