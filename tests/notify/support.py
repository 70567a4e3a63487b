"""Helpers shared by the notification tests: a user with a webhook endpoint, sample events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from webapp.events import EventType
from webapp.extensions import db
from webapp.models import Notification, NotificationChannel, User
from webapp.notify import delivery, endpoints, preferences


@dataclass
class WebhookUser:
    user_id: int
    email: str
    secret: str
    endpoint_id: int


def make_webhook_user(
    auth, url: str, email: str = "hooked@example.com", events=tuple(EventType), email_too=False
) -> WebhookUser:
    """A user whose chosen events go to the webhook at `url` (and not by email, unless asked)."""
    user = auth.create_user(email)
    endpoint, secret = endpoints.create_endpoint(user.id, url)
    for event in EventType:
        preferences.set_preference(
            user.id, event, NotificationChannel.WEBHOOK, event in tuple(events)
        )
        preferences.set_preference(
            user.id, event, NotificationChannel.EMAIL, bool(email_too and event in events)
        )
    db.session.commit()
    return WebhookUser(user.id, email, secret, endpoint.id)


def drain(*, now: datetime | None = None, rounds: int = 100) -> list[delivery.Outcome]:
    """Deliver every due row in this process, batch after batch, until none is due (or
    `rounds` batches passed): tests cannot wait for a worker. `now` fixes the clock."""
    outcomes: list[delivery.Outcome] = []
    for _ in range(rounds):
        batch = delivery.run_batch(now=now)
        if not batch:
            break
        outcomes.extend(batch)
    return outcomes


def rows_for(user_id: int) -> list[Notification]:
    db.session.expire_all()
    return (
        db.session.query(Notification)
        .filter(Notification.user_id == user_id)
        .order_by(Notification.id)
        .all()
    )


def user_id(email: str) -> int:
    user = User.by_email(email)
    assert user is not None
    return user.id


# Shaped like what the bot engine and the key checks emit.
SAMPLE_DATA: dict[EventType, dict] = {
    EventType.TRADE_EXECUTED: {
        "bot_id": 7,
        "bot_name": "Grid BTC",
        "symbol": "BTC/USDT",
        "side": "buy",
        "qty": "0.00250000",
        "price": "61234.50",
        "fee": "0.15",
        "quote": "USDT",
        "realized_pnl": None,
        "reason": "signal",
        "mode": "paper",
        "trade_id": 41,
        "executed_at": "2031-03-04T10:15:00+00:00",
        "url": "/bots/7",
    },
    EventType.STOP_LOSS_TRIGGERED: {
        "bot_id": 7,
        "bot_name": "Grid BTC",
        "symbol": "BTC/USDT",
        "side": "sell",
        "qty": "0.0025",
        "price": "58000.00",
        "fee": "0.14",
        "quote": "USDT",
        "realized_pnl": "-8.09",
        "reason": "stop_loss",
        "url": "/bots/7",
    },
    EventType.TAKE_PROFIT_TRIGGERED: {
        "bot_id": 7,
        "bot_name": "Grid BTC",
        "symbol": "BTC/USDT",
        "side": "sell",
        "qty": "0.0025",
        "price": "67357.95",
        "quote": "USDT",
        "realized_pnl": "15.31",
        "reason": "take_profit",
        "url": "/bots/7",
    },
    EventType.DAILY_PROFIT_TARGET_REACHED: {
        "bot_id": 7,
        "bot_name": "Grid BTC",
        "symbol": "BTC/USDT",
        "realized_pnl_today": "52.40",
        "quote": "USDT",
        "target": "50",
        "paused_until": "2031-03-05T00:00:00+00:00",
        "url": "/bots/7",
    },
    EventType.DAILY_LOSS_LIMIT_REACHED: {
        "bot_id": 7,
        "bot_name": "Grid BTC",
        "symbol": "BTC/USDT",
        "realized_pnl_today": "-31.75",
        "quote": "USDT",
        "limit": "30",
        "url": "/bots/7",
    },
    EventType.BOT_ERROR: {
        "bot_id": 7,
        "bot_name": "Grid BTC",
        "symbol": "BTC/USDT",
        "error": "Exchange unreachable after 5 tries",
        "url": "/bots/7",
    },
    EventType.API_KEY_INVALID: {
        "key_id": 3,
        "label": "Main Binance",
        "exchange": "Binance",
        "key": "****abcd",
        "error": "The exchange rejected the key",
        "bots_stopped": 2,
        "url": "/keys/",
    },
}

# Something from each sample that the email must show (the numbers and names a person needs).
EXPECTED_TEXT: dict[EventType, list[str]] = {
    EventType.TRADE_EXECUTED: ["Grid BTC", "bought", "0.0025", "BTC/USDT", "61,234.50 USDT"],
    EventType.STOP_LOSS_TRIGGERED: ["Grid BTC", "58,000.00 USDT", "-8.09 USDT"],
    EventType.TAKE_PROFIT_TRIGGERED: ["Grid BTC", "67,357.95 USDT", "15.31 USDT"],
    EventType.DAILY_PROFIT_TARGET_REACHED: ["Grid BTC", "52.40 USDT", "target of 50 USDT"],
    EventType.DAILY_LOSS_LIMIT_REACHED: ["Grid BTC", "-31.75 USDT", "limit of 30 USDT", "stopped"],
    EventType.BOT_ERROR: ["Grid BTC", "Exchange unreachable after 5 tries", "stopped"],
    EventType.API_KEY_INVALID: [
        "Main Binance",
        "****abcd",
        "Binance",
        "2 bots using it have been stopped",
        "The exchange rejected the key",
    ],
}
