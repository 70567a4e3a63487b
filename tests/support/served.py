"""The app as the Procfile serves it: gunicorn on a free loopback port, and a client for it.

Werkzeug's test client runs a request inside the test's own app context and reads a streamed
body before that context ends; gunicorn does neither. Paths where the two differ (streamed
responses, headers, process-level state) are tested here, through real HTTP.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

import requests

from tests.support.processes import BIN, ROOT
from tests.support.services import free_port

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def procfile_command(name: str = "web", procfile: str = "Procfile.local") -> str:
    """The shell command of process `name` in `procfile`, exactly as honcho would run it."""
    for line in (ROOT / procfile).read_text().splitlines():
        key, sep, command = line.partition(":")
        if sep and key.strip() == name:
            return command.strip()
    raise LookupError(f"{procfile} has no {name!r} process")


class ServedApp:
    """One gunicorn master with the Procfile's workers and flags, logging to a file."""

    def __init__(
        self, env: Mapping[str, str], log_path: Path, *, procfile: str = "Procfile.local"
    ) -> None:
        self.port = free_port()
        self.env = {**env, "PORT": str(self.port), "PATH": f"{BIN}:{env.get('PATH', '')}"}
        self.command = procfile_command("web", procfile)
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ServedApp:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            ["bash", "-c", f"exec {self.command}"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited at start:\n{self.log()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    return self
            except requests.RequestException:  # not listening yet, or still booting
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer /healthz in {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def worker_pids(self) -> list[int]:
        assert self.proc is not None
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        return [int(pid) for pid in children.split()]

    def workers_rss(self) -> int:
        """Resident memory of all web workers together, in bytes."""
        total = 0
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except FileNotFoundError:
                continue
            kb = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))
            total += int(kb) * 1024
        return total

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def mark(self) -> int:
        """A position in the log; `log_since(mark)` reads what came after it."""
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, mark: int) -> str:
        with self.log_path.open("rb") as fh:
            fh.seek(mark)
            return fh.read().decode(errors="replace")

    def client(self) -> WebClient:
        return WebClient(self.url)


class WebClient(requests.Session):
    """A browser without JavaScript: cookies, and the page's CSRF token on every POST.

    Paths are relative to the server's URL; redirects are not followed unless asked for.
    """

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url
        self._csrf: str | None = None

    def request(self, method, url, *args, **kwargs):
        if url.startswith("/"):
            url = self.base_url + url
        kwargs.setdefault("allow_redirects", False)
        kwargs.setdefault("timeout", 60)
        return super().request(method, url, *args, **kwargs)

    def csrf_token(self, path: str = "/auth/login") -> str:
        if self._csrf is None:
            page = self.get(path, allow_redirects=True)
            match = CSRF_META.search(page.text)
            assert match, f"no CSRF token on {path} ({page.status_code})"
            self._csrf = match.group(1)
        return self._csrf

    def submit(self, path: str, data: Mapping[str, object] | None = None, **kwargs):
        """POST a form as the browser does without htmx (csrf_token among the fields)."""
        fields = {"csrf_token": self.csrf_token(), **(data or {})}
        return self.post(path, data=fields, **kwargs)

    def login(self, email: str, password: str) -> None:
        response = self.submit("/auth/login", {"email": email, "password": password})
        assert response.status_code == 302, response.text[:500]
        self._csrf = None  # a new session gets a new token
