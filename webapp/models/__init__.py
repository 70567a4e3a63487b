"""Database models. Importing this package registers every table with SQLAlchemy."""

from __future__ import annotations

from webapp.models.apikey import ApiKey
from webapp.models.backtest import Backtest, BacktestStatus, CandleBar
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
from webapp.models.order import ACTIVE_STATUSES, BotOrder, OrderStatus
from webapp.models.rollup import BotPnlDay, UserPnlDay
from webapp.models.security import (
    AuditEvent,
    OperatorSetting,
    RecoveryCode,
    TotpCredential,
    UserSession,
)
from webapp.models.signal import BotSignal, SignalAction, SignalStatus
from webapp.models.sms import SmsNumber
from webapp.models.telegram import TelegramBot, TelegramChat, TelegramLinkCode
from webapp.models.token import ApiToken, TokenScope
from webapp.models.user import User

__all__ = [
    "ACTIVE_STATUSES",
    "ActivityKind",
    "ApiKey",
    "ApiToken",
    "AuditEvent",
    "Backtest",
    "BacktestStatus",
    "Bot",
    "BotActivity",
    "BotMode",
    "BotOrder",
    "BotPnlDay",
    "BotSignal",
    "BotState",
    "BotStatus",
    "CandleBar",
    "Notification",
    "NotificationChannel",
    "NotificationPreference",
    "NotificationStatus",
    "OperatorSetting",
    "OrderStatus",
    "QuietHours",
    "RecoveryCode",
    "SignalAction",
    "SignalStatus",
    "SmsNumber",
    "TelegramBot",
    "TelegramChat",
    "TelegramLinkCode",
    "TokenScope",
    "TotpCredential",
    "Trade",
    "TradeReason",
    "TradeSide",
    "User",
    "UserPnlDay",
    "UserSession",
    "WebhookEndpoint",
]
