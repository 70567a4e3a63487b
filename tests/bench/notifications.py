"""Benchmark: notifications end to end (webhook, Telegram or SMS), on loopback only.

Real `rq worker` processes, with the scheduler (`flask schedule run`) beside them as in the
Procfile, deliver `trade_executed` webhooks of many users to a local HTTPS
receiver that verifies every signature and answers a share of first attempts with 500 (so
retries happen). Two phases:

1. backlog: N events are raised (each in its own transaction, as bot cycles do) while Redis
   cannot be reached, so only the outbox rows exist; one sweep then hands them all to the
   workers at once. Deliveries/s is N over the time from that sweep to the last 2xx; CPU
   per delivery counts until the queue is empty.
2. steady: M events are raised at --rate per second with the workers running, below their
   capacity; raise-to-2xx latency (p50/p95) is measured on these, also split into rows
   that went through at once and rows whose first attempt got a 500 (those wait for the
   first retry delay, 0.5 s here).

Prints deliveries/s, latency, retries, and lost or duplicated deliveries. It measures; it
asserts nothing about timings, but exits 1 when a notification was lost or delivered twice
(or two reached one Telegram chat within a second). Stops by itself (every wait is bounded
by --timeout), and only ever listens on and connects to 127.0.0.1.

    .venv/bin/python -m tests.bench.notifications --events 2000 --users 50 --workers 2

`--channel telegram` sends through a fake Bot API and `--channel sms` through a fake Twilio
(plain HTTP on loopback, reached through TELEGRAM_API_BASE / TWILIO_API_BASE), one chat or
number per user, failing a share of first attempts with 429 (Telegram, retry_after 1) or 503
(Twilio). For Telegram it also reports the shortest gap between two messages to one chat.

    .venv/bin/python -m tests.bench.notifications --channel telegram --users 400 --events 2000 \
        --telegram-per-second 1000

The receiver keeps connections alive like most real ones (--no-keep-alive closes each, for
a TLS handshake per delivery); --worker-class workers.AppWorker compares the forking worker.

Uses a private redis-server and a temporary SQLite database, or a fresh PostgreSQL database
(created next to --database-url / TEST_DATABASE_URL, dropped afterwards).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import trustme
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.database import private_database  # noqa: E402
from tests.support.processes import BIN, process_env  # noqa: E402
from tests.support.services import RedisServer, free_port  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.config import Config  # noqa: E402
from webapp.events import EventType, emit  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import Notification, NotificationChannel, NotificationStatus  # noqa: E402
from webapp.notify import channels, endpoints, jobs, preferences, signing  # noqa: E402

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
    """A threaded HTTPS server that checks signatures and records every delivery.

    Built on http.server rather than werkzeug's development server, because that one closes
    every connection: a real receiver keeps connections alive, and so does this one (unless
    `keep_alive` is off, to measure a TLS handshake per delivery).
    """

    def __init__(self, ca: trustme.CA, fail_rate: float, keep_alive: bool = True) -> None:
        self.fail_rate = fail_rate
        self.secrets: dict[str, str] = {}  # url path -> secret
        self.lock = threading.Lock()
        self.ok: Counter[str] = Counter()  # webhook-id -> 2xx answers
        self.first_2xx: dict[str, float] = {}  # webhook-id -> time of its first 2xx
        self.latency: dict[str, float] = {}  # webhook-id -> seconds from raise to first 2xx
        self.failed_on_purpose = 0
        self.failed_once: set[str] = set()
        self.bad_signatures = 0
        self.connections = 0
        self.lost = 0  # rows the report found undelivered
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"
            # Headers and body are two writes: without this, Nagle's algorithm holds the body
            # until the client's delayed ACK (40 ms) on a kept-alive connection.
            disable_nagle_algorithm = True

            def setup(self) -> None:
                super().setup()
                with receiver.lock:
                    receiver.connections += 1

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, text = receiver.handle(self.path, self.headers, body)
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass  # no access log per request

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # The handshake happens in the connection's own thread, not in accept().
        self.server.socket = context.wrap_socket(
            self.server.socket, server_side=True, do_handshake_on_connect=False
        )
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def handle(self, path: str, headers, body: bytes) -> tuple[int, str]:
        now = time.time()
        secret = self.secrets.get(path)
        try:
            signing.verify(secret or "", headers, body)
        except (signing.SigningError, ValueError):
            with self.lock:
                self.bad_signatures += 1
            return 400, "bad signature"
        msg_id = headers["webhook-id"]
        # Fail the first attempt of a fixed share of messages (chosen by id): retries succeed.
        if (zlib.crc32(msg_id.encode()) % 10_000) < self.fail_rate * 10_000:
            with self.lock:
                first = msg_id not in self.failed_once
                self.failed_once.add(msg_id)
                if first:
                    self.failed_on_purpose += 1
            if first:
                return 500, "try again"
        raised_at = json.loads(body)["data"]["raised_at"]
        with self.lock:
            self.ok[msg_id] += 1
            if msg_id not in self.first_2xx:
                self.first_2xx[msg_id] = now
                self.latency[msg_id] = now - raised_at
        return 200, "ok"


#: Which outbox row an event became, and when it was raised, by its bot name (the Telegram
#: and SMS texts carry the name, not the row's id).
ROW_OF: dict[str, str] = {}
RAISED_AT: dict[str, float] = {}
TWILIO_SID = "ACbench0000000000000000000000000000"
_NAME = re.compile(r"bench-(\d+)")


class ChatReceiver:
    """A fake Bot API and Twilio in one threaded HTTP server: records each message once per
    event, fails a share of first attempts (429 with retry_after 1, or 503), and counts the
    messages each chat got in each second (Telegram allows one)."""

    def __init__(self, fail_rate: float) -> None:
        self.fail_rate = fail_rate
        self.lock = threading.Lock()
        self.ok: Counter[str] = Counter()
        self.first_2xx: dict[str, float] = {}
        self.latency: dict[str, float] = {}
        self.failed_on_purpose = 0
        self.failed_once: set[str] = set()
        self.bad_signatures = 0
        self.connections = 0
        self.lost = 0
        self.last_at: dict[str, float] = {}  # chat -> time of its latest message
        self.closest: float = float("inf")  # the shortest gap between two messages to a chat
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def setup(self) -> None:
                super().setup()
                with receiver.lock:
                    receiver.connections += 1

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, body = receiver.handle(self.path, raw)
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
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> ChatReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def handle(self, path: str, raw: bytes) -> tuple[int, dict]:
        now = time.time()
        if path.endswith("/getMe"):
            return 200, {"ok": True, "result": {"id": 1, "is_bot": True, "username": "bench"}}
        telegram = path.endswith("/sendMessage")
        if telegram:
            params = json.loads(raw or b"{}")
            chat, text = str(params.get("chat_id")), str(params.get("text", ""))
        else:
            form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            chat, text = form.get("To", ""), form.get("Body", "")
        match = _NAME.search(text)
        msg_id = ROW_OF.get(match.group(0)) if match else None
        if msg_id is None:
            return 400, {"ok": False, "description": "unknown message"}
        if (zlib.crc32(msg_id.encode()) % 10_000) < self.fail_rate * 10_000:
            with self.lock:
                first = msg_id not in self.failed_once
                self.failed_once.add(msg_id)
                if first:
                    self.failed_on_purpose += 1
            if first and telegram:
                return 429, {"ok": False, "error_code": 429, "parameters": {"retry_after": 1}}
            if first:
                return 503, {"code": 20503, "message": "Service unavailable"}
        with self.lock:
            self.ok[msg_id] += 1
            if telegram:
                if chat in self.last_at:
                    self.closest = min(self.closest, now - self.last_at[chat])
                self.last_at[chat] = now
            if msg_id not in self.first_2xx:
                self.first_2xx[msg_id] = now
                self.latency[msg_id] = now - RAISED_AT[match.group(0)]
        if telegram:
            return 200, {"ok": True, "result": {"message_id": 1}}
        return 201, {"sid": "SM1", "status": "queued"}


def setup_chat_users(count: int, channel: str) -> list[int]:
    """Users with a linked Telegram chat or a verified number, told of trades only there."""
    from webapp import accounts, crypto
    from webapp.models import SmsNumber, TelegramBot, TelegramChat
    from webapp.models.types import utcnow

    kind = NotificationChannel(channel)
    if kind == NotificationChannel.TELEGRAM:
        token = "1:bench-token"
        db.session.add(TelegramBot(id=1, token_encrypted=crypto.encrypt(token), username="bench"))
    ids = []
    for n in range(count):
        user = accounts.create_user(f"bench{n}@example.com", "bench-password-123456")
        db.session.flush()
        if kind == NotificationChannel.TELEGRAM:
            db.session.add(TelegramChat(user_id=user.id, chat_id=10_000 + n, linked_at=utcnow()))
        else:
            phone = f"+1555{n:07d}"
            db.session.add(
                SmsNumber(user_id=user.id, phone=phone, verified_at=utcnow(), code_attempts=0)
            )
        for event in EventType:
            for other in NotificationChannel:
                if channels.cannot_choose(user.id, other) is None:  # webhooks: no endpoint
                    preferences.set_preference(user.id, event, other, False)
        preferences.set_preference(user.id, EventType.TRADE_EXECUTED, kind, True)
        ids.append(user.id)
    db.session.commit()
    return ids


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="backlog phase events")
    parser.add_argument("--steady-events", type=int, default=600, help="steady phase events")
    parser.add_argument("--rate", type=float, default=100.0, help="steady phase events/s")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="workers.NotifyWorker")
    parser.add_argument("--fail-rate", type=float, default=0.05)
    parser.add_argument(
        "--no-keep-alive",
        action="store_true",
        help="the receiver closes every connection (a TLS handshake per delivery)",
    )
    parser.add_argument("--timeout", type=float, default=180.0, help="per phase, seconds")
    parser.add_argument("--channel", choices=("webhook", "telegram", "sms"), default="webhook")
    parser.add_argument(
        "--telegram-per-second",
        type=int,
        default=30,
        help="TELEGRAM_MAX_PER_SECOND for the workers (the bot's rate across all chats)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TEST_DATABASE_URL"),
        help="PostgreSQL server to create a scratch database on (default: SQLite)",
    )
    args = parser.parse_args(argv)
    args.events = max(0, min(args.events, 20_000))  # bounded
    args.steady_events = max(0, min(args.steady_events, 20_000))
    args.rate = max(1.0, min(args.rate, 1000.0))
    args.users = max(1, min(args.users, 5000))
    args.workers = max(1, min(args.workers, 8))
    args.timeout = max(5.0, min(args.timeout, 1800.0))

    workdir = Path(tempfile.mkdtemp(prefix="bench-notify-"))
    ca = trustme.CA()
    bundle = workdir / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    redis = RedisServer(workdir).start()
    if args.channel == "webhook":
        receiver = Receiver(ca, args.fail_rate, keep_alive=not args.no_keep_alive).start()
    else:
        receiver = ChatReceiver(args.fail_rate).start()
    processes = []
    failed = True  # until the totals say otherwise
    try:
        with private_database(args.database_url, workdir) as database_url:

            class BenchConfig(Config):
                SECRET_KEY = "bench-" + "x" * 40
                ENCRYPTION_KEY = Fernet.generate_key().decode()
                SQLALCHEMY_DATABASE_URI = database_url
                REDIS_URL = redis.url
                WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
                WEBHOOK_CA_BUNDLE = str(bundle)
                LOG_LEVEL = "WARNING"

            class NoRedis(BenchConfig):
                """Raising events while Redis is unreachable: rows only, no jobs."""

                REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"

            app = create_app(BenchConfig)
            offline = create_app(NoRedis)
            with app.app_context():
                db.create_all()
                if args.channel == "webhook":
                    users = setup_users(args.users, receiver)
                else:
                    users = setup_chat_users(args.users, args.channel)
                env = dict(WORKER_ENV, WEBHOOK_CA_BUNDLE=str(bundle))
                if isinstance(receiver, ChatReceiver):
                    env.update(
                        TELEGRAM_API_BASE=receiver.url,
                        TELEGRAM_MAX_PER_SECOND=str(args.telegram_per_second),
                        SMS_PROVIDER="twilio",
                        TWILIO_API_BASE=receiver.url,
                        TWILIO_ACCOUNT_SID=TWILIO_SID,
                        TWILIO_AUTH_TOKEN="bench-twilio-token",
                        TWILIO_FROM_NUMBER="+15005550006",
                        NOTIFY_SMS_PER_DAY="1000000",
                    )
                command = [
                    "rq", "worker", "--url", redis.url, "--quiet",
                    "--worker-class", args.worker_class, "notifications",
                ]  # fmt: skip
                log = open(workdir / "workers.log", "w")  # noqa: SIM115 - closed with the processes
                processes.extend(
                    subprocess.Popen(
                        [str(BIN / command[0]), *command[1:]],
                        cwd=ROOT,
                        env=process_env(app, **env),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                    for _ in range(args.workers)
                )
                # As the Procfile runs it: retries and paced messages due later than a second
                # reach the workers through rq-scheduler, and the sweeper runs every 30 s.
                scheduler = subprocess.Popen(
                    [str(BIN / "flask"), "schedule", "run", "--interval", "1"],
                    cwd=ROOT,
                    env=process_env(app, **env),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
                wait_for_workers(redis.url, args.workers)
                pids = [proc.pid for proc in processes]  # CPU is counted for the workers
                processes.append(scheduler)
                db.session.remove()

            print(f"database                {database_url.split(':', 1)[0]}")
            print(f"workers                 {args.workers} x {args.worker_class}")
            one = {"webhook": "webhook endpoint", "telegram": "Telegram chat", "sms": "number"}
            print(f"users                   {args.users} (one {one[args.channel]} each)")
            if args.channel == "telegram":
                print(f"TELEGRAM_MAX_PER_SECOND {args.telegram_per_second}")

            if args.events:
                with offline.app_context():
                    logging.getLogger("webapp.notify.jobs").setLevel(logging.ERROR)
                    started = time.time()
                    backlog = raise_events(users, args.events, rate=None)
                    raised_in = time.time() - started
                    logging.getLogger("webapp.notify.jobs").setLevel(logging.NOTSET)
                    db.session.remove()
                with app.app_context():
                    cpu_before, own_before = cpu_seconds(pids), time.process_time()
                    swept_at = time.time()
                    jobs.sweep(limit=args.events)
                    wait_until_done(args.timeout)
                    done_at = time.time()
                    wait_until_idle(args.timeout)
                    idle_at = time.time()
                    cpu = cpu_seconds(pids) - cpu_before
                    own = time.process_time() - own_before
                    print()
                    print(f"backlog: {args.events} events raised in {raised_in:.1f} s, then swept")
                    report(receiver, backlog, swept_at, latency=False)
                    print(
                        f"  CPU per delivery      {cpu / args.events * 1000:.1f} ms in workers, "
                        f"{own / args.events * 1000:.1f} ms in the receiver (until the queue "
                        f"was empty, {idle_at - done_at:.1f} s after the last delivery)"
                    )
                    db.session.remove()

            if args.steady_events:
                with app.app_context():
                    started = time.time()
                    steady = raise_events(users, args.steady_events, rate=args.rate)
                    raised_in = time.time() - started
                    wait_until_done(args.timeout)
                    print()
                    print(
                        f"steady: {args.steady_events} events at {args.rate:g}/s "
                        f"(raised in {raised_in:.1f} s)"
                    )
                    report(receiver, steady, started, latency=True)
                    db.session.remove()

            with app.app_context():
                failed = totals(receiver)
                db.session.remove()
                db.engine.dispose()
            with offline.app_context():
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
        log_file = workdir / "workers.log"
        if receiver.lost and log_file.exists() and log_file.stat().st_size:
            tail = log_file.read_text(errors="replace").splitlines()[-15:]
            print(f"\nlast lines of {log_file}:", *tail, sep="\n  ")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes and their finished children (a forking
    worker's work horses) so far (Linux /proc; 0 elsewhere)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return total


def wait_for_workers(redis_url: str, count: int, timeout: float = 60.0) -> None:
    """Start the clock only once every worker listens (building the app takes a moment)."""
    from redis import Redis
    from rq import Worker

    conn = Redis.from_url(redis_url)
    deadline = time.time() + timeout
    while time.time() < deadline and len(Worker.all(connection=conn)) < count:
        time.sleep(0.1)
    time.sleep(0.5)


def raise_events(users: list[int], count: int, rate: float | None) -> set[str]:
    """Raise `count` events round-robin over the users (at `rate` per second if given);
    returns the public ids of the outbox rows."""
    ids: set[str] = set()
    started = time.time()
    for n in range(count):
        if rate:
            delay = started + n / rate - time.time()
            if delay > 0:
                time.sleep(delay)
        raised_at = time.time()
        emit(users[n % len(users)], EventType.TRADE_EXECUTED, sample(n, raised_at))
        rows = [obj for obj in db.session.new if isinstance(obj, Notification)]
        for row in rows:
            ROW_OF[f"bench-{n}"] = row.public_id
            RAISED_AT[f"bench-{n}"] = raised_at
        db.session.commit()
        ids.update(row.public_id for row in rows)
    return ids


def wait_until_done(timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        pending = db.session.query(Notification).filter_by(status=NotificationStatus.PENDING)
        if pending.count() == 0:
            break
        db.session.rollback()
        time.sleep(0.1)
    db.session.rollback()


def wait_until_idle(timeout: float) -> None:
    """Wait for the jobs left in the queue (their rows already went out with other jobs)."""
    from rq import Queue
    from rq.registry import StartedJobRegistry

    from webapp.extensions import redis_ext

    queue = Queue(jobs.QUEUE, connection=redis_ext.conn)
    started = StartedJobRegistry(queue=queue)
    deadline = time.time() + timeout
    while time.time() < deadline and (queue.count or started.count):
        time.sleep(0.05)


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


def report(receiver: Receiver, ids: set[str], started: float, *, latency: bool) -> None:
    rows = db.session.query(Notification).filter(Notification.public_id.in_(ids)).all()
    by_status = Counter(row.status.value for row in rows)
    delivered = [i for i in ids if i in receiver.first_2xx]
    last = max((receiver.first_2xx[i] for i in delivered), default=float("nan"))
    first = min((receiver.first_2xx[i] for i in delivered), default=float("nan"))
    attempts = sum(row.attempts for row in rows)
    print(f"  outbox rows           {len(rows)} {dict(by_status)}")
    print(f"  delivered (2xx)       {len(delivered)}")
    print(f"  deliveries/s          {len(delivered) / (last - started):.1f} (start to last 2xx)")
    if len(delivered) > 1 and last > first:
        print(
            f"  deliveries/s          {(len(delivered) - 1) / (last - first):.1f}"
            " (first to last 2xx)"
        )
    if latency:
        values = [receiver.latency[i] for i in delivered]
        print(f"  raise -> 2xx p50      {percentile(values, 50) * 1000:.0f} ms")
        print(f"  raise -> 2xx p95      {percentile(values, 95) * 1000:.0f} ms")
        print(f"  raise -> 2xx max      {percentile(values, 100) * 1000:.0f} ms")
        retried = [receiver.latency[i] for i in delivered if i in receiver.failed_once]
        first_time = [receiver.latency[i] for i in delivered if i not in receiver.failed_once]
        print(
            f"  p50/p95 by attempt    first attempt {percentile(first_time, 50) * 1000:.0f}/"
            f"{percentile(first_time, 95) * 1000:.0f} ms, after a 500 "
            f"{percentile(retried, 50) * 1000:.0f}/{percentile(retried, 95) * 1000:.0f} ms"
        )
    print(f"  retries               {attempts - len(rows)}")
    receiver.lost += len(ids) - len(delivered)
    print(f"  lost                  {len(ids) - len(delivered)}")
    print(f"  duplicated            {sum(1 for i in ids if receiver.ok[i] > 1)}")


def totals(receiver: Receiver | ChatReceiver) -> bool:
    """Print the run's totals; True when something went wrong (lost, twice, too close)."""
    print()
    if isinstance(receiver, ChatReceiver) and receiver.last_at:
        print(
            f"closest two to one chat {receiver.closest * 1000:.0f} ms apart "
            "(Telegram allows one message a second per chat)"
        )
    print(f"receiver connections    {receiver.connections}")
    print(f"500s on purpose         {receiver.failed_on_purpose}")
    print(f"bad signatures          {receiver.bad_signatures}")
    duplicated = sum(1 for count in receiver.ok.values() if count > 1)
    print(f"duplicated (all)        {duplicated} (same webhook-id answered 2xx more than once)")
    too_close = isinstance(receiver, ChatReceiver) and receiver.last_at and receiver.closest < 1
    return bool(receiver.lost or duplicated or receiver.bad_signatures or too_close)


if __name__ == "__main__":
    raise SystemExit(main())
