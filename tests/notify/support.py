"""Helpers shared by the notification tests: a user with a webhook endpoint, sample events."""

from __future__ import annotations

from dataclasses import dataclass

from webapp.events import EventType
from webapp.extensions import db
from webapp.models import Notification, NotificationChannel, User
from webapp.notify import endpoints, preferences


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


SAMPLE_DATA: dict[EventType, dict] = {
    EventType.TRADE_EXECUTED: {
        "bot_id": 7,
        "bot_name": "Grid BTC",
        "symbol": "BTC/USDT",
        "side": "buy",
        "qty": "0.00250000",
        "price": "61234.50",
        "fee": "0.15",
        "reason": "signal",
        "url": "/bots/7",
    },
    EventType.STOP_LOSS_TRIGGERED: {
        "bot_id": 7,
        "bot_name": "Grid BTC",
        "symbol": "BTC/USDT",
        "qty": "0.0025",
        "price": "58000.00",
        "entry_price": "61234.50",
        "stop_loss_pct": "5",
        "realized_pnl": "-8.09",
        "url": "/bots/7",
    },
    EventType.TAKE_PROFIT_TRIGGERED: {
        "bot_id": 7,
        "bot_name": "Grid BTC",
        "symbol": "BTC/USDT",
        "qty": "0.0025",
        "price": "67357.95",
        "entry_price": "61234.50",
        "take_profit_pct": "10",
        "realized_pnl": "15.31",
        "url": "/bots/7",
    },
    EventType.DAILY_PROFIT_TARGET_REACHED: {
        "bot_id": 7,
        "bot_name": "Grid BTC",
        "symbol": "BTC/USDT",
        "realized_pnl_today": "52.40",
        "daily_profit_target": "50",
        "url": "/bots/7",
    },
    EventType.DAILY_LOSS_LIMIT_REACHED: {
        "bot_id": 7,
        "bot_name": "Grid BTC",
        "symbol": "BTC/USDT",
        "realized_pnl_today": "-31.75",
        "daily_loss_limit": "30",
        "url": "/bots/7",
    },
    EventType.BOT_ERROR: {
        "bot_id": 7,
        "bot_name": "Grid BTC",
        "symbol": "BTC/USDT",
        "error": "Exchange unreachable after 5 tries",
        "consecutive_errors": 5,
        "url": "/bots/7",
    },
    EventType.API_KEY_INVALID: {
        "key_id": 3,
        "key_label": "Main Binance",
        "exchange": "binance",
        "error": "The exchange rejected the key",
        "stopped_bots": ["Grid BTC", "ETH swing"],
        "url": "/keys/",
    },
}

# Something from each sample that the email must show (the numbers and names a person needs).
EXPECTED_TEXT: dict[EventType, list[str]] = {
    EventType.TRADE_EXECUTED: ["Grid BTC", "bought", "0.0025", "BTC/USDT", "61,234.50"],
    EventType.STOP_LOSS_TRIGGERED: ["Grid BTC", "58,000.00", "-8.09"],
    EventType.TAKE_PROFIT_TRIGGERED: ["Grid BTC", "67,357.95", "15.31"],
    EventType.DAILY_PROFIT_TARGET_REACHED: ["Grid BTC", "52.40", "50"],
    EventType.DAILY_LOSS_LIMIT_REACHED: ["Grid BTC", "-31.75", "stopped"],
    EventType.BOT_ERROR: ["Grid BTC", "Exchange unreachable after 5 tries", "stopped"],
    EventType.API_KEY_INVALID: ["Main Binance", "binance", "Grid BTC, ETH swing"],
}
