"""Signals sent to a bot's secret URL (`POST /signals/<token>`), kept with what the bot did.

A signal is stored when it arrives and acted on by the bot's next cycle, in the transaction
that records the cycle's order, so a signal is never lost between the web process that took
it and the worker that acts on it, and never acted on twice.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.extensions import db
from webapp.models.types import UTCDateTime, string_enum, utcnow


class SignalAction(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"
    START_DEAL = "start_deal"
    CLOSE = "close"


class SignalStatus(enum.StrEnum):
    PENDING = "pending"  # waits for the bot's next cycle
    DONE = "done"  # the bot acted on it; `outcome` says how
    IGNORED = "ignored"  # nothing to do (a duplicate, a stopped bot, no position...); `outcome`

    @property
    def label(self) -> str:
        return {"pending": "Pending", "done": "Done", "ignored": "Ignored"}[self.value]


class BotSignal(db.Model):
    """One signal; the newest SIGNALS_KEEP per bot are kept."""

    __tablename__ = "bot_signals"
    __table_args__ = (
        sa.Index("ix_bot_signals_bot_id_id", "bot_id", "id"),
        # A cycle's question: this bot's pending signals, oldest first.
        sa.Index("ix_bot_signals_bot_id_status_id", "bot_id", "status", "id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    bot_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("bots.id", ondelete="CASCADE"))
    received_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    action: so.Mapped[SignalAction] = so.mapped_column(string_enum(SignalAction))
    # The body as sent (a JSON object of at most SIGNAL_MAX_BYTES), for the owner to read.
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    status: so.Mapped[SignalStatus] = so.mapped_column(
        string_enum(SignalStatus), default=SignalStatus.PENDING
    )
    outcome: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    handled_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    remote_addr: so.Mapped[str | None] = so.mapped_column(sa.String(45))

    def __repr__(self) -> str:
        return f"<BotSignal {self.id} bot={self.bot_id} {self.action} {self.status}>"
