"""The trades page and its CSV export, with the same filters: bot, side and a UTC date range.

The list pages by cursor (`after` = older than, `before` = newer than a trade; see
webapp.trades.keyset), so a page deep in a long history costs what the first page costs.

The filter form swaps only the table (and pushes the URL, so a reload or a shared link shows
the same trades); without htmx it is a plain GET form. The filters and the export live in
webapp.trades.filters, which the API uses too.
"""

from __future__ import annotations

import logging

from flask import abort, request, url_for
from flask_login import current_user, login_required

from webapp.engine import service
from webapp.engine.errors import BotNotFound
from webapp.htmx import render_page
from webapp.i18n.current import gettext as _
from webapp.trades import bp, keyset
from webapp.trades.filters import CSV_COLUMNS, Filters
from webapp.trades.filters import export_csv as stream_export
from webapp.trades.filters import parse_filters as parse

logger = logging.getLogger(__name__)

PER_PAGE = 50
BLOCKS = {"trades-table": "table"}
__all__ = ["CSV_COLUMNS", "PER_PAGE", "parse_filters"]


def parse_filters(args) -> Filters:
    """The current user's filters; a bot that is not theirs is a 404."""
    try:
        return parse(current_user, args)
    except BotNotFound:
        abort(404)


@bp.route("/", methods=["GET"])
@login_required
def index():
    filters = parse_filters(request.args)
    page = None
    try:
        after = keyset.decode(request.args.get("after"))
        before = keyset.decode(request.args.get("before"))
    except keyset.BadCursor:
        filters.errors["cursor"] = _(
            "This page link is not valid (cut short or edited): start again from the newest trades."
        )
    if not filters.errors:
        page = keyset.page(filters, PER_PAGE, after=after, before=before)
    bots = service.user_bots(current_user)
    body = render_page(
        "trades/index.html",
        BLOCKS,
        filters=filters,
        page=page,
        bots=bots,
        bot_names={b.id: b.name for b in bots},
        raw=request.args,
        page_url=lambda **cursor: url_for("trades.index", **cursor, **filters.args()),
        csv_url=url_for("trades.export_csv", **filters.args()),
    )
    return body, 422 if filters.errors else 200


@bp.route("/export.csv", methods=["GET"])
@login_required
def export_csv():
    """Every trade matching the filters (no pagination), streamed as it is read."""
    filters = parse_filters(request.args)
    if filters.errors:
        abort(400)
    return stream_export(filters)
