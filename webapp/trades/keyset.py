"""Keyset (cursor) pages of the trades list: a cursor names the (executed_at, id) of a trade and
the page starts next to it, so the index serves a page 100,000 trades deep exactly as it serves
the first one (OFFSET would read and throw away every trade before it).

The same cursor travels in the trades page's links and as the API's `next_cursor`. It comes from
the URL, so anything that is not a cursor this module made raises BadCursor.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from webapp.engine import service
from webapp.extensions import db
from webapp.http import MAX_ID
from webapp.models import Trade

CURSOR_MAX = 200  # characters; a real cursor is about 60


class BadCursor(ValueError):
    """The cursor was cut short, edited, or never came from a page."""


@dataclass(frozen=True)
class Key:
    """Where a trade sits in the list (newest first: time, then id)."""

    at: datetime  # aware, UTC
    id: int

    @classmethod
    def of(cls, trade: Trade) -> Key:
        return cls(trade.executed_at, trade.id)


def encode(key: Key) -> str:
    raw = json.dumps([key.at.isoformat(), key.id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None) -> Key | None:
    """The key in `cursor`; None for no cursor. Raises BadCursor."""
    if cursor is None or cursor == "":
        return None
    try:
        # Cursors are made unpadded; base64 would otherwise stop at "=" and ignore the rest.
        if len(cursor) > CURSOR_MAX or not cursor.isascii() or "=" in cursor:
            raise ValueError
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.b64decode(padded, altchars=b"-_", validate=True))
        if not isinstance(values, list) or len(values) != 2:
            raise ValueError
        at, trade_id = values
        if not isinstance(at, str) or type(trade_id) is not int or not 0 < trade_id <= MAX_ID:
            raise ValueError
        when = datetime.fromisoformat(at)
        if when.tzinfo is None:
            raise ValueError
        when = when.astimezone(UTC)  # an offset can push year 1 or 9999 out of range
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise BadCursor() from None
    return Key(when, trade_id)


def older_than(key: Key):
    """Trades after `key` in the list (older, or as old with a smaller id)."""
    return sa.and_(
        Trade.executed_at <= key.at, sa.or_(Trade.executed_at < key.at, Trade.id < key.id)
    )


def newer_than(key: Key):
    """Trades before `key` in the list."""
    return sa.and_(
        Trade.executed_at >= key.at, sa.or_(Trade.executed_at > key.at, Trade.id > key.id)
    )


@dataclass
class Page:
    """One page of the list, where it sits in it, and the cursors of its neighbours."""

    items: list[Trade]
    first: int  # position of the first item (1-based); 0 when there are no items
    total: int
    newer: str | None = None  # `before` cursor of the previous page; None on the first page
    older: str | None = None  # `after` cursor of the next page; None on the last page

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1 if self.items else 0


def page(filters, per_page: int, *, after: Key | None = None, before: Key | None = None) -> Page:
    """The page of `filters.query()` after (older than) or before (newer than) a key; the
    first page with neither. A page before the key that reaches the newest trade is the first
    page, full, so "Newer" never lands on a short page."""
    query = filters.query()
    total = filters.count()
    if before is not None:
        upward = (
            query.order_by(None)
            .where(newer_than(before))
            .order_by(Trade.executed_at.asc(), Trade.id.asc())
            .limit(per_page + 1)
        )
        oldest_first = list(db.session.scalars(upward))
        if len(oldest_first) > per_page:
            items = oldest_first[:per_page][::-1]
            first = _newer_count(filters, Key.of(items[0])) + 1
            return Page(items, first, total, encode(Key.of(items[0])), encode(Key.of(items[-1])))
        after = None
    if after is not None:
        query = query.where(older_than(after))
    rows = list(db.session.scalars(query.limit(per_page + 1)))
    items = rows[:per_page]
    older = encode(Key.of(items[-1])) if len(rows) > per_page else None
    if after is None:
        return Page(items, 1 if items else 0, total, None, older)
    if not items:  # past the end (a cursor at or beyond the oldest trade)
        return Page([], 0, total)
    first = _newer_count(filters, Key.of(items[0])) + 1
    newer = encode(Key.of(items[0])) if first > 1 else None
    return Page(items, first, total, newer, older)


def _newer_count(filters, key: Key) -> int:
    """How many matching trades come before `key`: whole later days from the daily rollups,
    the key's own day by counting its trades (one day's worth, through the index)."""
    day = key.at.date()
    later = 0
    day_end = None
    if day < date.max:
        next_day = day + timedelta(days=1)
        day_end = datetime.combine(next_day, datetime.min.time(), tzinfo=UTC)
        if filters.end is None or next_day <= filters.end:
            later = service.count_trades(
                filters.user,
                bot_id=filters.bot.id if filters.bot is not None else None,
                side=filters.side or None,
                first_day=next_day,
                last_day=filters.end,
            )
    same_day = filters.query().order_by(None).where(newer_than(key))
    if day_end is not None:
        same_day = same_day.where(Trade.executed_at < day_end)
    counted = db.session.scalar(same_day.with_only_columns(sa.func.count()).select_from(Trade))
    return later + int(counted or 0)
