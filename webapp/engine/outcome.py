"""What a cycle (or a "sell now") ended in: the value every caller of the engine reads."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Outcome(enum.StrEnum):
    TRADED = "traded"
    HOLD = "hold"
    REFUSED = "refused"  # wanted to trade, but sizing or the exchange said no
    WAITING = "waiting"  # an earlier order's outcome is not known yet
    ERROR = "error"
    STOPPED = "stopped"  # this cycle stopped the bot
    PAUSED = "paused"
    LOCKED = "locked"
    ALREADY_RAN = "already_ran"
    NOT_RUNNING = "not_running"
    NOT_FOUND = "not_found"
    LATE = "late"  # due more than one interval ago: dropped rather than act on stale intent


@dataclass
class CycleResult:
    bot_id: int
    outcome: Outcome
    message: str
    trade_ids: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return f"bot {self.bot_id}: {self.outcome.value}: {self.message}"
