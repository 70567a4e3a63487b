"""What each channel sends: the email (text + HTML from templates) and the webhook envelope."""

from __future__ import annotations

import json
import logging
from datetime import UTC
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import render_template
from flask_mail import Message
from jinja2 import TemplateNotFound

from webapp.models import Notification, User
from webapp.notify import kinds
from webapp.notify.settings import NotifySettings

logger = logging.getLogger(__name__)

SETTINGS_PATH = "/notifications/"
TEMPLATE_DIR = "email/events"

# Keys shown in the headline or as links, not repeated in the details table.
_HIDDEN_KEYS = {"url", "message", "bot_id", "user_id", "key_id", "trade_id", "quote"}
_KEY_LABELS = {
    "bot_name": "Bot",
    "symbol": "Symbol",
    "side": "Side",
    "qty": "Quantity",
    "price": "Price",
    "fee": "Fee",
    "cost": "Cost",
    "realized_pnl": "Realized PnL",
    "realized_pnl_today": "Realized PnL today",
    "entry_price": "Entry price",
    "stop_loss_pct": "Stop-loss %",
    "take_profit_pct": "Take-profit %",
    "daily_profit_target": "Daily profit target",
    "daily_loss_limit": "Daily loss limit",
    "reason": "Reason",
    "mode": "Mode",
    "error": "Error",
    "consecutive_errors": "Consecutive errors",
    "exchange": "Exchange",
    "key_label": "API key",
    "label": "API key",
    "key": "Key",
    "stopped_bots": "Bots stopped",
    "bots_stopped": "Bots stopped",
    "limit": "Daily loss limit",
    "target": "Daily profit target",
    "paused_until": "Paused until",
    "executed_at": "Executed at",
    "client_order_id": "Order id",
}


def safe_path(url: Any) -> str | None:
    """Only a same-site path may become a link: never an absolute or protocol-relative URL."""
    if not isinstance(url, str) or not url.startswith("/") or url.startswith("//"):
        return None
    if any(ch.isspace() for ch in url) or "\\" in url:
        return None
    return url


def link_for(data: dict[str, Any], base_url: str) -> str:
    return base_url + (safe_path(data.get("url")) or "/")


def format_value(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(format_value(v) for v in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {format_value(v)}" for k, v in value.items())
    if isinstance(value, (int, float, Decimal)) or (
        isinstance(value, str) and value.replace(".", "", 1).lstrip("-").isdigit()
    ):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return str(value)
        if isinstance(value, int) or (isinstance(value, str) and "." not in value):
            return f"{number:,}"
        # Trim trailing zeros but keep at least two decimals (prices and quantities).
        text = f"{number:,.8f}".rstrip("0")
        whole, _, frac = text.partition(".")
        return f"{whole}.{frac.ljust(2, '0')}"
    return str(value)


def details(data: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for key, value in data.items():
        if key in _HIDDEN_KEYS or value is None:
            continue
        rows.append((_KEY_LABELS.get(key, key.replace("_", " ").capitalize()), format_value(value)))
    return rows


def subject_for(kind: str, data: dict[str, Any]) -> str:
    label = kinds.label(kind)
    bot = data.get("bot_name")
    if kind == "trade_executed" and data.get("side"):
        side = str(data["side"]).upper()
        text = f"{side} {format_value(data.get('qty'))} {data.get('symbol', '')}".strip()
        if data.get("price") is not None:
            text += f" at {format_value(data.get('price'))}"
            if data.get("quote"):
                text += f" {data['quote']}"
        return f"[Tradebots] {text}" + (f" ({bot})" if bot else "")
    key_label = data.get("label") or data.get("key_label")
    if kind == "api_key_invalid" and key_label:
        return f"[Tradebots] {label}: {key_label}"
    return f"[Tradebots] {label}" + (f": {bot}" if bot else "")


def _render(kind: str, ext: str, context: dict[str, Any]) -> str:
    try:
        return render_template(f"{TEMPLATE_DIR}/{kind}.{ext}", **context)
    except TemplateNotFound:
        logger.error("no %s email template for %s; using the generic one", ext, kind)
        return render_template(f"{TEMPLATE_DIR}/_generic.{ext}", **context)


def build_email(notification: Notification, user: User, cfg: NotifySettings) -> Message:
    data = dict(notification.payload or {})
    context = {
        "kind": notification.event_type,
        "label": kinds.label(notification.event_type),
        "data": data,
        "details": details(data),
        "fmt": format_value,
        "link": link_for(data, cfg.base_url),
        "settings_link": cfg.base_url + SETTINGS_PATH,
        "user": user,
        "notification": notification,
        "created_at": notification.created_at,
    }
    return Message(
        subject=subject_for(notification.event_type, data),
        recipients=[user.email],
        body=_render(notification.event_type, "txt", context),
        html=_render(notification.event_type, "html", context),
        extra_headers={"X-Tradebots-Notification": notification.public_id},
    )


def webhook_body(notification: Notification) -> bytes:
    """The JSON envelope; the same bytes on every retry (only the signature header changes)."""
    created = notification.created_at.astimezone(UTC)
    envelope = {
        "type": notification.event_type,
        "timestamp": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "data": notification.payload or {},
    }
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode()
