"""Database models. Importing this package registers every table with SQLAlchemy."""

from __future__ import annotations

from webapp.models.apikey import ApiKey
from webapp.models.bot import (
    ActivityKind,
    Bot,
    BotActivity,
    BotMode,
    BotState,
    BotStatus,
    Trade,
    TradeReason,
    TradeSide,
)
from webapp.models.notification import (
    Notification,
    NotificationChannel,
    NotificationPreference,
    NotificationStatus,
    QuietHours,
    WebhookEndpoint,
)
from webapp.models.user import User

__all__ = [
    "ActivityKind",
    "ApiKey",
    "Bot",
    "BotActivity",
    "BotMode",
    "BotState",
    "BotStatus",
    "Notification",
    "NotificationChannel",
    "NotificationPreference",
    "NotificationStatus",
    "QuietHours",
    "Trade",
    "TradeReason",
    "TradeSide",
    "User",
    "WebhookEndpoint",
]
