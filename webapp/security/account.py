"""Your data: export everything of one's own as a zip, and delete one's account.

The export walks every table that has a `user_id` (and the per-bot tables through the user's
bots), so a table added later is exported too; columns whose names say they hold a secret or
its hash are left out.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import IO

import sqlalchemy as sa

from webapp.extensions import db
from webapp.i18n.current import gettext as _
from webapp.models import Bot, BotStatus, User
from webapp.models.types import utcnow
from webapp.security.errors import SecurityError

logger = logging.getLogger(__name__)

SECRET_COLUMN_WORDS = ("encrypted", "hash", "secret", "password")
PER_BOT_TABLES = ("bot_states", "bot_activity")


class AccountBusyError(SecurityError):
    """A bot cannot be deleted right now (a cycle runs, or an order's outcome is unknown)."""


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


def _exportable(table: sa.Table) -> list[sa.Column]:
    return [c for c in table.columns if not any(w in c.name for w in SECRET_COLUMN_WORDS)]


EXPORT_BATCH_ROWS = 1000


def _rows(table: sa.Table, where) -> Iterator[dict]:
    """The rows as read (dates, decimals and enums still objects), a batch at a time."""
    columns = _exportable(table)
    statement = (
        sa.select(*columns)
        .where(where)
        .order_by(*table.primary_key)
        .execution_options(yield_per=EXPORT_BATCH_ROWS)
    )
    for row in db.session.execute(statement):
        yield dict(row._mapping)


def export_sources(user: User) -> list[tuple[str, sa.Table, sa.ColumnElement[bool]]]:
    """(file name, table, condition) for every table holding something of `user`'s."""
    bot_ids = list(db.session.scalars(sa.select(Bot.id).where(Bot.user_id == user.id)))
    sources = []
    for table in db.metadata.sorted_tables:
        if table.name == "users":
            sources.append(("account", table, table.c.id == user.id))
        elif "user_id" in table.c:
            sources.append((table.name, table, table.c.user_id == user.id))
        elif table.name in PER_BOT_TABLES and "bot_id" in table.c:
            sources.append((table.name, table, table.c.bot_id.in_(bot_ids)))
    return sources


def _json_default(value):
    plain = _plain(value)
    if plain is value:
        raise TypeError(f"{type(value).__name__} is not exportable")
    return plain


def _write_json_array(out: IO[str], rows: Iterator[dict]) -> None:
    """A JSON array with one record a line (the C encoder: indenting is several times slower,
    which a long trade history feels)."""
    out.write("[")
    first = True
    for row in rows:
        out.write("\n  " if first else ",\n  ")
        out.write(json.dumps(row, ensure_ascii=False, default=_json_default))
        first = False
    out.write("]" if first else "\n]")


def _write_csv(out: IO[str], rows: Iterator[dict]) -> None:
    writer = None
    for row in rows:
        if writer is None:
            writer = csv.DictWriter(out, fieldnames=list(row))
            writer.writeheader()
        writer.writerow({k: _plain(v) for k, v in row.items()})


def export_file(user: User) -> IO[bytes]:
    """Everything of `user`'s as JSON (one file per table) plus trades.csv, zipped into a
    temporary file (read from its start) rather than memory: a long trade history costs the
    web worker a batch of rows, not the whole archive."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (the response closes it once sent)
    try:
        with zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(
                "README.txt",
                f"Tradebots export for {user.email}, made {utcnow():%Y-%m-%d %H:%M} UTC.\n"
                "One JSON file per kind of record; trades also as CSV. Secrets (exchange API "
                "secrets, webhook secrets, two-factor keys, password and token hashes) are "
                "never exported.\n",
            )
            for name, table, where in export_sources(user):
                with io.TextIOWrapper(archive.open(f"{name}.json", "w"), "utf-8") as out:
                    _write_json_array(out, _rows(table, where))
                if name == "trades" and db.session.scalar(sa.select(sa.exists().where(where))):
                    with io.TextIOWrapper(
                        archive.open("trades.csv", "w"), "utf-8", newline=""
                    ) as out:
                        _write_csv(out, _rows(table, where))
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    logger.info("data export made for user %s", user.id)
    return spool


def delete_account(user: User) -> None:
    """Stop the user's bots, delete them with their trades, then keys, tokens and the account
    (the caller commits). Audit events stay, with the user's id cleared and email kept."""
    from webapp.engine import service
    from webapp.engine.errors import BotError
    from webapp.models import ApiKey, ApiToken
    from webapp.security.audit import AuditAction, record

    bots = list(db.session.scalars(sa.select(Bot).where(Bot.user_id == user.id)))
    for bot in bots:
        if bot.state is not None and bot.state.status == BotStatus.RUNNING:
            service.stop_bot(bot, "Stopped: the account is being deleted.")
    db.session.flush()
    for bot in bots:
        try:
            service.delete_bot(bot, wait_seconds=5)
        except BotError as exc:
            raise AccountBusyError(
                _(
                    "Bot “%(name)s” cannot be deleted right now: %(error)s Try again in a minute.",
                    name=bot.name,
                    error=exc,
                )
            ) from None
    for key in db.session.scalars(sa.select(ApiKey).where(ApiKey.user_id == user.id)):
        db.session.delete(key)
    db.session.execute(sa.delete(ApiToken).where(ApiToken.user_id == user.id))
    record(AuditAction.ACCOUNT_DELETED, user, "Account deleted with its bots, keys and tokens.")
    db.session.flush()
    db.session.delete(user)
    db.session.flush()
    logger.info("user %s deleted their account", user.id)
