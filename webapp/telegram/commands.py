"""What the bot answers. Commands act only in a linked chat and only on that user's bots,
through the same domain functions as the pages (`webapp.engine.service`).

Answers speak the linked user's language (and write times in their zone); an unlinked chat is
answered in the language its Telegram app reports (`from.language_code`) when the product
speaks it, else English."""

from __future__ import annotations

import contextlib
import html
import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale

from webapp.bots import display
from webapp.engine import service
from webapp.engine.errors import BotError
from webapp.extensions import db
from webapp.i18n.current import gettext as _
from webapp.i18n.current import ngettext
from webapp.i18n.engine_text import engine_text
from webapp.i18n.locales import DEFAULT_LOCALE, LOCALES
from webapp.i18n.marks import N_
from webapp.i18n.timezones import as_recipient
from webapp.models import Bot, BotStatus, TelegramChat, Trade, User
from webapp.models.types import utcnow
from webapp.notify import render
from webapp.telegram import linking
from webapp.templating import format_datetime

logger = logging.getLogger(__name__)

NOT_LINKED = N_(
    "This chat is not linked to a Tradebots account. Open the notifications page and press "
    "“Connect Telegram” to link it."
)
#: The command list: (command, its argument, what it does); the commands stay English, as
#: Telegram's menu has them.
HELP_LINES = [
    ("/status", None, N_("each bot: state, position, today's realized PnL")),
    ("/profit", None, N_("realized PnL today, 7 days, all time")),
    ("/trades", None, N_("the last 5 trades")),
    ("/stop", N_("NAME"), N_("stop a bot")),
    ("/start", N_("NAME"), N_("start a bot")),
    ("/stopall", None, N_("stop every running bot (asks first)")),
    ("/mute", N_("HOURS"), N_("hold routine notifications (0 ends it)")),
    ("/help", None, N_("this list")),
]
MAX_MUTE_HOURS = 24 * 7
STOPALL_YES = "stopall:yes"
STOPALL_NO = "stopall:no"


@dataclass
class Reply:
    chat_id: int
    text: str
    markup: dict[str, Any] | None = None


@dataclass
class Answer:
    """What handling one update produced: messages to send and a callback to answer."""

    replies: list[Reply] = field(default_factory=list)
    callback_id: str | None = None
    callback_text: str = ""


def e(value: object) -> str:
    return html.escape(str(value), quote=False)


def help_text() -> str:
    lines = [_("<b>Tradebots commands</b>")]
    for command, argument, what in HELP_LINES:
        usage = f"{command} {_(argument)}" if argument else command
        lines.append(f"{usage} - {_(what)}")
    return "\n".join(lines)


def handle(update: dict[str, Any]) -> Answer:
    """Handle one update (the caller commits, then sends the answer)."""
    query = update.get("callback_query")
    source = query if isinstance(query, dict) else update.get("message")
    source = source if isinstance(source, dict) else {}
    message = source.get("message") if source is query else source
    where = message.get("chat") if isinstance(message, dict) else None
    chat_id = where.get("id") if isinstance(where, dict) else None
    chat = linking.chat_by_id(chat_id) if isinstance(chat_id, int) else None
    sender = source.get("from") if isinstance(source.get("from"), dict) else {}
    with _speaking(chat, sender):
        if source is query:
            return _callback(query, chat)
        if not isinstance(chat_id, int):
            return Answer()
        return _message(source, chat_id, chat, sender)


@contextlib.contextmanager
def _speaking(chat: TelegramChat | None, sender: dict[str, Any]) -> Iterator[None]:
    """Answer in the linked user's language, else in the sender's app language."""
    user = db.session.get(User, chat.user_id) if chat is not None else None
    if user is not None:
        with as_recipient(user):
            yield
        return
    code = sender.get("language_code")
    language = code.split("-", 1)[0].lower() if isinstance(code, str) else ""
    with force_locale(language if language in LOCALES else DEFAULT_LOCALE):
        yield


def _message(
    message: dict[str, Any], chat_id: int, chat: TelegramChat | None, sender: dict[str, Any]
) -> Answer:
    text = message.get("text")
    if not isinstance(text, str) or not text.startswith("/"):
        return Answer([Reply(chat_id, _(NOT_LINKED) if chat is None else help_text())])
    command, _space, argument = text.strip().partition(" ")
    command = command.split("@", 1)[0].lower()
    argument = argument.strip()
    if command == "/start" and argument and (chat is None or _bot_named(chat, argument) is None):
        return Answer([Reply(chat_id, _link(argument, chat_id, sender.get("username")))])
    if chat is None:
        return Answer([Reply(chat_id, _(NOT_LINKED))])
    handler = COMMANDS.get(command)
    if handler is None:
        return Answer([Reply(chat_id, _("I do not know that command.") + "\n\n" + help_text())])
    return Answer([handler(chat, argument)])


def _link(code: str, chat_id: int, username: object) -> str:
    try:
        user_id = linking.bind(code, chat_id, username if isinstance(username, str) else None)
    except linking.LinkRefused as exc:
        return _(str(exc))
    user = db.session.get(User, user_id)
    with as_recipient(user) if user is not None else contextlib.nullcontext():
        linked = _("Linked: this chat now gets your Tradebots notifications.")
        return linked + "\n\n" + help_text()


def _bot_named(chat: TelegramChat, name: str) -> Bot | None:
    """The user's bot with this name (any case); never another user's."""
    return db.session.scalar(
        sa.select(Bot)
        .where(Bot.user_id == chat.user_id, sa.func.lower(Bot.name) == name.lower())
        .order_by(Bot.id)
        .limit(1)
    )


def _status(chat: TelegramChat, _argument: str) -> Reply:
    bots = service.user_bots(chat.user_id)
    if not bots:
        return Reply(chat.chat_id, _("You have no bots yet."))
    lines = [_("<b>Your bots</b>")]
    for bot in bots:
        state, _badge = display.status_label(bot.state)
        qty = bot.state.position_qty if bot.state else Decimal(0)
        position = f"{render.format_value(qty)} {bot.base_currency}" if qty else _("no position")
        today = f"{display.pnl(display.today_pnl(bot.state))} {bot.quote_currency}"
        line = _(
            "%(bot)s (%(symbol)s): %(state)s, %(position)s, today %(pnl)s",
            bot=f"<b>{e(bot.name)}</b>",
            symbol=e(bot.symbol),
            state=e(state),
            position=e(position),
            pnl=e(today),
        )
        lines.append(f"• {line}")
    return Reply(chat.chat_id, "\n".join(lines))


#: The windows of /profit: how far back each one reaches.
_WINDOWS = [N_("Today"), N_("7 days"), N_("All time")]


def _profit(chat: TelegramChat, _argument: str) -> Reply:
    now = utcnow()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    since_of = dict(zip(_WINDOWS, [today, now - timedelta(days=7), None], strict=True))
    lines = [_("<b>Realized PnL</b>")]
    for label, since in since_of.items():
        query = (
            sa.select(Trade.symbol, sa.func.sum(Trade.realized_pnl))
            .where(Trade.user_id == chat.user_id, Trade.realized_pnl.is_not(None))
            .group_by(Trade.symbol)
        )
        if since is not None:
            query = query.where(Trade.executed_at >= since)
        by_quote: dict[str, Decimal] = defaultdict(Decimal)
        for symbol, total in db.session.execute(query):
            by_quote[symbol.split("/", 1)[-1].split(":", 1)[0]] += Decimal(total or 0)
        figures = ", ".join(f"{display.pnl(v)} {q}" for q, v in sorted(by_quote.items()))
        lines.append(f"{e(_(label))}: {e(figures or render.format_value(0))}")
    return Reply(chat.chat_id, "\n".join(lines))


def _trades(chat: TelegramChat, _argument: str) -> Reply:
    trades = db.session.scalars(service.trades_query(chat.user_id).limit(5)).all()
    if not trades:
        return Reply(chat.chat_id, _("No trades yet."))
    lines = [_("<b>Last trades</b>")]
    for trade in trades:
        values = {
            "when": e(format_datetime(trade.executed_at, "minutes")),
            "bot": e(trade.bot.name),
            "side": e(display.signal_label(trade.side)),
            "qty": e(render.format_value(trade.qty)),
            "symbol": e(trade.symbol),
            "price": e(render.format_value(trade.price)),
        }
        if trade.realized_pnl is not None:
            line = _(
                "%(when)s %(bot)s: %(side)s %(qty)s %(symbol)s at %(price)s, PnL %(pnl)s",
                pnl=e(display.pnl(trade.realized_pnl)),
                **values,
            )
        else:
            line = _("%(when)s %(bot)s: %(side)s %(qty)s %(symbol)s at %(price)s", **values)
        lines.append(f"• {line}")
    return Reply(chat.chat_id, "\n".join(lines))


def _which(chat: TelegramChat, command: str) -> Reply:
    return Reply(
        chat.chat_id,
        _("Which bot? Send %(usage)s (see /status for the names).", usage=f"{command} {_('NAME')}"),
    )


def _no_bot(chat: TelegramChat, name: str) -> Reply:
    return Reply(chat.chat_id, _("You have no bot called “%(name)s”.", name=e(name)))


def _stop(chat: TelegramChat, argument: str) -> Reply:
    if not argument:
        return _which(chat, "/stop")
    bot = _bot_named(chat, argument)
    if bot is None:
        return _no_bot(chat, argument)
    if service.stop_by_owner(bot):
        return Reply(chat.chat_id, _("Bot “%(name)s” stopped.", name=e(bot.name)))
    return Reply(chat.chat_id, _("Bot “%(name)s” was not running.", name=e(bot.name)))


def _start(chat: TelegramChat, argument: str) -> Reply:
    if not argument:
        return _which(chat, "/start")
    bot = _bot_named(chat, argument)
    if bot is None:  # (an unknown name that was no link code either)
        return _no_bot(chat, argument)
    try:
        service.start_bot(bot)
    except BotError as exc:
        db.session.rollback()
        return Reply(
            chat.chat_id,
            _(
                "Bot “%(name)s” cannot start: %(why)s",
                name=e(bot.name),
                why=e(engine_text(str(exc))),
            ),
        )
    return Reply(
        chat.chat_id, _("Bot “%(name)s” started: its first cycle runs shortly.", name=e(bot.name))
    )


def _stopall(chat: TelegramChat, _argument: str) -> Reply:
    running = _running(chat.user_id)
    if not running:
        return Reply(chat.chat_id, _("None of your bots is running."))
    count = len(running)
    markup = {
        "inline_keyboard": [
            [
                {
                    "text": ngettext("Stop %(num)s bot", "Stop all %(num)s", count),
                    "callback_data": STOPALL_YES,
                },
                {"text": _("Cancel"), "callback_data": STOPALL_NO},
            ]
        ]
    }
    question = ngettext("Stop the %(num)s running bot?", "Stop all %(num)s running bots?", count)
    return Reply(chat.chat_id, question, markup)


def _running(user_id: int) -> list[Bot]:
    return [
        bot
        for bot in service.user_bots(user_id)
        if bot.state is not None and bot.state.status == BotStatus.RUNNING
    ]


def _mute(chat: TelegramChat, argument: str) -> Reply:
    try:
        hours = float(argument.replace(",", "."))
    except ValueError:
        hours = -1
    if not 0 <= hours <= MAX_MUTE_HOURS or hours != hours:
        return Reply(
            chat.chat_id,
            _(
                "Send %(usage)s with a number from 0 to %(max)s.",
                usage=f"/mute {_('HOURS')}",
                max=MAX_MUTE_HOURS,
            ),
        )
    if hours == 0:
        chat.muted_until = None
        return Reply(chat.chat_id, _("Notifications are on again."))
    chat.muted_until = utcnow() + timedelta(hours=hours)
    return Reply(
        chat.chat_id,
        _(
            "Routine notifications wait until %(until)s; errors and stops still come at once.",
            until=e(format_datetime(chat.muted_until, "minutes")),
        ),
    )


def _help(chat: TelegramChat, _argument: str) -> Reply:
    return Reply(chat.chat_id, help_text())


COMMANDS = {
    "/status": _status,
    "/profit": _profit,
    "/trades": _trades,
    "/stop": _stop,
    "/start": lambda chat, argument: _start(chat, argument) if argument else _help(chat, ""),
    "/stopall": _stopall,
    "/mute": _mute,
    "/help": _help,
}


def _callback(query: dict[str, Any], chat: TelegramChat | None) -> Answer:
    """An inline button: it acts for the user the chat is linked to, whatever its data says."""
    callback_id = str(query.get("id") or "")
    answer = Answer(callback_id=callback_id or None)
    if chat is None:
        answer.callback_text = _("This chat is not linked.")
        return answer
    data = query.get("data")
    if data == STOPALL_YES:
        stopped = [bot.name for bot in _running(chat.user_id) if service.stop_by_owner(bot)]
        count = len(stopped)
        answer.callback_text = ngettext("Stopped %(num)s bot.", "Stopped %(num)s bots.", count)
        names = ", ".join(e(name) for name in stopped) or _("none")
        answer.replies.append(
            Reply(
                chat.chat_id,
                ngettext(
                    "Stopped %(num)s bot: %(names)s.",
                    "Stopped %(num)s bots: %(names)s.",
                    count,
                    names=names,
                ),
            )
        )
    elif data == STOPALL_NO:
        answer.callback_text = _("Nothing was stopped.")
    return answer
