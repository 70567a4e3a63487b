"""The trades filters (bot, side, a UTC date range) and the CSV export, shared by the trades
page and the API so both apply exactly the same rules.

Days are read as webapp.i18n.dates reads them: ISO 8601 everywhere, and on a Turkish or French
page also the way that page writes a day (the API speaks English, so it reads ISO only). The
messages are in the reader's language.

A bot filter naming a bot that is not the user's raises BotNotFound, exactly like a bot that
does not exist (a 404 on the page and in the API).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask import Response

from webapp.engine import service
from webapp.engine.errors import BotNotFound
from webapp.exports import stream_csv
from webapp.http import MAX_ID
from webapp.i18n.current import gettext as _
from webapp.i18n.dates import DateInputError, canonical_date, date_example
from webapp.models import Bot, Trade, TradeSide, User
from webapp.numbers import plain

CSV_COLUMNS = (
    "id",
    "executed_at",
    "bot_id",
    "bot",
    "symbol",
    "side",
    "qty",
    "price",
    "fee",
    "realized_pnl",
    "reason",
    "mode",
    "client_order_id",
    "exchange_order_id",
)


@dataclass
class Filters:
    """The filters as given in the query string, parsed; `errors` maps a field to a message."""

    user: User
    bot: Bot | None = None
    side: str = ""
    start: date | None = None  # first day included (UTC)
    end: date | None = None  # last day included (UTC)
    errors: dict[str, str] = field(default_factory=dict)

    def args(self) -> dict[str, str]:
        """The query-string form of the valid filters, for links (pages, CSV)."""
        out = {}
        if self.bot is not None:
            out["bot"] = str(self.bot.id)
        if self.side:
            out["side"] = self.side
        if self.start:
            out["from"] = self.start.isoformat()
        if self.end:
            out["to"] = self.end.isoformat()
        return out

    def query(self) -> sa.Select[tuple[Trade]]:
        """The user's trades matching the filters, newest first (service.trades_query)."""
        # The last representable day has no "next midnight"; it bounds nothing anyway.
        end = None if self.end is None or self.end >= date.max else self.end + timedelta(days=1)
        return service.trades_query(
            self.user,
            bot_id=self.bot.id if self.bot is not None else None,
            side=self.side or None,
            start=_midnight(self.start) if self.start else None,
            end=_midnight(end) if end else None,
        )

    def count(self) -> int:
        """How many trades `query` matches, from the daily rollups (the range is whole days)."""
        return service.count_trades(
            self.user,
            bot_id=self.bot.id if self.bot is not None else None,
            side=self.side or None,
            first_day=self.start,
            last_day=self.end,
        )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _date_message(name: str, typed: str, ambiguous: bool) -> str:
    """What is wrong with the day typed in the `from` or `to` filter, in the reader's
    language, with the day as that language writes it for an example."""
    example = date_example()
    if name == "from":
        if ambiguous:
            return _(
                "From: %(typed)s can be read two ways; write the day like %(example)s.",
                typed=typed,
                example=example,
            )
        return _("From must be a date like %(example)s.", example=example)
    if ambiguous:
        return _(
            "To: %(typed)s can be read two ways; write the day like %(example)s.",
            typed=typed,
            example=example,
        )
    return _("To must be a date like %(example)s.", example=example)


def _date(args: Mapping[str, str], name: str, errors: dict[str, str]) -> date | None:
    raw = (args.get(name) or "").strip()
    try:
        return canonical_date(raw)
    except DateInputError as exc:
        errors[name] = _date_message(name, raw, exc.ambiguous)
        return None


def parse_filters(user: User, args: Mapping[str, str]) -> Filters:
    """Filters from query arguments `bot`, `side`, `from`, `to`. Raises BotNotFound."""
    filters = Filters(user)
    raw_bot = (args.get("bot") or "").strip()
    if raw_bot:
        try:
            bot_id = int(raw_bot)
        except ValueError:
            raise BotNotFound() from None
        if not 0 < bot_id <= MAX_ID:  # no database id can be this; same as unknown
            raise BotNotFound()
        filters.bot = service.get_bot(user, bot_id)
    side = (args.get("side") or "").strip().lower()
    if side in {s.value for s in TradeSide}:
        filters.side = side
    elif side:
        filters.errors["side"] = _("Side must be buy or sell.")
    filters.start = _date(args, "from", filters.errors)
    filters.end = _date(args, "to", filters.errors)
    if filters.start and filters.end and filters.end < filters.start:
        filters.errors["to"] = _("To must be on or after From.")
    return filters


def _csv_row(bot_names: dict[int, str]):
    def row(t) -> tuple:
        return (
            t.id,
            t.executed_at.isoformat(),
            t.bot_id,
            bot_names.get(t.bot_id, ""),
            t.symbol,
            t.side.value,
            plain(t.qty),
            plain(t.price),
            plain(t.fee),
            plain(t.realized_pnl, empty=""),
            t.reason.value,
            t.mode.value,
            t.client_order_id,
            t.exchange_order_id or "",
        )

    return row


def export_csv(filters: Filters) -> Response:
    """Every trade matching valid `filters` (no pagination), streamed as it is read."""
    bot_names = {b.id: b.name for b in service.user_bots(filters.user)}
    statement = filters.query().with_only_columns(
        *(getattr(Trade, name) for name in CSV_COLUMNS if name != "bot")
    )
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return stream_csv(f"trades-{stamp}.csv", CSV_COLUMNS, statement, _csv_row(bot_names))
