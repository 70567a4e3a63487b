"""Log lines: plain text or, with LOG_FORMAT=json, one JSON object per line carrying the
request id and the user and bot ids where known; secrets are redacted from both.

Redaction knows the installation's own secrets (SECRET_KEY, ENCRYPTION_KEY, mail and metrics
passwords), every value `webapp.crypto` decrypted in this process (exchange secrets, webhook
secrets, TOTP keys), and the shapes of secrets: API tokens, webhook secrets, bearer
credentials, `password=...` pairs and long random-looking strings.
"""

from __future__ import annotations

import contextvars
import logging
import re
import threading
import uuid
from collections import OrderedDict

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

REDACTED = "[redacted]"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"
REQUEST_ID_HEADER = "X-Request-ID"

#: The bot a worker is running a cycle of (set by workers.bots around each cycle).
current_bot_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("bot_id", default=None)

_PATTERNS = [  # (pattern, replacement): group 1, when there is one, is kept
    (re.compile(r"tb_[A-Za-z0-9_-]{16,}"), REDACTED),  # API tokens
    (re.compile(r"whsec_[A-Za-z0-9+/=]{8,}"), REDACTED),  # webhook signing secrets
    (re.compile(r"(?i)(bearer\s+)[^\s'\",]+"), rf"\1{REDACTED}"),
    (
        re.compile(
            r"(?i)((?:password|passwd|secret|api_secret|apikey|api_key|token)[\"']?\s*[=:]\s*)"
            r"(?:\"[^\"]*\"|'[^']*'|[^\s&'\",}]+)"
        ),
        rf"\1{REDACTED}",
    ),
    # Long random-looking strings (exchange secrets, Fernet tokens): mixed case and digits,
    # so long names in tracebacks and hex digests stay readable.
    (re.compile(r"(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_=-]{32,}"), lambda m: _if_random(m.group(0))),
]


def _if_random(text: str) -> str:
    mixed = any(c.isupper() for c in text) and any(c.islower() for c in text)
    return REDACTED if mixed and any(c.isdigit() for c in text) else text


_known_lock = threading.Lock()
_known: OrderedDict[str, None] = OrderedDict()
KNOWN_MAX = 10_000
KNOWN_MIN_LENGTH = 6  # shorter values would redact ordinary words


def remember_secret(value: str | None) -> None:
    """Redact `value` from every later log line of this process."""
    if not value or len(value) < KNOWN_MIN_LENGTH:
        return
    with _known_lock:
        _known[value] = None
        _known.move_to_end(value)
        while len(_known) > KNOWN_MAX:
            _known.popitem(last=False)


def redact(text: str) -> str:
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites the record's message (and traceback) with secrets replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what we can
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class ContextFilter(logging.Filter):
    """Adds request_id, user_id and bot_id to every record (None where unknown)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = None
        record.user_id = None
        if has_request_context():
            record.request_id = g.get("request_id")
            user = g.get("_login_user") or g.get("api_user")
            if getattr(user, "is_authenticated", False):
                record.user_id = user.id
        record.bot_id = current_bot_id.get()
        return True


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter(
            JSON_FIELDS,
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            static_fields={},
        )
    return logging.Formatter(TEXT_FORMAT)


def configure_handler(handler: logging.Handler, app: Flask) -> None:
    cfg = app.config
    handler.setFormatter(formatter(str(cfg.get("LOG_FORMAT") or "text").lower()))
    if not any(isinstance(f, RedactingFilter) for f in handler.filters):
        handler.addFilter(ContextFilter())
        handler.addFilter(RedactingFilter())
    for name in ("SECRET_KEY", "MAIL_PASSWORD", "METRICS_TOKEN"):
        remember_secret(cfg.get(name))
    for part in str(cfg.get("ENCRYPTION_KEY") or "").split(","):
        remember_secret(part.strip())


_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def init_request_ids(app: Flask) -> None:
    """Every request gets an id (the proxy's X-Request-ID when it is sane), logged with each
    line and sent back in the response's X-Request-ID header."""

    @app.before_request
    def _assign() -> None:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex

    @app.after_request
    def _echo(response):
        if "request_id" in g:
            response.headers[REQUEST_ID_HEADER] = g.request_id
        return response


def configure_rq_logging(app: Flask) -> None:
    """With LOG_FORMAT=json, rq's own lines (worker, job, queue) print as JSON through the
    same formatter and secret filter as the app's.

    `rq worker` attaches its plain handlers to `rq.worker` before building the worker class,
    and attaches them again at start-up only where no handler is found up the hierarchy; so
    theirs are dropped and one handler goes on the `rq` logger. Text logs keep rq's own.
    """
    if str(app.config.get("LOG_FORMAT") or "text").lower() != "json":
        return
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if name.startswith("rq.") and isinstance(logger, logging.Logger):
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
    attach_handler(logging.getLogger("rq"), app)


def attach_handler(logger: logging.Logger, app: Flask) -> None:
    """Give `logger` one stderr handler in the app's format (added once, reconfigured on
    every call, so a second app in the same process takes over)."""
    if not any(getattr(h, "_tradebots", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler._tradebots = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    for handler in logger.handlers:
        if getattr(handler, "_tradebots", False):
            configure_handler(handler, app)


def configure_scheduler_logging(app: Flask) -> None:
    """rq-scheduler's own lines (`rq_scheduler.*`) in the app's format and at its LOG_LEVEL,
    text or JSON, like the app's lines in the same process. Handlers another caller put
    there (the `rqscheduler` script's colouring one) are dropped so nothing prints twice."""
    level = getattr(logging, str(app.config.get("LOG_LEVEL", "INFO")).upper(), logging.INFO)
    logger = logging.getLogger("rq_scheduler")
    logger.setLevel(level)
    for name, child in list(logging.root.manager.loggerDict.items()):
        if name.startswith("rq_scheduler.") and isinstance(child, logging.Logger):
            for handler in list(child.handlers):
                child.removeHandler(handler)
            child.setLevel(logging.NOTSET)
    attach_handler(logger, app)
