"""The trades page and its CSV export, with the same filters: bot, side and a UTC date range.

The filter form swaps only the table (and pushes the URL, so a reload or a shared link shows
the same trades); without htmx it is a plain GET form. A bot filter naming a bot that is not
the user's is a 404, exactly like a bot that does not exist.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask import Response, abort, request, stream_with_context, url_for
from flask_login import current_user, login_required

from webapp.engine import service
from webapp.engine.errors import BotNotFound
from webapp.extensions import db
from webapp.htmx import render_page
from webapp.http import MAX_ID
from webapp.models import Bot, Trade, TradeSide
from webapp.numbers import plain
from webapp.trades import bp

logger = logging.getLogger(__name__)

PER_PAGE = 50
BLOCKS = {"trades-table": "table"}
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

    def query(self):
        # The last representable day has no "next midnight"; it bounds nothing anyway.
        end = None if self.end is None or self.end >= date.max else self.end + timedelta(days=1)
        return service.trades_query(
            current_user,
            bot_id=self.bot.id if self.bot is not None else None,
            side=self.side or None,
            start=_midnight(self.start) if self.start else None,
            end=_midnight(end) if end else None,
        )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _date(args, name: str, label: str, errors: dict[str, str]) -> date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = f"{label} must be a date like 2026-01-31."
        return None


def parse_filters(args) -> Filters:
    filters = Filters()
    raw_bot = (args.get("bot") or "").strip()
    if raw_bot:
        try:
            bot_id = int(raw_bot)
            if not 0 < bot_id <= MAX_ID:  # no database id can be this; same as unknown
                raise BotNotFound()
            filters.bot = service.get_bot(current_user, bot_id)
        except (ValueError, BotNotFound):
            abort(404)
    side = (args.get("side") or "").strip().lower()
    if side in {s.value for s in TradeSide}:
        filters.side = side
    elif side:
        filters.errors["side"] = "Side must be buy or sell."
    filters.start = _date(args, "from", "From", filters.errors)
    filters.end = _date(args, "to", "To", filters.errors)
    if filters.start and filters.end and filters.end < filters.start:
        filters.errors["to"] = "To must be on or after From."
    return filters


@bp.route("/", methods=["GET"])
@login_required
def index():
    filters = parse_filters(request.args)
    page = None
    if not filters.errors:
        number = request.args.get("page", 1, type=int)
        page = db.paginate(
            filters.query(),
            # Beyond the last page is simply empty; an absurd number must not overflow OFFSET.
            page=max(1, min(number, MAX_ID // PER_PAGE)),
            per_page=PER_PAGE,
            error_out=False,
        )
    bots = service.user_bots(current_user)
    body = render_page(
        "trades/index.html",
        BLOCKS,
        filters=filters,
        page=page,
        bots=bots,
        bot_names={b.id: b.name for b in bots},
        raw=request.args,
        page_url=lambda n: url_for("trades.index", page=n, **filters.args()),
        csv_url=url_for("trades.export_csv", **filters.args()),
    )
    return body, 422 if filters.errors else 200


def _csv_rows(trades: Iterator[Trade], bot_names: dict[int, str]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for t in trades:
        writer.writerow(
            (
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
        )
        yield flush()


@bp.route("/export.csv", methods=["GET"])
@login_required
def export_csv():
    """Every trade matching the filters (no pagination), streamed as it is read."""
    filters = parse_filters(request.args)
    if filters.errors:
        abort(400)
    bot_names = {b.id: b.name for b in service.user_bots(current_user)}
    trades = db.session.scalars(filters.query().execution_options(yield_per=500))
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Response(
        stream_with_context(_csv_rows(trades, bot_names)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="trades-{stamp}.csv"'},
    )
