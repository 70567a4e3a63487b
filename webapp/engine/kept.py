"""Reports kept per process for one version of a history, so a page view reads no day rows.

The dashboard, the bot page and the API's reports fold every day row of a history into the
same figures on every view and poll, although they change only with a trade. A report is
kept under what makes it exact:

- the owner and its bots, each with its creation time: a bot's trades go only with the bot,
  so a deleted bot changes the key, and a new bot that reuses a deleted one's id (SQLite does)
  is another key;
- how many trades the rollups count and the highest trade id: trades are only ever added
  while their bot lives, so the same bots with the same count hold the same trades;
- the UTC day, which decides "today" and "the last 7 days";
- whether the report carries its curve.

A report read in a transaction that has added trades is not kept: it might be rolled back,
and SQLite would give the next trade the same id.

Nothing is invalidated: a new trade, a deleted bot or the next day is a new key, and old keys
fall out of a bounded table, oldest first. The table lives on the app (`app.extensions`), so
an app built for a test or a CLI command starts empty.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import current_app

T = TypeVar("T")

#: How many reports a process keeps (a curve is at most 500 points).
SIZE = 2000

_EXTENSION = "kept_reports"


class Kept:
    """A bounded table of built values, the oldest dropped first (also the rows and cells
    `webapp.fragments` keeps)."""

    def __init__(self, size: int = SIZE):
        self.size = size
        self._values: dict[Hashable, object] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], T], keep: bool = True) -> T:
        """The value kept under `key`, or `build()` kept from now on (unless not `keep`).
        Values are shared between requests and threads: their readers must not change them."""
        value = self._values.get(key)
        if value is None:
            value = build()
            if not keep:
                return value
            with self._lock:
                if len(self._values) >= self.size:
                    del self._values[next(iter(self._values))]
                self._values[key] = value
        return value  # type: ignore[return-value]

    def peek(self, key: Hashable) -> object | None:
        """The value kept under `key`, if any (building nothing)."""
        return self._values.get(key)

    def __len__(self) -> int:
        return len(self._values)


def reports() -> Kept:
    """The current app's table."""
    extensions = current_app.extensions
    table = extensions.get(_EXTENSION)
    if table is None:
        table = extensions.setdefault(_EXTENSION, Kept())
    return table


__all__ = ["SIZE", "Kept", "reports"]
