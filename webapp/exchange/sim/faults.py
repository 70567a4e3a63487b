"""Outages the simulated exchange can be told to have, instead of Binance's bad days.

A rule fails the next N requests (or all, until ended), optionally only one endpoint's, in one
of the `FailureMode`s. Requests held by TIMEOUT or LOST_ANSWER wait on an event that ending the
outage sets, so a test never leaves a server thread hanging.
"""

from __future__ import annotations

import enum
import logging
import threading
from dataclasses import dataclass

logger = logging.getLogger(__name__)


class FailureMode(enum.StrEnum):
    """Simulated outages for engine tests."""

    UNAVAILABLE = "unavailable"  # HTTP 503, as during an exchange outage
    TIMEOUT = "timeout"  # hang longer than any sane client timeout
    RATE_LIMIT = "ratelimit"  # HTTP 429 with code -1003
    # The request is carried out, but its answer is held past any client timeout and ends in
    # a 504: an order that executed while the client saw only a timeout.
    LOST_ANSWER = "lost_answer"


@dataclass
class _FailureRule:
    mode: FailureMode
    left: int | None  # requests still to fail; None: until the outage is ended
    endpoint: str | None  # e.g. "POST /api/v3/order"; None: every /api request


class Faults:
    """The outages in force; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_FailureRule] = []
        self._release = threading.Event()
        self.hang_seconds = 30.0  # how long a held request waits before its 504

    def set(
        self,
        mode: FailureMode | str | None,
        count: int | None = None,
        *,
        endpoint: str | None = None,
        add: bool = False,
    ) -> None:
        """Fail the next `count` (default: all) /api requests with `mode`; None ends every outage.

        `endpoint` ("POST /api/v3/order") limits the outage, and its count, to those requests;
        `add` keeps the outages already set (the first one matching a request applies).
        """
        with self._lock:
            if not add:
                self._rules = []
                self._release.set()  # let go of requests hung by a previous outage
                self._release = threading.Event()
            if mode:
                self._rules.append(_FailureRule(FailureMode(mode), count, endpoint))
        logger.info("simulated failure mode: %s", mode or "none")

    def current(self) -> FailureMode | None:
        with self._lock:
            return self._rules[0].mode if self._rules else None

    def take(self, endpoint: str | None = None) -> tuple[FailureMode, threading.Event] | None:
        """Consume one failure for the current request ("GET /api/v3/time"), if one applies."""
        with self._lock:
            for rule in self._rules:
                if rule.endpoint is not None and rule.endpoint != endpoint:
                    continue
                if rule.left is not None:
                    rule.left -= 1
                    if rule.left <= 0:
                        self._rules.remove(rule)
                return rule.mode, self._release
            return None

    def release(self) -> None:
        with self._lock:
            self._release.set()
            self._release = threading.Event()
