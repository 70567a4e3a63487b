"""Words and numbers shared by the channels: labels, number formatting, subjects, links."""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from webapp.notify import kinds

logger = logging.getLogger(__name__)

SETTINGS_PATH = "/notifications/"

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


def headline(kind: str, data: dict[str, Any]) -> str:
    """One line that says what happened (an email's subject, a message's first line)."""
    label = kinds.label(kind)
    bot = data.get("bot_name")
    if kind == "trade_executed" and data.get("side"):
        side = str(data["side"]).upper()
        text = f"{side} {format_value(data.get('qty'))} {data.get('symbol', '')}".strip()
        if data.get("price") is not None:
            text += f" at {format_value(data.get('price'))}"
            if data.get("quote"):
                text += f" {data['quote']}"
        return text + (f" ({bot})" if bot else "")
    key_label = data.get("label") or data.get("key_label")
    if kind == "api_key_invalid" and key_label:
        return f"{label}: {key_label}"
    return label + (f": {bot}" if bot else "")


def subject_for(kind: str, data: dict[str, Any]) -> str:
    return f"[Tradebots] {headline(kind, data)}"


def short_facts(data: dict[str, Any]) -> list[str]:
    """The few facts a short message (Telegram, SMS) carries after its headline, most
    important first: PnL, the error or reason, and the limits that were hit."""
    facts = []
    quote = f" {data['quote']}" if data.get("quote") else ""
    for key in ("realized_pnl", "realized_pnl_today"):
        if data.get(key) not in (None, ""):
            facts.append(f"{_KEY_LABELS[key]}: {format_value(data[key])}{quote}")
    for key in ("target", "limit"):
        if data.get(key) not in (None, ""):
            facts.append(f"{_KEY_LABELS[key]}: {format_value(data[key])}{quote}")
    for key in ("error", "reason", "bots_stopped", "paused_until"):
        if data.get(key) not in (None, ""):
            facts.append(f"{_KEY_LABELS[key]}: {format_value(data[key])}")
    if data.get("message"):
        facts.append(str(data["message"]))
    return facts
