"""Trades with the trades page's filters: a page at a time (cursor), or all as CSV."""

from __future__ import annotations

from webapp.api import ApiBlueprint, auth, pagination
from webapp.api.fields import money, rfc3339
from webapp.api.problems import validation_error
from webapp.api.routes import problems, register_domain_errors
from webapp.api.schemas import TradeFiltersSchema, TradesPageSchema, TradesQuerySchema
from webapp.extensions import db
from webapp.models import Trade
from webapp.trades import filters as trade_filters
from webapp.trades import keyset

blp = ApiBlueprint("api_trades", __name__, url_prefix="/api/v1", description="Trades")
register_domain_errors(blp)

FILTER_ARGS = ("bot", "side", "from", "to")
LINK_HEADER = {
    "Link": {
        "description": 'The next page, as <url>; rel="next" (absent on the last page)',
        "schema": {"type": "string"},
    }
}


def trade_json(t: Trade) -> dict:
    """One trade as `TradeSchema` writes it (a test holds the two equal), without
    marshmallow's per-field work."""
    return {
        "id": t.id,
        "bot_id": t.bot_id,
        "symbol": t.symbol,
        "side": t.side.value,
        "qty": money(t.qty),
        "price": money(t.price),
        "fee": money(t.fee),
        "realized_pnl": money(t.realized_pnl),
        "reason": t.reason.value,
        "mode": t.mode.value,
        "client_order_id": t.client_order_id,
        "exchange_order_id": t.exchange_order_id,
        "executed_at": rfc3339(t.executed_at),
    }


def _filters(args: dict) -> trade_filters.Filters:
    raw = {name: args.get(name.replace("from", "from_")) for name in FILTER_ARGS}
    filters = trade_filters.parse_filters(auth.current_user(), raw)  # BotNotFound: 404
    if filters.errors:
        raise validation_error(filters.errors)
    return filters


def _after(cursor: str | None):
    """The keyset condition "older than the cursor's trade" (newest first: time, then id)."""
    try:
        key = keyset.decode(cursor)
    except keyset.BadCursor:
        raise validation_error(
            {"cursor": "This cursor is not valid: use next_cursor of a page as it is."}
        ) from None
    return None if key is None else keyset.older_than(key)


@blp.route("/trades", methods=["GET"])
@blp.arguments(TradesQuerySchema, location="query")
@blp.response(200, TradesPageSchema, headers=LINK_HEADER)
@problems(blp, 404)
def list_trades(args):
    """Your trades, newest first, filtered like the trades page, `limit` (up to 500) a page."""
    filters = _filters(args)
    limit = args["limit"]
    query = filters.query()
    after = _after(args.get("cursor"))
    if after is not None:
        query = query.where(after)
    rows = list(db.session.scalars(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = None
    if more:
        last = rows[-1]
        cursor = keyset.encode(keyset.Key.of(last))
    headers = pagination.next_link(
        "api_trades.list_trades", cursor, {**filters.args(), "limit": limit}
    )
    return {"items": [trade_json(t) for t in rows], "next_cursor": cursor}, 200, headers


@blp.route("/trades.csv", methods=["GET"])
@blp.arguments(TradeFiltersSchema, location="query")
@blp.response(
    200,
    {"type": "string"},
    content_type="text/csv",
    description="Every matching trade (no pagination), streamed, newest first",
)
@problems(blp, 404)
def export_trades(args):
    """Every trade matching the filters as CSV, the same file as the trades page exports."""
    return trade_filters.export_csv(_filters(args))
