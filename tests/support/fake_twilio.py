"""A fake Twilio Messages API: a real HTTP server on loopback reached through TWILIO_API_BASE.

It checks HTTP Basic auth against SID/AUTH_TOKEN, records every message (To, From, Body) and
answers each recipient as scripted (201 by default; 429, 500, or an error code like 21610).
"""

from __future__ import annotations

import base64
import json
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

SID = "AC0123456789abcdef0123456789abcdef"
AUTH_TOKEN = "twilio-fake-auth-token-never-shown"
FROM = "+15005550006"


@dataclass
class FakeTwilio:
    messages: list[dict[str, str]] = field(default_factory=list)
    scripted: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
            self.scripted.clear()

    def script(self, to: str, *answers: tuple[int, dict]) -> None:
        with self.lock:
            self.scripted[to].extend(answers)

    def bodies(self, to: str) -> list[str]:
        with self.lock:
            return [m["Body"] for m in self.messages if m["To"] == to]

    def answer(self, method: str, path: str, auth: str | None, form: dict) -> tuple[int, dict]:
        expected = "Basic " + base64.b64encode(f"{SID}:{AUTH_TOKEN}".encode()).decode()
        if auth != expected:
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        if method == "GET" and path == f"/2010-04-01/Accounts/{SID}.json":
            return 200, {"sid": SID, "status": "active"}
        if method == "POST" and path == f"/2010-04-01/Accounts/{SID}/Messages.json":
            to = form.get("To", "")
            with self.lock:
                queue = self.scripted.get(to)
                scripted = queue.popleft() if queue else None
                if scripted is None:
                    self.messages.append(form)
            if scripted is not None:
                return scripted
            return 201, {"sid": "SM" + "0" * 32, "status": "queued", "to": to}
        return 404, {"code": 20404, "message": "Not found", "status": 404}

    def start(self) -> FakeTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                status, body = fake.answer(
                    method, self.path, self.headers.get("Authorization"), form
                )
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                self._serve("POST")

            def do_GET(self) -> None:
                self._serve("GET")

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


def twilio_error(status: int, code: int, message: str) -> tuple[int, dict]:
    return status, {"code": code, "message": message, "status": status}
