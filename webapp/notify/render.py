"""Words and numbers shared by the channels: labels, number formatting, subjects, links.

Everything here reads the current language: a channel renders each row inside
`webapp.i18n.timezones.as_recipient(user)`, so a message speaks its recipient's language and
writes numbers their way (`1,234.5`, `1.234,5`). Values the engine wrote in English (a stop
reason, an error) are shown translated when they are one of its known texts."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import format_decimal
from flask_babel import get_locale

from webapp.i18n.current import gettext as _
from webapp.i18n.current import lazy_gettext as _l
from webapp.i18n.engine_text import engine_text
from webapp.i18n.labels import MODES, REASON_LABELS, SIGNALS, name_of
from webapp.notify import kinds
from webapp.templating import format_datetime

logger = logging.getLogger(__name__)

SETTINGS_PATH = "/notifications/"

# Keys shown in the headline or as links, not repeated in the details table.
_HIDDEN_KEYS = {"url", "message", "bot_id", "user_id", "key_id", "trade_id", "quote", "why"}
_KEY_LABELS = {
    "bot_name": _l("Bot"),
    "symbol": _l("Symbol"),
    "side": _l("Side"),
    "qty": _l("Quantity"),
    "price": _l("Price"),
    "fee": _l("Fee"),
    "cost": _l("Cost"),
    "realized_pnl": _l("Realized PnL"),
    "realized_pnl_today": _l("Realized PnL today"),
    "entry_price": _l("Entry price"),
    "stop_loss_pct": _l("Stop-loss %"),
    "take_profit_pct": _l("Take-profit %"),
    "daily_profit_target": _l("Daily profit target"),
    "daily_loss_limit": _l("Daily loss limit"),
    "reason": _l("Reason"),
    "mode": _l("Mode"),
    "error": _l("Error"),
    "consecutive_errors": _l("Consecutive errors"),
    "exchange": _l("Exchange"),
    "key_label": _l("API key"),
    "label": _l("API key"),
    "key": _l("Key"),
    "stopped_bots": _l("Bots stopped"),
    "bots_stopped": _l("Bots stopped"),
    "limit": _l("Daily loss limit"),
    "target": _l("Daily profit target"),
    "paused_until": _l("Paused until"),
    "executed_at": _l("Executed at"),
    "banned_until": _l("Banned until"),
    "channel": _l("Channel"),
    "phone": _l("Phone number"),
    "client_order_id": _l("Order id"),
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


#: Payload values written by the engine in English: shown in the reader's language.
_ENGINE_TEXTS = {"reason", "error", "message"}
#: Payload values that are codes with a name in each language.
_CODES = {"side": SIGNALS, "mode": MODES}
#: Payload values that are moments: shown in the reader's zone.
_MOMENTS = {"executed_at", "paused_until", "banned_until"}
_SIDES = {"buy": _l("BUY"), "sell": _l("SELL")}


def format_value(value: Any) -> str:
    """A payload value as the reader's language writes it: counts grouped (`1,234`), prices and
    quantities with at least two and at most eight decimals (`0.50`, `1.234,56789`)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
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
        if not number.is_finite():
            return str(value)
        locale = get_locale() or "en"
        if isinstance(value, int) or (isinstance(value, str) and "." not in value):
            return format_decimal(number, format="#,##0", locale=locale)
        return format_decimal(number, format="#,##0.00######", locale=locale)
    return str(value)


def moment(value: Any) -> str | None:
    """A time a payload carries (ISO 8601, or `YYYY-MM-DD HH:MM:SS UTC`) in the reader's
    language and zone; text that is not a time is returned as it is, nothing as None."""
    if not isinstance(value, str) or not value:
        return None
    text = value.removesuffix(" UTC").replace(" ", "T", 1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return value
    return format_datetime(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))


def _value(key: str, value: Any) -> str:
    if key == "reason" and value in REASON_LABELS:
        return name_of(REASON_LABELS, value)
    if key in _CODES and isinstance(value, str):
        return name_of(_CODES[key], value)
    if key in _MOMENTS and isinstance(value, str):
        return moment(value) or "—"
    if key in _ENGINE_TEXTS and isinstance(value, str):
        return engine_text(value)
    return format_value(value)


def fact(label: Any, value: str) -> str:
    """ "Label: value", as the language writes it (French puts a space before the colon)."""
    return _("%(label)s: %(value)s", label=label, value=value)


def details(data: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for key, value in data.items():
        if key in _HIDDEN_KEYS or value is None or (key == "reason" and data.get("why")):
            continue
        name = _KEY_LABELS.get(key)
        rows.append((str(name) if name else key.replace("_", " ").capitalize(), _value(key, value)))
    return rows


def headline(kind: str, data: dict[str, Any]) -> str:
    """One line that says what happened (an email's subject, a message's first line)."""
    label = kinds.label(kind)
    bot = data.get("bot_name")
    if kind == "trade_executed" and data.get("side"):
        side = str(data["side"])
        words = {
            "side": str(_SIDES.get(side.lower(), side.upper())),
            "qty": format_value(data.get("qty")),
            "symbol": data.get("symbol", ""),
        }
        if data.get("price") is not None:
            price = format_value(data.get("price"))
            words["price"] = f"{price} {data['quote']}" if data.get("quote") else price
            text = _("%(side)s %(qty)s %(symbol)s at %(price)s", **words)
        else:
            text = _("%(side)s %(qty)s %(symbol)s", **words)
        text = re.sub(" {2,}", " ", text).strip()  # no symbol: no double space (but the
        # narrow spaces that group a French number stay)
        return _("%(text)s (%(bot)s)", text=text, bot=bot) if bot else text
    key_label = data.get("label") or data.get("key_label")
    if kind == "api_key_invalid" and key_label:
        return _("%(kind)s: %(name)s", kind=label, name=key_label)
    return _("%(kind)s: %(name)s", kind=label, name=bot) if bot else label


def subject_for(kind: str, data: dict[str, Any]) -> str:
    return f"[Tradebots] {headline(kind, data)}"


def channel_reason(data: dict[str, Any]) -> str | None:
    """Why a channel was turned off (a CHANNEL_DISABLED notice): from the channel's own code
    (`why`) in the reader's language; older notices carry only the English `reason`."""
    why = data.get("why")
    if why and data.get("channel") == "Telegram":
        return _("We unlinked your Telegram chat: %(why)s.", why=_(why))
    if why and data.get("channel") == "SMS" and data.get("phone"):
        return _("We turned SMS off for %(phone)s: %(why)s.", phone=data["phone"], why=_(why))
    return engine_text(data["reason"]) if data.get("reason") else None


def short_facts(data: dict[str, Any]) -> list[str]:
    """The few facts a short message (Telegram, SMS) carries after its headline, most
    important first: PnL, the error or reason, and the limits that were hit."""
    facts = []
    quote = f" {data['quote']}" if data.get("quote") else ""
    for key in ("realized_pnl", "realized_pnl_today", "target", "limit"):
        if data.get(key) not in (None, ""):
            facts.append(fact(_KEY_LABELS[key], format_value(data[key]) + quote))
    if data.get("why"):
        facts.append(channel_reason(data))
    for key in ("error", "reason", "bots_stopped", "paused_until"):
        if key == "reason" and data.get("why"):
            continue
        if data.get(key) not in (None, ""):
            facts.append(fact(_KEY_LABELS[key], _value(key, data[key])))
    if data.get("message"):
        facts.append(_value("message", data["message"]))
    return facts
