"""Benchmark: webhook notifications end to end, on loopback only.

Raises N `trade_executed` events for many users (each in its own transaction, as bot cycles
do) while real `rq worker` processes deliver them to a local HTTPS receiver that verifies
every signature. A share of first attempts is answered 500 to exercise retries. Prints
deliveries per second, raise-to-2xx latency (p50/p95), retries, lost and duplicated
deliveries. It measures; it asserts nothing about timings.

    .venv/bin/python -m tests.bench.notifications --events 500 --users 50 --workers 2

Uses a private redis-server and a temporary SQLite database (or a fresh PostgreSQL database
next to TEST_DATABASE_URL when that is set).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import ssl
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from pathlib import Path

import trustme
from cryptography.fernet import Fernet
from werkzeug import Request, Response
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.database import private_database  # noqa: E402
from tests.support.processes import start  # noqa: E402
from tests.support.services import RedisServer  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.config import Config  # noqa: E402
from webapp.events import EventType, emit  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import Notification, NotificationChannel, NotificationStatus  # noqa: E402
from webapp.notify import endpoints, preferences, signing  # noqa: E402

WORKER_ENV = {
    "NOTIFY_RETRY_DELAYS": "0.5,1,2",
    "NOTIFY_MAX_ATTEMPTS": "4",
    "NOTIFY_USER_HOURLY_LIMIT": "1000000",
    "NOTIFY_USER_DAILY_LIMIT": "1000000",
    "NOTIFY_GLOBAL_PER_MINUTE": "1000000",
    "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
    "LOG_LEVEL": "WARNING",
}


class Receiver:
    """A threaded HTTPS server that checks signatures and records every delivery."""

    def __init__(self, ca: trustme.CA, fail_rate: float) -> None:
        self.fail_rate = fail_rate
        self.secrets: dict[str, str] = {}  # url path -> secret
        self.lock = threading.Lock()
        self.ok: Counter[str] = Counter()  # webhook-id -> 2xx answers
        self.latency: dict[str, float] = {}  # webhook-id -> seconds from raise to first 2xx
        self.first_2xx_at: list[float] = []
        self.failed_on_purpose = 0
        self.failed_once: set[str] = set()
        self.bad_signatures = 0
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True, ssl_context=context)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_port

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)

    def app(self, environ, start_response):
        request = Request(environ)
        body = request.get_data()
        now = time.time()
        secret = self.secrets.get(request.path)
        try:
            signing.verify(secret or "", request.headers, body)
        except (signing.SigningError, ValueError):
            with self.lock:
                self.bad_signatures += 1
            return Response("bad signature", status=400)(environ, start_response)
        msg_id = request.headers["webhook-id"]
        # Fail the first attempt of a fixed share of messages (chosen by id): retries succeed.
        if (zlib.crc32(msg_id.encode()) % 10_000) < self.fail_rate * 10_000:
            with self.lock:
                first = msg_id not in self.failed_once
                self.failed_once.add(msg_id)
            if first:
                self.failed_on_purpose += 1
                return Response("try again", status=500)(environ, start_response)
        raised_at = json.loads(body)["data"]["raised_at"]
        with self.lock:
            self.ok[msg_id] += 1
            if msg_id not in self.latency:
                self.latency[msg_id] = now - raised_at
                self.first_2xx_at.append(now)
        return Response("ok")(environ, start_response)


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--fail-rate", type=float, default=0.05)
    parser.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args(argv)
    args.events = max(1, min(args.events, 20_000))  # bounded
    args.workers = max(1, min(args.workers, 8))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log per request

    workdir = Path(tempfile.mkdtemp(prefix="bench-notify-"))
    ca = trustme.CA()
    bundle = workdir / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    redis = RedisServer(workdir).start()
    receiver = Receiver(ca, args.fail_rate).start()
    processes = []
    try:
        with private_database(os.environ.get("TEST_DATABASE_URL"), workdir) as database_url:

            class BenchConfig(Config):
                SECRET_KEY = "bench-" + "x" * 40
                ENCRYPTION_KEY = Fernet.generate_key().decode()
                SQLALCHEMY_DATABASE_URI = database_url
                REDIS_URL = redis.url
                WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
                WEBHOOK_CA_BUNDLE = str(bundle)
                LOG_LEVEL = "WARNING"

            app = create_app(BenchConfig)
            with app.app_context():
                db.create_all()
                users = setup_users(args.users, receiver)
                env = dict(WORKER_ENV, WEBHOOK_CA_BUNDLE=str(bundle))
                command = [
                    "rq", "worker", "--url", redis.url, "--quiet",
                    "--worker-class", "workers.AppWorker", "notifications",
                ]  # fmt: skip
                processes.extend(start(app, *command, **env) for _ in range(args.workers))
                wait_for_workers(redis.url, args.workers)

                started = time.time()
                for n in range(args.events):
                    user_id = users[n % len(users)]
                    emit(user_id, EventType.TRADE_EXECUTED, sample(n, time.time()))
                    db.session.commit()
                raised_in = time.time() - started

                deadline = time.time() + args.timeout
                while time.time() < deadline:
                    db.session.expire_all()
                    pending = (
                        db.session.query(Notification)
                        .filter(Notification.status == NotificationStatus.PENDING)
                        .count()
                    )
                    db.session.rollback()
                    if pending == 0:
                        break
                    time.sleep(0.2)
                report(args, app, receiver, started, raised_in)
                db.session.remove()
                db.engine.dispose()
    finally:
        for proc in processes:
            proc.terminate()
        for proc in processes:
            try:
                proc.wait(timeout=10)
            except Exception:
                proc.kill()
        receiver.stop()
        redis.stop()
    return 0


def wait_for_workers(redis_url: str, count: int, timeout: float = 60.0) -> None:
    """Start the clock only once every worker listens (building the app takes a moment)."""
    from redis import Redis
    from rq import Worker

    conn = Redis.from_url(redis_url)
    deadline = time.time() + timeout
    while time.time() < deadline and len(Worker.all(connection=conn)) < count:
        time.sleep(0.1)
    time.sleep(0.5)


def setup_users(count: int, receiver: Receiver) -> list[int]:
    from webapp import accounts

    ids = []
    for n in range(count):
        user = accounts.create_user(f"bench{n}@example.com", "bench-password-123456")
        db.session.flush()
        path = f"/hook/{n}"
        _endpoint, secret = endpoints.create_endpoint(
            user.id, f"https://127.0.0.1:{receiver.port}{path}"
        )
        receiver.secrets[path] = secret
        for event in EventType:
            preferences.set_preference(user.id, event, NotificationChannel.EMAIL, False)
        preferences.set_preference(
            user.id, EventType.TRADE_EXECUTED, NotificationChannel.WEBHOOK, True
        )
        ids.append(user.id)
    db.session.commit()
    return ids


def sample(n: int, raised_at: float) -> dict:
    return {
        "bot_id": n,
        "bot_name": f"bench-{n}",
        "symbol": "BTC/USDT",
        "side": "buy" if n % 2 else "sell",
        "qty": "0.001",
        "price": "60000.00",
        "quote": "USDT",
        "url": f"/bots/{n}",
        "raised_at": raised_at,
    }


def report(args, app, receiver: Receiver, started: float, raised_in: float) -> None:
    rows = db.session.query(Notification).all()
    by_status = Counter(row.status.value for row in rows)
    attempts = sum(row.attempts for row in rows)
    delivered_ids = set(receiver.ok)
    sent_ids = {row.public_id for row in rows if row.status == NotificationStatus.SENT}
    lost = [row.public_id for row in rows if row.public_id not in delivered_ids]
    duplicated = sum(1 for count in receiver.ok.values() if count > 1)
    latencies = list(receiver.latency.values())
    elapsed = (max(receiver.first_2xx_at) - started) if receiver.first_2xx_at else float("nan")
    print(f"events raised           {args.events} for {args.users} users in {raised_in:.2f} s")
    print(f"workers                 {args.workers}")
    print(f"outbox rows             {len(rows)} {dict(by_status)}")
    print(f"delivered (2xx)         {len(delivered_ids)} (rows marked sent: {len(sent_ids)})")
    print(f"deliveries/s            {len(delivered_ids) / elapsed:.1f} (first raise to last 2xx)")
    print(f"raise -> 2xx p50        {percentile(latencies, 50) * 1000:.0f} ms")
    print(f"raise -> 2xx p95        {percentile(latencies, 95) * 1000:.0f} ms")
    print(f"raise -> 2xx max        {percentile(latencies, 100) * 1000:.0f} ms")
    on_purpose = receiver.failed_on_purpose
    print(f"retries                 {attempts - len(rows)} (500s on purpose: {on_purpose})")
    print(f"bad signatures          {receiver.bad_signatures}")
    print(f"lost                    {len(lost)}")
    print(f"duplicated              {duplicated} (same webhook-id answered 2xx more than once)")


if __name__ == "__main__":
    raise SystemExit(main())
