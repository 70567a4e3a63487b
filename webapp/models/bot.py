"""Trading bots: their configuration (`Bot`), runtime state (`BotState`), fills (`Trade`) and
activity log (`BotActivity`).

The database is the source of truth for which bots run: `BotState.status` and `next_run_at`
decide what the scheduler's tick picks up, so losing Redis loses no running bot.

Money and quantities use `Amount`: NUMERIC(28, 12) on PostgreSQL, and text on SQLite (whose
NUMERIC is a float and would lose digits), so realized PnL reads back exactly on both.
"""

from __future__ import annotations

import enum
import secrets
import string
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.extensions import db
from webapp.models.apikey import ApiKey
from webapp.models.types import UTCDateTime, string_enum, utcnow
from webapp.models.user import User

#: Digits after the decimal point kept for every stored amount.
AMOUNT_SCALE = 12
AMOUNT_QUANTUM = Decimal(1).scaleb(-AMOUNT_SCALE)


def quantize(value: Decimal) -> Decimal:
    """Round to what an `Amount` column stores, so values in memory equal values read back."""
    return value.quantize(AMOUNT_QUANTUM, rounding=ROUND_HALF_EVEN)


class Amount(sa.TypeDecorator):
    """An exact decimal with 12 places on every database (see the module docstring)."""

    impl = sa.Numeric(28, AMOUNT_SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(40))
        return dialect.type_descriptor(sa.Numeric(28, AMOUNT_SCALE, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        number = quantize(value if isinstance(value, Decimal) else Decimal(str(value)))
        return format(number, "f") if dialect.name == "sqlite" else number

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, Decimal):
            return value
        # Text on SQLite; a float only from SQL arithmetic (e.g. SUM) over the text column.
        return Decimal(value) if isinstance(value, str) else Decimal(str(value))


ORDER_TOKEN_ALPHABET = string.ascii_lowercase + string.digits


def new_order_token() -> str:
    """Eight random [a-z0-9] characters (about 41 bits) for a bot's client order ids."""
    return "".join(secrets.choice(ORDER_TOKEN_ALPHABET) for _ in range(8))


class BotMode(enum.StrEnum):
    PAPER = "paper"  # fills at the market price with the exchange's fee; the account is untouched
    LIVE = "live"  # real orders through ccxt (the simulator, or LIVE_TRADING_ENABLED)

    @property
    def label(self) -> str:
        return {"paper": "Paper", "live": "Live"}[self.value]


class BotStatus(enum.StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"
    ERROR = "error"  # stopped by repeated errors; `BotState.last_error` says why

    @property
    def label(self) -> str:
        return {"running": "Running", "stopped": "Stopped", "error": "Error"}[self.value]


class TradeSide(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"


class TradeReason(enum.StrEnum):
    SIGNAL = "signal"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    MANUAL = "manual"  # the user's "Sell position now"

    @property
    def label(self) -> str:
        return {
            "signal": "Signal",
            "stop_loss": "Stop-loss",
            "take_profit": "Take-profit",
            "manual": "Manual",
        }[self.value]


class ActivityKind(enum.StrEnum):
    CYCLE = "cycle"  # one line per cycle: decision, reason, price
    SIGNAL = "signal"  # the strategy (or an exit rule) asked for a trade
    ORDER = "order"  # an order was placed, filled, recovered or refused
    ERROR = "error"
    INFO = "info"
    STATE = "state"  # started, stopped, paused, resumed, settings changed


#: Timeframes a bot can use (ccxt/Binance names) with their length in seconds.
TIMEFRAMES: dict[str, int] = {
    "1m": 60,
    "3m": 180,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "2h": 7200,
    "4h": 14400,
    "6h": 21600,
    "8h": 28800,
    "12h": 43200,
    "1d": 86400,
}


class Bot(db.Model):
    """What the user configured. Runtime state lives in `BotState` (one row per bot)."""

    __tablename__ = "bots"
    __table_args__ = (sa.UniqueConstraint("user_id", "name"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # Required to create or start a bot; NULL only after its key was deleted (the bot is
    # stopped first and keeps its history, and needs a new key before it can start again).
    api_key_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("api_keys.id", ondelete="SET NULL"), index=True
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(80))
    exchange: so.Mapped[str] = so.mapped_column(sa.String(32))  # a ccxt id, from the key
    symbol: so.Mapped[str] = so.mapped_column(sa.String(32))  # unified, e.g. "BTC/USDT"
    timeframe: so.Mapped[str] = so.mapped_column(sa.String(8))
    strategy: so.Mapped[str] = so.mapped_column(sa.String(40))
    params: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON, default=dict)
    quote_amount: so.Mapped[Decimal] = so.mapped_column(Amount)  # order size, quote currency
    stop_loss_pct: so.Mapped[Decimal | None] = so.mapped_column(Amount)
    take_profit_pct: so.Mapped[Decimal | None] = so.mapped_column(Amount)
    daily_profit_target: so.Mapped[Decimal | None] = so.mapped_column(Amount)  # quote
    daily_loss_limit: so.Mapped[Decimal | None] = so.mapped_column(Amount)  # quote, positive
    interval_seconds: so.Mapped[int] = so.mapped_column(default=60)
    mode: so.Mapped[BotMode] = so.mapped_column(string_enum(BotMode), default=BotMode.PAPER)
    # Random, set once: part of every client order id, so ids never repeat those of an older
    # bot that had the same id (SQLite reuses ids; a fresh install may share an account).
    order_token: so.Mapped[str] = so.mapped_column(sa.String(8), default=new_order_token)
    # The secret of its signal URL (`POST /signals/<token>`): looked up by its SHA-256, and
    # kept encrypted (ENCRYPTION_KEY) so the owner can read the URL again on the bot page.
    signal_token_hash: so.Mapped[str | None] = so.mapped_column(sa.String(64), unique=True)
    signal_token_encrypted: so.Mapped[str | None] = so.mapped_column(sa.Text)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    user: so.Mapped[User] = so.relationship()
    api_key: so.Mapped[ApiKey | None] = so.relationship()
    state: so.Mapped[BotState] = so.relationship(
        back_populates="bot", uselist=False, cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<Bot {self.id} {self.name!r} {self.symbol} {self.strategy} {self.mode}>"

    @property
    def base_currency(self) -> str:
        return self.symbol.split("/", 1)[0]

    @property
    def quote_currency(self) -> str:
        return self.symbol.split("/", 1)[-1].split(":", 1)[0]


class BotState(db.Model):
    """What the engine knows about a bot between cycles.

    `pending_*` is an order intent: committed before an order is sent, cleared in the same
    transaction that records its trade. A cycle that finds one set resolves it first (asks the
    exchange for that client order id), so a crash between "sent" and "recorded" can neither
    lose the fill nor place the order twice.
    """

    __tablename__ = "bot_states"
    __table_args__ = (
        # The scheduler's tick: running bots that are due.
        sa.Index("ix_bot_states_status_next_run_at", "status", "next_run_at"),
    )

    bot_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("bots.id", ondelete="CASCADE"), primary_key=True
    )
    status: so.Mapped[BotStatus] = so.mapped_column(
        string_enum(BotStatus), default=BotStatus.STOPPED
    )
    # Why the bot last stopped (user, daily loss limit, key rejected, errors), for the page.
    status_reason: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    position_qty: so.Mapped[Decimal] = so.mapped_column(Amount, default=Decimal(0))
    position_avg_price: so.Mapped[Decimal] = so.mapped_column(Amount, default=Decimal(0))
    started_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # The price at the first cycle since the bot started: the side a grid's trigger price
    # is reached from.
    start_price: so.Mapped[Decimal | None] = so.mapped_column(Amount)
    next_run_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_cycle_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # The tick slot of the last cycle that ran: a job for a slot already run is skipped.
    last_slot: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    cycle_count: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    last_signal: so.Mapped[str | None] = so.mapped_column(sa.String(16))  # buy / sell / hold
    last_reason: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    last_price: so.Mapped[Decimal | None] = so.mapped_column(Amount)
    last_error: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    last_error_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    consecutive_errors: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    # When the current run of failed cycles began (None after a good cycle): an exchange that
    # is down stops the bot only after BOT_TRANSIENT_ERROR_GRACE_SECONDS of it, not N cycles.
    failing_since: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    realized_pnl_today: so.Mapped[Decimal] = so.mapped_column(Amount, default=Decimal(0))
    pnl_day: so.Mapped[date | None] = so.mapped_column(sa.Date)  # UTC day of the figure above
    # Daily profit target reached: no cycles until then (the next UTC midnight).
    paused_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    pending_client_order_id: so.Mapped[str | None] = so.mapped_column(sa.String(36))
    pending_side: so.Mapped[str | None] = so.mapped_column(sa.String(4))
    pending_reason: so.Mapped[str | None] = so.mapped_column(sa.String(16))
    pending_since: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # Where the pending order was sent: its fill is recorded there, whatever the bot says now.
    pending_symbol: so.Mapped[str | None] = so.mapped_column(sa.String(32))
    pending_mode: so.Mapped[BotMode | None] = so.mapped_column(string_enum(BotMode))
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    bot: so.Mapped[Bot] = so.relationship(back_populates="state")

    def __repr__(self) -> str:
        return f"<BotState {self.bot_id} {self.status} qty={self.position_qty}>"

    @property
    def is_running(self) -> bool:
        return self.status == BotStatus.RUNNING

    @property
    def has_position(self) -> bool:
        return self.position_qty > 0

    def is_paused(self, now: datetime | None = None) -> bool:
        """Running but resting after reaching the daily profit target."""
        return self.paused_until is not None and self.paused_until > (now or utcnow())


class Trade(db.Model):
    """One fill. `realized_pnl` is set on sells only (fees of both sides included)."""

    __tablename__ = "trades"
    __table_args__ = (
        # Ending in id, the list's tie-break: a cursor page reads the index in the list's own
        # order (executed_at, id), with no sort of the trades that share a second.
        sa.Index("ix_trades_user_id_executed_at_id", "user_id", "executed_at", "id"),
        sa.Index("ix_trades_bot_id_executed_at_id", "bot_id", "executed_at", "id"),
        # The trades page's and the API's side filter, with and without a bot.
        sa.Index("ix_trades_user_id_side_executed_at_id", "user_id", "side", "executed_at", "id"),
        sa.Index("ix_trades_bot_id_side_executed_at_id", "bot_id", "side", "executed_at", "id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    bot_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("bots.id", ondelete="CASCADE"))
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    side: so.Mapped[TradeSide] = so.mapped_column(string_enum(TradeSide, 4))
    symbol: so.Mapped[str] = so.mapped_column(sa.String(32))
    qty: so.Mapped[Decimal] = so.mapped_column(Amount)
    price: so.Mapped[Decimal] = so.mapped_column(Amount)
    fee: so.Mapped[Decimal] = so.mapped_column(Amount)  # in the quote currency
    realized_pnl: so.Mapped[Decimal | None] = so.mapped_column(Amount)
    reason: so.Mapped[TradeReason] = so.mapped_column(string_enum(TradeReason))
    # Unique: the guard that records an order's fill exactly once, however often it is seen.
    client_order_id: so.Mapped[str] = so.mapped_column(sa.String(36), unique=True)
    exchange_order_id: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    mode: so.Mapped[BotMode] = so.mapped_column(string_enum(BotMode))
    executed_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    bot: so.Mapped[Bot] = so.relationship()

    def __repr__(self) -> str:
        return (
            f"<Trade {self.id} bot={self.bot_id} {self.side} {self.qty} {self.symbol} "
            f"@ {self.price} {self.reason}>"
        )

    @property
    def notional(self) -> Decimal:
        return self.qty * self.price


#: A trade's bot decides its user, but PostgreSQL's planner takes `bot_id = ? AND user_id = ?`
#: as two independent filters and expects a fraction of a bot's trades to match; on a deep page
#: it then reads the whole bot index and sorts instead of walking it. Functional-dependency
#: statistics tell it the second condition removes nothing (migration 5c1d0e7f3a29).
TRADES_BOT_USER_STATISTICS = "st_trades_bot_id_user_id"
sa.event.listen(
    Trade.__table__,
    "after_create",
    sa.DDL(
        f"CREATE STATISTICS IF NOT EXISTS {TRADES_BOT_USER_STATISTICS} (dependencies) "
        "ON bot_id, user_id FROM trades"
    ).execute_if(dialect="postgresql"),
)


class BotActivity(db.Model):
    """One line of a bot's activity log; the newest BOT_ACTIVITY_KEEP per bot are kept."""

    __tablename__ = "bot_activities"
    __table_args__ = (sa.Index("ix_bot_activities_bot_id_id", "bot_id", "id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    bot_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("bots.id", ondelete="CASCADE"))
    at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    kind: so.Mapped[ActivityKind] = so.mapped_column(string_enum(ActivityKind))
    message: so.Mapped[str] = so.mapped_column(sa.String(500))
    detail: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)

    def __repr__(self) -> str:
        return f"<BotActivity {self.id} bot={self.bot_id} {self.kind} {self.message!r}>"
