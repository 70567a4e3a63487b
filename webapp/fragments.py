"""Table rows rendered once and kept, for records that pages show again and again.

A trade or an activity line is written once and shown on every view and every poll of the
pages that list it; rendering its row (a date in the reader's zone, quantities in their
language, badges, a link) costs far more than the query that read it. A row is kept per
process under everything it shows: the record's displayed fields, what the page passes in
beside it (the bot's name), and the reader's language, time zone and the app's path prefix.
So a changed field, a renamed bot or another reader's language renders it afresh, and nothing
has to be invalidated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from flask import Flask, current_app, has_request_context, request
from flask_wtf.csrf import generate_csrf
from jinja2_fragments.flask import render_block
from markupsafe import Markup, escape

from webapp.engine.kept import Kept
from webapp.i18n import current


class RowCache:
    """Rows of `macro` in `template`, called as macro(record, *extra), keyed by `fields`."""

    def __init__(self, template: str, macro: str, fields: tuple[str, ...], size: int = 5000):
        self.template = template
        self.macro = macro
        self.fields = fields
        self.size = size
        self._rows = Kept(size)

    def render(self, record, *extra) -> Markup:
        if current_app.jinja_env.auto_reload:  # templates being edited: render each time
            return Markup(self._macro()(record, *extra))
        key = (_reader(), extra, *[getattr(record, name) for name in self.fields])
        return self._rows.get(key, lambda: Markup(self._macro()(record, *extra)))

    def rows(self, heads: Sequence, load: Callable[[list], Mapping]) -> list[Markup]:
        """The rows of `heads` (result rows of exactly `fields`, "id" first): each kept row as
        it is, the others rendered from the records `load(ids)` returns by id. So a list whose
        rows are all kept reads only their keys, not the records (a row whose record is gone
        meanwhile is left out)."""
        reader = _reader()
        fresh = current_app.jinja_env.auto_reload
        shown = [None if fresh else self._rows.peek((reader, (), *head)) for head in heads]
        missing = [head[0] for head, row in zip(heads, shown, strict=True) if row is None]
        records = load(missing) if missing else {}
        out = []
        for head, row in zip(heads, shown, strict=True):
            if row is None:
                record = records.get(head[0])
                if record is None:
                    continue
                row = self.render(record)
            out.append(row)
        return out

    def _macro(self) -> Callable[..., str]:
        return getattr(current_app.jinja_env.get_template(self.template).module, self.macro)


class TokenCells:
    """Renders of `macro` in `template` that carry the request's CSRF token (a form per
    cell), kept per reader and arguments: each is rendered once with a placeholder for the
    token, which every use fills in with this request's. The macro takes its other
    arguments positionally (hashable: enums, strings, booleans) and the token as `token`."""

    PLACEHOLDER = "\x00csrf-token\x00"

    def __init__(self, template: str, macro: str, size: int = 5000):
        self.template = template
        self.macro = macro
        self._cells = Kept(size)

    def render(self, *args) -> Markup:
        if current_app.jinja_env.auto_reload:  # templates being edited: render each time
            return Markup(self._macro()(*args, token=generate_csrf()))
        cell = self._cells.get(
            (_reader(), args), lambda: str(self._macro()(*args, token=self.PLACEHOLDER))
        )
        return Markup(cell.replace(self.PLACEHOLDER, str(escape(generate_csrf()))))

    _macro = RowCache._macro


class BlockCache:
    """A block of `template` rendered once per reader and kept, for what never changes once
    written (a finished backtest's results): the caller's key names that version, and
    `context()` builds what the block reads only when it is rendered. The block must not
    carry a CSRF token or anything else of one request's."""

    def __init__(self, template: str, block: str, size: int = 64):
        self.template = template
        self.block = block
        self._blocks = Kept(size)

    def render(self, key: tuple, context: Callable[[], dict]) -> Markup:
        def build() -> Markup:
            return Markup(render_block(self.template, self.block, **context()))

        if current_app.jinja_env.auto_reload:  # templates being edited: render each time
            return build()
        return self._blocks.get((_reader(), key), build)


def _reader() -> tuple:
    prefix = request.script_root if has_request_context() else ""
    return current.language(), current.timezone(), prefix


TRADE_FIELDS = (
    "id",
    "bot_id",
    "executed_at",
    "symbol",
    "side",
    "qty",
    "price",
    "fee",
    "realized_pnl",
    "reason",
    "mode",
)
#: The trades list's rows (with the bot's name) and the bot page's latest trades.
TRADE_ROWS = RowCache("trades/_rows.html", "trade_row", TRADE_FIELDS)
BOT_TRADE_ROWS = RowCache("trades/_rows.html", "bot_trade_row", TRADE_FIELDS)
#: The bot page's activity log.
ACTIVITY_ROWS = RowCache("bots/_activity_row.html", "activity_row", ("id", "at", "kind", "message"))
#: The bot page's and /backtests/' runs (through `rows`: a page reads only the keys of those
#: kept): a run's settings, range and results are fixed while it keeps its status (ids SQLite
#: reuses come with another creation time).
BACKTEST_ROWS = RowCache(
    "backtest/_row.html",
    "backtest_row",
    ("id", "created_at", "status", "finished_at", "fingerprint"),
    size=1000,
)
#: The notification preference matrix's cells (each a form with its own toggle).
PREFERENCE_CELLS = TokenCells("notifications/_pref_cell.html", "pref_cell")


def register(app: Flask) -> None:
    app.jinja_env.globals["trade_row"] = TRADE_ROWS.render
    app.jinja_env.globals["bot_trade_row"] = BOT_TRADE_ROWS.render
    app.jinja_env.globals["activity_row"] = ACTIVITY_ROWS.render
    app.jinja_env.globals["pref_cell"] = PREFERENCE_CELLS.render
