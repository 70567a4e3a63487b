"""A fake Telegram Bot API: a real HTTP server on loopback that the app reaches through
TELEGRAM_API_BASE, the way it would reach api.telegram.org.

It knows the tokens in TOKENS, records every call, hands out queued updates from getUpdates
honouring `offset`, and answers sendMessage as each chat is scripted to (ok, 429 with
retry_after, 403 blocked, 400 chat not found).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "123456789:AAFakeTokenForTestsOnly-0123456789ab"
OTHER_TOKEN = "987654321:AAOtherFakeTokenForTests-0123456789"
TOKENS = {TOKEN: ("tradebots_test_bot", 123456789), OTHER_TOKEN: ("other_test_bot", 987654321)}


@dataclass
class Call:
    token: str
    method: str
    params: dict[str, Any]
    at: float


@dataclass
class FakeBotApi:
    calls: list[Call] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    scripted: dict[int, deque] = field(default_factory=lambda: defaultdict(deque))
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    next_update_id: int = 1000

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.updates.clear()
            self.scripted.clear()

    # --- what tests script ---

    def script(self, chat_id: int, *answers: tuple[int, dict]) -> None:
        """The next sendMessage answers for this chat (status, body); then 200 ok."""
        with self.lock:
            self.scripted[chat_id].extend(answers)

    def push_message(
        self, chat_id: int, text: str, username: str = "alice_tg", language: str | None = None
    ) -> int:
        """Queue a message from a user; `language` is the app's (Telegram's `language_code`)."""
        sender = {"id": chat_id, "is_bot": False, "username": username}
        if language:
            sender["language_code"] = language
        with self.lock:
            self.next_update_id += 1
            update_id = self.next_update_id
            self.updates.append(
                {
                    "update_id": update_id,
                    "message": {
                        "message_id": update_id,
                        "date": int(time.time()),
                        "chat": {"id": chat_id, "type": "private", "username": username},
                        "from": sender,
                        "text": text,
                    },
                }
            )
        return update_id

    def push_callback(self, chat_id: int, data: str) -> int:
        with self.lock:
            self.next_update_id += 1
            update_id = self.next_update_id
            self.updates.append(
                {
                    "update_id": update_id,
                    "callback_query": {
                        "id": f"cb{update_id}",
                        "from": {"id": chat_id, "is_bot": False},
                        "message": {"message_id": 1, "chat": {"id": chat_id, "type": "private"}},
                        "data": data,
                    },
                }
            )
        return update_id

    # --- what tests read ---

    def sent(self, chat_id: int | None = None) -> list[Call]:
        with self.lock:
            return [
                c
                for c in self.calls
                if c.method == "sendMessage" and (chat_id is None or c.params["chat_id"] == chat_id)
            ]

    def texts(self, chat_id: int) -> list[str]:
        return [c.params["text"] for c in self.sent(chat_id)]

    def wait_for_texts(self, chat_id: int, count: int, timeout: float = 10.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            texts = self.texts(chat_id)
            if len(texts) >= count:
                return texts
            time.sleep(0.05)
        raise AssertionError(f"chat {chat_id} got {self.texts(chat_id)}, wanted {count}")

    # --- serving ---

    def answer(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, dict]:
        with self.lock:
            self.calls.append(Call(token, method, params, time.time()))
        if token not in TOKENS:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        username, bot_id = TOKENS[token]
        if method == "getMe":
            return 200, {
                "ok": True,
                "result": {"id": bot_id, "is_bot": True, "first_name": "Bot", "username": username},
            }
        if method == "sendMessage":
            with self.lock:
                queue = self.scripted.get(int(params.get("chat_id", 0)))
                scripted = queue.popleft() if queue else None
            if scripted is not None:
                return scripted
            return 200, {"ok": True, "result": {"message_id": 1, "chat": {"id": params["chat_id"]}}}
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            deadline = time.monotonic() + min(float(params.get("timeout") or 0), 0.3)
            while True:
                with self.lock:
                    pending = [u for u in self.updates if u["update_id"] >= offset]
                if pending or time.monotonic() >= deadline:
                    return 200, {"ok": True, "result": pending[:100]}
                time.sleep(0.02)
        if method == "answerCallbackQuery":
            return 200, {"ok": True, "result": True}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}

    def start(self) -> FakeBotApi:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                _, _, rest = self.path.partition("/bot")
                token, _, method = rest.partition("/")
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b"{}"
                try:
                    params = json.loads(raw or b"{}")
                except ValueError:
                    params = {}
                status, body = fake.answer(token, method, params)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def too_many(retry_after: int) -> tuple[int, dict]:
    return 429, {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {retry_after}",
        "parameters": {"retry_after": retry_after},
    }


BLOCKED = (
    403,
    {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
)
CHAT_NOT_FOUND = (
    400,
    {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
)
