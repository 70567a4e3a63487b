"""A small Bot API client over `requests`, pointed at TELEGRAM_API_BASE.

The token is part of every URL (`{base}/bot{token}/{method}`), so no error raised here ever
carries the URL or the underlying exception's text: only the method, the HTTP status and the
Bot API's own description.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import requests

logger = logging.getLogger(__name__)

_local = threading.local()


class TelegramError(Exception):
    """A Bot API call failed. `status` is the HTTP status (None when nothing answered),
    `description` the API's explanation, `retry_after` its flood-control wait in seconds."""

    def __init__(
        self,
        method: str,
        status: int | None,
        description: str,
        retry_after: float | None = None,
    ) -> None:
        self.method = method
        self.status = status
        self.description = description
        self.retry_after = retry_after
        super().__init__(f"Telegram {method}: {status or 'no answer'} {description}".strip())

    @property
    def chat_gone(self) -> bool:
        """The user blocked the bot, or the chat no longer exists: stop sending there."""
        text = self.description.lower()
        return self.status == 403 or (self.status == 400 and "chat not found" in text)


@dataclass(frozen=True)
class BotApi:
    base: str
    token: str
    timeout: float = 10.0

    def __repr__(self) -> str:  # never the token
        return f"<BotApi {self.base}>"

    def call(
        self, method: str, params: dict[str, Any] | None = None, timeout: float | None = None
    ) -> Any:
        session = getattr(_local, "session", None)
        if session is None:
            session = _local.session = requests.Session()
        url = f"{self.base.rstrip('/')}/bot{self.token}/{method}"
        try:
            response = session.post(url, json=params or {}, timeout=timeout or self.timeout)
        except requests.RequestException as exc:
            raise TelegramError(method, None, f"({type(exc).__name__})") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if response.status_code == 200 and body.get("ok"):
            return body.get("result")
        parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
        retry_after = parameters.get("retry_after")
        description = str(body.get("description") or response.reason or "")[:300]
        raise TelegramError(
            method,
            response.status_code,
            description,
            float(retry_after) if isinstance(retry_after, int | float) else None,
        )

    def get_me(self) -> dict[str, Any]:
        return self.call("getMe")

    def send_message(self, chat_id: int, text: str, **extra: Any) -> dict[str, Any]:
        params = {
            "chat_id": chat_id,
            "text": text,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }
        return self.call("sendMessage", {**params, **extra})

    def get_updates(self, offset: int, timeout: int) -> list[dict[str, Any]]:
        params = {
            "offset": offset,
            "timeout": timeout,
            "allowed_updates": ["message", "callback_query"],
        }
        return self.call("getUpdates", params, timeout=timeout + self.timeout)

    def answer_callback(self, callback_id: str, text: str = "") -> None:
        self.call("answerCallbackQuery", {"callback_query_id": callback_id, "text": text})
