"""Rows for page tests, written directly: the pages must show what the database holds."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser

from webapp import crypto
from webapp.extensions import db
from webapp.models import (
    ActivityKind,
    ApiKey,
    Bot,
    BotActivity,
    BotMode,
    BotState,
    BotStatus,
    Trade,
    TradeReason,
    TradeSide,
    User,
)

_order_ids = itertools.count(1)
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def make_key(user: User, label: str = "Main", *, valid: bool = True) -> ApiKey:
    api_key = ApiKey(
        user_id=user.id,
        exchange="binance",
        label=label,
        key_encrypted=crypto.encrypt(f"key-{label}-wxyz"),
        secret_encrypted=crypto.encrypt("never-shown-secret"),
        key_last4="wxyz",
        is_valid=valid,
    )
    db.session.add(api_key)
    db.session.commit()
    return api_key


def make_bot(
    user: User,
    api_key: ApiKey | None = None,
    name: str = "Trend BTC",
    *,
    status: BotStatus = BotStatus.STOPPED,
    **fields,
) -> Bot:
    values = {
        "exchange": "binance",
        "symbol": "BTC/USDT",
        "timeframe": "1m",
        "strategy": "ema_cross",
        "params": {"fast": 3, "slow": 5},
        "quote_amount": Decimal("100"),
        "interval_seconds": 10,
        "mode": BotMode.PAPER,
        **fields,
    }
    state_fields = {k[6:]: values.pop(k) for k in list(values) if k.startswith("state_")}
    bot = Bot(user_id=user.id, api_key_id=api_key.id if api_key else None, name=name, **values)
    bot.state = BotState(status=status, **state_fields)
    db.session.add(bot)
    db.session.commit()
    return bot


def add_trade(
    bot: Bot,
    side: str,
    qty: str,
    price: str,
    *,
    fee: str = "0.1",
    pnl: str | None = None,
    at: datetime = T0,
    reason: TradeReason = TradeReason.SIGNAL,
) -> Trade:
    trade = Trade(
        bot_id=bot.id,
        user_id=bot.user_id,
        side=TradeSide(side),
        symbol=bot.symbol,
        qty=Decimal(qty),
        price=Decimal(price),
        fee=Decimal(fee),
        realized_pnl=None if pnl is None else Decimal(pnl),
        reason=reason,
        client_order_id=f"test-{next(_order_ids):08d}",
        exchange_order_id=None,
        mode=bot.mode,
        executed_at=at,
    )
    db.session.add(trade)
    db.session.commit()
    return trade


def add_activity(bot: Bot, message: str, kind: ActivityKind = ActivityKind.CYCLE) -> BotActivity:
    row = BotActivity(bot_id=bot.id, kind=kind, message=message)
    db.session.add(row)
    db.session.commit()
    return row


class _TestIdText(HTMLParser):
    """Collects the whitespace-normalised text of every element with a given data-testid."""

    VOID = {"br", "img", "input", "meta", "link", "hr", "source", "wbr"}

    def __init__(self, testid: str) -> None:
        super().__init__()
        self.testid = testid
        self.found: list[str] = []
        self._depth = 0
        self._parts: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag in self.VOID:
            return
        if self._depth:
            self._depth += 1
        elif dict(attrs).get("data-testid") == self.testid:
            self._depth = 1
            self._parts = []

    def handle_endtag(self, tag) -> None:
        if tag in self.VOID or not self._depth:
            return
        self._depth -= 1
        if not self._depth:
            self.found.append(" ".join(" ".join(self._parts).split()))

    def handle_data(self, data) -> None:
        if self._depth:
            self._parts.append(data)


def texts(html: str, testid: str) -> list[str]:
    """The visible text of each element marked data-testid=`testid`, in page order."""
    parser = _TestIdText(testid)
    parser.feed(html)
    return parser.found


def text(html: str, testid: str) -> str:
    [found] = texts(html, testid)
    return found


def bulk_trades(
    bot: Bot,
    count: int,
    *,
    start: datetime = T0,
    every: timedelta | None = None,
    chunk: int = 5000,
) -> None:
    """`count` trades of `bot`, alternating buy and sell `every` apart (a minute unless told),
    inserted in bulk (a history as long as a busy bot's, in seconds rather than minutes), then
    the owner's rollups rebuilt as the migration would."""
    every = every or timedelta(minutes=1)
    from webapp.engine import rollups

    table = Trade.__table__
    prefix = f"bulk-{bot.id}-"
    for first in range(0, count, chunk):
        rows = []
        for n in range(first, min(first + chunk, count)):
            sell = n % 2 == 1
            rows.append(
                {
                    "bot_id": bot.id,
                    "user_id": bot.user_id,
                    "side": TradeSide.SELL if sell else TradeSide.BUY,
                    "symbol": bot.symbol,
                    "qty": Decimal("0.001"),
                    "price": Decimal(60000 + n % 1000),
                    "fee": Decimal("0.06"),
                    "realized_pnl": Decimal("0.5") if sell else None,
                    "reason": TradeReason.SIGNAL,
                    "client_order_id": f"{prefix}{n}",
                    "exchange_order_id": None,
                    "mode": bot.mode,
                    "executed_at": start + every * n,
                    "created_at": start + every * n,
                }
            )
        db.session.execute(table.insert(), rows)
    rollups.rebuild_user(db.session.connection(), bot.user_id)
    db.session.commit()
