"""Settings, read from the environment (and a `.env` file when present).

Every setting has a safe default except the two secrets, which must be generated per
installation: a missing or malformed one stops start-up with one line saying how to make it.

This is the one place settings are read and checked. Reading never raises (the class body
runs at import); a malformed value is remembered and `validate`, called by `create_app` in
every process (web, workers, scheduler, CLI), stops start-up with one line naming it.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env")


class ConfigError(RuntimeError):
    """A required setting is missing or malformed; the message says what to set and how."""


#: Malformed values met while reading the environment: setting name -> the line to show.
PROBLEMS: dict[str, str] = {}
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    word = value.strip().lower()
    if word not in TRUE_WORDS | FALSE_WORDS:
        PROBLEMS[name] = f"{name} must be true or false, got {value[:40]!r}."
        return default
    return word in TRUE_WORDS


def _int_problem(name: str, value: str, minimum: int) -> str | None:
    try:
        number = int(value)
    except ValueError:
        return f"{name} must be a whole number, got {value[:40]!r}."
    return f"{name} must be at least {minimum}, got {number}." if number < minimum else None


def env_int(name: str, default: int, minimum: int = 0) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    problem = _int_problem(name, value, minimum)
    if problem:
        PROBLEMS[name] = problem
        return default
    return int(value)


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


def normalize_database_url(url: str) -> str:
    """Accept the usual `postgres://` and `postgresql://` forms; we ship the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def default_database_url() -> str:
    instance = BASE_DIR / "instance"
    return f"sqlite:///{instance / 'app.db'}"


class Config:
    """Production-shaped defaults; every value can be overridden by an environment variable."""

    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    ENCRYPTION_KEY = os.environ.get("ENCRYPTION_KEY", "")
    #: werkzeug's hash for new passwords. Deliberately slow (scrypt); the in-process tests,
    #: which sign users up by the hundred, use a cheap one (the served tests keep scrypt).
    PASSWORD_HASH_METHOD = "scrypt"

    SQLALCHEMY_DATABASE_URI = normalize_database_url(
        os.environ.get("DATABASE_URL") or default_database_url()
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = env_int("MAIL_PORT", 8025)
    MAIL_USE_TLS = env_bool("MAIL_USE_TLS")
    MAIL_USE_SSL = env_bool("MAIL_USE_SSL")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Tradebots <noreply@localhost>")
    MAIL_TIMEOUT = env_int("MAIL_TIMEOUT", 10)

    # The address links in emails point at (the app cannot know its public URL by itself).
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/")

    LIVE_TRADING_ENABLED = env_bool("LIVE_TRADING_ENABLED")
    VALIDATE_API_ON_TESTNET = env_bool("VALIDATE_API_ON_TESTNET")
    TESTNET_URL = os.environ.get("TESTNET_URL") or None
    EXCHANGE_SIM_URL = os.environ.get("EXCHANGE_SIM_URL") or None
    EXCHANGE_TIMEOUT_MS = env_int("EXCHANGE_TIMEOUT_MS", 10_000)
    # The request budget every process shares per exchange host (webapp.exchange.budget):
    # the exchange's REQUEST_WEIGHT limit per IP and window, the share of it to use, and how
    # long a request may wait for room before it fails as rate limited.
    EXCHANGE_WEIGHT_LIMIT = env_int("EXCHANGE_WEIGHT_LIMIT", 6000, minimum=1)
    EXCHANGE_WEIGHT_BUDGET_PCT = env_int("EXCHANGE_WEIGHT_BUDGET_PCT", 80, minimum=1)
    EXCHANGE_WEIGHT_WINDOW_SECONDS = env_int("EXCHANGE_WEIGHT_WINDOW_SECONDS", 60, minimum=1)
    EXCHANGE_BUDGET_MAX_WAIT_SECONDS = env_int("EXCHANGE_BUDGET_MAX_WAIT_SECONDS", 30)
    # New orders per API key and 10 seconds (Binance allows 50).
    EXCHANGE_ORDERS_PER_10S = env_int("EXCHANGE_ORDERS_PER_10S", 50, minimum=1)
    # ... and per UTC day (Binance allows 160,000).
    EXCHANGE_ORDERS_PER_DAY = env_int("EXCHANGE_ORDERS_PER_DAY", 160_000, minimum=1)
    # The simulator account `make run` creates; the keys page offers it while EXCHANGE_SIM_URL
    # is set, so a newcomer can start without an exchange account.
    DEMO_API_KEY = os.environ.get("DEMO_API_KEY", "demo-key-0001")
    DEMO_API_SECRET = os.environ.get("DEMO_API_SECRET", "demo-secret-0001")
    # How often (seconds) stored API keys are re-checked with the exchange.
    KEY_REVALIDATE_INTERVAL = env_int("KEY_REVALIDATE_INTERVAL", 6 * 60 * 60)

    # Failed-login throttling, counted in Redis over a sliding window.
    LOGIN_MAX_FAILURES_PER_ACCOUNT = env_int("LOGIN_MAX_FAILURES_PER_ACCOUNT", 10)
    LOGIN_MAX_FAILURES_PER_IP = env_int("LOGIN_MAX_FAILURES_PER_IP", 50)
    LOGIN_THROTTLE_WINDOW_SECONDS = env_int("LOGIN_THROTTLE_WINDOW_SECONDS", 15 * 60)
    PASSWORD_RESET_MAX_AGE_SECONDS = env_int("PASSWORD_RESET_MAX_AGE_SECONDS", 60 * 60)
    # Reset emails sent per account and per client IP in an hour.
    PASSWORD_RESET_MAX_PER_ACCOUNT = env_int("PASSWORD_RESET_MAX_PER_ACCOUNT", 5)
    PASSWORD_RESET_MAX_PER_IP = env_int("PASSWORD_RESET_MAX_PER_IP", 20)

    REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * 30
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE")
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    WTF_CSRF_TIME_LIMIT = None  # tied to the session instead; a long-open tab keeps working

    # Notifications. Retry delays (seconds) between attempts; the last repeats if needed.
    NOTIFY_MAX_ATTEMPTS = env_int("NOTIFY_MAX_ATTEMPTS", 3)
    NOTIFY_RETRY_DELAYS = os.environ.get("NOTIFY_RETRY_DELAYS", "10,60,300")
    NOTIFY_RETRY_AFTER_MAX = env_int("NOTIFY_RETRY_AFTER_MAX", 3600)  # clamp for Retry-After
    NOTIFY_ENDPOINT_MAX_FAILURES = env_int("NOTIFY_ENDPOINT_MAX_FAILURES", 20)
    NOTIFY_USER_HOURLY_LIMIT = env_int("NOTIFY_USER_HOURLY_LIMIT", 60)
    NOTIFY_USER_DAILY_LIMIT = env_int("NOTIFY_USER_DAILY_LIMIT", 500)
    NOTIFY_GLOBAL_PER_MINUTE = env_int("NOTIFY_GLOBAL_PER_MINUTE", 600)
    NOTIFY_KEEP_SENT_DAYS = env_int("NOTIFY_KEEP_SENT_DAYS", 30)
    NOTIFY_KEEP_FAILED_DAYS = env_int("NOTIFY_KEEP_FAILED_DAYS", 7)
    # Webhooks: https only unless allowed; internal targets only if allow-listed
    # (hostnames, IPs or CIDR networks, comma-separated).
    ALLOW_HTTP_WEBHOOKS = env_bool("ALLOW_HTTP_WEBHOOKS")
    WEBHOOK_ALLOWED_HOSTS = env_list("WEBHOOK_ALLOWED_HOSTS")
    WEBHOOK_CA_BUNDLE = os.environ.get("WEBHOOK_CA_BUNDLE") or None
    WEBHOOK_TIMEOUT = env_int("WEBHOOK_TIMEOUT", 10)
    # Telegram: the installation's bot (or `flask telegram set-token`) and the Bot API address.
    TELEGRAM_BOT_TOKEN = os.environ.get("TELEGRAM_BOT_TOKEN") or None
    TELEGRAM_API_BASE = os.environ.get("TELEGRAM_API_BASE", "https://api.telegram.org")
    TELEGRAM_TIMEOUT = env_int("TELEGRAM_TIMEOUT", 10)
    TELEGRAM_POLL_TIMEOUT = env_int("TELEGRAM_POLL_TIMEOUT", 25)  # getUpdates long poll (s)
    TELEGRAM_MAX_PER_SECOND = env_int("TELEGRAM_MAX_PER_SECOND", 30)  # per bot, all workers
    # SMS: "console" (printed by the worker) or "twilio"; a per-user daily cap on the bill.
    SMS_PROVIDER = os.environ.get("SMS_PROVIDER", "console")
    TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID") or None
    TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN") or None
    TWILIO_FROM_NUMBER = os.environ.get("TWILIO_FROM_NUMBER") or None
    TWILIO_API_BASE = os.environ.get("TWILIO_API_BASE", "https://api.twilio.com")
    TWILIO_TIMEOUT = env_int("TWILIO_TIMEOUT", 10)
    NOTIFY_SMS_PER_DAY = env_int("NOTIFY_SMS_PER_DAY", 10)

    # Bots. The tick finds due bots every BOT_TICK_SECONDS and queues their cycles in jobs of
    # up to BOT_BATCH_SIZE bots; a bot stops with status "error" after
    # BOT_MAX_CONSECUTIVE_ERRORS failed cycles in a row.
    BOT_TICK_SECONDS = env_int("BOT_TICK_SECONDS", 5)
    BOT_BATCH_SIZE = env_int("BOT_BATCH_SIZE", 50)
    BOT_MAX_CONSECUTIVE_ERRORS = env_int("BOT_MAX_CONSECUTIVE_ERRORS", 5)
    # ...except when the exchange cannot answer (down, rate limited): then only after cycles
    # have failed for this long, so a short outage does not stop every fast bot.
    BOT_TRANSIENT_ERROR_GRACE_SECONDS = env_int("BOT_TRANSIENT_ERROR_GRACE_SECONDS", 600)
    BOT_MIN_INTERVAL_SECONDS = env_int("BOT_MIN_INTERVAL_SECONDS", 10)
    BOT_OHLCV_LIMIT = env_int("BOT_OHLCV_LIMIT", 600)  # candles fetched per market, always
    BOT_LOCK_TTL_SECONDS = env_int("BOT_LOCK_TTL_SECONDS", 120)  # a crashed cycle's lock expires
    BOT_MARKETS_TTL_SECONDS = env_int("BOT_MARKETS_TTL_SECONDS", 3600)  # cached market list
    BOT_ACTIVITY_KEEP = env_int("BOT_ACTIVITY_KEEP", 500)  # activity rows kept per bot
    BOT_JOB_TIMEOUT = env_int("BOT_JOB_TIMEOUT", 900)
    BOT_PAGE_POLL_SECONDS = env_int("BOT_PAGE_POLL_SECONDS", 5)  # live parts of the bot pages

    # Signals to a bot's secret URL (POST /signals/<token>): accepted per bot per sliding
    # minute, the window in which the same body again is a duplicate, the largest body, and
    # how many signals each bot keeps listed.
    SIGNALS_PER_MINUTE = env_int("SIGNALS_PER_MINUTE", 60, 1)
    SIGNAL_DEDUPE_SECONDS = env_int("SIGNAL_DEDUPE_SECONDS", 5, 1)
    SIGNAL_MAX_BYTES = env_int("SIGNAL_MAX_BYTES", 10 * 1024, 64)
    SIGNALS_KEEP = env_int("SIGNALS_KEEP", 200, 1)

    # JSON API: requests per token per window ("60/min", "5/s", "1000/hour"), and how long
    # the answer to a POST with an Idempotency-Key is kept for its retries (seconds).
    API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT") or "60/min"
    API_IDEMPOTENCY_TTL = env_int("API_IDEMPOTENCY_TTL", 24 * 60 * 60)

    # Behind a reverse proxy, trust this many X-Forwarded-* hops (for the client IP).
    PROXY_FIX_HOPS = env_int("PROXY_FIX_HOPS", 0)
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")

    # Account security. REQUIRE_2FA sends every user without two-factor sign-in to set it up;
    # sensitive actions ask for the password again once the last check is this old (seconds).
    REQUIRE_2FA = env_bool("REQUIRE_2FA")
    REAUTH_MAX_AGE_SECONDS = env_int("REAUTH_MAX_AGE_SECONDS", 10 * 60)
    AUDIT_KEEP_DAYS = env_int("AUDIT_KEEP_DAYS", 365)  # the scheduler deletes older events
    # The kill switch: no bot starts or places an order while true (admins can also halt).
    TRADING_HALTED = env_bool("TRADING_HALTED")
    # /metrics answers only `Authorization: Bearer $METRICS_TOKEN` (unset: 404).
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or None
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")  # "text" or "json" (one object a line)


#: Settings read straight from the environment by the modules that use them, checked here too.
ENV_ONLY_INTS = ("NOTIFY_BATCH_SIZE", "NOTIFY_SEND_THREADS", "NOTIFY_WAKE_SLOTS")
#: Settings that must be at least 1 (a zero would stall or divide by zero).
POSITIVE = (
    "MAIL_PORT", "BOT_TICK_SECONDS", "BOT_BATCH_SIZE", "BOT_MAX_CONSECUTIVE_ERRORS",
    "BOT_MIN_INTERVAL_SECONDS", "BOT_OHLCV_LIMIT", "BOT_LOCK_TTL_SECONDS", "BOT_JOB_TIMEOUT",
    "NOTIFY_MAX_ATTEMPTS", "WEBHOOK_TIMEOUT", "EXCHANGE_TIMEOUT_MS", "AUDIT_KEEP_DAYS",
    "KEY_REVALIDATE_INTERVAL", "LOGIN_THROTTLE_WINDOW_SECONDS",
)  # fmt: skip
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _check_settings(config: dict) -> None:
    for message in PROBLEMS.values():
        raise ConfigError(message)
    for name in ENV_ONLY_INTS:
        value = os.environ.get(name)
        problem = _int_problem(name, value, 1) if value and value.strip() else None
        if problem:
            raise ConfigError(problem)
    for name in POSITIVE:
        value = config.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value < 1:
            raise ConfigError(f"{name} must be at least 1, got {value}.")
    if not 1 <= int(config.get("MAIL_PORT") or 0) <= 65535:
        raise ConfigError(f"MAIL_PORT must be a port number (1-65535), got {config['MAIL_PORT']}.")
    if str(config.get("LOG_FORMAT") or "text").lower() not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be text or json, got {config['LOG_FORMAT']!r}.")
    if str(config.get("LOG_LEVEL") or "INFO").upper() not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}.")
    for name in ("BASE_URL",):
        if not str(config.get(name) or "").startswith(("http://", "https://")):
            raise ConfigError(f"{name} must start with http:// or https://.")
    for name in ("REDIS_URL",):
        if not str(config.get(name) or "").startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(f"{name} must be a redis://, rediss:// or unix:// URL.")
    from webapp.notify.settings import load as load_notify_settings

    try:
        load_notify_settings(config)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"A NOTIFY_* or WEBHOOK_* setting is malformed: {exc}") from None


def validate(config: dict) -> None:
    """Refuse to start with a setting that is malformed, or a secret missing or unusable."""
    _check_settings(config)
    secret = config.get("SECRET_KEY") or ""
    if len(secret) < 32:
        raise ConfigError(
            "SECRET_KEY is missing or shorter than 32 characters; set it in the environment "
            "or .env, e.g. SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    parse_encryption_keys(config.get("ENCRYPTION_KEY") or "")
    from webapp.api.ratelimit import parse_limit

    parse_limit(config.get("API_RATE_LIMIT") or "60/min")


def parse_encryption_keys(raw: str) -> list[Fernet]:
    """Parse ENCRYPTION_KEY: one or more comma-separated Fernet keys, newest first."""
    how = (
        "generate one with: python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())'"
    )
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if not parts:
        raise ConfigError(f"ENCRYPTION_KEY is not set; {how}")
    keys = []
    for position, part in enumerate(parts, start=1):
        try:
            keys.append(Fernet(part.encode()))
        except ValueError:
            # Never echo the value: it is a secret even when malformed.
            raise ConfigError(
                f"ENCRYPTION_KEY entry {position} is not a valid Fernet key "
                f"(32 url-safe base64-encoded bytes); {how}"
            ) from None
    return keys
