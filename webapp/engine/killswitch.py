"""The kill switch: halt all trading, and stop every bot of one user or of everyone.

A halt (TRADING_HALTED=true, or the admin toggle kept in the database) keeps bots from
starting and cycles from placing orders until it is lifted; running bots stay "running" and
carry on where they were once it is. Selling a position by hand still works during a halt, so
an operator can flatten positions (`stop-all --sell` does exactly that).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from webapp.extensions import db
from webapp.models import Bot, BotState, BotStatus, OperatorSetting, User
from webapp.models.types import utcnow

logger = logging.getLogger(__name__)

HALT_SETTING = "trading_halted"
HALTED_MESSAGE = (
    "Trading is halted on this installation by its operator: no bot can start or trade until "
    "the halt is lifted."
)
STOP_REASON = "Stopped by the operator's kill switch."


def halted_by_config() -> bool:
    return bool(current_app.config.get("TRADING_HALTED"))


def halted_by_admin() -> bool:
    row = db.session.get(OperatorSetting, HALT_SETTING)
    return row is not None and row.value == "1"


def is_halted() -> bool:
    return halted_by_config() or halted_by_admin()


def set_halted(on: bool, actor: User | None = None) -> None:
    """Turn the admin halt on or off (the caller commits). TRADING_HALTED in the environment
    cannot be lifted from here."""
    from webapp.security.audit import AuditAction, record

    # One upsert: two admins (or two tabs) flipping the switch at once must not both insert.
    dialect = db.session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(OperatorSetting.__table__).values(
        name=HALT_SETTING,
        value="1" if on else "0",
        updated_at=utcnow(),
        updated_by_id=actor.id if actor else None,
    )
    db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={
                "value": stmt.excluded.value,
                "updated_at": stmt.excluded.updated_at,
                "updated_by_id": stmt.excluded.updated_by_id,
            },
        )
    )
    db.session.get(OperatorSetting, HALT_SETTING, populate_existing=True)
    record(AuditAction.ADMIN, None, "Trading halted." if on else "Trading halt lifted.",
           actor=actor)  # fmt: skip
    logger.warning("trading %s", "halted" if on else "halt lifted")


@dataclass
class StopAllResult:
    stopped: list[Bot] = field(default_factory=list)
    sold: list[str] = field(default_factory=list)  # one line per sale attempt

    def summary(self) -> str:
        text = f"Stopped {len(self.stopped)} bot{'s' if len(self.stopped) != 1 else ''}."
        if self.sold:
            text += " " + " ".join(self.sold)
        return text


def stop_all(user: User | None = None, *, sell: bool = False, actor: User | None = None,
             reason: str = STOP_REASON) -> StopAllResult:  # fmt: skip
    """Stop every running bot (of `user`, or of everyone) and commit; with `sell`, then sell
    each open position of those bots through the engine (each under its bot's lock)."""
    from webapp.engine.service import stop_bot
    from webapp.security.audit import AuditAction, record

    query = sa.select(Bot).join(BotState).where(BotState.status == BotStatus.RUNNING)
    if user is not None:
        query = query.where(Bot.user_id == user.id)
    result = StopAllResult()
    for bot in db.session.scalars(query.order_by(Bot.id)).all():
        stop_bot(bot, reason)
        result.stopped.append(bot)
    whose = user.email if user is not None else "every user"
    if actor is None or user is None or actor.id != user.id:
        record(AuditAction.ADMIN, user, f"Kill switch: stopped {len(result.stopped)} bots of "
               f"{whose}{' and sold their positions' if sell else ''}.", actor=actor)  # fmt: skip
    db.session.commit()  # stopped first: no new cycle starts while we sell
    if sell:
        from webapp.engine.cycle import Outcome, close_position

        for bot in result.stopped:
            if not bot.state.has_position:
                continue
            outcome = close_position(bot.id)
            db.session.expire_all()
            verb = "sold" if outcome.outcome is Outcome.TRADED else "not sold"
            result.sold.append(f"Bot #{bot.id} {verb}: {outcome.message}")
    logger.warning("kill switch: %s", result.summary())
    return result
