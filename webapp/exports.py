"""Streamed CSV downloads whose rows are read from the database while they are sent.

A WSGI server iterates a streamed body after the view has returned and after Flask has torn
down the request's app context, which closes that context's session: rows read lazily from it
fail half-way ("this identity map is no longer valid") and the client gets a truncated body.
Werkzeug's test client hides this by reading the body inside the caller's context. So the body
reads on a database connection of its own, opened when the first chunk is asked for and closed
when the download ends or the client goes away, and needs no Flask context at all.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence

import sqlalchemy as sa
from flask import Response

from webapp.extensions import db

logger = logging.getLogger(__name__)

#: Rows read from the database per round trip (and held in memory at once).
BATCH_ROWS = 1000
#: Bytes gathered before a chunk goes to the client: fewer, larger writes than one per row.
CHUNK_BYTES = 64 * 1024

RowFormatter = Callable[[sa.Row], Sequence[object]]


def stream_csv(
    filename: str,
    columns: Sequence[str],
    statement: sa.Select,
    format_row: RowFormatter,
) -> Response:
    """A `text/csv` attachment: `columns` as the header row, then `format_row(row)` for every
    row of `statement`, read in batches so memory stays flat however many rows there are.

    `statement` is a Core select (columns, not ORM entities) built before calling this: it
    runs after the view has returned, outside any request or session.
    """
    engine = db.engine

    def body() -> Iterator[str]:
        try:
            with engine.connect() as conn:
                rows = conn.execution_options(yield_per=BATCH_ROWS).execute(statement)
                yield from _chunks(columns, (format_row(row) for row in rows))
        except Exception:
            # Headers are gone already: all that can be done is to end the body short (the
            # client sees an incomplete download, never a silently short file) and log why.
            logger.exception("CSV export %s broke off", filename)
            raise

    return Response(
        body(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _chunks(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate(0)
    yield buffer.getvalue()
