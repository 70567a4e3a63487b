"""What the bot answers. Commands act only in a linked chat and only on that user's bots,
through the same domain functions as the pages (`webapp.engine.service`)."""

from __future__ import annotations

import html
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from webapp.bots import display
from webapp.engine import service
from webapp.engine.errors import BotError
from webapp.extensions import db
from webapp.models import Bot, BotStatus, TelegramChat, Trade
from webapp.models.types import utcnow
from webapp.notify import render
from webapp.telegram import linking

logger = logging.getLogger(__name__)

NOT_LINKED = (
    "This chat is not linked to a Tradebots account. Open the notifications page and press "
    "“Connect Telegram” to link it."
)
HELP = (
    "<b>Tradebots commands</b>\n"
    "/status - each bot: state, position, today's realized PnL\n"
    "/profit - realized PnL today, 7 days, all time\n"
    "/trades - the last 5 trades\n"
    "/stop NAME - stop a bot\n"
    "/start NAME - start a bot\n"
    "/stopall - stop every running bot (asks first)\n"
    "/mute HOURS - hold routine notifications (0 ends it)\n"
    "/help - this list"
)
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


def handle(update: dict[str, Any]) -> Answer:
    """Handle one update (the caller commits, then sends the answer)."""
    if isinstance(update.get("callback_query"), dict):
        return _callback(update["callback_query"])
    message = update.get("message")
    if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
        return Answer()
    chat_id = message["chat"].get("id")
    text = message.get("text")
    if not isinstance(chat_id, int):
        return Answer()
    chat = linking.chat_by_id(chat_id)
    if not isinstance(text, str) or not text.startswith("/"):
        return Answer([Reply(chat_id, NOT_LINKED if chat is None else HELP)])
    command, _, argument = text.strip().partition(" ")
    command = command.split("@", 1)[0].lower()
    argument = argument.strip()
    sender = message.get("from") if isinstance(message.get("from"), dict) else {}
    if command == "/start" and argument and (chat is None or _bot_named(chat, argument) is None):
        return Answer([Reply(chat_id, _link(argument, chat_id, sender.get("username")))])
    if chat is None:
        return Answer([Reply(chat_id, NOT_LINKED)])
    handler = COMMANDS.get(command)
    if handler is None:
        return Answer([Reply(chat_id, "I do not know that command.\n\n" + HELP)])
    return Answer([handler(chat, argument)])


def _link(code: str, chat_id: int, username: object) -> str:
    try:
        linking.bind(code, chat_id, username if isinstance(username, str) else None)
    except linking.LinkRefused as exc:
        return str(exc)
    return "Linked: this chat now gets your Tradebots notifications.\n\n" + HELP


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
        return Reply(chat.chat_id, "You have no bots yet.")
    lines = ["<b>Your bots</b>"]
    for bot in bots:
        state, _ = display.status_label(bot.state)
        qty = bot.state.position_qty if bot.state else Decimal(0)
        position = f"{render.format_value(qty)} {bot.base_currency}" if qty else "no position"
        today = display.pnl(display.today_pnl(bot.state))
        lines.append(
            f"• <b>{e(bot.name)}</b> ({e(bot.symbol)}): {e(state)}, {e(position)}, "
            f"today {e(today)} {e(bot.quote_currency)}"
        )
    return Reply(chat.chat_id, "\n".join(lines))


def _profit(chat: TelegramChat, _argument: str) -> Reply:
    now = utcnow()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    windows = {"Today": today, "7 days": now - timedelta(days=7), "All time": None}
    lines = ["<b>Realized PnL</b>"]
    for label, since in windows.items():
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
        lines.append(f"{label}: {e(figures or '0')}")
    return Reply(chat.chat_id, "\n".join(lines))


def _trades(chat: TelegramChat, _argument: str) -> Reply:
    trades = db.session.scalars(service.trades_query(chat.user_id).limit(5)).all()
    if not trades:
        return Reply(chat.chat_id, "No trades yet.")
    lines = ["<b>Last trades</b>"]
    for trade in trades:
        pnl = f", PnL {display.pnl(trade.realized_pnl)}" if trade.realized_pnl is not None else ""
        lines.append(
            f"• {trade.executed_at:%Y-%m-%d %H:%M} {e(trade.bot.name)}: {e(trade.side.value)} "
            f"{e(render.format_value(trade.qty))} {e(trade.symbol)} at "
            f"{e(render.format_value(trade.price))}{e(pnl)}"
        )
    return Reply(chat.chat_id, "\n".join(lines))


def _stop(chat: TelegramChat, argument: str) -> Reply:
    if not argument:
        return Reply(chat.chat_id, "Which bot? Send /stop NAME (see /status for the names).")
    bot = _bot_named(chat, argument)
    if bot is None:
        return Reply(chat.chat_id, f"You have no bot called “{e(argument)}”.")
    if service.stop_by_owner(bot):
        return Reply(chat.chat_id, f"Bot “{e(bot.name)}” stopped.")
    return Reply(chat.chat_id, f"Bot “{e(bot.name)}” was not running.")


def _start(chat: TelegramChat, argument: str) -> Reply:
    if not argument:
        return Reply(chat.chat_id, "Which bot? Send /start NAME (see /status for the names).")
    bot = _bot_named(chat, argument)
    if bot is None:  # (an unknown name that was no link code either)
        return Reply(chat.chat_id, f"You have no bot called “{e(argument)}”.")
    try:
        service.start_bot(bot)
    except BotError as exc:
        db.session.rollback()
        return Reply(chat.chat_id, f"Bot “{e(bot.name)}” cannot start: {e(exc)}")
    return Reply(chat.chat_id, f"Bot “{e(bot.name)}” started: its first cycle runs shortly.")


def _stopall(chat: TelegramChat, _argument: str) -> Reply:
    running = _running(chat.user_id)
    if not running:
        return Reply(chat.chat_id, "None of your bots is running.")
    markup = {
        "inline_keyboard": [
            [
                {"text": f"Stop all {len(running)}", "callback_data": STOPALL_YES},
                {"text": "Cancel", "callback_data": STOPALL_NO},
            ]
        ]
    }
    return Reply(chat.chat_id, f"Stop all {len(running)} running bots?", markup)


def _running(user_id: int) -> list[Bot]:
    return [
        bot
        for bot in service.user_bots(user_id)
        if bot.state is not None and bot.state.status == BotStatus.RUNNING
    ]


def _mute(chat: TelegramChat, argument: str) -> Reply:
    try:
        hours = float(argument)
    except ValueError:
        hours = -1
    if not 0 <= hours <= MAX_MUTE_HOURS or hours != hours:
        return Reply(chat.chat_id, f"Send /mute HOURS with a number from 0 to {MAX_MUTE_HOURS}.")
    if hours == 0:
        chat.muted_until = None
        return Reply(chat.chat_id, "Notifications are on again.")
    chat.muted_until = utcnow() + timedelta(hours=hours)
    return Reply(
        chat.chat_id,
        f"Routine notifications wait until {chat.muted_until:%Y-%m-%d %H:%M} UTC; errors and "
        "stops still come at once.",
    )


def _help(chat: TelegramChat, _argument: str) -> Reply:
    return Reply(chat.chat_id, HELP)


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


def _callback(query: dict[str, Any]) -> Answer:
    """An inline button: it acts for the user the chat is linked to, whatever its data says."""
    callback_id = str(query.get("id") or "")
    message = query.get("message") if isinstance(query.get("message"), dict) else {}
    chat_id = (message.get("chat") or {}).get("id") if isinstance(message, dict) else None
    chat = linking.chat_by_id(chat_id) if isinstance(chat_id, int) else None
    answer = Answer(callback_id=callback_id or None)
    if chat is None:
        answer.callback_text = "This chat is not linked."
        return answer
    data = query.get("data")
    if data == STOPALL_YES:
        stopped = [bot.name for bot in _running(chat.user_id) if service.stop_by_owner(bot)]
        answer.callback_text = f"Stopped {len(stopped)} bots."
        names = ", ".join(e(name) for name in stopped) or "none"
        answer.replies.append(Reply(chat.chat_id, f"Stopped {len(stopped)} bots: {names}."))
    elif data == STOPALL_NO:
        answer.callback_text = "Nothing was stopped."
    return answer
